/* tokens.h: the API tokens (a hash of their SHA-256 -> grant JSON) and the dashboard's
 * sessions (one key each, with a TTL), as broker/auth.c keeps them. The replies are
 * Redis' own: HGETALL's pairs (jq_auth_parse_table reads them), a string or nil. */
#ifndef JQ_STORE_TOKENS_H
#define JQ_STORE_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The whole token table (HGETALL). */
int jq_store_tokens_read(struct jq_redis *r, const struct jq_keys *k, redisCallbackFn *cb,
			 void *priv);
/* Stores one token's grant under the hex SHA-256 of its secret (HSET). */
int jq_store_token_put(struct jq_redis *r, const struct jq_keys *k, const char *hash_hex,
		       const char *grant_json, redisCallbackFn *cb, void *priv);
/* Deletes the n tokens of these hashes (HDEL); the reply: how many were there. */
int jq_store_tokens_del(struct jq_redis *r, const struct jq_keys *k, const char *const *hashes,
			size_t n, redisCallbackFn *cb, void *priv);

/* A session, named by the hex SHA-256 of its cookie: read (GET), written with a life of
 * ttl_s seconds (SET EX), or ended (DEL). */
int jq_store_session_get(struct jq_redis *r, const struct jq_keys *k, const char *id_hex,
			 redisCallbackFn *cb, void *priv);
int jq_store_session_put(struct jq_redis *r, const struct jq_keys *k, const char *id_hex,
			 const char *value, int64_t ttl_s, redisCallbackFn *cb, void *priv);
int jq_store_session_del(struct jq_redis *r, const struct jq_keys *k, const char *id_hex,
			 redisCallbackFn *cb, void *priv);

#endif
