/* api_workers.c: GET /workers (docs/api.md). */
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
#include "util.h"
#include "store/registry.h"

/* ---- GET /workers ---- */

static void on_workers(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_pending *o = priv;
	size_t n;
	char err[256];
	if (jq_store_workers_reply(reply, &n, err, sizeof(err)) != JQ_STORE_OK) {
		jq_reply_unavailable(o->req);
		jq_pending_free(o);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		struct jq_worker_entry e;
		jq_store_worker_at(reply, i, &e);
		json_t *info = json_loadb(e.info, e.info_len, 0, NULL);
		if (!json_is_object(info)) {
			json_decref(info);
			continue;
		}
		char when[32];
		jq_format_rfc3339(e.last_beat_ms, when);
		json_object_set_new(info, "last_heartbeat", json_string(when));
		json_t *started = json_object_get(info, "started_at");
		if (json_is_integer(started)) {
			jq_format_rfc3339(json_integer_value(started), when);
			json_object_set_new(info, "started_at", json_string(when));
		}
		json_object_del(info, "heartbeat_ms");
		json_array_append_new(list, info);
	}
	jq_reply_json(o->req, 200, json_pack("{s:o}", "workers", list));
	jq_pending_free(o);
}

void jq_api_workers(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_pending *o = jq_pending_new(b, req, 0);
	if (o)
		jq_pending_sent(o, jq_store_workers(b->redis, &b->keys, JQ_WORKER_WINDOW_MS,
						    on_workers, o));
}
