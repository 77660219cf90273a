/* fuzz_query.c: libFuzzer target for the path and query parsing the broker does on a request URI. */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "job.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *uri = malloc(size + 1);
	if (!uri)
		return 0;
	memcpy(uri, data, size);
	uri[size] = '\0';
	struct evhttp_uri *u = evhttp_uri_parse_with_flags(uri, EVHTTP_URI_NONCONFORMANT);
	if (u) {
		const char *path = evhttp_uri_get_path(u);
		int64_t id;
		if (path && strncmp(path, "/task-status/", 13) == 0)
			jq_parse_i64(path + 13, 1, INT64_MAX, &id);
		const char *slash = path ? strchr(path + (path[0] == '/'), '/') : NULL;
		if (slash)
			jq_parse_i64n(path, (size_t)(slash - path), 1, INT64_MAX, &id);
		const char *q = evhttp_uri_get_query(u);
		struct evkeyvalq kv;
		TAILQ_INIT(&kv);
		if (q && evhttp_parse_query_str(q, &kv) == 0) {
			const char *email = evhttp_find_header(&kv, "email");
			const char *content = evhttp_find_header(&kv, "content");
			const char *duration = evhttp_find_header(&kv, "duration");
			if (email)
				jq_email_valid(email);
			if (content)
				jq_utf8_valid(content, strlen(content));
			if (duration)
				jq_parse_i64(duration, 0, 86400, &id);
		}
		evhttp_clear_headers(&kv);
		evhttp_uri_free(u);
	}
	free(uri);
	return 0;
}
