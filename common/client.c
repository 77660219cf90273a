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

#include "enqueue_args.h"
#include "job.h"
#include "job_json.h"
#include "keys.h"
#include "redis_url.h"
#include "scripts.h"
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

struct jq_client {
	struct jq_redis_url url;
	struct jq_keys keys;
	redisContext *rc; /* NULL while disconnected: the next call connects */
	int64_t timeout_ms;
	int64_t idem_window_ms;
	int64_t keep_cancelled_ms;
	char traceparent[JQ_TRACEPARENT_LEN + 1]; /* stored with each job, or "" */
};

static pthread_once_t scripts_once = PTHREAD_ONCE_INIT;

const char *jq_client_version(void) { return JOBQ_VERSION; }

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
static int setup_command(struct jq_client *c, char *err, size_t errlen, const char *what,
			 int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(c->rc, argc, argv, NULL);
	int ok = r && r->type == REDIS_REPLY_STATUS;
	if (!ok)
		report(err, errlen, JQ_CLIENT_EREDIS, "redis at '%s': %s failed: %s", where(c), what,
		       r ? (r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply")
			 : c->rc->errstr);
	if (r)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

static int connect_now(struct jq_client *c, char *err, size_t errlen)
{
	struct timeval tv = timeout_tv(c);
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
	if (c->url.password[0]) {
		const char *argv[] = {"AUTH", c->url.password};
		if (setup_command(c, err, errlen, "AUTH", 2, argv) != 0) {
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
	if (!r) {
		report(err, errlen, 0, "redis at '%s': %s", where(c),
		       c->rc->errstr[0] ? c->rc->errstr : "no reply");
		/* a context that failed once (timeout, EOF) is unusable: start afresh */
		drop(c);
	}
	return r;
}

/* EVALSHA of an embedded script, or EVAL of its body when Redis does not have it
 * (a restarted or flushed Redis; EVAL caches it for the next EVALSHA). */
static redisReply *eval(struct jq_client *c, enum jq_script_id id, int nkeys, int nargs,
			const char **args, const size_t *lens, char *err, size_t errlen)
{
	int total = 3 + nkeys + nargs;
	const char **v = malloc(sizeof(*v) * (size_t)total);
	size_t *l = malloc(sizeof(*l) * (size_t)total);
	redisReply *r = NULL;
	if (!v || !l) {
		report(err, errlen, 0, "out of memory");
		goto done;
	}
	const struct jq_script *s = jq_script_get(id);
	char nk[16];
	snprintf(nk, sizeof(nk), "%d", nkeys);
	v[0] = "EVALSHA";
	l[0] = 7;
	v[1] = s->sha;
	l[1] = strlen(s->sha);
	v[2] = nk;
	l[2] = strlen(nk);
	for (int i = 0; i < nkeys + nargs; i++) {
		v[3 + i] = args[i];
		l[3 + i] = lens ? lens[i] : strlen(args[i]);
	}
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

/* Reserves n ids (the counter the broker's blocks come from) and runs the
 * enqueue script; *first gets the first id, or the earlier job's id when the
 * Idempotency-Key was seen (*dup = 1). */
static int store(struct jq_client *c, const struct jq_job_spec *specs, size_t n, const char *idem,
		 int64_t *first, int *dup, char *err, size_t errlen)
{
	char key[JQ_KEY_MAX], count[24];
	jq_keys_ids(&c->keys, key);
	snprintf(count, sizeof(count), "%zu", n);
	const char *incr[] = {"INCRBY", key, count};
	redisReply *r = command(c, 3, incr, NULL, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	if (r->type != REDIS_REPLY_INTEGER || r->integer < (long long)n) {
		report(err, errlen, 0, "redis at '%s': INCRBY '%s' failed: %s", where(c), key,
		       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return JQ_CLIENT_EREDIS;
	}
	int64_t first_id = (int64_t)r->integer - (int64_t)n + 1;
	freeReplyObject(r);

	struct jq_enqueue_args a;
	if (jq_enqueue_args_build(&a, &c->keys, specs, n, first_id, idem, c->idem_window_ms) != 0)
		return report(err, errlen, JQ_CLIENT_ENOMEM, "out of memory");
	r = eval(c, JQ_SCRIPT_ENQUEUE, a.nkeys, a.nargs, a.argv, a.lens, err, errlen);
	jq_enqueue_args_release(&a);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int rc = JQ_CLIENT_EREDIS;
	int64_t dup_id;
	if (r->type == REDIS_REPLY_INTEGER && r->integer == (long long)n) {
		*first = first_id;
		*dup = 0;
		rc = 0;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		   r->element[0]->type == REDIS_REPLY_STRING &&
		   jq_parse_i64(r->element[0]->str, 1, INT64_MAX, &dup_id) == 0) {
		/* the same Idempotency-Key within the window: the first job, nothing new */
		*first = dup_id;
		*dup = 1;
		rc = 0;
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		   r->element[0]->type == REDIS_REPLY_STRING) {
		/* the key stored a bulk or a batch (the broker's POST /jobs/bulk, /batches) */
		rc = report(err, errlen, JQ_CLIENT_ECONFLICT,
			    "the idempotency key was used by a request of several jobs (%.64s)",
			    r->element[0]->str);
	} else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		   r->element[0]->type == REDIS_REPLY_STRING &&
		   strcmp(r->element[0]->str, "unique") == 0 &&
		   r->element[1]->type == REDIS_REPLY_STRING) {
		/* a unique_key held by a live job: nothing stored (as the broker's 409) */
		long long index = r->element[2]->type == REDIS_REPLY_INTEGER ? r->element[2]->integer : 0;
		rc = report(err, errlen, JQ_CLIENT_ECONFLICT,
			    "job %lld: its unique_key is held by live job %s", index,
			    r->element[1]->str);
	} else {
		report(err, errlen, 0, "redis at '%s': enqueue failed: %s", where(c),
		       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
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
	if (rc == 0) {
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
		return report(err, errlen, JQ_CLIENT_EINVAL, "jobs must be a JSON array of 1 to %d jobs",
			      JQ_CLIENT_BULK_MAX);
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
		if (rc == 0) {
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
		return report(err, errlen, JQ_CLIENT_EINVAL, "job id %" PRId64 " is not positive", id);
	return 0;
}

int jq_client_job_json(struct jq_client *c, int64_t id, char **json, char *err, size_t errlen)
{
	if (!json)
		return report(err, errlen, JQ_CLIENT_EINVAL, "json is NULL");
	*json = NULL;
	if (check_id(id, err, errlen) != 0)
		return JQ_CLIENT_EINVAL;
	char key[JQ_KEY_MAX];
	jq_keys_job(&c->keys, id, key);
	const char *argv[] = {"HGETALL", key};
	redisReply *r = command(c, 2, argv, NULL, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int rc = 0;
	if (r->type != REDIS_REPLY_ARRAY) {
		rc = report(err, errlen, JQ_CLIENT_EREDIS, "redis at '%s': HGETALL '%s' failed: %s",
			    where(c), key, r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	} else if (r->elements == 0) {
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

/* HMGET of the job's fields into r (the caller frees it): 0, or a code with err set.
 * An unknown job (its first field nil) is JQ_CLIENT_ENOTFOUND. */
static int read_fields(struct jq_client *c, int64_t id, const char **fields, int n,
		       redisReply **out, char *err, size_t errlen)
{
	*out = NULL;
	if (check_id(id, err, errlen) != 0)
		return JQ_CLIENT_EINVAL;
	char key[JQ_KEY_MAX];
	jq_keys_job(&c->keys, id, key);
	const char *argv[8] = {"HMGET", key};
	for (int i = 0; i < n; i++)
		argv[2 + i] = fields[i];
	redisReply *r = command(c, 2 + n, argv, NULL, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
		report(err, errlen, 0, "redis at '%s': HMGET '%s' failed: %s", where(c), key,
		       r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return JQ_CLIENT_EREDIS;
	}
	if (r->element[0]->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return report(err, errlen, JQ_CLIENT_ENOTFOUND, "job %" PRId64 " not found", id);
	}
	*out = r;
	return 0;
}

static int64_t reply_i64(const redisReply *r)
{
	int64_t v = 0;
	if (r->type == REDIS_REPLY_STRING)
		jq_parse_i64(r->str, INT64_MIN, INT64_MAX, &v);
	return v;
}

int jq_client_status(struct jq_client *c, int64_t id, char *buf, size_t cap, char *err,
		     size_t errlen)
{
	static const char *fields[] = {"state", "done", "total", "error"};
	redisReply *r;
	int rc = read_fields(c, id, fields, 4, &r, err, errlen);
	if (rc == JQ_CLIENT_ENOTFOUND && cap)
		snprintf(buf, cap, "not_found"); /* what GET /task-status says */
	if (rc != 0)
		return rc;
	if (cap) {
		const char *error = r->element[3]->type == REDIS_REPLY_STRING ? r->element[3]->str : "";
		jq_job_status(buf, cap, r->element[0]->str, reply_i64(r->element[1]),
			      reply_i64(r->element[2]), error);
	}
	freeReplyObject(r);
	return 0;
}

int jq_client_state(struct jq_client *c, int64_t id, char *buf, size_t cap, int *terminal,
		    char *err, size_t errlen)
{
	static const char *fields[] = {"state"};
	redisReply *r;
	int rc = read_fields(c, id, fields, 1, &r, err, errlen);
	if (rc != 0)
		return rc;
	const char *s = r->element[0]->str;
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
	char kjob[JQ_KEY_MAX], ksched[JQ_KEY_MAX], sid[24], keep[24];
	jq_keys_job(&c->keys, id, kjob);
	jq_keys_scheduled(&c->keys, ksched);
	snprintf(sid, sizeof(sid), "%" PRId64, id);
	snprintf(keep, sizeof(keep), "%" PRId64, c->keep_cancelled_ms);
	const char *argv[] = {kjob, ksched, sid, c->keys.prefix, keep};
	redisReply *r = eval(c, JQ_SCRIPT_CANCEL, 2, 3, argv, NULL, err, errlen);
	if (!r)
		return JQ_CLIENT_EREDIS;
	int rc;
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	if (v == 1 || v == 2) {
		if (running)
			*running = v == 2;
		rc = 0;
	} else if (v == 3) {
		rc = report(err, errlen, JQ_CLIENT_ECONFLICT, "job %" PRId64 " has already finished",
			    id);
	} else if (v == 0) {
		rc = report(err, errlen, JQ_CLIENT_ENOTFOUND, "job %" PRId64 " not found", id);
	} else {
		rc = report(err, errlen, JQ_CLIENT_EREDIS, "redis at '%s': cancel failed: %s",
			    where(c), r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	}
	freeReplyObject(r);
	return rc;
}
