/* curl_loop.c: curl multi socket API driven by libevent; see curl_loop.h. */
#include "curl_loop.h"

#include <stdlib.h>

#include "log.h"

struct jq_curl_loop {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
};

/* What CURLOPT_PRIVATE points at while a handle is in the loop. */
struct transfer {
	jq_curl_done_fn *done;
	void *arg;
};

/* Per-socket state given to curl with curl_multi_assign. */
struct sock {
	struct event *ev;
	struct jq_curl_loop *l;
};

static void check_done(struct jq_curl_loop *l)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(l->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct transfer *t = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(l->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (t) {
			t->done(easy, rc, t->arg);
			free(t);
		}
	}
}

static void sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_curl_loop *l = arg;
	int flags =
		(what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running;
	curl_multi_socket_action(l->multi, fd, flags, &running);
	check_done(l);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_curl_loop *l = arg;
	int running;
	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(l);
}

static int socket_fn(CURL *easy, curl_socket_t s, int action, void *userp, void *socketp)
{
	struct jq_curl_loop *l = userp;
	struct sock *sk = socketp;
	if (action == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(l->multi, s, NULL);
		}
		return 0;
	}
	short what = EV_PERSIST | (action & CURL_POLL_IN ? EV_READ : 0) |
		     (action & CURL_POLL_OUT ? EV_WRITE : 0);
	if (!sk) {
		sk = calloc(1, sizeof(*sk));
		if (!sk)
			return -1;
		sk->l = l;
		curl_multi_assign(l->multi, s, sk);
	} else {
		event_free(sk->ev);
	}
	sk->ev = event_new(l->base, s, what, sock_event_cb, l);
	event_add(sk->ev, NULL);
	return 0;
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct jq_curl_loop *l = userp;
	if (timeout_ms < 0) {
		evtimer_del(l->timer);
		return 0;
	}
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	evtimer_add(l->timer, &tv);
	return 0;
}

struct jq_curl_loop *jq_curl_loop_new(struct event_base *base)
{
	struct jq_curl_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->base = base;
	l->multi = curl_multi_init();
	l->timer = evtimer_new(base, timer_cb, l);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	return l;
}

int jq_curl_loop_add(struct jq_curl_loop *l, CURL *easy, jq_curl_done_fn *done, void *arg)
{
	struct transfer *t = malloc(sizeof(*t));
	if (!t)
		return -1;
	t->done = done;
	t->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, t);
	if (curl_multi_add_handle(l->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(t);
		return -1;
	}
	return 0;
}

void jq_curl_loop_remove(struct jq_curl_loop *l, CURL *easy)
{
	struct transfer *t = NULL;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&t);
	curl_multi_remove_handle(l->multi, easy);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
	free(t);
}

void jq_curl_loop_free(struct jq_curl_loop *l)
{
	if (!l)
		return;
	/* handles still in the multi belong to their jobs; the jobs remove them first */
	curl_multi_cleanup(l->multi);
	event_free(l->timer);
	free(l);
}
