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
#include <jansson.h>

#include "broker.h"
#include "reply.h"
#include "enqueue.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "job.h"
#include "store/batch.h"
#include "util.h"

static void batch_reply(struct jq_broker *b, struct jq_http_req *req, int64_t id, size_t n,
			const struct jq_job_spec *specs, const char *dup_state)
{
	(void)specs;
	json_t *ids = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ids, json_integer(id + 1 + (json_int_t)i));
	/* a repeated Idempotency-Key: 200 with what the first request stored */
	jq_reply_json(req, dup_state ? 200 : 201,
		      json_pack("{s:I,s:I,s:o}", "id", (json_int_t)id, "total", (json_int_t)n,
				"ids", ids));
}

void jq_api_post_batch(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	(void)arg;
	struct jq_enqueue_opts opts;
	if (jq_request_idempotency_key(req, &opts.idempotency_key) != 0)
		return;
	json_t *body = jq_request_json(req);
	if (!body)
		return;
	const char *key;
	json_t *v;
	if (!json_is_object(body)) {
		jq_reply_error(
			req, 400, "invalid_argument",
			"the body must be a JSON object {\"jobs\": [...], \"callback\"?: {...}}");
		goto out;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "jobs") != 0 && strcmp(key, "callback") != 0) {
			jq_reply_error(req, 400, "invalid_argument",
				       "unknown field '%.64s' (a batch has 'jobs' and 'callback')",
				       key);
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
			snprintf(err, sizeof(err),
				 "'delay_ms' and 'run_at' do not apply: it runs "
				 "when the batch's last job ends");
		}
		if (bad) {
			jq_reply_error(req, 400, "invalid_argument", "callback: %s", err);
			jq_job_spec_release(callback);
			free(callback);
			goto out;
		}
	}
	size_t n = 0;
	struct jq_job_spec *specs =
		jq_specs_from_json(req, json_object_get(body, "jobs"), "'jobs'", &n);
	if (!specs || jq_request_traceparent(req, &opts.traceparent) != 0) {
		for (size_t i = 0; i < n && specs; i++)
			jq_job_spec_release(&specs[i]);
		free(specs);
		if (callback) {
			jq_job_spec_release(callback);
			free(callback);
		}
		goto out;
	}
	jq_broker_enqueue_batch(b, req, specs, n, callback, &opts, batch_reply);
out:
	json_decref(body);
}

/* ---- GET /batches/{id} ---- */

static void on_batch(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac;
	struct jq_pending *br = priv;
	int found;
	struct jq_store_hash h;
	char err[256];
	if (jq_store_batch_status_reply(reply, &found, &h, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(br->req);
	} else if (!found) {
		jq_reply_error(br->req, 404, "not_found", "no batch %" PRId64 " (or it expired)",
			       br->id);
	} else {
		json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:n,s:n,s:n}", "id",
				      (json_int_t)br->id, "total", (json_int_t)0, "pending",
				      (json_int_t)0, "scheduled", (json_int_t)0, "running",
				      (json_int_t)0, "completed", (json_int_t)0, "failed",
				      (json_int_t)0, "cancelled", (json_int_t)0, "finished", 0,
				      "created_at", "finished_at", "callback_id");
		for (size_t i = 0; i < h.n; i++) {
			int64_t v;
			const char *name = jq_store_hash_field(&h, i, &v);
			if (strcmp(name, "created_at") == 0 || strcmp(name, "finished_at") == 0) {
				char buf[32];
				if (v > 0) {
					jq_format_rfc3339(v, buf);
					json_object_set_new(o, name, json_string(buf));
				}
				if (name[0] == 'f')
					json_object_set_new(o, "finished", json_true());
			} else if (json_object_get(o, name)) {
				/* the counts, callback_id */
				json_object_set_new(o, name, json_integer((json_int_t)v));
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
	if (jq_store_batch_status(b->redis, &b->keys, id, on_batch, br) != 0) {
		jq_pending_free(br);
		jq_reply_unavailable(req);
	}
}
