/* schedules.c: periodic schedules and firing their ticks; see schedules.h. */
#include "schedules.h"

#include <string.h>

#include "enqueue.h"
#include "util.h"

static void schedules_call(struct jq_call *c, const struct jq_keys *k, const char *op)
{
	jq_call_init(c, JQ_SCRIPT_SCHEDULES);
	jq_call_key_schedules(c, k);
	jq_call_key_schedule_next(c, k);
	jq_call_key_schedule_state(c, k);
	jq_call_str(c, op);
}

int jq_store_schedule_put(struct jq_redis *r, const struct jq_keys *k,
			  const struct jq_schedule_put_args *a, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	schedules_call(&c, k, "put");
	jq_call_str(&c, a->name);
	jq_call_str(&c, a->def);
	jq_call_i64(&c, a->first_run_ms);
	jq_call_str(&c, a->replace ? "replace" : "create");
	jq_call_str(&c, a->source);
	jq_call_i64(&c, a->max);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_schedule_del(struct jq_redis *r, const struct jq_keys *k, const char *name,
			  redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	schedules_call(&c, k, "del");
	jq_call_str(&c, name);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_schedule_list(struct jq_redis *r, const struct jq_keys *k, const char *name,
			   redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	schedules_call(&c, k, "list");
	jq_call_str(&c, name ? name : "");
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_schedule_list_reply(const redisReply *r, size_t *n, char *err, size_t errlen)
{
	*n = 0;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements % 4)
		return jq_store_malformed("schedules", err, errlen);
	*n = r->elements / 4;
	return JQ_STORE_OK;
}

static int entry_at(redisReply *const *e, struct jq_schedule_entry *out)
{
	for (int i = 0; i < 4; i++)
		if (e[i]->type != REDIS_REPLY_STRING)
			return -1;
	out->name = e[0]->str;
	out->def = e[1]->str;
	out->def_len = e[1]->len;
	out->next_ms = 0;
	jq_parse_i64(e[2]->str, 0, INT64_MAX, &out->next_ms);
	out->state = e[3]->str;
	out->state_len = e[3]->len;
	return 0;
}

int jq_store_schedule_at(const redisReply *r, size_t i, struct jq_schedule_entry *e)
{
	return entry_at(r->element + 4 * i, e);
}

int jq_store_schedule_put_reply(const redisReply *r, const char **status,
				struct jq_schedule_entry *e, char *err, size_t errlen)
{
	*status = NULL;
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
	    r->element[0]->type != REDIS_REPLY_STRING || (r->elements != 1 && r->elements != 5) ||
	    (r->elements == 5 && entry_at(r->element + 1, e) != 0))
		return jq_store_malformed("a schedule's put", err, errlen);
	*status = r->element[0]->str;
	if (r->elements == 1 && strcmp(*status, "exists") != 0 && strcmp(*status, "full") != 0)
		return jq_store_malformed("a schedule's put", err, errlen);
	return JQ_STORE_OK;
}

int64_t jq_store_int_reply(const redisReply *r, char *err, size_t errlen)
{
	return jq_store_int_in(r, 0, INT64_MAX, "a count", err, errlen);
}

int jq_store_cron_due(struct jq_redis *r, const struct jq_keys *k, int64_t max, redisCallbackFn *cb,
		      void *priv)
{
	struct jq_call c;
	jq_call_init(&c, JQ_SCRIPT_CRON_DUE);
	jq_call_key_schedule_next(&c, k);
	jq_call_key_schedules(&c, k);
	jq_call_i64(&c, max);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_cron_due_reply(const redisReply *r, struct jq_cron_due_reply *out, char *err,
			    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || (r->elements - 2) % 3)
		return jq_store_malformed("cron_due", err, errlen);
	out->now_ms = jq_store_i64(r->element[0], 0);
	out->later_ms = jq_store_i64(r->element[1], -1);
	out->n = (r->elements - 2) / 3;
	out->r = r;
	return JQ_STORE_OK;
}

int jq_store_cron_due_at(const struct jq_cron_due_reply *d, size_t i, const char **name,
			 const char **def, size_t *def_len, int64_t *due_ms)
{
	redisReply *const *e = d->r->element + 2 + 3 * i;
	if (e[0]->type != REDIS_REPLY_STRING || e[2]->type != REDIS_REPLY_STRING)
		return -1;
	*name = e[0]->str;
	*def = e[2]->str;
	*def_len = e[2]->len;
	*due_ms = jq_store_i64(e[1], d->now_ms);
	return 0;
}

int jq_store_cron_fire(struct jq_redis *r, const struct jq_keys *k,
		       const struct jq_cron_fire_args *a, redisCallbackFn *cb, void *priv)
{
	struct jq_call c[2];
	jq_call_init(&c[0], JQ_SCRIPT_CRON_CLAIM);
	jq_call_key_schedule_next(&c[0], k);
	jq_call_key_schedule_state(&c[0], k);
	jq_call_key_idempotency(&c[0], k, a->idem);
	jq_call_key_schedules(&c[0], k);
	jq_call_str(&c[0], a->name);
	jq_call_i64(&c[0], a->read_next_ms);
	jq_call_i64(&c[0], a->tick_ms);
	jq_call_i64(&c[0], a->next_ms);
	jq_call_i64(&c[0], a->job_id);
	jq_call_i64(&c[0], a->idem_window_ms);
	jq_call_ref(&c[0], a->def, a->def_len);
	/* the enqueue: the builder's arrays, pointing into the job spec the caller keeps */
	jq_store_enqueue_build(&c[1], a->job);
	return jq_store_multi(r, c, 2, cb, priv);
}

int jq_store_cron_fire_reply(const redisReply *r, struct jq_cron_fire_reply *out, char *err,
			     size_t errlen)
{
	memset(out, 0, sizeof(*out));
	int st = jq_store_status(r, err, errlen);
	if (st != JQ_STORE_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return jq_store_malformed("a cron firing", err, errlen);
	out->claimed = r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1;
	if (r->element[1]->type == REDIS_REPLY_ERROR) {
		out->job_error = r->element[1]->str;
	} else {
		char why[64];
		out->job_decoded = jq_store_enqueue_reply(r->element[1], 1, &out->job, why,
							  sizeof(why)) == JQ_STORE_OK;
	}
	return JQ_STORE_OK;
}

int jq_store_next_id(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb, void *priv)
{
	return jq_store_reserve_ids(r, k, 1, cb, priv);
}
