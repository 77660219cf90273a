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
int jq_slot_map_parse(struct jq_slot_map *m, const redisReply *r, const char *from_host,
		      char *err, size_t errlen);
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
	uint16_t slot;           /* MOVED, ASK */
	struct jq_cluster_node to;
};
/* What an error reply's text (hiredis' str, without the '-') asks for. An address
 * without a host (":6380", as Redis answers when it knows no name for itself) takes
 * from_host. */
void jq_cluster_redirect(const char *err, size_t len, const char *from_host,
			 struct jq_redirect *out);

#endif
