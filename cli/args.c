/* args.c: a command's arguments: parsing and checking them; see args.h. */
#include "args.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jobctl.h"
#include "keys.h"
#include "print.h"
#include "util.h"

#define KEY_SHOWN_MAX 40 /* bytes of a refused idempotency key shown */

int jq_ctl_parse_duration(const char *s, int64_t *out, char *err, size_t errlen)
{
	if (jq_parse_i64(s, 0, JQ_CTL_DURATION_MAX, out) != 0) {
		snprintf(err, errlen, "invalid duration '%s': it must be an integer from 0 to %d",
			 s, JQ_CTL_DURATION_MAX);
		return -1;
	}
	return 0;
}

int jq_ctl_payload_add(json_t *payload, const char *arg, char *err, size_t errlen)
{
	int rc = -1;
	char *key = NULL;
	json_t *value = NULL;
	const char *eq = strchr(arg, '=');

	if (eq == NULL) {
		snprintf(err, errlen, "expected key=value, not '%s'", arg);
		goto done;
	}
	if (eq == arg) {
		snprintf(err, errlen, "empty key in '%s'", arg);
		goto done;
	}
	if (!jq_utf8_valid(arg, (size_t)(eq - arg))) {
		snprintf(err, errlen, "key of '%s' is not valid UTF-8", arg);
		goto done;
	}
	key = strndup(arg, (size_t)(eq - arg));
	if (key == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if (json_object_get(payload, key) != NULL) {
		snprintf(err, errlen, "key '%s' is given twice", key);
		goto done;
	}
	const char *text = eq + 1;
	json_error_t jerr;
	if (*text)
		value = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (value == NULL) {
		value = json_stringn(text, strlen(text));
		if (value == NULL) {
			snprintf(err, errlen, "value of '%s' is not valid UTF-8", key);
			goto done;
		}
	}
	if (json_object_set_new(payload, key, value) != 0) {
		value = NULL; /* set_new took it, even on failure */
		snprintf(err, errlen, "cannot add '%s' to the payload", key);
		goto done;
	}
	value = NULL;
	rc = 0;
done:
	json_decref(value);
	free(key);
	return rc;
}

int jq_ctl_idempotency_key_check(const char *key, char *err, size_t errlen)
{
	size_t len = strlen(key);
	int ok = len >= 1 && len <= JQ_CTL_IDEMPOTENCY_KEY_MAX;
	for (size_t i = 0; ok && i < len; i++)
		ok = (unsigned char)key[i] > ' ' && (unsigned char)key[i] < 0x7f;
	if (!ok) {
		char shown[KEY_SHOWN_MAX + 1];
		ctl_clean_text(shown, sizeof(shown), key, len, 1, 0);
		snprintf(err, errlen,
			 "invalid idempotency key '%s%s': it must be 1 to %d printable ASCII "
			 "characters without spaces",
			 shown, len > KEY_SHOWN_MAX ? "..." : "", JQ_CTL_IDEMPOTENCY_KEY_MAX);
		return -1;
	}
	return 0;
}

/* Parses the flags of a command (argv[0] is its name) wherever they stand
 * among its positional arguments, which go to pos (room for argc entries).
 * After "--" every argument is positional. Returns a JQ_OPTS_* code. */
static int parse_args(const struct jq_opt *opts, int argc, char **argv, char **pos, int *npos,
		      char *err, size_t errlen)
{
	int base = 0;
	*npos = 0;
	while (base < argc) {
		int first = argc;
		int rc = jq_opts_parse(opts, argc - base, argv + base, &first, err, errlen);
		if (rc != JQ_OPTS_OK)
			return rc;
		first += base;
		int rest = first > base + 1 && strcmp(argv[first - 1], "--") == 0;
		for (int i = first; i < argc && (rest || i == first); i++)
			pos[(*npos)++] = argv[i];
		if (rest)
			break;
		base = first;
	}
	return JQ_OPTS_OK;
}

int ctl_usage_error(struct ctl *c, const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	char text[1024];
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	ctl_put_error(c, JQ_CTL_EXIT_USAGE, text, cmd->usage);
	return JQ_CTL_EXIT_USAGE;
}

void ctl_command_help(FILE *out, const struct command *cmd)
{
	fprintf(out, "usage: %s\n\n%s", cmd->usage, cmd->help);
	if (cmd->subs == NULL)
		return;
	fputs("\ncommands:\n", out);
	for (const struct command *const *sub = cmd->subs; *sub; sub++)
		fprintf(out, "  %s\n", (*sub)->usage);
	fprintf(out, "\nrun 'jobctl %s <command> --help' for the options of a command.\n",
		cmd->name);
}

/* ctl_command_pos with pos given (room for argc entries). */
static int command_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts,
			int argc, char **argv, char **pos, int *npos, int min_pos, int max_pos)
{
	char err[256];
	switch (parse_args(opts, argc, argv, pos, npos, err, sizeof(err))) {
	case JQ_OPTS_HELP: ctl_command_help(c->out, cmd); return JQ_CTL_EXIT_OK;
	case JQ_OPTS_VERSION: fprintf(c->out, "jobctl %s\n", JOBQ_VERSION); return JQ_CTL_EXIT_OK;
	case JQ_OPTS_ERROR: return ctl_usage_error(c, cmd, "%s", err);
	default: break;
	}
	if (*npos < min_pos)
		return ctl_usage_error(c, cmd, "'%s' needs %s%d argument%s", cmd->name,
				       max_pos < 0 ? "at least " : "", min_pos,
				       min_pos == 1 ? "" : "s");
	if (max_pos >= 0 && *npos > max_pos)
		return ctl_usage_error(c, cmd, "unexpected argument '%s'", pos[max_pos]);
	return -1;
}

int ctl_command_pos(struct ctl *c, const struct command *cmd, const struct jq_opt *opts, int argc,
		    char **argv, char ***pos, int *npos, int min_pos, int max_pos)
{
	*npos = 0;
	*pos = calloc((size_t)argc + 1, sizeof(**pos));
	if (*pos == NULL)
		return ctl_failf(c, JQ_CTL_EXIT_FAIL, "out of memory");
	return command_args(c, cmd, opts, argc, argv, *pos, npos, min_pos, max_pos);
}

int ctl_idempotency_header(struct ctl *c, const struct command *cmd, const char *key, char *line,
			   const char **headers)
{
	char err[256];
	headers[0] = headers[1] = NULL;
	if (key == NULL)
		return -1;
	if (jq_ctl_idempotency_key_check(key, err, sizeof(err)) != 0)
		return ctl_usage_error(c, cmd, "%s", err);
	snprintf(line, JQ_CTL_IDEMPOTENCY_LINE_MAX, "Idempotency-Key: %s", key);
	headers[0] = line;
	return -1;
}

int ctl_id_arg(struct ctl *c, const struct command *cmd, const char *what, const char *arg,
	       int64_t *id)
{
	if (jq_parse_i64(arg, 1, INT64_MAX, id) != 0)
		return ctl_usage_error(c, cmd, "invalid %s id '%s': it must be a positive integer",
				       what, arg);
	return -1;
}

int ctl_one_id_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts, int argc,
		    char **argv, const char *what, int64_t *id)
{
	int npos = 0;
	char **pos = NULL;
	int status = ctl_command_pos(c, cmd, opts, argc, argv, &pos, &npos, 1, 1);
	if (status < 0)
		status = ctl_id_arg(c, cmd, what, pos[0], id);
	free(pos);
	return status;
}

int ctl_name_arg(struct ctl *c, const struct command *cmd, const char *what, const char *name,
		 int max)
{
	if (!jq_name_valid(name, strlen(name)))
		return ctl_usage_error(c, cmd,
				       "invalid %s '%s': it must be 1 to %d of A-Z a-z 0-9 _ . : -",
				       what, name, max);
	return -1;
}
