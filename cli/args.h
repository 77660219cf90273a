/* args.h: a jobctl command and its arguments: the struct of a command, the parsing of
 * its flags and positional arguments, and the checks of the values they carry.
 * Internal to jobctl_core but for the three pure checks at the end, which the unit
 * tests use. A check that fails reports a usage error (exit 2, "usage: ..." after it)
 * through ctl.h; those returning "-1 to go on" return the exit status otherwise. */
#ifndef JQ_CLI_ARGS_H
#define JQ_CLI_ARGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "ctl.h"
#include "jobctl.h"

struct row; /* rows.h */

/* A command of the table (jobctl.c): a plain one, a group of subcommands, or a
 * command of rows (run by ctl_cmd_row). */
struct command {
	const char *name; /* a subcommand's is "<group> <name>" */
	/* argv[0] is the command name; returns the exit status */
	int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
	const char *usage;
	const char *help;                  /* the options, one per line, ends with '\n' */
	const struct command *const *subs; /* a group's subcommands, NULL-terminated */
	const struct row *row[2]; /* ctl_cmd_row's: without an argument, with one (NULL: refused) */
};

/* Reports the formatted text as a usage error of cmd; returns JQ_CTL_EXIT_USAGE. */
int ctl_usage_error(struct ctl *c, const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints cmd's --help: its usage and options, and a group's subcommands. */
void ctl_command_help(FILE *out, const struct command *cmd);

/* Parses the flags of cmd (opts; argv[0] is its name) wherever they stand among its
 * positional arguments, which go to *pos, malloc'ed (after "--" every argument is one;
 * the caller frees *pos whatever the outcome), and checks there are min_pos to max_pos
 * of them (max_pos < 0: no limit). Returns -1 when the caller should go on, or the exit
 * status (--help or --version shown, a usage error, or memory ran out). */
int ctl_command_pos(struct ctl *c, const struct command *cmd, const struct jq_opt *opts, int argc,
		    char **argv, char ***pos, int *npos, int min_pos, int max_pos);

/* Parses a command's flags (opts) and its one positional argument, an id of what.
 * Returns -1 to go on with *id set, else the exit status (the reason printed). */
int ctl_one_id_args(struct ctl *c, const struct command *cmd, const struct jq_opt *opts, int argc,
		    char **argv, const char *what, int64_t *id);

/* Parses arg as a positive integer id of what ("job"); -1 to go on with *id set. */
int ctl_id_arg(struct ctl *c, const struct command *cmd, const char *what, const char *arg,
	       int64_t *id);

/* Checks a name argument of what ("queue", "schedule name", ...), at most max
 * characters of A-Z a-z 0-9 _ . : -; -1 to go on. */
int ctl_name_arg(struct ctl *c, const struct command *cmd, const char *what, const char *name,
		 int max);

/* The Idempotency-Key header of --idempotency-key: the line goes into line
 * (JQ_CTL_IDEMPOTENCY_LINE_MAX bytes) and headers (2 entries) lists it, or is NULL
 * when key is. -1 to go on. */
#define JQ_CTL_IDEMPOTENCY_LINE_MAX (JQ_CTL_IDEMPOTENCY_KEY_MAX + 32)
int ctl_idempotency_header(struct ctl *c, const struct command *cmd, const char *key, char *line,
			   const char **headers);

/* Checks a --duration value: an integer 0..JQ_CTL_DURATION_MAX, digits only.
 * -1 with the reason in err otherwise. */
int jq_ctl_parse_duration(const char *s, int64_t *out, char *err, size_t errlen);

/* Adds one "key=value" argument to the JSON object payload. value becomes the
 * JSON it spells if it is valid JSON (3, -1.5, true, null, "x", [1], {"a": 1}),
 * else the string itself; "key=" is the empty string. -1 with the reason in
 * err if there is no '=', the key is empty or already set, or a text is not
 * UTF-8; payload is then unchanged. */
int jq_ctl_payload_add(json_t *payload, const char *arg, char *err, size_t errlen);

/* Checks an --idempotency-key value as the broker does: 1 to
 * JQ_CTL_IDEMPOTENCY_KEY_MAX printable ASCII characters, no spaces (so it can
 * never break the header line). 0 if it is one, -1 with the reason in err. */
int jq_ctl_idempotency_key_check(const char *key, char *err, size_t errlen);

#endif
