/* ws.h: GET /ws and GET /ws/{client_id}: a WebSocket (RFC 6455) on which a client
 * follows jobs and queues and receives the events GET /jobs/{id}/events streams.
 *
 * Contract (docs/api.md has the messages):
 * - The handshake is checked here (Upgrade: websocket, Connection: Upgrade,
 *   Sec-WebSocket-Version: 13, a Sec-WebSocket-Key of 16 bytes in base64; the Origin, if
 *   sent, was checked before routing: the broker's own or one --allow-origin allows,
 *   guard.h); a bad one is answered
 *   with a JSON error (400, 403 for the origin, or 426 for another version) and the
 *   connection stays HTTP. A good one takes the connection from the HTTP server
 *   (jq_http_takeover: its socket and the bytes sent after the request): the 101 is
 *   written on a bufferevent of this module, which owns the socket from then on and
 *   closes it when the WebSocket ends.
 * - Frames are read and written by libwslay's event API over that bufferevent; nothing
 *   blocks the loop. Pings are answered; the broker pings every --ws-ping-ms and drops
 *   a client silent for --ws-idle-ms (struct jq_broker_config).
 * - Every subscription is a watch of events.h on the broker's one subscriber
 *   connection: no Redis connection per client.
 * - Bounds: a client message is at most JQ_WS_MAX_MESSAGE bytes (larger: close 1009);
 *   at most --ws-max-subs (JQ_WS_MAX_SUBS) subscriptions per connection, each under 1 KiB
 *   of the broker's memory (its record here, a watcher and, if no one else follows the
 *   job or queue, a topic in events.c: ~650 bytes on x86-64); a client that lets more than
 *   JQ_WS_MAX_OUTPUT bytes pile up unread is dropped (no close frame: it reads nothing).
 * - Bad messages (not JSON, unknown type, bad ids or names, over the subscription
 *   limit) get an error message and change nothing; the connection stays open. Binary
 *   messages are refused with close 1003; protocol violations close with 1002.
 * - Every connection and its subscriptions are freed when the client leaves, when it is
 *   dropped, and by jq_ws_free.
 * - A close frame with a 1-byte payload, a control frame longer than 125 bytes, with a
 *   non-minimal length or fragmented, reserved bits, unknown opcodes, unmasked frames and
 *   bad close codes get a close frame 1002 (a close reason that is not UTF-8: 1007), then
 *   the connection ends. */
#ifndef JQ_WS_H
#define JQ_WS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "routes.h"

struct jq_broker;

#define JQ_WS_MAX_MESSAGE (64 * 1024)  /* bytes in one client message */
#define JQ_WS_MAX_SUBS 1000            /* default of --ws-max-subs: subscriptions per connection */
#define JQ_WS_MAX_OUTPUT (1024 * 1024) /* bytes a client may leave unread before it is dropped */
/* defaults of --ws-ping-ms and --ws-idle-ms */
#define JQ_WS_PING_MS 20000  /* the broker pings every connection this often */
#define JQ_WS_IDLE_MS 60000  /* a client that sent nothing (not even a pong) this long is dropped */
#define JQ_WS_CLOSE_WAIT_S 5 /* after our close frame, wait this long for the client's */
#define JQ_WS_CLIENT_ID_MAX 128 /* bytes of the {client_id} of GET /ws/{client_id} */

struct jq_ws;

/* The WebSocket endpoint of broker b (which keeps it in b->ws). NULL when out of memory. */
struct jq_ws *jq_ws_new(struct jq_broker *b);
/* Closes every connection (a close frame 1001 "going away" is written if the socket takes
 * it without waiting) and frees everything. Call before jq_events_free and jq_http_free.
 * Safe with NULL. */
void jq_ws_free(struct jq_ws *ws);
/* Closes (1008, "token revoked") the connections whose token (the one that opened them,
 * auth.h jq_auth_current) no longer holds the read scope. Safe with NULL. */
struct jq_auth;
void jq_ws_check_grants(struct jq_ws *ws, const struct jq_auth *a);
/* Open WebSocket connections. */
int64_t jq_ws_connections(const struct jq_ws *ws);

/* GET /ws, GET /ws/{client_id} (path_arg). */
jq_route_fn jq_api_ws;

/* ---- pure helpers (unit-tested) ---- */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455's GUID)),
 * 28 characters and a NUL in out. -1 if the digest fails. */
int jq_ws_accept_key(const char *key, char out[29]);
/* 1 if key is what RFC 6455 asks of a client: 16 bytes in base64 (24 characters). */
int jq_ws_key_valid(const char *key);
/* 1 if the comma-separated header value holds token (case-insensitive, spaces around
 * items ignored), e.g. "keep-alive, Upgrade" holds "upgrade". 0 for NULL. */
int jq_ws_header_has_token(const char *value, const char *token);

#endif
