/* cluster.h: the pure parts of a Redis Cluster client: which slot a key lives in, the
 * slot map read from CLUSTER SLOTS, and the redirections a node answers with. No IO: the
 * connections that use them are another module's (docs/cluster.md says what is built). */
#ifndef JQ_CLUSTER_H
#define JQ_CLUSTER_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#define JQ_CLUSTER_SLOTS 16384
#define JQ_CLUSTER_NODES_MAX 64 /* masters a map holds */

/* The slot of a key: CRC16 (XMODEM) of the key, or of its hash tag (the part between
 * the first '{' and the first '}' after it, when not empty), modulo 16384. */
uint16_t jq_cluster_slot(const char *key, size_t len);

struct jq_cluster_node {
	char host[256];
	int port;
};
/* Which master serves each slot. */
struct jq_slot_map {
	size_t nnodes;
	struct jq_cluster_node nodes[JQ_CLUSTER_NODES_MAX];
	int16_t owner[JQ_CLUSTER_SLOTS]; /* index in nodes, or -1: no master serves it */
};
/* Reads a CLUSTER SLOTS reply into m (each range's first address is its master's; an
 * empty host, as a node of Redis 7 may answer, is the address the reply came from:
 * from_host). 0, or -1 with err when the reply is not such an answer. */
int jq_slot_map_parse(struct jq_slot_map *m, const redisReply *r, const char *from_host, char *err,
		      size_t errlen);
/* The master of slot, or NULL when no master serves it. */
const struct jq_cluster_node *jq_slot_map_node(const struct jq_slot_map *m, uint16_t slot);
/* Records that host:port serves slot (a MOVED answer); -1 when the map is full. */
int jq_slot_map_move(struct jq_slot_map *m, uint16_t slot, const char *host, int port);

enum jq_redirect_kind {
	JQ_REDIRECT_NONE,        /* not a redirection: the answer stands */
	JQ_REDIRECT_MOVED,       /* the slot lives on another node now: update, send there */
	JQ_REDIRECT_ASK,         /* the key is being migrated: ASKING, then send there once */
	JQ_REDIRECT_TRYAGAIN,    /* a multi-key command hit a slot being migrated: later */
	JQ_REDIRECT_CLUSTERDOWN, /* the cluster cannot serve now (a failover): later */
};
struct jq_redirect {
	enum jq_redirect_kind kind;
	uint16_t slot; /* MOVED, ASK */
	struct jq_cluster_node to;
};
/* What an error reply's text (hiredis' str, without the '-') asks for. An address
 * without a host (":6380", as Redis answers when it knows no name for itself) takes
 * from_host. */
void jq_cluster_redirect(const char *err, size_t len, const char *from_host,
			 struct jq_redirect *out);

/* What the client does with the reply to a routed command (redis_cluster.c runs it). */
enum jq_cluster_action {
	JQ_CLUSTER_DELIVER, /* the answer stands: the caller gets it */
	JQ_CLUSTER_MOVED,   /* record that step.redirect.to serves the slot, resend there */
	JQ_CLUSTER_ASK,     /* ASKING then the command on step.redirect.to; the map stays */
	JQ_CLUSTER_LATER,   /* resend to the slot's master after step.delay_ms */
	JQ_CLUSTER_LOAD,    /* NOSCRIPT: SCRIPT LOAD on the node that answered, then resend */
};
struct jq_cluster_step {
	enum jq_cluster_action action;
	struct jq_redirect redirect; /* MOVED, ASK */
	int delay_ms;                /* LATER */
};
/* Sends of one command at most: a redirection or a retry past it delivers the answer. */
#define JQ_CLUSTER_TRIES_MAX 16
/* The delay before the try after tries sends (tries >= 1): 25 ms doubling, at most 1 s;
 * the tries together wait about 12 s, longer than a failover of a cluster with the
 * default cluster-node-timeout takes to be seen. */
int jq_cluster_backoff_ms(int tries);
/* The next step for reply (an answer after tries sends, tries >= 1) of a command that is
 * a script call or not (is_script), from a node at from_host. A NULL reply (the
 * connection dropped) and any answer after JQ_CLUSTER_TRIES_MAX sends are delivered. */
void jq_cluster_next(const redisReply *reply, int tries, int is_script, const char *from_host,
		     struct jq_cluster_step *out);

#endif
