/* client.c: libjobq-client, jobs enqueued and read over one synchronous Redis
 * connection; see include/jobq/client.h. Validation, key names, the enqueue
 * script's arguments and the job's JSON come from libjobq, as for the broker. */
#include "jobq/client.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "job_json.h"
#include "keys.h"
#include "redis_url.h"
#include "scripts.h"
#include "store/cluster.h"
#include "store/enqueue.h"
#include "store/job_hash.h"
#include "store/wait.h"
#include "util.h"

#define DEFAULT_URL "redis://127.0.0.1:6379/0"
#define DEFAULT_PREFIX "jobq:"
#define DEFAULT_TIMEOUT_MS 5000
#define TIMEOUT_MS_MAX 3600000
/* the broker's defaults (broker/main.c), so both keep jobs alike */
#define DEFAULT_WINDOW_MS (24 * 3600 * 1000LL)
#define DEFAULT_KEEP_CANCELLED_MS (24 * 3600 * 1000LL)
#define KEEP_MS_MIN 1000
#define KEEP_MS_MAX (365LL * 24 * 3600 * 1000)
#define ERR_MAX 512
/* the broker's --min-replicas-ack and --replica-ack-timeout-ms ranges and defaults */
#define REPLICAS_MAX 100
#define DEFAULT_ACK_TIMEOUT_MS 1000
#define ACK_TIMEOUT_MS_MAX 60000

struct jq_client {
	struct jq_redis_url url;
	struct jq_keys keys;
	redisContext *rc; /* NULL while disconnected: the next call connects */
	int64_t timeout_ms;
	int64_t idem_window_ms;
	int64_t keep_cancelled_ms;
	int64_t min_replicas_ack; /* 0: no WAIT after an enqueue */
	int64_t ack_timeout_ms;
	char traceparent[JQ_TRACEPARENT_LEN + 1]; /* stored with each job, or "" */
};

static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

const char *jq_client_version(void)
{
	return JOBQ_VERSION;
}

/* Writes the reason into a caller's buffer that may be NULL; returns code. */
static int report(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int report(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- the connection ---- */

static const char *where(const struct jq_client *c)
{
	return c->url.unix_path[0] ? c->url.unix_path : c->url.host;
}

static void drop(struct jq_client *c)
{
	if (c->rc) {
		redisFree(c->rc);
		c->rc = NULL;
	}
}

static struct timeval timeout_tv(const struct jq_client *c)
{
	struct timeval tv;
	tv.tv_sec = (time_t)(c->timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(c->timeout_ms % 1000) * 1000;
	return tv;
}

/* One set-up command (AUTH, SELECT) on a fresh connection; 0 if it answered OK. */
static int setup_command(struct jq_client *c, char *err, size_t errlen, const char *what, int argc,
			 const char **argv)
{
	redisReply *r = redisCommandArgv(c->rc, argc, argv, NULL);
	int ok = r && r->type == REDIS_REPLY_STATUS;
	if (!ok)
		report(err, errlen, JQ_CLIENT_EREDIS, "redis at '%s': %s failed: %s", where(c),
		       what,
		       r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply")
			 : c->rc->errstr);
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/* redis-sentinel:// URLs: asks the sentinels in turn (500 ms each) for the primary and
 * puts it in c->url.host and port; the one that answered goes first next time. */
static int find_primary(struct jq_client *c, char *err, size_t errlen)
{
	struct timeval tv = {0, 500 * 1000};
	for (int i = 0; i < c->url.nsentinels; i++) {
		redisContext *sc = redisConnectWithTimeout(c->url.sentinels[i].host,
							   c->url.sentinels[i].port, tv);
		redisReply *r = NULL;
		const char *ask[] = {"SENTINEL", "get-master-addr-by-name", c->url.master};
		if (sc && !sc->err && redisSetTimeout(sc, tv) == REDIS_OK)
			r = redisCommandArgv(sc, 3, ask, NULL);
		int64_t port;
		int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
			 r->element[0]->type == REDIS_REPLY_STRING &&
			 r->element[1]->type == REDIS_REPLY_STRING &&
			 r->element[0]->len < sizeof(c->url.host) &&
			 jq_parse_i64(r->element[1]->str, 1, 65535, &port) == 0;
		if (ok) {
			snprintf(c->url.host, sizeof(c->url.host), "%s", r->element[0]->str);
			c->url.port = (int)port;
			if (i > 0) { /* asked first next time */
				struct jq_hostport first = c->url.sentinels[i];
				memmove(&c->url.sentinels[1], &c->url.sentinels[0],
					sizeof(c->url.sentinels[0]) * (size_t)i);
				c->url.sentinels[0] = first;
			}
		}
		if (r)
			freeReplyObject(r);
		if (sc)
			redisFree(sc);
		if (ok)
			return 0;
	}
	return report(err, errlen, JQ_CLIENT_EREDIS, "no sentinel named a primary for '%s'",
		      c->url.master);
}

static int connect_one(struct jq_client *c, char *err, size_t errlen);

/* redis-cluster:// URLs: the node last used (url.host and port: the first of the URL's,
 * then where a MOVED or ASK pointed), else each of the URL's in turn. */
static int connect_now(struct jq_client *c, char *err, size_t errlen)
{
	int rc = connect_one(c, err, errlen);
	if (rc == 0 || !c->url.nseeds)
		return rc;
	for (int i = 0; i < c->url.nseeds; i++) {
		memcpy(c->url.host, c->url.seeds[i].host, sizeof(c->url.host)); /* same size */
		c->url.port = c->url.seeds[i].port;
		if (connect_one(c, err, errlen) == 0)
			return 0;
	}
	return JQ_CLIENT_EREDIS;
}

static int connect_one(struct jq_client *c, char *err, size_t errlen)
{
	struct timeval tv = timeout_tv(c);
	if (c->url.nsentinels && find_primary(c, err, errlen) != 0)
		return JQ_CLIENT_EREDIS;
	c->rc = c->url.unix_path[0] ? redisConnectUnixWithTimeout(c->url.unix_path, tv)
				    : redisConnectWithTimeout(c->url.host, c->url.port, tv);
	if (!c->rc) {
		return report(err, errlen, JQ_CLIENT_ENOMEM,
			      "cannot connect to redis at '%s': out of memory", where(c));
	}
	if (c->rc->err) {
		if (c->url.unix_path[0])
			report(err, errlen, 0, "cannot connect to redis at '%s': %s", where(c),
			       c->rc->errstr);
		else
			report(err, errlen, 0, "cannot connect to redis at '%s:%d': %s", where(c),
			       c->url.port, c->rc->errstr);
		drop(c);
		return JQ_CLIENT_EREDIS;
	}
	if (redisSetTimeout(c->rc, tv) != REDIS_OK) {
		report(err, errlen, 0, "redis at '%s': cannot set the timeout", where(c));
		drop(c);
		return JQ_CLIENT_EREDIS;
	}
	if (!c->url.unix_path[0])
		redisEnableKeepAlive(c->rc);
	if (c->url.user[0] || c->url.password[0]) {
		/* AUTH user password for an ACL user, AUTH password for the default one */
		const char *argv[3] = {"AUTH", c->url.user, c->url.password};
		int argc = 3;
		if (!c->url.user[0]) {
			argv[1] = c->url.password;
			argc = 2;
		}
		if (setup_command(c, err, errlen, "AUTH", argc, argv) != 0) {
			drop(c);
			return JQ_CLIENT_EREDIS;
		}
	}
	char db[16];
	snprintf(db, sizeof(db), "%d", c->url.db);
	const char *argv[] = {"SELECT", db};
	if (setup_command(c, err, errlen, "SELECT", 2, argv) != 0) {
		drop(c);
		return JQ_CLIENT_EREDIS;
	}
	if (c->url.nsentinels) { /* the address a sentinel gave must still be the primary */
		const char *role[] = {"ROLE"};
		redisReply *r = redisCommandArgv(c->rc, 1, role, NULL);
		int primary = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
			      r->element[0]->type == REDIS_REPLY_STRING &&
			      strcmp(r->element[0]->str, "master") == 0;
		if (r)
			freeReplyObject(r);
		if (!primary) {
			report(err, errlen, JQ_CLIENT_EREDIS,
			       "redis at '%s:%d' is not the primary of '%s' (a failover is under way)",
			       where(c), c->url.port, c->url.master);
			drop(c);
			return JQ_CLIENT_EREDIS;
		}
	}
	return 0;
}

/* Sends one command, connecting first when needed. Returns the reply (the
 * caller frees it; it may be an error reply), or NULL with err set and the
 * connection dropped. */
static redisReply *command(struct jq_client *c, int argc, const char **argv, const size_t *lens,
			   char *err, size_t errlen)
{
	if (!c->rc && connect_now(c, err, errlen) != 0)
		return NULL;
	redisReply *r = redisCommandArgv(c->rc, argc, argv, lens);
	/* a cluster: follow MOVED and ASK (one connection: to the node named), wait out
	 * TRYAGAIN and CLUSTERDOWN, a bounded number of times (common/store/cluster.h) */
	for (int tries = 1; c->url.nseeds && r && tries < JQ_CLUSTER_TRIES_MAX; tries++) {
		struct jq_cluster_step st;
		jq_cluster_next(r, tries, 0, c->url.host, &st);
		if (st.action == JQ_CLUSTER_DELIVER)
			break;
		freeReplyObject(r);
		r = NULL;
		if (st.action == JQ_CLUSTER_LATER) {
			struct timespec ts = {st.delay_ms / 1000,
					      (long)(st.delay_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		} else {
			drop(c);
			snprintf(c->url.host, sizeof(c->url.host), "%s", st.redirect.to.host);
			c->url.port = st.redirect.to.port;
		}
		if (!c->rc && connect_now(c, err, errlen) != 0)
			return NULL;
		if (st.action == JQ_CLUSTER_ASK) {
			const char *asking[] = {"ASKING"};
			redisReply *a = redisCommandArgv(c->rc, 1, asking, NULL);
			if (a)
				freeReplyObject(a);
		}
		r = redisCommandArgv(c->rc, argc, argv, lens);
	}
	if (!r) {
		report(err, errlen, 0, "redis at '%s': %s", where(c),
		       c->rc && c->rc->errstr[0] ? c->rc->errstr : "no reply");
		/* a context that failed once (timeout, EOF) is unusable: start afresh */
		drop(c);
	} else if (c->url.nsentinels && r->type == REDIS_REPLY_ERROR &&
		   strncmp(r->str, "READONLY", 8) == 0) {
		drop(c); /* the primary became a replica: the next call asks the sentinels */
	}
	return r;
}

/* Runs a call a store module built (and releases it): a command, or EVALSHA of an
 * embedded script, then EVAL of its body when Redis does not have it (a restarted or
 * flushed Redis; EVAL caches it for the next EVALSHA). The reply as command() gives it. */
static redisReply *run(struct jq_client *c, struct jq_call *call, char *err, size_t errlen)
{
	redisReply *r = NULL;
	int head = call->script == JQ_CALL_COMMAND ? 0 : 3;
	int total = head + call->argc;
	const char **v = malloc(sizeof(*v) * (size_t)total);
	size_t *l = malloc(sizeof(*l) * (size_t)total);
	if (!v || !l || call->err) {
		report(err, errlen, 0, "out of memory");
		goto done;
	}
	for (int i = 0; i < call->argc; i++) {
		v[head + i] = call->argv[i];
		l[head + i] = call->lens[i];
	}
	if (!head) {
		r = command(c, total, v, l, err, errlen);
		goto done;
	}
	const struct jq_script *s = jq_script_get((enum jq_script_id)call->script);
	char nk[16];
	snprintf(nk, sizeof(nk), "%d", call->nkeys);
	v[0] = "EVALSHA";
	l[0] = 7;
	v[1] = s->sha;
	l[1] = strlen(s->sha);
	v[2] = nk;
	l[2] = strlen(nk);
	r = command(c, total, v, l, err, errlen);
	if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(r);
		v[0] = "EVAL";
		l[0] = 4;
		v[1] = s->body;
		l[1] = strlen(s->body);
		r = command(c, total, v, l, err, errlen);
	}
done:
	free(v);
	free(l);
	jq_call_release(call);
	return r;
}

/* ---- life cycle ---- */

struct jq_client *jq_client_connect(const char *redis_url, const char *prefix, char *err,
				    size_t errlen)
{
	pthread_once(&scripts_once, jq_scripts_init);
	struct jq_client *c = calloc(1, sizeof(*c));
	if (!c) {
		report(err, errlen, 0, "out of memory");
		return NULL;
	}
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->idem_window_ms = DEFAULT_WINDOW_MS;
	c->keep_cancelled_ms = DEFAULT_KEEP_CANCELLED_MS;
	c->ack_timeout_ms = DEFAULT_ACK_TIMEOUT_MS;
	char why[ERR_MAX];
	if (jq_redis_url_parse(redis_url ? redis_url : DEFAULT_URL, &c->url, why, sizeof(why)) !=
	    0) {
		report(err, errlen, 0, "%s", why);
		goto fail;
	}
	if (!prefix)
		prefix = DEFAULT_PREFIX;
	if (jq_keys_init(&c->keys, prefix) != 0) {
		report(err, errlen, 0,
		       "prefix '%.80s' must be at most %d characters without spaces or control "
		       "characters",
		       prefix, JQ_PREFIX_MAX);
		goto fail;
	}
	if (connect_now(c, err, errlen) != 0)
		goto fail;
	return c;
fail:
	free(c);
	return NULL;
}

void jq_client_free(struct jq_client *c)
{
	if (!c)
		return;
	drop(c);
	free(c);
}

int jq_client_set(struct jq_client *c, enum jq_client_option opt, int64_t value)
{
	switch (opt) {
	case JQ_CLIENT_OPT_TIMEOUT_MS:
		if (value < 1 || value > TIMEOUT_MS_MAX)
			return JQ_CLIENT_EINVAL;
		c->timeout_ms = value;
		if (c->rc) {
			struct timeval tv = timeout_tv(c);
			if (redisSetTimeout(c->rc, tv) != REDIS_OK)
				drop(c); /* the next call connects with the new timeout */
		}
		return 0;
	case JQ_CLIENT_OPT_IDEMPOTENCY_WINDOW_MS:
	case JQ_CLIENT_OPT_KEEP_CANCELLED_MS:
		if (value < KEEP_MS_MIN || value > KEEP_MS_MAX)
			return JQ_CLIENT_EINVAL;
		if (opt == JQ_CLIENT_OPT_IDEMPOTENCY_WINDOW_MS)
			c->idem_window_ms = value;
		else
			c->keep_cancelled_ms = value;
		return 0;
	case JQ_CLIENT_OPT_MIN_REPLICAS_ACK:
		if (value < 0 || value > REPLICAS_MAX)
			return JQ_CLIENT_EINVAL;
		c->min_replicas_ack = value;
		return 0;
	case JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS:
		if (value < 1 || value > ACK_TIMEOUT_MS_MAX)
			return JQ_CLIENT_EINVAL;
		c->ack_timeout_ms = value;
		return 0;
	}
	return JQ_CLIENT_EINVAL;
}

int jq_client_set_traceparent(struct jq_client *c, const char *traceparent)
{
	if (!traceparent || !*traceparent) {
		c->traceparent[0] = '\0';
		return 0;
	}
	if (!jq_traceparent_valid(traceparent))
		return JQ_CLIENT_EINVAL;
	/* a later version may carry more after the flags: kept as the broker keeps it */
	snprintf(c->traceparent, sizeof(c->traceparent), "%.*s", JQ_TRACEPARENT_LEN, traceparent);
	return 0;
}

/* ---- enqueue ---- */

static void specs_free(struct jq_job_spec *specs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		jq_job_spec_release(&specs[i]);
	free(specs);
}

/* With JQ_CLIENT_OPT_MIN_REPLICAS_ACK: WAIT on the connection the enqueue went on, the
 * socket timeout stretched by the WAIT's own. 0 when enough replicas confirmed, else
 * JQ_CLIENT_ENOTREPLICATED with err set (what was stored stays stored). */
static int await_replicas(struct jq_client *c, size_t n, char *err, size_t errlen)
{
	if (c->min_replicas_ack <= 0)
		return 0;
	struct jq_call call;
	char why[256];
	int64_t acks = -1;
	struct timeval tv = timeout_tv(c);
	struct timeval longer = {(time_t)((c->timeout_ms + c->ack_timeout_ms) / 1000),
				 (suseconds_t)((c->timeout_ms + c->ack_timeout_ms) % 1000) * 1000};
	snprintf(why, sizeof(why), "the connection broke");
	if (c->rc && redisSetTimeout(c->rc, longer) == REDIS_OK) {
		jq_store_wait_build(&call, c->min_replicas_ack, c->ack_timeout_ms);
		redisReply *r = run(c, &call, why, sizeof(why));
		if (r) {
			acks = jq_store_wait_reply(r, why, sizeof(why));
			freeReplyObject(r);
		}
		if (c->rc && redisSetTimeout(c->rc, tv) != REDIS_OK)
			drop(c);
	}
	if (acks >= c->min_replicas_ack)
		return 0;
	if (acks >= 0)
		snprintf(why, sizeof(why),
			 "%" PRId64 " of the %" PRId64 " replicas asked for confirmed it "
			 "within %" PRId64 " ms",
			 acks, c->min_replicas_ack, c->ack_timeout_ms);
	return report(err, errlen, JQ_CLIENT_ENOTREPLICATED,
		      "redis at '%s': %zu job(s) stored on the primary, not replicated (%s): they "
		      "may still exist; retry with the same idempotency key",
		      where(c), n, why);
}

/* Reserves n ids (the counter the broker's blocks come from) and runs the
 * enqueue script; *first gets the first id, or the earlier job's id when the
 * Idempotency-Key was seen (*dup = 1). */
static int store(struct jq_client *c, const struct jq_job_spec *specs, size_t n, const char *idem,
		 int64_t *first, int *dup, char *err, size_t errlen)
{
	struct jq_call call;
	char why[256];
	jq_store_reserve_ids_build(&call, &c->keys, (int64_t)n);
	redisReply *r = run(c, &call, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int64_t last = jq_store_reserve_ids_reply(r, why, sizeof(why));
	freeReplyObject(r);
	if (last < (int64_t)n) {
		report(err, errlen, 0, "redis at '%s': reserving ids failed: %s", where(c),
		       last < 0 ? why : "the counter is behind");
		return JQ_CLIENT_EREDIS;
	}
	int64_t first_id = last - (int64_t)n + 1;

	struct jq_enqueue_args a;
	if (jq_enqueue_args_build(&a, &c->keys, specs, n, first_id, idem, c->idem_window_ms) != 0)
		return report(err, errlen, JQ_CLIENT_ENOMEM, "out of memory");
	jq_store_enqueue_build(&call, &a);
	r = run(c, &call, err, errlen);
	jq_enqueue_args_release(&a);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int rc = JQ_CLIENT_EREDIS;
	struct jq_enqueue_reply er;
	if (jq_store_enqueue_reply(r, n, &er, why, sizeof(why)) != JQ_STORE_OK) {
		report(err, errlen, 0, "redis at '%s': enqueue failed: %s", where(c), why);
	} else if (er.result == JQ_ENQUEUE_STORED) {
		*first = first_id;
		*dup = 0;
		rc = await_replicas(c, n, err, errlen);
	} else if (er.result == JQ_ENQUEUE_REPEATED && er.kind == JQ_ENQUEUED_ONE) {
		/* the same Idempotency-Key within the window: the first job, nothing new (its
		 * store may be the one that was not replicated: waited for again) */
		*first = er.first_id;
		*dup = 1;
		rc = await_replicas(c, n, err, errlen);
	} else if (er.result == JQ_ENQUEUE_REPEATED) {
		/* the key stored a bulk or a batch (the broker's POST /jobs/bulk, /batches) */
		rc = report(err, errlen, JQ_CLIENT_ECONFLICT,
			    "the idempotency key was used by a request of %" PRId64
			    " jobs (from id %" PRId64 ")",
			    er.n, er.first_id);
	} else {
		/* a unique_key held by a live job: nothing stored (as the broker's 409) */
		rc = report(err, errlen, JQ_CLIENT_ECONFLICT,
			    "job %" PRId64 ": its unique_key is held by live job %" PRId64,
			    er.index, er.holder);
	}
	freeReplyObject(r);
	return rc;
}

/* Parses text as JSON; NULL with the reason in why. */
static json_t *parse_json(const char *text, const char *what, char *why, size_t whylen)
{
	if (!text) {
		snprintf(why, whylen, "%s is NULL", what);
		return NULL;
	}
	json_error_t jerr;
	json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		snprintf(why, whylen, "%s is not valid JSON: %s", what, jerr.text);
	return v;
}

static int enqueue_one(struct jq_client *c, const char *job_json, const char *idem, int64_t *id,
		       int *duplicate, char *err, size_t errlen)
{
	char why[ERR_MAX];
	if (idem && !jq_idempotency_key_valid(idem))
		return report(err, errlen, JQ_CLIENT_EINVAL,
			      "idempotency key must be 1 to %d printable ASCII characters without "
			      "spaces",
			      JQ_IDEMPOTENCY_KEY_MAX);
	json_t *obj = parse_json(job_json, "job", why, sizeof(why));
	if (!obj)
		return report(err, errlen, JQ_CLIENT_EINVAL, "%s", why);
	struct jq_job_spec spec;
	jq_job_spec_init(&spec);
	int rc = jq_job_spec_from_json(&spec, obj, why, sizeof(why));
	json_decref(obj);
	if (rc != 0) {
		jq_job_spec_release(&spec);
		return report(err, errlen, JQ_CLIENT_EINVAL, "%s", why);
	}
	memcpy(spec.traceparent, c->traceparent, sizeof(spec.traceparent));
	int64_t got = 0;
	int dup = 0;
	rc = store(c, &spec, 1, idem, &got, &dup, err, errlen);
	jq_job_spec_release(&spec);
	if (rc == 0 || rc == JQ_CLIENT_ENOTREPLICATED) {
		if (id)
			*id = got;
		if (duplicate)
			*duplicate = dup;
	}
	return rc;
}

int jq_client_enqueue_json(struct jq_client *c, const char *job_json, int64_t *id, char *err,
			   size_t errlen)
{
	return enqueue_one(c, job_json, NULL, id, NULL, err, errlen);
}

int jq_client_enqueue_json_idem(struct jq_client *c, const char *job_json, const char *key,
				int64_t *id, int *duplicate, char *err, size_t errlen)
{
	if (!key)
		return report(err, errlen, JQ_CLIENT_EINVAL, "idempotency key is NULL");
	return enqueue_one(c, job_json, key, id, duplicate, err, errlen);
}

int jq_client_enqueue_bulk_json(struct jq_client *c, const char *jobs_json, int64_t *first_id,
				size_t *count, char *err, size_t errlen)
{
	char why[ERR_MAX];
	json_t *arr = parse_json(jobs_json, "jobs", why, sizeof(why));
	if (!arr)
		return report(err, errlen, JQ_CLIENT_EINVAL, "%s", why);
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	if (n == 0 || n > JQ_CLIENT_BULK_MAX) {
		json_decref(arr);
		return report(err, errlen, JQ_CLIENT_EINVAL,
			      "jobs must be a JSON array of 1 to %d jobs", JQ_CLIENT_BULK_MAX);
	}
	struct jq_job_spec *specs = calloc(n, sizeof(*specs));
	if (!specs) {
		json_decref(arr);
		return report(err, errlen, JQ_CLIENT_ENOMEM, "out of memory");
	}
	size_t ready = 0; /* specs initialised so far */
	int rc = 0;
	for (; ready < n; ready++) {
		jq_job_spec_init(&specs[ready]);
		if (jq_job_spec_from_json(&specs[ready], json_array_get(arr, ready), why,
					  sizeof(why)) != 0) {
			rc = report(err, errlen, JQ_CLIENT_EINVAL, "job %zu: %s", ready, why);
			ready++;
			break;
		}
		memcpy(specs[ready].traceparent, c->traceparent, sizeof(specs[ready].traceparent));
	}
	json_decref(arr);
	if (rc == 0) {
		int64_t first = 0;
		int dup = 0;
		rc = store(c, specs, n, NULL, &first, &dup, err, errlen);
		if (rc == 0 || rc == JQ_CLIENT_ENOTREPLICATED) {
			if (first_id)
				*first_id = first;
			if (count)
				*count = n;
		}
	}
	specs_free(specs, ready);
	return rc;
}

/* ---- reading and cancelling ---- */

static int check_id(int64_t id, char *err, size_t errlen)
{
	if (id < 1)
		return report(err, errlen, JQ_CLIENT_EINVAL, "job id %" PRId64 " is not positive",
			      id);
	return 0;
}

int jq_client_job_json(struct jq_client *c, int64_t id, char **json, char *err, size_t errlen)
{
	if (!json)
		return report(err, errlen, JQ_CLIENT_EINVAL, "json is NULL");
	*json = NULL;
	if (check_id(id, err, errlen) != 0)
		return JQ_CLIENT_EINVAL;
	struct jq_call call;
	jq_store_job_read_build(&call, &c->keys, id);
	redisReply *r = run(c, &call, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int rc = 0, found;
	char why[256];
	if (jq_store_job_read_reply(r, &found, why, sizeof(why)) != JQ_STORE_OK) {
		rc = report(err, errlen, JQ_CLIENT_EREDIS,
			    "redis at '%s': reading job %" PRId64 " failed: %s", where(c), id, why);
	} else if (!found) {
		rc = report(err, errlen, JQ_CLIENT_ENOTFOUND, "job %" PRId64 " not found", id);
	} else {
		json_t *j = jq_job_json(id, r);
		*json = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		if (!*json)
			rc = report(err, errlen, JQ_CLIENT_ENOMEM, "out of memory");
	}
	freeReplyObject(r);
	return rc;
}

/* The job's state, progress and error into *js, which points into *out (the caller
 * frees it): 0, or a code with err set. An unknown job is JQ_CLIENT_ENOTFOUND. */
static int read_state(struct jq_client *c, int64_t id, struct jq_job_state *js, redisReply **out,
		      char *err, size_t errlen)
{
	*out = NULL;
	if (check_id(id, err, errlen) != 0)
		return JQ_CLIENT_EINVAL;
	struct jq_call call;
	jq_store_job_state_build(&call, &c->keys, id);
	redisReply *r = run(c, &call, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	char why[256];
	if (jq_store_job_state_reply(r, js, why, sizeof(why)) != JQ_STORE_OK) {
		report(err, errlen, 0, "redis at '%s': reading job %" PRId64 " failed: %s",
		       where(c), id, why);
		freeReplyObject(r);
		return JQ_CLIENT_EREDIS;
	}
	if (!js->found) {
		freeReplyObject(r);
		return report(err, errlen, JQ_CLIENT_ENOTFOUND, "job %" PRId64 " not found", id);
	}
	*out = r;
	return 0;
}

int jq_client_status(struct jq_client *c, int64_t id, char *buf, size_t cap, char *err,
		     size_t errlen)
{
	struct jq_job_state js;
	redisReply *r;
	int rc = read_state(c, id, &js, &r, err, errlen);
	if (rc == JQ_CLIENT_ENOTFOUND && cap)
		snprintf(buf, cap, "not_found"); /* what GET /task-status says */
	if (rc != 0)
		return rc;
	if (cap)
		jq_job_status(buf, cap, js.state, js.done, js.total, js.error);
	freeReplyObject(r);
	return 0;
}

int jq_client_state(struct jq_client *c, int64_t id, char *buf, size_t cap, int *terminal,
		    char *err, size_t errlen)
{
	struct jq_job_state js;
	redisReply *r;
	int rc = read_state(c, id, &js, &r, err, errlen);
	if (rc != 0)
		return rc;
	const char *s = js.state;
	if (cap)
		snprintf(buf, cap, "%s", s);
	if (terminal)
		*terminal = strcmp(s, "completed") == 0 || strcmp(s, "failed") == 0 ||
			    strcmp(s, "cancelled") == 0;
	freeReplyObject(r);
	return 0;
}

int jq_client_cancel(struct jq_client *c, int64_t id, int *running, char *err, size_t errlen)
{
	if (check_id(id, err, errlen) != 0)
		return JQ_CLIENT_EINVAL;
	struct jq_call call;
	struct jq_cancel_args a = {id, c->keep_cancelled_ms};
	jq_store_cancel_build(&call, &c->keys, &a);
	redisReply *r = run(c, &call, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int rc;
	char why[256];
	int v = jq_store_cancel_reply(r, why, sizeof(why));
	if (v == JQ_CANCEL_DONE || v == JQ_CANCEL_REQUESTED) {
		if (running)
			*running = v == JQ_CANCEL_REQUESTED;
		rc = 0;
	} else if (v == JQ_CANCEL_FINISHED) {
		rc = report(err, errlen, JQ_CLIENT_ECONFLICT,
			    "job %" PRId64 " has already finished", id);
	} else if (v == JQ_CANCEL_UNKNOWN) {
		rc = report(err, errlen, JQ_CLIENT_ENOTFOUND, "job %" PRId64 " not found", id);
	} else {
		rc = report(err, errlen, JQ_CLIENT_EREDIS, "redis at '%s': cancel failed: %s",
			    where(c), why);
	}
	freeReplyObject(r);
	return rc;
}
