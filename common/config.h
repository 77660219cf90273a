/* config.h: flags and environment variables from one option table.
 *
 * Every setting of every program is a row: a long flag and, optionally, an
 * environment variable. The environment is read first, flags override it.
 * Values are checked here (integers in range, strings bounded), so a program
 * never starts with a setting it did not understand. */
#ifndef JQ_CONFIG_H
#define JQ_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum jq_opt_type {
	JQ_OPT_STR,    /* ptr is const char **; points into argv/environ, not owned */
	JQ_OPT_INT,    /* ptr is int64_t *; checked against [min, max] */
	JQ_OPT_BOOL,   /* ptr is int *; a flag without value sets 1; env 1/0/true/false/yes/no */
	JQ_OPT_LIST,   /* ptr is struct jq_opt_list *; see there */
	JQ_OPT_SECRET, /* as JQ_OPT_STR, but --help never prints its value (a token) */
};

/* Most values a JQ_OPT_LIST option takes. */
#define JQ_OPT_LIST_MAX 64

/* A repeatable option: each use of the flag adds one value; the environment
 * variable, when set, is the first value, and the first flag replaces it
 * (flags override the environment, as for every other option). Values point
 * into argv/environ, not owned; max in the row bounds each value's length. */
struct jq_opt_list {
	const char *v[JQ_OPT_LIST_MAX];
	int n;
	int from_flags; /* set by the parser once a flag has added a value */
};

struct jq_opt {
	const char *name; /* flag without the leading "--" */
	const char *env;  /* environment variable, or NULL */
	enum jq_opt_type type;
	void *ptr;
	int64_t min, max; /* INT: the range; STR: max is the longest accepted length */
	const char *help;
};

/* The rows every daemon on Redis shares (jobq-broker, jobq-worker), one text for both
 * --help pages: --redis-url, --redis-password-file and --prefix into cfg's fields of those
 * names (JQ_PREFIX_MAX from keys.h at the place of use), and --log-format and --log-level
 * into the strings fmt and level (jq_opts_daemon checks them). */
/* rows of a table, one a line: */
/* clang-format off */
#define JQ_OPT_REDIS_ROWS(cfg)                                                                 \
	{"redis-url", "JOBQ_REDIS_URL", JQ_OPT_STR, &(cfg)->redis_url, 0, 1000,                \
	 "Redis to use: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (USER and PASSWORD "       \
	 "percent-encoded), unix:///PATH[?db=DB], "                                            \
	 "redis-sentinel://[[USER]:PASSWORD@]HOST[:PORT][,...][/DB]#MASTER, or a Redis "       \
	 "Cluster: redis-cluster://[[USER]:PASSWORD@]HOST[:PORT][,...][/0]"},                  \
	{"redis-password-file", "JOBQ_REDIS_PASSWORD_FILE", JQ_OPT_STR,                        \
	 &(cfg)->redis_password_file, 0, 4096,                                                 \
	 "file holding the Redis password (one line), in place of the URL's"},                 \
	{"prefix", "JOBQ_PREFIX", JQ_OPT_STR, &(cfg)->prefix, 0, JQ_PREFIX_MAX,                \
	 "prefix of every Redis key"}
#define JQ_OPT_LOG_ROWS(fmt, level)                                                            \
	{"log-format", "JOBQ_LOG_FORMAT", JQ_OPT_STR, &(fmt), 0, 8, "text or json"},           \
	{"log-level", "JOBQ_LOG_LEVEL", JQ_OPT_STR, &(level), 0, 8,                            \
	 "debug, info, warn or error"}
/* clang-format on */

enum {
	JQ_OPTS_OK = 0,
	JQ_OPTS_HELP = 1,    /* --help or -h was given */
	JQ_OPTS_VERSION = 2, /* --version was given */
	JQ_OPTS_ERROR = -1,  /* err holds the reason */
};

/* Parses the environment, then argv[1..] up to the first argument that is
 * not a flag (or just after "--"); *first_arg gets its index (argc if none).
 * A table ends with a row whose name is NULL. */
int jq_opts_parse(const struct jq_opt *opts, int argc, char **argv, int *first_arg, char *err,
		  size_t errlen);

/* The start of a daemon's main(): parses opts (which take no positional
 * arguments), answers --help and --version on stdout, checks *log_format and
 * *log_level (the variables opts set, read after parsing) and sets up logging
 * for program. Returns -1 to go on, or the
 * exit status to leave with (0 after --help/--version, 2 with the reason on
 * stderr after bad input). */
int jq_opts_daemon(const char *program, const char *usage, const struct jq_opt *opts, int argc,
		   char **argv, const char *const *log_format, const char *const *log_level);

/* Prints "usage: ..." and one line per option with its env var and current value. */
void jq_opts_usage(FILE *out, const char *usage, const struct jq_opt *opts);

#endif
