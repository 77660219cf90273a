/* auth.c: bearer tokens, scopes and dashboard sessions; see auth.h. */
#include "auth.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "redis.h"
#include "http.h"
#include "log.h"
#include "store/tokens.h"
#include "util.h"

static const struct {
	const char *name;
	int bit;
} scope_names[] = {
	{"read", JQ_SCOPE_READ}, {"enqueue", JQ_SCOPE_ENQUEUE}, {"admin", JQ_SCOPE_ADMIN}};
#define N_SCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

/* ---- pure helpers ---- */

int jq_auth_scopes_parse(const char *list)
{
	int mask = 0;
	const char *p = list;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		size_t i = 0;
		for (; i < N_SCOPES; i++)
			if (strlen(scope_names[i].name) == n &&
			    strncmp(p, scope_names[i].name, n) == 0)
				break;
		if (i == N_SCOPES)
			return -1;
		mask |= scope_names[i].bit;
		p += n;
		if (*p == ',')
			p++;
	}
	return mask ? mask : -1;
}

void jq_auth_scopes_format(int scopes, char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < N_SCOPES; i++)
		if (scopes & scope_names[i].bit)
			snprintf(out + strlen(out), cap - strlen(out), "%s%s", out[0] ? "," : "",
				 scope_names[i].name);
}

int jq_auth_scopes_from_json(const json_t *arr)
{
	int mask = 0;
	size_t i;
	const json_t *v;
	if (!json_is_array(arr))
		return -1;
	json_array_foreach(arr, i, v)
	{
		char one[16];
		snprintf(one, sizeof(one), "%s", json_string_value(v) ? json_string_value(v) : "?");
		int bit = jq_auth_scopes_parse(one);
		if (bit < 0)
			return -1;
		mask |= bit;
	}
	return mask ? mask : -1;
}

json_t *jq_auth_scopes_to_json(int scopes)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < N_SCOPES; i++)
		if (scopes & scope_names[i].bit)
			json_array_append_new(arr, json_string(scope_names[i].name));
	return arr;
}

int jq_auth_sha256(const char *s, size_t len, unsigned char out[32])
{
	unsigned int n = 0;
	return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

void jq_auth_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* 32 bytes from 64 hex digits; -1 if s is not that. */
static int unhex32(const char *s, size_t len, unsigned char out[32])
{
	if (len != 64)
		return -1;
	for (size_t i = 0; i < 32; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			int d = c >= '0' && c <= '9'   ? c - '0'
				: c >= 'a' && c <= 'f' ? c - 'a' + 10
						       : -1;
			if (d < 0)
				return -1;
			v = v * 16 + d;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

const char *jq_auth_bearer(const char *h)
{
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h ? h : NULL;
}

const char *jq_auth_cookie(const char *h, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	for (const char *p = h; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = p + strcspn(p, ";");
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			*len = (size_t)(end - p - nl - 1);
			while (*len && p[nl + *len] == ' ')
				(*len)--;
			return p + nl + 1;
		}
		p = end;
	}
	return NULL;
}

const struct jq_auth_token *jq_auth_lookup(const struct jq_auth_token *t, size_t n,
					   const unsigned char hash[32])
{
	const struct jq_auth_token *found = NULL;
	for (size_t i = 0; i < n; i++) /* every entry, whatever matched: no timing by place */
		if (CRYPTO_memcmp(t[i].hash, hash, 32) == 0)
			found = &t[i];
	return found;
}

/* ---- the table ---- */

/* The tokens of an HGETALL of <p>tokens, or -1 if r is no such answer. Entries that do
 * not parse are skipped (with a warning): a hand-made field locks nobody out. */
int jq_auth_parse_table(const redisReply *r, struct jq_auth_token **out, size_t *nout)
{
	if (!r || r->type != REDIS_REPLY_ARRAY)
		return -1;
	size_t n = r->elements / 2;
	if (n > JQ_AUTH_TOKENS_MAX)
		n = JQ_AUTH_TOKENS_MAX;
	struct jq_auth_token *t = n ? calloc(n, sizeof(*t)) : NULL;
	if (n && !t)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const redisReply *f = r->element[2 * i], *v = r->element[2 * i + 1];
		struct jq_auth_token *e = &t[k];
		json_t *j =
			v->type == REDIS_REPLY_STRING ? json_loadb(v->str, v->len, 0, NULL) : NULL;
		const char *name = json_string_value(json_object_get(j, "name"));
		json_t *scopes = json_object_get(j, "scopes");
		int ok = f->type == REDIS_REPLY_STRING && unhex32(f->str, f->len, e->hash) == 0 &&
			 name && strlen(name) <= JQ_AUTH_NAME_MAX && json_is_array(scopes);
		e->scopes = jq_auth_scopes_from_json(scopes);
		if (ok && e->scopes > 0) {
			snprintf(e->name, sizeof(e->name), "%s", name);
			e->created_at = json_integer_value(json_object_get(j, "created_at"));
			k++;
		} else {
			memset(e, 0, sizeof(*e));
			jq_warn("tokens: an entry of the table is not a token: skipped");
		}
		json_decref(j);
	}
	*out = t;
	*nout = k;
	return 0;
}

static void on_table(redisAsyncContext *ac, void *reply, void *priv)
{
	struct jq_auth *a = priv;
	struct jq_auth_token *t;
	size_t n;
	a->reading = 0;
	if (jq_auth_parse_table(reply, &t, &n) != 0)
		return; /* Redis is away or busy: the table as last read stands */
	free(a->tokens);
	a->tokens = t;
	a->n = n;
	jq_broker_tokens_read(a->b); /* streams of revoked tokens end */
	if (!a->loaded) {
		a->loaded = 1;
		if (!a->loopback && !a->no_auth && n == 0) {
			jq_error(
				"refusing to start: listening on '%s', a non-loopback address, and no "
				"API token exists, so anyone who reaches the broker could do anything. "
				"Create a token first (jobctl token create NAME --scopes admin, against a "
				"broker on 127.0.0.1), or pass --no-auth to run without authentication",
				a->b->cfg.listen);
			jq_broker_fail(a->b);
		} else if (a->no_auth) {
			jq_warn("--no-auth: no request is authenticated");
		} else {
			jq_info("%zu API tokens%s", n,
				n == 0 ? ": open while none exists (loopback address)" : "");
		}
	}
}

static void refresh(struct jq_auth *a)
{
	if (a->reading || !jq_redis_ctx(a->b->redis))
		return;
	if (jq_store_tokens_read(a->b->redis, &a->b->keys, on_table, a) == 0)
		a->reading = 1;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	refresh(arg);
}

int jq_auth_init(struct jq_auth *a, struct jq_broker *b, int loopback)
{
	memset(a, 0, sizeof(*a));
	a->b = b;
	a->loopback = loopback;
	a->no_auth = b->cfg.no_auth;
	a->open_healthz = b->cfg.open_healthz;
	a->open_metrics = b->cfg.open_metrics;
	a->session_ttl_s = b->cfg.session_ttl_s > 0 ? b->cfg.session_ttl_s : JQ_AUTH_SESSION_TTL_S;
	a->timer = event_new(b->base, -1, EV_PERSIST, timer_cb, a);
	struct timeval tv = {JQ_AUTH_REFRESH_MS / 1000, (JQ_AUTH_REFRESH_MS % 1000) * 1000};
	return a->timer && evtimer_add(a->timer, &tv) == 0 ? 0 : -1;
}

void jq_auth_release(struct jq_auth *a)
{
	if (a->timer)
		event_free(a->timer);
	free(a->tokens);
	memset(a, 0, sizeof(*a));
}

void jq_auth_redis_ready(struct jq_auth *a)
{
	refresh(a);
}

const struct jq_auth_token *jq_auth_find_name(const struct jq_auth *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->tokens[i].name, name) == 0)
			return &a->tokens[i];
	return NULL;
}

int jq_auth_add(struct jq_auth *a, const struct jq_auth_token *t)
{
	struct jq_auth_token *n = realloc(a->tokens, (a->n + 1) * sizeof(*n));
	if (!n)
		return -1;
	n[a->n++] = *t;
	a->tokens = n;
	return 0;
}

size_t jq_auth_remove_name(struct jq_auth *a, const char *name)
{
	size_t k = 0, removed = 0;
	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->tokens[i].name, name) == 0)
			removed++;
		else
			a->tokens[k++] = a->tokens[i];
	}
	a->n = k;
	if (removed)
		jq_broker_tokens_read(a->b);
	return removed;
}

/* ---- checking a request ---- */

const unsigned char *jq_auth_current(const struct jq_auth *a)
{
	return a->has_current ? a->current : NULL;
}

int jq_auth_grant_valid(const struct jq_auth *a, const unsigned char hash[32], int scope)
{
	if (a->no_auth)
		return 1;
	const struct jq_auth_token *t = jq_auth_lookup(a->tokens, a->n, hash);
	return t && ((t->scopes & JQ_SCOPE_ADMIN) || (t->scopes & scope));
}

/* Runs a route that token t let in, with t as jq_auth_current. */
static void run_as(struct jq_auth *a, const struct jq_auth_token *t, jq_auth_route_fn *fn,
		   struct jq_http_req *req, const char *arg)
{
	memcpy(a->current, t->hash, sizeof(a->current));
	a->has_current = 1;
	fn(a->b, req, arg);
	a->has_current = 0;
}

static void reply_401(struct jq_http_req *req, const char *why)
{
	jq_http_add_header(req, "WWW-Authenticate", "Bearer realm=\"jobq\"");
	jq_reply_error(req, 401, "unauthorized", "%s", why);
}

/* 0 if t may use a route needing scope, else answers 403. */
static int check_scope(struct jq_http_req *req, const struct jq_auth_token *t, int scope)
{
	if ((t->scopes & JQ_SCOPE_ADMIN) || (t->scopes & scope))
		return 0;
	char need[32];
	jq_auth_scopes_format(scope, need, sizeof(need));
	char h[96];
	snprintf(h, sizeof(h), "Bearer realm=\"jobq\", error=\"insufficient_scope\", scope=\"%s\"",
		 need);
	jq_http_add_header(req, "WWW-Authenticate", h);
	jq_reply_error(req, 403, "insufficient_scope", "token '%s' lacks the '%s' scope", t->name,
		       need);
	return -1;
}

/* A request waiting for its session to be read from Redis. */
struct session_wait {
	struct jq_auth *a;
	struct jq_http_req *req;
	int scope;
	jq_auth_route_fn *fn;
	const char *arg; /* points into req */
};

/* The session JSON {"token": hex, "csrf": hex} of a GET: its token entry and csrf, or
 * NULL (no such session, or its token was revoked). */
static const struct jq_auth_token *session_token(const struct jq_auth *a, const redisReply *r,
						 char csrf[65])
{
	if (!r || r->type != REDIS_REPLY_STRING)
		return NULL;
	json_t *j = json_loadb(r->str, r->len, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));
	const char *c = json_string_value(json_object_get(j, "csrf"));
	unsigned char hash[32];
	const struct jq_auth_token *t = NULL;
	if (tok && c && strlen(c) < 65 && unhex32(tok, strlen(tok), hash) == 0) {
		t = jq_auth_lookup(a->tokens, a->n, hash);
		snprintf(csrf, 65, "%s", c);
	}
	json_decref(j);
	return t;
}

static void on_session(redisAsyncContext *ac, void *reply, void *priv)
{
	struct session_wait *w = priv;
	struct jq_auth *a = w->a;
	struct jq_broker *b = a->b;
	redisReply *r = reply;
	char csrf[65] = "";
	b->in_flight--;
	if (!r || r->type == REDIS_REPLY_ERROR) {
		jq_reply_unavailable(w->req);
		free(w);
		return;
	}
	const struct jq_auth_token *t = session_token(a, r, csrf);
	if (!t) {
		reply_401(w->req, "the session has ended (signed out, expired, or its token "
				  "was revoked): sign in again");
	} else if (check_scope(w->req, t, w->scope) == 0) {
		int m = jq_http_method(w->req);
		const char *sent = jq_http_header(w->req, "X-CSRF-Token");
		if (!(m & (JQ_HTTP_GET | JQ_HTTP_HEAD)) &&
		    (!sent || strlen(sent) != strlen(csrf) || !csrf[0] ||
		     CRYPTO_memcmp(sent, csrf, strlen(csrf)) != 0))
			jq_reply_error(w->req, 403, "csrf",
				       "a request made with the session cookie must carry its "
				       "X-CSRF-Token (GET /session)");
		else
			run_as(a, t, w->fn, w->req, w->arg);
	}
	free(w);
}

/* The session id of req's cookie as the hex of its SHA-256 (the Redis key's tail); -1 if
 * it has none that could be one. */
static int session_key_of(struct jq_http_req *req, char hash_hex[65])
{
	size_t len;
	const char *id = jq_auth_cookie(jq_http_header(req, "Cookie"), JQ_AUTH_COOKIE, &len);
	unsigned char h[32];
	if (!id || len != 64 || jq_auth_sha256(id, len, h) != 0)
		return -1;
	jq_auth_hex(h, 32, hash_hex);
	return 0;
}

/* 1 if requests need no token now: --no-auth, or no token on a loopback broker. */
static int open_now(const struct jq_auth *a)
{
	return a->no_auth || (a->loaded && a->n == 0 && a->loopback);
}

void jq_auth_dispatch(struct jq_auth *a, struct jq_http_req *req, int scope, jq_auth_route_fn *fn,
		      const char *arg)
{
	struct jq_broker *b = a->b;
	/* the token table is never open to whoever asks, --no-auth or not: tokens made through
	 * a broker without auth would work on every broker of the Redis (review) */
	int tokens = scope == JQ_SCOPE_TOKENS;
	if (scope == JQ_SCOPE_NONE || (scope == JQ_SCOPE_HEALTHZ && a->open_healthz) ||
	    (scope == JQ_SCOPE_METRICS && a->open_metrics) ||
	    (a->no_auth && scope != JQ_SCOPE_TOKENS)) {
		fn(b, req, arg);
		return;
	}
	if (!a->loaded) {
		if (!jq_redis_ctx(b->redis)) /* the cause a client knows: Redis is down */
			jq_reply_unavailable(req);
		else
			jq_reply_error(req, 503, "auth_unavailable",
				       "the token table has not been read from Redis yet");
		return;
	}
	if (scope == JQ_SCOPE_TOKENS) {
		if (a->n == 0) {
			if (jq_http_peer_loopback(req))
				fn(b, req, arg);
			else
				jq_reply_error(
					req, 403, "forbidden",
					"no token exists yet: the first one is created from a "
					"loopback address");
			return;
		}
		scope = JQ_SCOPE_ADMIN;
	}
	if (scope == JQ_SCOPE_HEALTHZ || scope == JQ_SCOPE_METRICS)
		scope = JQ_SCOPE_READ;
	if (!tokens && open_now(a)) {
		fn(b, req, arg);
		return;
	}
	const char *authz = jq_http_header(req, "Authorization");
	if (authz) {
		const char *token = jq_auth_bearer(authz);
		unsigned char hash[32];
		const struct jq_auth_token *t = NULL;
		if (token && jq_auth_sha256(token, strlen(token), hash) == 0)
			t = jq_auth_lookup(a->tokens, a->n, hash);
		if (!t)
			reply_401(req, token ? "the token is not valid (unknown or revoked)"
					     : "Authorization must be 'Bearer <token>'");
		else if (check_scope(req, t, scope) == 0)
			run_as(a, t, fn, req, arg);
		return;
	}
	char key_tail[65];
	if (session_key_of(req, key_tail) != 0) {
		reply_401(req, "a token is required: 'Authorization: Bearer <token>' "
			       "(jobctl --token), or sign in to the dashboard");
		return;
	}
	struct session_wait *w = malloc(sizeof(*w));
	if (!w) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	*w = (struct session_wait){a, req, scope, fn, arg};
	if (jq_store_session_get(b->redis, &b->keys, key_tail, on_session, w) != 0) {
		free(w);
		jq_reply_unavailable(req);
		return;
	}
	b->in_flight++;
}

/* ---- the session routes: POST, GET, DELETE /session ---- */

struct session_op {
	struct jq_broker *b;
	struct jq_http_req *req;
	char id[65], csrf[33];
	struct jq_auth_token t;
};

static json_t *grant_json(const struct jq_auth_token *t, const char *csrf)
{
	return json_pack("{s:s,s:s,s:o,s:s}", "auth", "session", "name", t->name, "scopes",
			 jq_auth_scopes_to_json(t->scopes), "csrf", csrf);
}

static void set_cookie(struct jq_http_req *req, const char *id, int64_t max_age)
{
	char c[200];
	snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%" PRId64,
		 JQ_AUTH_COOKIE, id, max_age);
	jq_http_add_header(req, "Set-Cookie", c);
	jq_http_add_header(req, "Cache-Control", "no-store");
}

static void on_session_set(redisAsyncContext *ac, void *reply, void *priv)
{
	struct session_op *o = priv;
	redisReply *r = reply;
	o->b->in_flight--;
	if (!r || r->type != REDIS_REPLY_STATUS) {
		jq_reply_unavailable(o->req);
	} else {
		set_cookie(o->req, o->id, o->b->auth.session_ttl_s);
		jq_reply_json(o->req, 200, grant_json(&o->t, o->csrf));
	}
	free(o);
}

static int random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];
	if (nbytes > sizeof(raw) || RAND_bytes(raw, (int)nbytes) != 1)
		return -1;
	jq_auth_hex(raw, nbytes, out);
	return 0;
}

void jq_api_session_create(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	struct jq_auth *a = &b->auth;
	if (open_now(a)) {
		jq_reply_json(req, 200, json_pack("{s:s}", "auth", "open"));
		return;
	}
	json_t *body = jq_request_json(req);
	if (!body)
		return;
	const char *token = json_string_value(json_object_get(body, "token"));
	unsigned char hash[32];
	const struct jq_auth_token *t = NULL;
	if (token && jq_auth_sha256(token, strlen(token), hash) == 0)
		t = jq_auth_lookup(a->tokens, a->n, hash);
	if (!json_is_object(body) || !token) {
		jq_reply_error(req, 400, "invalid_argument",
			       "the body must be {\"token\": \"...\"}");
		goto done;
	}
	if (!a->loaded) {
		jq_reply_error(req, 503, "auth_unavailable",
			       "the token table has not been read from Redis yet");
		goto done;
	}
	if (!t) {
		reply_401(req, "the token is not valid (unknown or revoked)");
		goto done;
	}
	struct session_op *o = calloc(1, sizeof(*o));
	if (!o || random_hex(o->id, 32) != 0 || random_hex(o->csrf, 16) != 0) {
		free(o);
		jq_reply_error(req, 503, "out_of_memory", "the broker cannot make a session now");
		goto done;
	}
	o->b = b;
	o->req = req;
	o->t = *t;
	unsigned char ih[32];
	char ih_hex[65], th_hex[65], value[200];
	jq_auth_sha256(o->id, 64, ih);
	jq_auth_hex(ih, 32, ih_hex);
	jq_auth_hex(t->hash, 32, th_hex);
	snprintf(value, sizeof(value), "{\"token\":\"%s\",\"csrf\":\"%s\"}", th_hex, o->csrf);
	if (jq_store_session_put(b->redis, &b->keys, ih_hex, value, a->session_ttl_s,
				 on_session_set, o) != 0) {
		free(o);
		jq_reply_unavailable(req);
		goto done;
	}
	b->in_flight++;
done:
	json_decref(body);
}

static void on_session_read(redisAsyncContext *ac, void *reply, void *priv)
{
	struct session_op *o = priv;
	char csrf[65] = "";
	o->b->in_flight--;
	redisReply *r = reply;
	const struct jq_auth_token *t = r ? session_token(&o->b->auth, r, csrf) : NULL;
	if (!r || r->type == REDIS_REPLY_ERROR)
		jq_reply_unavailable(o->req);
	else if (!t)
		reply_401(o->req, "not signed in");
	else
		jq_reply_json(o->req, 200, grant_json(t, csrf));
	free(o);
}

static void on_session_del(redisAsyncContext *ac, void *reply, void *priv)
{
	struct session_op *o = priv;
	o->b->in_flight--;
	if (!reply) {
		jq_reply_unavailable(o->req);
	} else {
		set_cookie(o->req, "", 0);
		jq_reply_json(o->req, 200, json_pack("{s:b}", "signed_out", 1));
	}
	free(o);
}

/* GET /session (the grant and CSRF token of the cookie's session) and DELETE /session:
 * cb is on_session_read or on_session_del. */
static void session_cmd(struct jq_broker *b, struct jq_http_req *req, redisCallbackFn *cb)
{
	char tail[65];
	if (session_key_of(req, tail) != 0) {
		if (cb == on_session_del) {
			set_cookie(req, "", 0);
			jq_reply_json(req, 200, json_pack("{s:b}", "signed_out", 1));
		} else {
			reply_401(req, "not signed in");
		}
		return;
	}
	struct session_op *o = calloc(1, sizeof(*o));
	if (!o) {
		jq_reply_error(req, 503, "out_of_memory", "the broker is out of memory");
		return;
	}
	o->b = b;
	o->req = req;
	int rc = cb == on_session_del ? jq_store_session_del(b->redis, &b->keys, tail, cb, o)
				      : jq_store_session_get(b->redis, &b->keys, tail, cb, o);
	if (rc != 0) {
		free(o);
		jq_reply_unavailable(req);
		return;
	}
	b->in_flight++;
}

void jq_api_session_get(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	if (open_now(&b->auth)) {
		jq_reply_json(req, 200, json_pack("{s:s}", "auth", "open"));
		return;
	}
	session_cmd(b, req, on_session_read);
}

void jq_api_session_delete(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	session_cmd(b, req, on_session_del);
}
