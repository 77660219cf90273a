/* redis_url.h: where Redis is, from a URL. Pure parsing: no sockets, no libevent,
 * so libjobq-client (synchronous hiredis) shares it with the daemons. */
#ifndef JQ_REDIS_URL_H
#define JQ_REDIS_URL_H

#include <stddef.h>

struct jq_redis_url {
	char host[256];
	int port;
	char unix_path[256]; /* non-empty for unix:// URLs */
	int db;
	char password[256];
};

/* redis://[:password@]host[:port][/db] or unix:///path/to/sock[?db=N]. */
int jq_redis_url_parse(const char *url, struct jq_redis_url *out, char *err, size_t errlen);

#endif
