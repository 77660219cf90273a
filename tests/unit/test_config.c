/* test_config.c: unit tests of common/config.c (option table) and the log.h parsers. */
#include <stdint.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "unit.h"

/* The variables the table below writes into; reset() puts the defaults back. */
static const char *o_name;
static int64_t o_port;
static int o_verbose;
static const char *o_tag;

#define ENV_NAME "JQ_UNIT_TEST_NAME"
#define ENV_PORT "JQ_UNIT_TEST_PORT"
#define ENV_VERBOSE "JQ_UNIT_TEST_VERBOSE"

static const struct jq_opt opts[] = {
	{"name", ENV_NAME, JQ_OPT_STR, &o_name, 0, 8, "a name of at most 8 characters"},
	{"port", ENV_PORT, JQ_OPT_INT, &o_port, 1, 65535, "a port"},
	{"verbose", ENV_VERBOSE, JQ_OPT_BOOL, &o_verbose, 0, 0, "say more"},
	{"tag", NULL, JQ_OPT_STR, &o_tag, 0, 0, "any length, no env var"},
	{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
};

static void reset(void)
{
	o_name = "dflt";
	o_port = 8000;
	o_verbose = 0;
	o_tag = NULL;
	unsetenv(ENV_NAME);
	unsetenv(ENV_PORT);
	unsetenv(ENV_VERBOSE);
}

#define MAX_ARGS 8

struct parse_case {
	const char *what;
	const char *env_name, *env_port, *env_verbose; /* NULL: unset */
	const char *args[MAX_ARGS];                    /* after argv[0], NULL-ended */
	int rc;
	/* when rc is JQ_OPTS_OK: */
	const char *name;
	int64_t port;
	int verbose;
	const char *tag;
	int first_arg;
	/* when rc is JQ_OPTS_ERROR: a part of the message */
	const char *msg;
};

static const struct parse_case cases[] = {
	{"defaults kept", NULL, NULL, NULL, {NULL}, JQ_OPTS_OK, "dflt", 8000, 0, NULL, 1, NULL},
	{"env applied",
	 "envnm",
	 "6000",
	 "yes",
	 {NULL},
	 JQ_OPTS_OK,
	 "envnm",
	 6000,
	 1,
	 NULL,
	 1,
	 NULL},
	{"env bool false", NULL, NULL, "false", {NULL}, JQ_OPTS_OK, "dflt", 8000, 0, NULL, 1, NULL},
	{"env bool 1", NULL, NULL, "1", {NULL}, JQ_OPTS_OK, "dflt", 8000, 1, NULL, 1, NULL},
	{"empty env ignored", "", "", "", {NULL}, JQ_OPTS_OK, "dflt", 8000, 0, NULL, 1, NULL},
	{"flag overrides env",
	 "envnm",
	 "6000",
	 "true",
	 {"--name=flagnm", "--port", "7000", "--verbose=no", NULL},
	 JQ_OPTS_OK,
	 "flagnm",
	 7000,
	 0,
	 NULL,
	 5,
	 NULL},
	{"--name=value",
	 NULL,
	 NULL,
	 NULL,
	 {"--name=abc", NULL},
	 JQ_OPTS_OK,
	 "abc",
	 8000,
	 0,
	 NULL,
	 2,
	 NULL},
	{"--name value",
	 NULL,
	 NULL,
	 NULL,
	 {"--name", "abc", NULL},
	 JQ_OPTS_OK,
	 "abc",
	 8000,
	 0,
	 NULL,
	 3,
	 NULL},
	{"--name= empty",
	 NULL,
	 NULL,
	 NULL,
	 {"--name=", NULL},
	 JQ_OPTS_OK,
	 "",
	 8000,
	 0,
	 NULL,
	 2,
	 NULL},
	{"value with =",
	 NULL,
	 NULL,
	 NULL,
	 {"--tag=a=b", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 0,
	 "a=b",
	 2,
	 NULL},
	{"--port=value",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=65535", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 65535,
	 0,
	 NULL,
	 2,
	 NULL},
	{"bool flag without value",
	 NULL,
	 NULL,
	 NULL,
	 {"--verbose", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 1,
	 NULL,
	 2,
	 NULL},
	{"bool flag then positional",
	 NULL,
	 NULL,
	 NULL,
	 {"--verbose", "cmd", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 1,
	 NULL,
	 2,
	 NULL},
	{"bool flag =0",
	 NULL,
	 NULL,
	 "1",
	 {"--verbose=0", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 0,
	 NULL,
	 2,
	 NULL},
	{"STR without max",
	 NULL,
	 NULL,
	 NULL,
	 {"--tag", "a-tag-much-longer-than-eight-characters", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 0,
	 "a-tag-much-longer-than-eight-characters",
	 3,
	 NULL},
	{"STR of exactly max",
	 NULL,
	 NULL,
	 NULL,
	 {"--name=12345678", NULL},
	 JQ_OPTS_OK,
	 "12345678",
	 8000,
	 0,
	 NULL,
	 2,
	 NULL},
	{"last flag wins",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=1", "--port=2", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 2,
	 0,
	 NULL,
	 3,
	 NULL},
	{"first positional",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=9", "submit", "--name=x", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 9,
	 0,
	 NULL,
	 2,
	 NULL},
	{"positional first",
	 NULL,
	 NULL,
	 NULL,
	 {"submit", "--port=9", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 0,
	 NULL,
	 1,
	 NULL},
	{"lone dash is positional",
	 NULL,
	 NULL,
	 NULL,
	 {"-", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 8000,
	 0,
	 NULL,
	 1,
	 NULL},
	{"after --",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=9", "--", "--name=x", NULL},
	 JQ_OPTS_OK,
	 "dflt",
	 9,
	 0,
	 NULL,
	 3,
	 NULL},
	{"-- last", NULL, NULL, NULL, {"--", NULL}, JQ_OPTS_OK, "dflt", 8000, 0, NULL, 2, NULL},
	{"--help",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=9", "--help", NULL},
	 JQ_OPTS_HELP,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 NULL},
	{"-h", NULL, NULL, NULL, {"-h", NULL}, JQ_OPTS_HELP, NULL, 0, 0, NULL, 0, NULL},
	{"--version",
	 NULL,
	 NULL,
	 NULL,
	 {"--version", "x", NULL},
	 JQ_OPTS_VERSION,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 NULL},
	{"unknown long option",
	 NULL,
	 NULL,
	 NULL,
	 {"--nope=1", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "unknown option '--nope'"},
	{"prefix of an option",
	 NULL,
	 NULL,
	 NULL,
	 {"--na=x", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "unknown option '--na'"},
	{"unknown short option",
	 NULL,
	 NULL,
	 NULL,
	 {"-x", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "unknown option '-x'"},
	{"missing value",
	 NULL,
	 NULL,
	 NULL,
	 {"--port", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "option '--port' needs a value"},
	{"missing STR value",
	 NULL,
	 NULL,
	 NULL,
	 {"--verbose", "--name", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "option '--name' needs a value"},
	{"int out of range",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=70000", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "--port must be an integer from 1 to 65535, not '70000'"},
	{"int zero below min",
	 NULL,
	 NULL,
	 NULL,
	 {"--port", "0", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "--port must be an integer from 1 to 65535"},
	{"int not numeric",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=abc", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "--port must be an integer from 1 to 65535, not 'abc'"},
	{"int empty",
	 NULL,
	 NULL,
	 NULL,
	 {"--port=", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "--port must be an integer"},
	{"env int not numeric",
	 NULL,
	 "80x",
	 NULL,
	 {NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 ENV_PORT " must be an integer from 1 to 65535, not '80x'"},
	{"env int bad but flag given",
	 NULL,
	 "80x",
	 NULL,
	 {"--port=1", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 ENV_PORT},
	{"STR longer than max",
	 NULL,
	 NULL,
	 NULL,
	 {"--name=123456789", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "--name is longer than 8 characters"},
	{"env STR longer than max",
	 "123456789",
	 NULL,
	 NULL,
	 {NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 ENV_NAME " is longer than 8 characters"},
	{"bad bool flag value",
	 NULL,
	 NULL,
	 NULL,
	 {"--verbose=maybe", NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 "--verbose must be true or false, not 'maybe'"},
	{"bad bool env",
	 NULL,
	 NULL,
	 "on",
	 {NULL},
	 JQ_OPTS_ERROR,
	 NULL,
	 0,
	 0,
	 NULL,
	 0,
	 ENV_VERBOSE " must be true or false, not 'on'"},
};

static void set_env(const char *var, const char *v)
{
	if (v)
		setenv(var, v, 1);
	else
		unsetenv(var);
}

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		UNIT_CASE("%s", c->what);
		reset();
		set_env(ENV_NAME, c->env_name);
		set_env(ENV_PORT, c->env_port);
		set_env(ENV_VERBOSE, c->env_verbose);
		char *argv[MAX_ARGS + 2] = {"prog"};
		int argc = 1;
		for (; c->args[argc - 1]; argc++)
			argv[argc] = (char *)c->args[argc - 1];
		int first = -1;
		char err[256] = "";
		int rc = jq_opts_parse(opts, argc, argv, &first, err, sizeof(err));
		CHECK_INT_EQ(rc, c->rc);
		if (c->rc == JQ_OPTS_OK) {
			CHECK_STR_EQ(o_name, c->name);
			CHECK_INT_EQ(o_port, c->port);
			CHECK_INT_EQ(o_verbose, c->verbose);
			CHECK_STR_EQ(o_tag, c->tag);
			CHECK_INT_EQ(first, c->first_arg);
		} else if (c->rc == JQ_OPTS_ERROR) {
			CHECK_CONTAINS(err, c->msg);
		}
	}
	reset();
}

static void test_usage(void)
{
	reset();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CHECK(f != NULL);
	if (!f)
		return;
	jq_opts_usage(f, "usage: prog [options]", opts);
	fclose(f);
	CHECK_CONTAINS(buf, "usage: prog [options]\n");
	CHECK_CONTAINS(buf, "--name V");
	CHECK_CONTAINS(buf, "[env " ENV_PORT "]");
	CHECK_CONTAINS(buf, "(default: 8000)");
	CHECK_CONTAINS(buf, "(default: dflt)");
	CHECK_CONTAINS(buf, "--verbose ");
	CHECK_CONTAINS(buf, "--help");
	CHECK_CONTAINS(buf, "--version");
	free(buf);
}

static void test_log_parse(void)
{
	static const struct {
		const char *s;
		int ok;
		enum jq_log_format want;
	} formats[] = {
		{"text", 1, JQ_LOG_TEXT}, {"json", 1, JQ_LOG_JSON}, {"JSON", 0, 0}, {"", 0, 0},
		{"jsonl", 0, 0},          {" text", 0, 0},
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		UNIT_CASE("jq_log_parse_format(\"%s\")", formats[i].s);
		enum jq_log_format f = (enum jq_log_format)99;
		CHECK_INT_EQ(jq_log_parse_format(formats[i].s, &f), formats[i].ok ? 0 : -1);
		CHECK_INT_EQ(f, formats[i].ok ? formats[i].want : (enum jq_log_format)99);
	}
	static const struct {
		const char *s;
		int ok;
		enum jq_log_level want;
	} levels[] = {
		{"debug", 1, JQ_LOG_DEBUG},
		{"info", 1, JQ_LOG_INFO},
		{"warn", 1, JQ_LOG_WARN},
		{"error", 1, JQ_LOG_ERROR},
		{"warning", 0, 0},
		{"INFO", 0, 0},
		{"", 0, 0},
		{"trace", 0, 0},
		{"info ", 0, 0},
	};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		UNIT_CASE("jq_log_parse_level(\"%s\")", levels[i].s);
		enum jq_log_level l = (enum jq_log_level)99;
		CHECK_INT_EQ(jq_log_parse_level(levels[i].s, &l), levels[i].ok ? 0 : -1);
		CHECK_INT_EQ(l, levels[i].ok ? levels[i].want : (enum jq_log_level)99);
	}
}

/* A repeatable option: flags add values, the env var is the first one until a flag comes. */
static void test_list(void)
{
	static struct jq_opt_list list;
	static const struct jq_opt lopts[] = {
		{"item", "JQ_UNIT_TEST_ITEM", JQ_OPT_LIST, &list, 0, 5, "repeatable"},
		{NULL, NULL, JQ_OPT_STR, NULL, 0, 0, NULL},
	};
	static const struct {
		const char *what;
		const char *env;
		const char *args[MAX_ARGS];
		int rc;
		int n;
		const char *v[3];
		const char *msg;
	} lcases[] = {
		{"none", NULL, {NULL}, JQ_OPTS_OK, 0, {NULL}, NULL},
		{"env only", "e1", {NULL}, JQ_OPTS_OK, 1, {"e1"}, NULL},
		{"flags add up",
		 NULL,
		 {"--item", "a", "--item=b", "--item", "c", NULL},
		 JQ_OPTS_OK,
		 3,
		 {"a", "b", "c"},
		 NULL},
		{"flags replace env",
		 "e1",
		 {"--item=a", "--item=b", NULL},
		 JQ_OPTS_OK,
		 2,
		 {"a", "b"},
		 NULL},
		{"value too long",
		 NULL,
		 {"--item=abcdef", NULL},
		 JQ_OPTS_ERROR,
		 0,
		 {NULL},
		 "--item is longer than 5"},
		{"value missing",
		 NULL,
		 {"--item", NULL},
		 JQ_OPTS_ERROR,
		 0,
		 {NULL},
		 "needs a value"},
	};
	for (size_t i = 0; i < sizeof(lcases) / sizeof(lcases[0]); i++) {
		UNIT_CASE("list %s", lcases[i].what);
		memset(&list, 0, sizeof(list));
		if (lcases[i].env)
			setenv("JQ_UNIT_TEST_ITEM", lcases[i].env, 1);
		else
			unsetenv("JQ_UNIT_TEST_ITEM");
		char *argv[MAX_ARGS + 2] = {"prog"};
		int argc = 1;
		for (; lcases[i].args[argc - 1]; argc++)
			argv[argc] = (char *)lcases[i].args[argc - 1];
		int first = -1;
		char err[256] = "";
		int rc = jq_opts_parse(lopts, argc, argv, &first, err, sizeof(err));
		CHECK_INT_EQ(rc, lcases[i].rc);
		if (rc == JQ_OPTS_OK) {
			CHECK_INT_EQ(list.n, lcases[i].n);
			for (int k = 0; k < lcases[i].n && k < 3; k++)
				CHECK_STR_EQ(list.v[k], lcases[i].v[k]);
		} else {
			CHECK_CONTAINS(err, lcases[i].msg);
		}
	}
	unsetenv("JQ_UNIT_TEST_ITEM");
	/* more than JQ_OPT_LIST_MAX values are refused */
	UNIT_CASE("list full");
	memset(&list, 0, sizeof(list));
	char *argv[JQ_OPT_LIST_MAX + 3] = {"prog"};
	for (int k = 1; k <= JQ_OPT_LIST_MAX + 1; k++)
		argv[k] = "--item=x";
	int first;
	char err[256] = "";
	CHECK_INT_EQ(jq_opts_parse(lopts, JQ_OPT_LIST_MAX + 2, argv, &first, err, sizeof(err)),
		     JQ_OPTS_ERROR);
	CHECK_CONTAINS(err, "more than");
}

UNIT_MAIN({"parse", test_parse}, {"usage", test_usage}, {"list", test_list},
	  {"log_parse", test_log_parse})
