/* exec_request.h: the payload of an exec job, checked: its shape is what the broker
 * refuses at enqueue (jobtypes.h); whether its command is allowed is the worker's to judge
 * (worker/exec_job.h, --exec). Pure. */
#ifndef JQ_EXEC_REQUEST_H
#define JQ_EXEC_REQUEST_H

#include <msgpack.h>
#include <stddef.h>

#define JQ_EXEC_NAME_MAX 64
#define JQ_EXEC_ARGS_MAX 256
#define JQ_EXEC_ARGS_BYTES_MAX (128 * 1024) /* all args together */

/* A checked payload. Owned strings; freed by _release. */
struct jq_exec_request {
	char name[JQ_EXEC_NAME_MAX + 1];
	char **args; /* nargs strings, then NULL */
	size_t nargs;
	char *input; /* the JSON line for stdin, '\n'-terminated */
	size_t input_len;
};

/* Checks payload and fills r. 0, or -1 with the reason in err (r released).
 * Fields other than command, args and input are left alone: they are data
 * for the program when "input" is absent. */
int jq_exec_request_parse(struct jq_exec_request *r, const msgpack_object *payload, char *err,
			  size_t errlen);
void jq_exec_request_release(struct jq_exec_request *r);

#endif
