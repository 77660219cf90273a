/* stats.c: the stats script's call and answer; see stats.h. */
#include "stats.h"

#include <string.h>

#include "keys.h"

int jq_store_stats(struct jq_redis *r, const struct jq_keys *k, const struct jq_stats_args *a,
		   redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_STATS);
	jq_call_key_worker_redis_errors(&c, k);
	for (size_t i = 0; i < a->nseries; i++)
		jq_call_key_type_stats(&c, k, a->series[i].queue);
	jq_call_i64(&c, (int64_t)a->nerrors);
	for (size_t e = 0; e < a->nerrors; e++) {
		jq_call_str(&c, a->errors[e].field);
		jq_call_i64(&c, a->errors[e].delta);
	}
	for (size_t i = 0; i < a->nseries; i++) {
		const struct jq_stats_report *s = &a->series[i];
		size_t tl = strlen(s->type);
		jq_call_i64(&c, (int64_t)s->n);
		for (size_t f = 0; f < s->n; f++) {
			size_t fl = strlen(s->fields[f].field);
			char *name = jq_call_room(&c, tl + 1 + fl);
			if (name) {
				memcpy(name, s->type, tl);
				name[tl] = '|';
				memcpy(name + tl + 1, s->fields[f].field, fl);
				jq_call_ref(&c, name, tl + 1 + fl);
			}
			jq_call_i64(&c, s->fields[f].delta);
		}
	}
	return jq_store_send(r, &c, cb, priv);
}

int64_t jq_store_stats_reply(const redisReply *r, char *err, size_t errlen)
{
	return jq_store_int_in(r, 0, INT64_MAX, "stats", err, errlen);
}
