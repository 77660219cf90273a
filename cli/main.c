/* main.c: the jobctl program; all of it lives in jobctl_core (jobctl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobctl.h"

/* An API token given as --token VALUE or --token=VALUE is readable by every local user in
 * /proc/<pid>/cmdline while jobctl runs (a `watch` runs long): jobctl works on a copy and
 * blanks the original at once. JOBQ_TOKEN or --token-file keep it out of sight from the
 * start (the environment is readable by the same user only). */
static void hide_tokens(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		char *v = NULL;
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--token=", 8) == 0)
			v = argv[i] + 8;
		if (!v || !*v)
			continue;
		char *copy = strdup(v);
		if (!copy)
			continue; /* left as it is: jobctl still works */
		size_t off = (size_t)(v - argv[i]);
		memset(v, 'x', strlen(v));
		/* the copy takes the original's place in argv for the parser */
		if (off == 0) {
			argv[i] = copy;
		} else {
			char *whole = malloc(off + strlen(copy) + 1);
			if (!whole) {
				free(copy);
				continue;
			}
			memcpy(whole, argv[i], off);
			strcpy(whole + off, copy);
			free(copy);
			argv[i] = whole;
		}
	}
}

int main(int argc, char **argv)
{
	hide_tokens(argc, argv);
	return jq_ctl_run(argc, argv, stdout, stderr);
}
