/* static.c: serves the embedded files (static.h): GET /, GET /docs, GET /static/{file}
 * and GET /openapi.json. */
#include "static.h"

#include <event2/buffer.h>
#include <string.h>

#include "broker.h"
#include "reply.h"
#include "routes.h"
#include "http.h"

const struct jq_static_file *jq_static_find(const char *name)
{
	for (const struct jq_static_file *f = jq_static_files; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static const struct {
	const char *ext, *type;
} content_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
};

const char *jq_static_content_type(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof(content_types) / sizeof(content_types[0]); i++) {
		size_t e = strlen(content_types[i].ext);
		if (n > e && strcmp(name + n - e, content_types[i].ext) == 0)
			return content_types[i].type;
	}
	return "application/octet-stream";
}

/* The pages load only their own scripts, styles and API (no inline script, nothing
 * from another origin), and may not be framed by another site. */
#define PAGE_CSP                                                                                   \
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "          \
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

/* Does the If-None-Match header name this ETag (or "*")? */
static int etag_matches(const char *header, const char *etag)
{
	if (!header)
		return 0;
	size_t n = strlen(etag);
	for (const char *p = header; *p;) {
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0) /* a weak comparison is what If-None-Match asks */
			p += 2;
		if (*p == '*' || (strncmp(p, etag, n) == 0 &&
				  (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t')))
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

/* Answers with the file: 200 with it, or 304 when the client's copy is current. The
 * client revalidates every time (no-cache): the files change with the binary, and the
 * answer to an unchanged file is a bodiless 304. */
static void send_file(struct jq_http_req *req, const struct jq_static_file *f)
{
	jq_http_add_header(req, "Content-Type", jq_static_content_type(f->name));
	jq_http_add_header(req, "Cache-Control", "no-cache");
	jq_http_add_header(req, "ETag", f->etag);
	jq_http_add_header(req, "X-Content-Type-Options", "nosniff");
	if (strcmp(jq_static_content_type(f->name), content_types[0].type) == 0) {
		jq_http_add_header(req, "Content-Security-Policy", PAGE_CSP);
		jq_http_add_header(req, "Referrer-Policy", "no-referrer");
	}
	const char *inm = jq_http_header(req, "If-None-Match");
	if (etag_matches(inm, f->etag)) {
		jq_broker_count_response(304);
		jq_http_send(req, 304, NULL, 0);
		return;
	}
	jq_broker_count_response(200);
	jq_http_send(req, 200, (const char *)f->data, f->len);
}

static void serve(struct jq_http_req *req, const char *name)
{
	const struct jq_static_file *f = name && !strchr(name, '/') ? jq_static_find(name) : NULL;
	if (!f) {
		jq_reply_error(req, 404, "not_found", "no file '%.200s'", name ? name : "");
		return;
	}
	send_file(req, f);
}

void jq_api_dashboard(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	serve(req, "index.html");
}

void jq_api_docs(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	serve(req, "api.html");
}

void jq_api_static(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	serve(req, arg);
}

void jq_api_openapi(struct jq_broker *b, struct jq_http_req *req, const char *arg)
{
	serve(req, "openapi.json");
}
