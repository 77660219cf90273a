/* exec_request.c: the exec job type's payload, checked; see exec_request.h. */
#include "exec_request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "keys.h"
#include "util.h"

int jq_exec_request_parse(struct jq_exec_request *r, const msgpack_object *payload, char *err,
			  size_t errlen)
{
	memset(r, 0, sizeof(*r));
	const char *name;
	size_t nlen;
	if (!payload || payload->type != MSGPACK_OBJECT_MAP ||
	    jq_mp_get_str(payload, "command", &name, &nlen) != 0) {
		snprintf(err, errlen, "'command' is required: the name of an allowed command");
		return -1;
	}
	if (nlen == 0 || nlen > JQ_EXEC_NAME_MAX || !jq_name_valid(name, nlen)) {
		snprintf(err, errlen, "'command' must be 1 to %d of [A-Za-z0-9_.:-]",
			 JQ_EXEC_NAME_MAX);
		return -1;
	}
	memcpy(r->name, name, nlen);
	r->name[nlen] = '\0';

	const msgpack_object *args = jq_mp_get(payload, "args");
	if (args && args->type != MSGPACK_OBJECT_NIL) {
		if (args->type != MSGPACK_OBJECT_ARRAY || args->via.array.size > JQ_EXEC_ARGS_MAX) {
			snprintf(err, errlen, "'args' must be a list of at most %d strings",
				 JQ_EXEC_ARGS_MAX);
			goto fail;
		}
		r->args = calloc(args->via.array.size + 1, sizeof(*r->args));
		if (!r->args) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		size_t bytes = 0;
		for (uint32_t i = 0; i < args->via.array.size; i++) {
			const msgpack_object *a = &args->via.array.ptr[i];
			if (a->type != MSGPACK_OBJECT_STR) {
				snprintf(err, errlen,
					 "'args' must be a list of strings (item %u is not)",
					 (unsigned)i);
				goto fail;
			}
			if (a->via.str.size && memchr(a->via.str.ptr, '\0', a->via.str.size)) {
				snprintf(err, errlen, "'args' item %u holds a NUL byte",
					 (unsigned)i);
				goto fail;
			}
			bytes += a->via.str.size + 1;
			if (bytes > JQ_EXEC_ARGS_BYTES_MAX) {
				snprintf(err, errlen, "'args' are longer than %d bytes together",
					 JQ_EXEC_ARGS_BYTES_MAX);
				goto fail;
			}
			if (!(r->args[i] = strndup(a->via.str.ptr ? a->via.str.ptr : "",
						   a->via.str.size))) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			r->nargs++;
		}
	}

	const msgpack_object *in = jq_mp_get(payload, "input");
	json_t *j = jq_msgpack_to_json(in ? in : payload, err, errlen);
	if (!j)
		goto fail;
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (!text) {
		snprintf(err, errlen, "'input' cannot be written as JSON");
		goto fail;
	}
	r->input = jq_strdup_printf("%s\n", text);
	free(text);
	if (!r->input) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	r->input_len = strlen(r->input);
	return 0;
fail:
	jq_exec_request_release(r);
	return -1;
}

void jq_exec_request_release(struct jq_exec_request *r)
{
	for (size_t i = 0; r->args && r->args[i]; i++)
		free(r->args[i]);
	free(r->args);
	free(r->input);
	memset(r, 0, sizeof(*r));
}
