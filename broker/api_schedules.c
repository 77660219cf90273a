/* api_schedules.c: periodic schedules: POST/GET /schedules, GET/PUT/DELETE /schedules/{name}. */
#include <event2/buffer.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "cron_fire.h"
#include "redact.h"
#include "log.h"
#include "store/schedules.h"
#include "util.h"

/* A request waiting on the schedules script. */
struct sched_op {
	struct jq_broker *b;
	struct jq_http_req *req;
	char name[JQ_SCHEDULE_NAME_MAX + 1]; /* "" for the whole list */
};

static struct sched_op *op_new(struct jq_broker *b, struct jq_http_req *req, const char *name)
{
	struct sched_op *o = calloc(1, sizeof(*o));
	if (!o) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return NULL;
	}
	o->b = b;
	o->req = req;
	snprintf(o->name, sizeof(o->name), "%s", name ? name : "");
	b->in_flight++;
	return o;
}

static void op_free(struct sched_op *o)
{
	o->b->in_flight--;
	free(o);
}

/* After a store call for o: on failure to send (rc != 0), answers 503 and frees o. */
static void op_sent(struct sched_op *o, int rc)
{
	if (rc != 0) {
		jq_reply_unavailable(o->req);
		op_free(o);
	}
}

/* The name in a path, or a 400 answer and -1. */
static int path_name(struct jq_http_req *req, const char *arg)
{
	if (!jq_name_valid(arg, strlen(arg))) {
		jq_reply_error(
			req, 400, "invalid_argument",
			"'%.64s' is not a valid schedule name (1 to %d of A-Z a-z 0-9 _ . : -)",
			arg, JQ_SCHEDULE_NAME_MAX);
		return -1;
	}
	return 0;
}

static json_t *time_pair(json_t *obj, const char *name, const char *ms_name, int64_t ms)
{
	if (ms > 0) {
		char when[32];
		jq_format_rfc3339(ms, when);
		json_object_set_new(obj, name, json_string(when));
		json_object_set_new(obj, ms_name, json_integer(ms));
	} else {
		json_object_set_new(obj, name, json_null());
		json_object_set_new(obj, ms_name, json_null());
	}
	return obj;
}

static int64_t state_i64(const json_t *st, const char *name)
{
	const json_t *v = json_object_get(st, name);
	if (json_is_integer(v))
		return json_integer_value(v);
	return json_is_real(v) ? (int64_t)json_real_value(v) : 0; /* Lua's cjson may write 1e+12 */
}

/* One schedule as shown; NULL if its stored definition or state is junk. */
static json_t *schedule_json(const struct jq_schedule_entry *e)
{
	json_t *def = json_loadb(e->def, e->def_len, 0, NULL);
	json_t *st = json_loadb(e->state, e->state_len, 0, NULL);
	json_t *j = NULL;
	if (json_is_object(def) && json_is_object(st)) {
		const json_t *src = json_object_get(st, "source");
		json_t *job = json_object_get(def, "job"); /* def is this function's own copy */
		jq_redact_payload(json_string_value(json_object_get(job, "type")),
				  json_object_get(job, "payload"));
		j = json_pack("{s:s,s:O,s:O,s:s}", "name", e->name, "cron",
			      json_object_get(def, "cron"), "job", job, "source",
			      json_is_string(src) ? json_string_value(src) : "api");
	}
	if (j) {
		int64_t last_job = state_i64(st, "last_job_id");
		time_pair(j, "next_run", "next_run_ms", e->next_ms);
		time_pair(j, "last_run", "last_run_ms", state_i64(st, "last_tick"));
		json_object_set_new(j, "last_job_id",
				    last_job > 0 ? json_integer(last_job) : json_null());
		char when[32];
		jq_format_rfc3339(state_i64(st, "created_at"), when);
		json_object_set_new(j, "created_at", json_string(when));
		jq_format_rfc3339(state_i64(st, "updated_at"), when);
		json_object_set_new(j, "updated_at", json_string(when));
	}
	json_decref(def);
	json_decref(st);
	return j;
}

/* ---- GET /schedules, GET /schedules/{name} ---- */

static void on_list(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sched_op *o = priv;
	size_t n;
	char err[256];
	struct jq_schedule_entry e;
	if (jq_store_schedule_list_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(o->req);
	} else if (o->name[0]) {
		json_t *s = n && jq_store_schedule_at(reply, 0, &e) == 0 ? schedule_json(&e) : NULL;
		if (s)
			jq_reply_json(o->req, 200, s);
		else
			jq_reply_error(o->req, 404, "not_found", "no schedule '%s'", o->name);
	} else {
		json_t *list = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *s =
				jq_store_schedule_at(reply, i, &e) == 0 ? schedule_json(&e) : NULL;
			if (s)
				json_array_append_new(list, s);
		}
		jq_reply_json(o->req, 200, json_pack("{s:o}", "schedules", list));
	}
	op_free(o);
}

void jq_api_schedules(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct sched_op *o = op_new(b, req, NULL);
	if (o)
		op_sent(o, jq_store_schedule_list(b->redis, &b->keys, o->name, on_list, o));
}

void jq_api_schedule(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (path_name(req, arg) != 0)
		return;
	struct sched_op *o = op_new(b, req, arg);
	if (o)
		op_sent(o, jq_store_schedule_list(b->redis, &b->keys, o->name, on_list, o));
}

/* ---- POST /schedules, PUT /schedules/{name} ---- */

static void on_put(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sched_op *o = priv;
	const char *status;
	struct jq_schedule_entry e;
	char err[256];
	int st = jq_store_schedule_put_reply(reply, &status, &e, err, sizeof(err));
	json_t *s =
		st == JQ_STORE_OK && strcmp(status, "exists") != 0 && strcmp(status, "full") != 0
			? schedule_json(&e)
			: NULL;
	if (st != JQ_STORE_OK) {
		if (st == JQ_STORE_ERROR)
			jq_error("storing schedule '%s' failed: %s", o->name, err);
		jq_reply_unavailable(o->req);
	} else if (strcmp(status, "exists") == 0) {
		jq_reply_error(o->req, 409, "conflict",
			       "schedule '%s' exists; PUT /schedules/%s replaces it", o->name,
			       o->name);
	} else if (strcmp(status, "full") == 0) {
		jq_reply_error(o->req, 409, "conflict", "there are %d schedules already",
			       JQ_SCHEDULES_MAX);
	} else if (!s) {
		jq_reply_unavailable(o->req);
	} else {
		jq_info("schedule '%s' %s", o->name, status);
		jq_reply_json(o->req, strcmp(status, "created") == 0 ? 201 : 200, s);
		s = NULL;
		jq_cron_firer_kick(o->b->cron); /* its first run may be sooner than our next look */
	}
	json_decref(s);
	op_free(o);
}

/* Checks a body {"name"?, "cron", "job"} (name from the path when path_name is
 * given; the body's must then agree) and stores it with mode. */
static void put_schedule(struct jq_broker *b, struct jq_http_req *req, const char *path_name_,
			 const char *mode)
{
	json_t *body = jq_request_json(req);
	if (!body)
		return;
	struct jq_schedule s;
	char err[300];
	const char *key;
	json_t *v;
	if (!json_is_object(body)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the body must be a JSON object {\"name\", \"cron\", \"job\"}");
		goto done;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "name") != 0 && strcmp(key, "cron") != 0 &&
		    strcmp(key, "job") != 0) {
			jq_reply_error(req, 400, "invalid_argument", "unknown field '%.64s'", key);
			goto done;
		}
	}
	const json_t *name = json_object_get(body, "name");
	if (name && !json_is_string(name)) {
		jq_reply_error(req, 400, "invalid_argument", "'name' must be a string");
		goto done;
	}
	if (path_name_ && name && strcmp(json_string_value(name), path_name_) != 0) {
		jq_reply_error(req, 400, "invalid_argument",
			       "'name' in the body differs from the name in the path");
		goto done;
	}
	if (!path_name_ && !name) {
		jq_reply_error(req, 400, "invalid_argument", "'name' is required");
		goto done;
	}
	if (!json_object_get(body, "cron") || !json_object_get(body, "job")) {
		jq_reply_error(req, 400, "invalid_argument", "'%s' is required",
			       json_object_get(body, "cron") ? "job" : "cron");
		goto done;
	}
	const char *n = path_name_ ? path_name_ : json_string_value(name);
	if (jq_schedule_init(&s, n, strlen(n), json_object_get(body, "cron"),
			     json_object_get(body, "job"), err, sizeof(err)) != 0) {
		jq_reply_error(req, 400, "invalid_argument", "%s", err);
		goto done;
	}
	struct sched_op *o = op_new(b, req, s.name);
	if (o && jq_cron_put(b->redis, &b->keys, &s, mode, "api", on_put, o) != 0) {
		jq_reply_unavailable(req);
		op_free(o);
	}
	jq_schedule_release(&s);
done:
	json_decref(body);
}

void jq_api_post_schedule(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	put_schedule(b, req, NULL, "create");
}

void jq_api_put_schedule(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (path_name(req, arg) == 0)
		put_schedule(b, req, arg, "replace");
}

/* ---- DELETE /schedules/{name} ---- */

static void on_delete(redisAsyncContext *ac, void *reply, void *priv)
{
	struct sched_op *o = priv;
	char err[256];
	int64_t n = jq_store_int_reply(reply, err, sizeof(err));
	if (n < 0) {
		jq_reply_unavailable(o->req);
	} else if (n == 0) {
		jq_reply_error(o->req, 404, "not_found", "no schedule '%s'", o->name);
	} else {
		jq_info("schedule '%s' deleted", o->name);
		jq_broker_count_response(204);
		jq_http_send(o->req, 204, NULL, 0);
	}
	op_free(o);
}

void jq_api_delete_schedule(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (path_name(req, arg) != 0)
		return;
	struct sched_op *o = op_new(b, req, arg);
	if (o)
		op_sent(o, jq_store_schedule_del(b->redis, &b->keys, o->name, on_delete, o));
}
