/* redact.c: credentials kept out of the views of a job; see redact.h. */
#include "redact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int jq_redact_header_name(const char *name, size_t n)
{
	static const char *const names[] = {"authorization", "proxy-authorization", "cookie"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(name, names[i], n) == 0)
			return 1;
	return 0;
}

char *jq_redact_url(const char *url)
{
	const char *auth = strstr(url, "://");
	if (!auth)
		return NULL;
	auth += 3;
	size_t alen = strcspn(auth, "/?#"); /* the authority */
	const char *at = NULL;
	for (const char *p = auth; p < auth + alen; p++)
		if (*p == '@')
			at = p; /* the last one: a password may hold '@' unescaped */
	if (!at)
		return NULL;
	size_t head = (size_t)(auth - url), tail = strlen(at);
	char *out = malloc(head + sizeof(JQ_REDACTED) - 1 + tail + 1);
	if (!out)
		return NULL;
	memcpy(out, url, head);
	memcpy(out + head, JQ_REDACTED, sizeof(JQ_REDACTED) - 1);
	memcpy(out + head + sizeof(JQ_REDACTED) - 1, at, tail + 1);
	return out;
}

void jq_redact_payload(const char *type, json_t *payload)
{
	if (!type || strcmp(type, "http") != 0 || !json_is_object(payload))
		return;
	json_t *url = json_object_get(payload, "url");
	if (json_is_string(url)) {
		char *clean = jq_redact_url(json_string_value(url));
		if (clean) {
			json_object_set_new(payload, "url", json_string(clean));
			free(clean);
		}
	}
	json_t *headers = json_object_get(payload, "headers");
	const char *name;
	json_t *v;
	json_object_foreach(headers, name, v) if (jq_redact_header_name(name, strlen(name)))
		json_object_set_new(headers, name, json_string(JQ_REDACTED));
}
