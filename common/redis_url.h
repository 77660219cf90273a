/* redis_url.h: where Redis is, from a URL. Pure parsing: no sockets, no libevent,
 * so libjobq-client (synchronous hiredis) shares it with the daemons. */
#ifndef JQ_REDIS_URL_H
#define JQ_REDIS_URL_H

#include <stddef.h>

#define JQ_SENTINELS_MAX 8

struct jq_redis_url {
	char host[256];
	int port;
	char unix_path[256]; /* non-empty for unix:// URLs */
	int db;
	char password[256];
	/* redis-sentinel:// URLs: the sentinels to ask (host and port empty until one names
	 * the primary), and the name they know it by */
	int nsentinels;
	struct {
		char host[256];
		int port;
	} sentinels[JQ_SENTINELS_MAX];
	char master[128];
};

/* redis://[:password@]host[:port][/db], unix:///path/to/sock[?db=N], or
 * redis-sentinel://[:password@]host[:port][,host[:port]...][/db]#master (sentinels on port
 * 26379 by default; the password is the primary's). */
int jq_redis_url_parse(const char *url, struct jq_redis_url *out, char *err, size_t errlen);

#endif
