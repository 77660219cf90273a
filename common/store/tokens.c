/* tokens.c: the API tokens and the dashboard's sessions; see tokens.h. */
#include "tokens.h"

static void command(struct jq_call *c, const char *name)
{
	jq_call_init(c, JQ_CALL_COMMAND);
	jq_call_str(c, name);
}

int jq_store_tokens_read(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			 void *priv)
{
	struct jq_call c;
	command(&c, "HGETALL");
	jq_call_key_tokens(&c, k);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_token_put(struct jq_redis *r, const struct jq_keys *k, const char *hash_hex,
		       const char *grant_json, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	command(&c, "HSET");
	jq_call_key_tokens(&c, k);
	jq_call_str(&c, hash_hex);
	jq_call_str(&c, grant_json);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_tokens_del(struct jq_redis *r, const struct jq_keys *k, const char *const *hashes,
			size_t n, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	command(&c, "HDEL");
	jq_call_key_tokens(&c, k);
	for (size_t i = 0; i < n; i++)
		jq_call_str(&c, hashes[i]);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_session_get(struct jq_redis *r, const struct jq_keys *k, const char *id_hex,
			 redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	command(&c, "GET");
	jq_call_key_session(&c, k, id_hex);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_session_put(struct jq_redis *r, const struct jq_keys *k, const char *id_hex,
			 const char *value, int64_t ttl_s, redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	command(&c, "SET");
	jq_call_key_session(&c, k, id_hex);
	jq_call_str(&c, value);
	jq_call_str(&c, "EX");
	jq_call_i64(&c, ttl_s);
	return jq_store_send(r, &c, cb, priv);
}

int jq_store_session_del(struct jq_redis *r, const struct jq_keys *k, const char *id_hex,
			 redisCallbackFn *cb, void *priv)
{
	struct jq_call c;
	command(&c, "DEL");
	jq_call_key_session(&c, k, id_hex);
	return jq_store_send(r, &c, cb, priv);
}
