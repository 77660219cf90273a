/* api_tokens.c: POST /tokens, GET /tokens, DELETE /tokens/{name}: the API tokens of
 * auth.h, kept hashed in Redis (<p>tokens). The secret is in the answer to POST only. */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "broker.h"
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

static int send_cmd(struct token_op *o, redisCallbackFn *cb, int argc, const char **argv)
{
	if (!jq_redis_ctx(o->b->redis) || jq_redis_command(o->b->redis, cb, o, argc, argv, NULL) != 0) {
		jq_reply_unavailable(o->req);
		op_free(o);
		return -1;
	}
	return 0;
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
	char key[JQ_KEY_MAX], field[65];
	jq_keys_tokens(&b->keys, key);
	jq_auth_hex(o->t.hash, 32, field);
	json_t *rec = json_pack("{s:s,s:o,s:I}", "name", name, "scopes",
				jq_auth_scopes_to_json(mask), "created_at",
				(json_int_t)o->t.created_at);
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	const char *argv[] = {"HSET", key, field, text ? text : ""};
	if (!text) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		op_free(o);
	} else {
		send_cmd(o, on_created, 4, argv);
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
	char key[JQ_KEY_MAX];
	jq_keys_tokens(&b->keys, key);
	const char *argv[] = {"HGETALL", key};
	if (o)
		send_cmd(o, on_list, 2, argv);
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
		jq_reply_json(o->req, 200, json_pack("{s:s,s:I}", "name", o->name, "revoked",
						     (json_int_t)r->integer));
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
	char key[JQ_KEY_MAX];
	jq_keys_tokens(&o->b->keys, key);
	const char **argv = malloc((n + 2) * sizeof(*argv));
	char(*fields)[65] = malloc((n + 1) * sizeof(*fields));
	int argc = 2;
	if (argv && fields) {
		argv[0] = "HDEL";
		argv[1] = key;
		for (size_t i = 0; i < n; i++)
			if (strcmp(t[i].name, o->name) == 0) {
				jq_auth_hex(t[i].hash, 32, fields[argc - 2]);
				argv[argc] = fields[argc - 2];
				argc++;
			}
	}
	free(t);
	if (!argv || !fields) {
		jq_reply_error(o->req, 503, "out_of_memory", "the broker is out of memory");
		op_free(o);
	} else if (argc == 2) {
		jq_auth_remove_name(&o->b->auth, o->name);
		jq_reply_error(o->req, 404, "not_found", "no token named '%s'", o->name);
		op_free(o);
	} else {
		send_cmd(o, on_revoked, argc, argv);
	}
	free(argv);
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
	char key[JQ_KEY_MAX];
	jq_keys_tokens(&b->keys, key);
	const char *argv[] = {"HGETALL", key};
	send_cmd(o, on_revoke_read, 2, argv);
}
