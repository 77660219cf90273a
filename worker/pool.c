/* pool.c: pthread pool with an eventfd back to the loop; see pool.h. */
#include "pool.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"

struct task {
	jq_pool_fn *work, *done;
	void *arg;
	struct task *next;
};

struct jq_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct task *todo_head, *todo_tail; /* guarded by mu */
	struct task *done_head;             /* guarded by mu */
	int queued;
	int stopping;
	int nthreads;
	pthread_t *threads;
	int efd;
	struct event *ev;
};

static void *thread_main(void *arg)
{
	struct jq_pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->todo_head && !p->stopping)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		struct task *t = p->todo_head;
		p->todo_head = t->next;
		if (!p->todo_head)
			p->todo_tail = NULL;
		p->queued--;
		pthread_mutex_unlock(&p->mu);

		t->work(t->arg);

		pthread_mutex_lock(&p->mu);
		t->next = p->done_head;
		p->done_head = t;
		pthread_mutex_unlock(&p->mu);
		uint64_t one = 1;
		ssize_t w = write(p->efd, &one, sizeof(one));
		(void)w;
	}
}

static void drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct jq_pool *p = arg;
	uint64_t n;
	ssize_t r = read(p->efd, &n, sizeof(n));
	(void)r;
	pthread_mutex_lock(&p->mu);
	struct task *t = p->done_head;
	p->done_head = NULL;
	pthread_mutex_unlock(&p->mu);
	while (t) {
		struct task *next = t->next;
		t->done(t->arg);
		free(t);
		t = next;
	}
}

struct jq_pool *jq_pool_new(struct event_base *base, int threads)
{
	struct jq_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->threads = calloc((size_t)threads, sizeof(pthread_t));
	if (p->efd < 0 || !p->threads)
		goto fail;
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, drain_cb, p);
	event_add(p->ev, NULL);
	for (; p->nthreads < threads; p->nthreads++) {
		if (pthread_create(&p->threads[p->nthreads], NULL, thread_main, p) != 0) {
			jq_error("cannot start pool thread %d", p->nthreads);
			goto fail;
		}
	}
	return p;
fail:
	jq_pool_free(p);
	return NULL;
}

int jq_pool_submit(struct jq_pool *p, jq_pool_fn *work, jq_pool_fn *done, void *arg)
{
	struct task *t = malloc(sizeof(*t));
	if (!t)
		return -1;
	t->work = work;
	t->done = done;
	t->arg = arg;
	t->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mu);
		free(t);
		return -1;
	}
	if (p->todo_tail)
		p->todo_tail->next = t;
	else
		p->todo_head = t;
	p->todo_tail = t;
	p->queued++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

int jq_pool_queued(struct jq_pool *p)
{
	pthread_mutex_lock(&p->mu);
	int n = p->queued;
	pthread_mutex_unlock(&p->mu);
	return n;
}

static void free_list(struct task *t)
{
	while (t) {
		struct task *next = t->next;
		free(t);
		t = next;
	}
}

void jq_pool_free(struct jq_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	free_list(p->todo_head);
	free_list(p->done_head);
	if (p->ev)
		event_free(p->ev);
	if (p->efd >= 0)
		close(p->efd);
	free(p->threads);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}
