/* redis_url.h: where Redis is and who we are to it, from a URL (and a password
 * file). No sockets, no libevent, so libjobq-client (synchronous hiredis) shares it
 * with the daemons. */
#ifndef JQ_REDIS_URL_H
#define JQ_REDIS_URL_H

#include <stddef.h>

#define JQ_SENTINELS_MAX 8
#define JQ_SEEDS_MAX 8

struct jq_redis_url {
	char host[256];
	int port;
	char unix_path[256]; /* non-empty for unix:// URLs */
	int db;
	char user[256];     /* an ACL user (AUTH user password), or "": the default user */
	char password[256]; /* or "": no AUTH */
	/* redis-sentinel:// URLs: the sentinels to ask (host and port empty until one names
	 * the primary), and the name they know it by */
	int nsentinels;
	struct jq_hostport {
		char host[256];
		int port;
	} sentinels[JQ_SENTINELS_MAX];
	char master[128];
	/* redis-cluster:// URLs: the nodes to ask for the slot map (any one that answers
	 * names the others); host and port are the first of them */
	int nseeds;
	struct jq_hostport seeds[JQ_SEEDS_MAX];
};

/* redis://[[user]:password@]host[:port][/db], unix:///path/to/sock[?db=N],
 * redis-sentinel://[[user]:password@]host[:port][,host[:port]...][/db]#master (sentinels
 * on port 26379 by default; user and password are the primary's), or
 * redis-cluster://[[user]:password@]host[:port][,host[:port]...][/0] (nodes of a Redis
 * Cluster, port 6379 by default; user and password are every node's; a cluster has
 * database 0 only).
 * user and password are percent-decoded (%40 is '@', %3A ':', %25 '%'; a '%' not
 * followed by two hex digits, or %00, is refused); a userinfo without ':' is a
 * password alone (redis://password@host). */
int jq_redis_url_parse(const char *url, struct jq_redis_url *out, char *err, size_t errlen);

/* The password in the file at path: its content without one trailing "\n" (or
 * "\r\n"). 0, or -1 with err when it cannot be read, is empty, longer than 255
 * bytes, or holds a NUL or another line break. */
int jq_redis_password_file_read(const char *path, char *out, size_t outlen, char *err,
				size_t errlen);

/* jq_redis_url_parse(url), then, when password_file is neither NULL nor "", the
 * password read from that file in place of the URL's (--redis-password-file). */
int jq_redis_url_load(const char *url, const char *password_file, struct jq_redis_url *out,
		      char *err, size_t errlen);

#endif
