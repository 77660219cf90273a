/* api_tokens.c: POST /tokens, GET /tokens, DELETE /tokens/{name}: the API tokens of
 * auth.h, kept hashed in Redis (<p>tokens). The secret is in the answer to POST only. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "auth.h"
#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "store/tokens.h"
#include "util.h"

int jq_auth_parse_table(const redisReply *r, struct jq_auth_token **out, size_t *nout);

struct token_op {
	struct jq_broker *b;
	struct jq_http_req *req;
	struct jq_auth_token t;
	char secret[JQ_AUTH_TOKEN_LEN + 1];
	char name[JQ_AUTH_NAME_MAX + 1];
	size_t removed;
};

static struct token_op *op_new(struct jq_broker *b, struct jq_http_req *req)
{
	struct token_op *o = calloc(1, sizeof(*o));
	if (!o) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return NULL;
	}
	o->b = b;
	o->req = req;
	b->in_flight++;
	return o;
}

static void op_free(struct token_op *o)
{
	o->b->in_flight--;
	free(o);
}

static json_t *token_json(const struct jq_auth_token *t)
{
	char when[32];
	jq_format_rfc3339(t->created_at, when);
	return json_pack("{s:s,s:o,s:s}", "name", t->name, "scopes",
			 jq_auth_scopes_to_json(t->scopes), "created_at", when);
}

/* After a store call for o: on failure to send (rc != 0), answers 503 and frees o. */
static void op_sent(struct token_op *o, int rc)
{
	if (rc != 0) {
		jq_reply_unavailable(o->req);
		op_free(o);
	}
}

/* ---- POST /tokens {"name", "scopes": [...]} ---- */

static void on_created(redisAsyncContext *ac, void *reply, void *priv)
{
	struct token_op *o = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		jq_reply_unavailable(o->req);
	} else {
		jq_auth_add(&o->b->auth, &o->t); /* this broker takes it at once, others within
						    JQ_AUTH_REFRESH_MS */
		json_t *j = token_json(&o->t);
		json_object_set_new(j, "token", json_string(o->secret));
		jq_http_add_header(o->req, "Cache-Control", "no-store");
		jq_reply_json(o->req, 201, j);
	}
	OPENSSL_cleanse(o->secret, sizeof(o->secret));
	op_free(o);
}

void jq_api_token_create(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	json_t *body = jq_request_json(req);
	if (!body)
		return;
	const char *name = json_string_value(json_object_get(body, "name"));
	json_t *scopes = json_object_get(body, "scopes");
	int mask = jq_auth_scopes_from_json(scopes);
	if (!json_is_object(body) || json_object_size(body) != 2 || !name ||
	    !jq_name_valid(name, strlen(name)) || mask <= 0) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the body must be {\"name\": 1 to 64 of A-Z a-z 0-9 _ . : -, "
			       "\"scopes\": [\"read\", \"enqueue\", \"admin\", ...]}");
		goto done;
	}
	if (jq_auth_find_name(&b->auth, name)) {
		jq_reply_error(req, 409, "conflict", "a token named '%s' exists", name);
		goto done;
	}
	if (b->auth.n >= JQ_AUTH_TOKENS_MAX) {
		jq_reply_error(req, 409, "conflict", "at most %d tokens", JQ_AUTH_TOKENS_MAX);
		goto done;
	}
	struct token_op *o = op_new(b, req);
	if (!o)
		goto done;
	unsigned char raw[32];
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		jq_reply_error(req, 503, "out_of_memory", "no random bytes for a token");
		op_free(o);
		goto done;
	}
	memcpy(o->secret, JQ_AUTH_TOKEN_PREFIX, 3);
	jq_auth_hex(raw, sizeof(raw), o->secret + 3);
	OPENSSL_cleanse(raw, sizeof(raw));
	snprintf(o->t.name, sizeof(o->t.name), "%s", name);
	o->t.scopes = mask;
	o->t.created_at = jq_now_ms();
	jq_auth_sha256(o->secret, JQ_AUTH_TOKEN_LEN, o->t.hash);
	char field[65];
	jq_auth_hex(o->t.hash, 32, field);
	json_t *rec =
		json_pack("{s:s,s:o,s:I}", "name", name, "scopes", jq_auth_scopes_to_json(mask),
			  "created_at", (json_int_t)o->t.created_at);
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	if (!text) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		op_free(o);
	} else {
		op_sent(o, jq_store_token_put(b->redis, &b->keys, field, text, on_created, o));
	}
	free(text);
done:
	json_decref(body);
}

/* ---- GET /tokens ---- */

static void on_list(redisAsyncContext *ac, void *reply, void *priv)
{
	struct token_op *o = priv;
	struct jq_auth_token *t;
	size_t n;
	if (jq_auth_parse_table(reply, &t, &n) != 0) {
		jq_reply_unavailable(o->req);
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, token_json(&t[i]));
		free(t);
		jq_reply_json(o->req, 200, json_pack("{s:o}", "tokens", arr));
	}
	op_free(o);
}

void jq_api_token_list(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct token_op *o = op_new(b, req);
	if (o)
		op_sent(o, jq_store_tokens_read(b->redis, &b->keys, on_list, o));
}

/* ---- DELETE /tokens/{name}: HGETALL, then HDEL of the hashes with that name ---- */

static void on_revoked(redisAsyncContext *ac, void *reply, void *priv)
{
	struct token_op *o = priv;
	redisReply *r = reply;
	if (!r || r->type != REDIS_REPLY_INTEGER) {
		jq_reply_unavailable(o->req);
	} else {
		jq_auth_remove_name(&o->b->auth, o->name); /* at once here, elsewhere within
							      JQ_AUTH_REFRESH_MS */
		jq_reply_json(
			o->req, 200,
			json_pack("{s:s,s:I}", "name", o->name, "revoked", (json_int_t)r->integer));
	}
	op_free(o);
}

static void on_revoke_read(redisAsyncContext *ac, void *reply, void *priv)
{
	struct token_op *o = priv;
	struct jq_auth_token *t;
	size_t n;
	if (jq_auth_parse_table(reply, &t, &n) != 0) {
		jq_reply_unavailable(o->req);
		op_free(o);
		return;
	}
	const char **hashes = malloc((n + 1) * sizeof(*hashes));
	char(*fields)[65] = malloc((n + 1) * sizeof(*fields));
	size_t nh = 0;
	if (hashes && fields) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(t[i].name, o->name) == 0) {
				jq_auth_hex(t[i].hash, 32, fields[nh]);
				hashes[nh] = fields[nh];
				nh++;
			}
	}
	free(t);
	if (!hashes || !fields) {
		jq_reply_error(o->req, 503, "out_of_memory", "the broker is out of memory");
		op_free(o);
	} else if (nh == 0) {
		jq_auth_remove_name(&o->b->auth, o->name);
		jq_reply_error(o->req, 404, "not_found", "no token named '%s'", o->name);
		op_free(o);
	} else {
		op_sent(o,
			jq_store_tokens_del(o->b->redis, &o->b->keys, hashes, nh, on_revoked, o));
	}
	free(hashes);
	free(fields);
}

void jq_api_token_revoke(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (!jq_name_valid(arg, strlen(arg))) {
		jq_reply_error(req, 400, "invalid_argument", "'%.64s' is not a token name", arg);
		return;
	}
	struct token_op *o = op_new(b, req);
	if (!o)
		return;
	snprintf(o->name, sizeof(o->name), "%s", arg);
	op_sent(o, jq_store_tokens_read(b->redis, &b->keys, on_revoke_read, o));
}
