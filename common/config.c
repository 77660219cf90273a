/* config.c: option table parsing; see config.h. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

static int set_value(const struct jq_opt *o, const char *value, const char *origin, int is_flag,
		     char *err, size_t errlen)
{
	switch (o->type) {
	case JQ_OPT_LIST: {
		struct jq_opt_list *l = o->ptr;
		if (o->max > 0 && (int64_t)strlen(value) > o->max) {
			snprintf(err, errlen, "%s is longer than %" PRId64 " characters", origin,
				 o->max);
			return -1;
		}
		if (is_flag && !l->from_flags) {
			l->n = 0; /* the first flag replaces what the environment said */
			l->from_flags = 1;
		}
		if (l->n == JQ_OPT_LIST_MAX) {
			snprintf(err, errlen, "%s given more than %d times", origin,
				 JQ_OPT_LIST_MAX);
			return -1;
		}
		l->v[l->n++] = value;
		return 0;
	}
	case JQ_OPT_STR:
	case JQ_OPT_SECRET:
		if (o->max > 0 && (int64_t)strlen(value) > o->max) {
			snprintf(err, errlen, "%s is longer than %" PRId64 " characters", origin,
				 o->max);
			return -1;
		}
		*(const char **)o->ptr = value;
		return 0;
	case JQ_OPT_INT: {
		int64_t v;
		if (jq_parse_i64(value, o->min, o->max, &v) != 0) {
			snprintf(err, errlen,
				 "%s must be an integer from %" PRId64 " to %" PRId64 ", not '%s'",
				 origin, o->min, o->max, value);
			return -1;
		}
		*(int64_t *)o->ptr = v;
		return 0;
	}
	case JQ_OPT_BOOL:
		if (!strcmp(value, "1") || !strcmp(value, "true") || !strcmp(value, "yes")) {
			*(int *)o->ptr = 1;
		} else if (!strcmp(value, "0") || !strcmp(value, "false") || !strcmp(value, "no")) {
			*(int *)o->ptr = 0;
		} else {
			snprintf(err, errlen, "%s must be true or false, not '%s'", origin, value);
			return -1;
		}
		return 0;
	}
	return -1;
}

int jq_opts_parse(const struct jq_opt *opts, int argc, char **argv, int *first_arg, char *err,
		  size_t errlen)
{
	for (const struct jq_opt *o = opts; o->name; o++) {
		if (!o->env)
			continue;
		const char *v = getenv(o->env);
		if (v && *v && set_value(o, v, o->env, 0, err, errlen) != 0)
			return JQ_OPTS_ERROR;
	}
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			return JQ_OPTS_HELP;
		if (strcmp(a, "--version") == 0)
			return JQ_OPTS_VERSION;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (a[0] == '-' && a[1] != '\0') {
				snprintf(err, errlen, "unknown option '%s'", a);
				return JQ_OPTS_ERROR;
			}
			break; /* the first positional argument */
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct jq_opt *o = opts;
		for (; o->name; o++)
			if (strlen(o->name) == nlen && strncmp(o->name, name, nlen) == 0)
				break;
		if (!o->name) {
			snprintf(err, errlen, "unknown option '--%.*s'", (int)nlen, name);
			return JQ_OPTS_ERROR;
		}
		const char *value;
		if (eq) {
			value = eq + 1;
		} else if (o->type == JQ_OPT_BOOL) {
			value = "true";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			snprintf(err, errlen, "option '--%s' needs a value", o->name);
			return JQ_OPTS_ERROR;
		}
		char origin[80];
		snprintf(origin, sizeof(origin), "--%s", o->name);
		if (set_value(o, value, origin, 1, err, errlen) != 0)
			return JQ_OPTS_ERROR;
	}
	*first_arg = i;
	return JQ_OPTS_OK;
}

void jq_opts_usage(FILE *out, const char *usage, const struct jq_opt *opts)
{
	fprintf(out, "%s\n\noptions (flags override environment variables):\n", usage);
	for (const struct jq_opt *o = opts; o->name; o++) {
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s%s", o->name, o->type == JQ_OPT_BOOL ? "" : " V");
		fprintf(out, "  %-22s %s", flag, o->help);
		if (o->env)
			fprintf(out, " [env %s]", o->env);
		switch (o->type) {
		case JQ_OPT_STR: {
			const char *v = *(const char **)o->ptr;
			if (v && *v)
				fprintf(out, " (default: %s)", v);
			break;
		}
		case JQ_OPT_INT: fprintf(out, " (default: %" PRId64 ")", *(int64_t *)o->ptr); break;
		case JQ_OPT_BOOL: break;
		case JQ_OPT_SECRET:
			if (*(const char **)o->ptr && **(const char **)o->ptr)
				fprintf(out, " (set)");
			break;
		case JQ_OPT_LIST: {
			const struct jq_opt_list *l = o->ptr;
			fprintf(out, " (repeatable%s", l->n ? "; now:" : ")");
			for (int k = 0; k < l->n; k++)
				fprintf(out, " %s%s", l->v[k], k + 1 == l->n ? ")" : "");
			break;
		}
		}
		fputc('\n', out);
	}
	fprintf(out, "  %-22s %s\n  %-22s %s\n", "-h, --help", "show this help and exit",
		"--version", "show the version and exit");
}

int jq_opts_daemon(const char *program, const char *usage, const struct jq_opt *opts, int argc,
		   char **argv, const char *const *log_format_p, const char *const *log_level_p)
{
	char err[256];
	int first;
	int rc = jq_opts_parse(opts, argc, argv, &first, err, sizeof(err));
	if (rc == JQ_OPTS_HELP) {
		jq_opts_usage(stdout, usage, opts);
		return 0;
	}
	if (rc == JQ_OPTS_VERSION) {
		printf("%s %s\n", program, JOBQ_VERSION);
		return 0;
	}
	if (rc == JQ_OPTS_OK && first < argc) {
		snprintf(err, sizeof(err), "unexpected argument '%s'", argv[first]);
		rc = JQ_OPTS_ERROR;
	}
	const char *log_format = *log_format_p, *log_level = *log_level_p;
	enum jq_log_format fmt = JQ_LOG_TEXT;
	enum jq_log_level lvl = JQ_LOG_INFO;
	if (rc == JQ_OPTS_OK && jq_log_parse_format(log_format, &fmt) != 0) {
		snprintf(err, sizeof(err), "--log-format must be text or json, not '%s'",
			 log_format);
		rc = JQ_OPTS_ERROR;
	}
	if (rc == JQ_OPTS_OK && jq_log_parse_level(log_level, &lvl) != 0) {
		snprintf(err, sizeof(err), "--log-level must be debug, info, warn or error");
		rc = JQ_OPTS_ERROR;
	}
	if (rc != JQ_OPTS_OK) {
		fprintf(stderr, "%s: %s (see --help)\n", program, err);
		return 2;
	}
	jq_log_setup(program, fmt, lvl);
	return -1;
}
