/* static.h: the files the broker serves as they are (the web dashboard, the API page,
 * openapi.json), embedded in the binary at build time from broker/static/ by
 * cmake/embed_scripts.cmake, so the broker needs no files at run time and fetches
 * nothing from elsewhere. */
#ifndef JQ_STATIC_H
#define JQ_STATIC_H

#include <stddef.h>

struct jq_static_file {
	const char *name; /* the file name, no directory: "app.js" */
	const char *data; /* the bytes, NUL-terminated (the NUL is not counted in len) */
	size_t len;
	const char *etag; /* a quoted strong ETag derived from the content */
};

/* Every embedded file; the last entry has a NULL name. Generated (static_files.c). */
extern const struct jq_static_file jq_static_files[];

/* The file of that name, or NULL. */
const struct jq_static_file *jq_static_find(const char *name);
/* The Content-Type of a file name, by its extension (application/octet-stream for
 * one this table does not know). */
const char *jq_static_content_type(const char *name);

#endif
