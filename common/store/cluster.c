/* cluster.c: key slots, the slot map and redirections; see cluster.h. */
#include "cluster.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* CRC16-CCITT (XMODEM): polynomial 0x1021, initial 0, no reflection, as Redis Cluster. */
static uint16_t crc16(const char *s, size_t n)
{
	uint16_t crc = 0;
	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)((unsigned char)s[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc;
}

uint16_t jq_cluster_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);
	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;
		const char *close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) & (JQ_CLUSTER_SLOTS - 1);
	}
	return crc16(key, len) & (JQ_CLUSTER_SLOTS - 1);
}

static int node_index(struct jq_slot_map *m, const char *host, int port)
{
	for (size_t i = 0; i < m->nnodes; i++)
		if (m->nodes[i].port == port && strcmp(m->nodes[i].host, host) == 0)
			return (int)i;
	if (m->nnodes == JQ_CLUSTER_NODES_MAX || strlen(host) >= sizeof(m->nodes[0].host))
		return -1;
	snprintf(m->nodes[m->nnodes].host, sizeof(m->nodes[0].host), "%s", host);
	m->nodes[m->nnodes].port = port;
	return (int)m->nnodes++;
}

int jq_slot_map_parse(struct jq_slot_map *m, const redisReply *r, const char *from_host, char *err,
		      size_t errlen)
{
	m->nnodes = 0;
	for (size_t s = 0; s < JQ_CLUSTER_SLOTS; s++)
		m->owner[s] = -1;
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "CLUSTER SLOTS: %s",
			 r && r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
		return -1;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER ||
		    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
		    e->element[2]->element[0]->type != REDIS_REPLY_STRING ||
		    e->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
			snprintf(err, errlen,
				 "CLUSTER SLOTS: range %zu is not [start, end, [host, "
				 "port, ...], ...]",
				 i);
			return -1;
		}
		long long start = e->element[0]->integer, end = e->element[1]->integer;
		long long port = e->element[2]->element[1]->integer;
		const char *host = e->element[2]->element[0]->str;
		if (start < 0 || end >= JQ_CLUSTER_SLOTS || start > end || port < 1 ||
		    port > 65535) {
			snprintf(err, errlen,
				 "CLUSTER SLOTS: range %lld-%lld of %s:%lld is out of bounds",
				 start, end, host, port);
			return -1;
		}
		int n = node_index(m, host[0] ? host : from_host, (int)port);
		if (n < 0) {
			snprintf(err, errlen, "CLUSTER SLOTS: more than %d masters",
				 JQ_CLUSTER_NODES_MAX);
			return -1;
		}
		for (long long s = start; s <= end; s++)
			m->owner[s] = (int16_t)n;
	}
	return 0;
}

const struct jq_cluster_node *jq_slot_map_node(const struct jq_slot_map *m, uint16_t slot)
{
	int n = slot < JQ_CLUSTER_SLOTS ? m->owner[slot] : -1;
	return n >= 0 ? &m->nodes[n] : NULL;
}

int jq_slot_map_move(struct jq_slot_map *m, uint16_t slot, const char *host, int port)
{
	int n = node_index(m, host, port);
	if (n < 0 || slot >= JQ_CLUSTER_SLOTS)
		return -1;
	m->owner[slot] = (int16_t)n;
	return 0;
}

/* "<slot> <host>:<port>" after a MOVED or ASK. */
static int slot_addr(const char *p, const char *end, const char *from_host, struct jq_redirect *out)
{
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	int64_t slot, port;
	if (!sp || jq_parse_i64n(p, (size_t)(sp - p), 0, JQ_CLUSTER_SLOTS - 1, &slot) != 0)
		return -1;
	const char *addr = sp + 1;
	const char *colon = NULL;
	for (const char *q = addr; q < end; q++) /* the last ':': an IPv6 host holds some */
		if (*q == ':')
			colon = q;
	if (!colon || jq_parse_i64n(colon + 1, (size_t)(end - colon - 1), 1, 65535, &port) != 0)
		return -1;
	size_t hl = (size_t)(colon - addr);
	if (hl >= sizeof(out->to.host))
		return -1;
	if (hl == 0)
		snprintf(out->to.host, sizeof(out->to.host), "%s", from_host);
	else {
		memcpy(out->to.host, addr, hl);
		out->to.host[hl] = '\0';
	}
	out->to.port = (int)port;
	out->slot = (uint16_t)slot;
	return 0;
}

void jq_cluster_redirect(const char *err, size_t len, const char *from_host,
			 struct jq_redirect *out)
{
	memset(out, 0, sizeof(*out));
	const char *end = err + len;
	if (len > 6 && memcmp(err, "MOVED ", 6) == 0) {
		if (slot_addr(err + 6, end, from_host, out) == 0)
			out->kind = JQ_REDIRECT_MOVED;
	} else if (len > 4 && memcmp(err, "ASK ", 4) == 0) {
		if (slot_addr(err + 4, end, from_host, out) == 0)
			out->kind = JQ_REDIRECT_ASK;
	} else if (len >= 8 && memcmp(err, "TRYAGAIN", 8) == 0) {
		out->kind = JQ_REDIRECT_TRYAGAIN;
	} else if (len >= 11 && memcmp(err, "CLUSTERDOWN", 11) == 0) {
		out->kind = JQ_REDIRECT_CLUSTERDOWN;
	}
}

int jq_cluster_backoff_ms(int tries)
{
	int ms = 25;
	for (int i = 1; i < tries && ms < 1000; i++)
		ms *= 2;
	return ms < 1000 ? ms : 1000;
}

void jq_cluster_next(const redisReply *reply, int tries, int is_script, const char *from_host,
		     struct jq_cluster_step *out)
{
	memset(out, 0, sizeof(*out));
	out->action = JQ_CLUSTER_DELIVER;
	if (!reply || reply->type != REDIS_REPLY_ERROR || !reply->str ||
	    tries >= JQ_CLUSTER_TRIES_MAX)
		return;
	if (is_script && reply->len >= 8 && memcmp(reply->str, "NOSCRIPT", 8) == 0) {
		out->action = JQ_CLUSTER_LOAD;
		return;
	}
	jq_cluster_redirect(reply->str, reply->len, from_host, &out->redirect);
	switch (out->redirect.kind) {
	case JQ_REDIRECT_MOVED: out->action = JQ_CLUSTER_MOVED; break;
	case JQ_REDIRECT_ASK: out->action = JQ_CLUSTER_ASK; break;
	case JQ_REDIRECT_TRYAGAIN:
	case JQ_REDIRECT_CLUSTERDOWN:
		out->action = JQ_CLUSTER_LATER;
		out->delay_ms = jq_cluster_backoff_ms(tries);
		break;
	case JQ_REDIRECT_NONE: break;
	}
}
