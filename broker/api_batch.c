/* api_batch.c: POST /batches and GET /batches/{id} (docs/api.md, "Batches").
 *
 * A batch is a bulk enqueue whose jobs are grouped: one request, one script call
 * (enqueue.lua with its batch section), an id of its own just before its jobs'
 * ids, counts of its members' end states kept by the scripts that end jobs
 * (lib/batch.lua), and an optional callback job stored once the last member ends. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker.h"
#include "util.h"

static void batch_reply(struct jq_http_req *req, int64_t id, size_t n,
			const struct jq_job_spec *specs, const char *dup_state)
{
	(void)specs;
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_integer(id + 1 + (json_int_t)i));
	/* a repeated Idempotency-Key: 200 with what the first request stored */
	jq_reply_json(req, dup_state ? 200 : 201, json_pack("{s:I,s:I,s:o}", "id", (json_int_t)id, "total",
					  (json_int_t)n, "ids", ids));
}

void jq_api_post_batch(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	(void)arg;
	const char *idem;
	if (jq_idempotency_key(req, &idem) != 0)
		return;
	json_t *body = jq_request_json(req);
	if (!body)
		return;
	const char *key;
	json_t *v;
	if (!json_is_object(body)) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the body must be a JSON object {\"jobs\": [...], \"callback\"?: {...}}");
		goto out;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "jobs") != 0 && strcmp(key, "callback") != 0) {
			jq_reply_error(req, 400, "invalid_argument",
				       "unknown field '%.64s' (a batch has 'jobs' and 'callback')", key);
			goto out;
		}
	}
	struct jq_job_spec *callback = NULL;
	json_t *cb = json_object_get(body, "callback");
	if (cb && !json_is_null(cb)) {
		char err[256];
		callback = malloc(sizeof(*callback));
		if (!callback) {
			jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
			goto out;
		}
		jq_job_spec_init(callback);
		int bad = jq_job_spec_from_json(callback, cb, err, sizeof(err)) != 0;
		if (!bad && (callback->delay_ms || callback->run_at_ms)) {
			bad = 1;
			snprintf(err, sizeof(err), "'delay_ms' and 'run_at' do not apply: it runs "
						   "when the batch's last job ends");
		}
		if (bad) {
			jq_reply_error(req, 400, "invalid_argument", "callback: %s", err);
			jq_job_spec_release(callback);
			free(callback);
			goto out;
		}
	}
	size_t n;
	struct jq_job_spec *specs = jq_specs_from_json(req, json_object_get(body, "jobs"), "'jobs'", &n);
	if (!specs) {
		if (callback) {
			jq_job_spec_release(callback);
			free(callback);
		}
		goto out;
	}
	jq_broker_enqueue_batch(b, req, specs, n, callback, batch_reply);
out:
	json_decref(body);
}

/* ---- GET /batches/{id} ---- */

static json_t *count_of(const redisReply *r)
{
	int64_t v = 0;
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		jq_parse_i64(r->str, INT64_MIN, INT64_MAX, &v);
	return json_integer((json_int_t)v);
}

static void on_batch(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	struct jq_pending *br = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
		jq_reply_unavailable(br->req);
	} else if (r->elements == 0) {
		jq_reply_error(br->req, 404, "not_found", "no batch %" PRId64 " (or it expired)",
			       br->id);
	} else {
		json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:n,s:n,s:n}", "id",
				      (json_int_t)br->id, "total", (json_int_t)0, "pending",
				      (json_int_t)0, "scheduled", (json_int_t)0, "running",
				      (json_int_t)0, "completed", (json_int_t)0, "failed",
				      (json_int_t)0, "cancelled", (json_int_t)0, "finished", 0,
				      "created_at", "finished_at", "callback_id");
		for (size_t i = 0; i < r->elements; i += 2) {
			const redisReply *k = r->element[i], *v = r->element[i + 1];
			if (k->type != REDIS_REPLY_STRING || v->type == REDIS_REPLY_NIL)
				continue;
			const char *name = k->str;
			if (strcmp(name, "created_at") == 0 || strcmp(name, "finished_at") == 0) {
				int64_t ms;
				char buf[32];
				if (v->type == REDIS_REPLY_STRING &&
				    jq_parse_i64(v->str, 0, INT64_MAX, &ms) == 0) {
					jq_format_rfc3339(ms, buf);
					json_object_set_new(o, name, json_string(buf));
				}
				if (name[0] == 'f')
					json_object_set_new(o, "finished", json_true());
			} else if (json_object_get(o, name)) {
				json_object_set_new(o, name, count_of(v)); /* the counts, callback_id */
			}
		}
		jq_reply_json(br->req, 200, o);
	}
	jq_pending_free(br);
}

void jq_api_get_batch(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	int64_t id;
	if (jq_parse_i64(arg, 1, INT64_MAX, &id) != 0) {
		jq_reply_error(req, 400, "invalid_argument",
			       "batch id '%.64s' is not a positive integer", arg);
		return;
	}
	struct jq_pending *br = jq_pending_new(b, req, id);
	if (!br)
		return;
	char key[JQ_KEY_MAX], prefix[JQ_KEY_MAX], idtxt[24];
	jq_keys_batch(&b->keys, id, key);
	jq_keys_job_prefix(&b->keys, prefix);
	snprintf(idtxt, sizeof(idtxt), "%" PRId64, id);
	const char *argv[] = {key, prefix, idtxt};
	if (jq_redis_eval(b->redis, JQ_SCRIPT_BATCH_STATUS, on_batch, br, 1, 2, argv, NULL) != 0) {
		jq_pending_free(br);
		jq_reply_unavailable(req);
	}
}
