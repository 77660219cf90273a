/* auth.h: who may use the broker: bearer tokens with scopes, and the dashboard's sessions
 * (docs/security.md, docs/api.md "Authentication").
 *
 * Tokens: "jq_" and 64 hex digits (256 random bits), shown once when created (POST
 * /tokens, jobctl token create). Redis keeps only their SHA-256 (keys.h: <p>tokens, hash
 * of sha256 hex -> {"name", "scopes", "created_at"}), so every broker reads the same
 * table. Each broker holds the table in memory and reads it again every
 * JQ_AUTH_REFRESH_MS (one HGETALL; at most JQ_AUTH_TOKENS_MAX tokens), so a token created
 * or revoked through one broker counts on every broker within JQ_AUTH_REFRESH_MS and a
 * Redis round trip (at once on the broker that made the change). A request's token is
 * hashed and compared with every entry in constant time (CRYPTO_memcmp, no early exit).
 *
 * Scopes: read (the GETs), enqueue (POST /jobs, /jobs/bulk, /batches, /start-task,
 * /send-notification[-sync]), admin (pause/resume, dead retry and purge, schedule writes,
 * rate limits, cancel, tokens); admin includes the other two. Each route names the scope
 * it needs (broker.c's route table); the dashboard's files, /openapi.json and the
 * session routes need none, /healthz and /metrics need read unless --open-healthz /
 * --open-metrics.
 *
 * Policy: with --no-auth nothing is checked. Otherwise, while no token exists, a broker
 * listening on a loopback address is open (as before tokens existed) and one listening on
 * any other address refuses to start (it exits, saying so, once it has read the empty
 * table). Once a token exists every request needs one: 401 (with WWW-Authenticate:
 * Bearer) without a valid one, 403 insufficient_scope without the scope. Until the table
 * has been read once: 503. The token routes need admin, except while no token exists:
 * then a client on a loopback address may use them (the first token is made there).
 *
 * Sessions (the dashboard): POST /session with a token sets an HttpOnly, SameSite=Strict
 * cookie naming a server-side session (<p>session:<sha256 of its id> in Redis, with a TTL
 * of --session-ttl-s: every broker knows it) that holds the token's hash and a CSRF token.
 * A request with the cookie and no Authorization header is the token's, as long as the
 * token exists; one that may change something must also carry X-CSRF-Token equal to the
 * session's (GET /session tells the page) besides passing the Origin check (guard.h).
 * DELETE /session ends it. */
#ifndef JQ_AUTH_H
#define JQ_AUTH_H

#include <event2/event.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define JQ_AUTH_REFRESH_MS 1000
#define JQ_AUTH_TOKENS_MAX 1000
#define JQ_AUTH_NAME_MAX 64
#define JQ_AUTH_TOKEN_PREFIX "jq_"
#define JQ_AUTH_TOKEN_LEN 67              /* "jq_" and 64 hex digits */
#define JQ_AUTH_SESSION_TTL_S (12 * 3600) /* default of --session-ttl-s */
#define JQ_AUTH_COOKIE "jobq_session"

/* What a route needs. */
enum jq_scope {
	JQ_SCOPE_NONE = 0,
	JQ_SCOPE_READ = 1,
	JQ_SCOPE_ENQUEUE = 2,
	JQ_SCOPE_ADMIN = 4,
	JQ_SCOPE_HEALTHZ = 8,  /* read, or none with --open-healthz */
	JQ_SCOPE_METRICS = 16, /* read, or none with --open-metrics */
	JQ_SCOPE_TOKENS = 32,  /* admin, or a loopback client while no token exists */
};

struct jq_auth_token {
	unsigned char hash[32]; /* SHA-256 of the token */
	int scopes;             /* JQ_SCOPE_READ | ENQUEUE | ADMIN */
	char name[JQ_AUTH_NAME_MAX + 1];
	int64_t created_at; /* epoch ms */
};

struct jq_broker;
struct jq_auth {
	struct jq_broker *b;
	struct jq_auth_token *tokens; /* the table as last read */
	size_t n;
	int loaded;   /* read once at least */
	int loopback; /* the broker listens on a loopback address */
	int no_auth, open_healthz, open_metrics;
	int64_t session_ttl_s;
	int reading; /* an HGETALL is out */
	struct event *timer;
	/* the token that let the route now running in (jq_auth_current) */
	unsigned char current[32];
	int has_current;
};

/* Sets a up for broker b (its config says the flags); the first read starts when Redis is
 * ready (jq_auth_redis_ready). -1 when out of memory. */
int jq_auth_init(struct jq_auth *a, struct jq_broker *b, int loopback);
void jq_auth_release(struct jq_auth *a);
/* Redis became ready: reads the table now. */
void jq_auth_redis_ready(struct jq_auth *a);

/* Runs route fn for req once req may use it: at once, later (a session read from Redis),
 * or never (req answered with 401, 403 or 503). */
typedef void jq_auth_route_fn(struct jq_broker *b, struct jq_http_req *req, const char *arg);
void jq_auth_dispatch(struct jq_auth *a, struct jq_http_req *req, int scope, jq_auth_route_fn *fn,
		      const char *arg);

/* The token (its SHA-256) that let the route now being run in: routes run synchronously
 * from jq_auth_dispatch, so a route that opens a stream (SSE, WebSocket) keeps it and asks
 * jq_auth_grant_valid later. NULL when no token did (--no-auth, an open broker or route). */
const unsigned char *jq_auth_current(const struct jq_auth *a);
/* 1 while the token of hash exists with scope (admin includes the others), else 0; 1
 * with --no-auth. Streams opened with a token end once this says 0 (token revoked):
 * events.h and ws.h check on every read of the table (jq_broker_tokens_read). */
int jq_auth_grant_valid(const struct jq_auth *a, const unsigned char hash[32], int scope);

/* Token routes (api_tokens.c) and the table they change. */
const struct jq_auth_token *jq_auth_find_name(const struct jq_auth *a, const char *name);
int jq_auth_add(struct jq_auth *a, const struct jq_auth_token *t);
size_t jq_auth_remove_name(struct jq_auth *a, const char *name);

/* ---- pure helpers (unit-tested) ---- */
/* "read,enqueue" (a JSON array is turned into this by the caller): the JQ_SCOPE_* mask,
 * or -1 for an unknown name or none. */
int jq_auth_scopes_parse(const char *list);
/* A JSON array of scope names: the mask, or -1 (not an array, empty, an unknown name). */
int jq_auth_scopes_from_json(const json_t *arr);
/* The scopes' names as a new JSON array. */
json_t *jq_auth_scopes_to_json(int scopes);
/* The scopes' names, comma-separated, in out. */
void jq_auth_scopes_format(int scopes, char *out, size_t cap);
/* SHA-256 of s[0..len) as 32 bytes; -1 if the digest fails. */
int jq_auth_sha256(const char *s, size_t len, unsigned char out[32]);
void jq_auth_hex(const unsigned char *b, size_t n, char *out); /* 2n digits and a NUL */
/* The token of "Bearer <token>" (case-insensitive scheme), or NULL. */
const char *jq_auth_bearer(const char *authorization);
/* The value of cookie name in a Cookie header, its length in *len, or NULL. */
const char *jq_auth_cookie(const char *cookie_header, const char *name, size_t *len);
/* The table entry whose hash is hash, scanning all n entries in constant time; NULL. */
const struct jq_auth_token *jq_auth_lookup(const struct jq_auth_token *t, size_t n,
					   const unsigned char hash[32]);

#endif
