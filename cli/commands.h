/* commands.h: the commands of jobctl whose shape is their own (a request body, a
 * header, a wait or a stream after the request); the others are rows (rows.h). Each
 * runs cmd with argv[0] its name, as struct command's run, and returns the exit
 * status; the --help of each is in the command table (jobctl.c). */
#ifndef JQ_CLI_COMMANDS_H
#define JQ_CLI_COMMANDS_H

#include "args.h"
#include "ctl.h"

int ctl_cmd_start_task(struct ctl *c, const struct command *cmd, int argc, char **argv);
int ctl_cmd_watch(struct ctl *c, const struct command *cmd, int argc, char **argv);
int ctl_cmd_enqueue(struct ctl *c, const struct command *cmd, int argc, char **argv);
int ctl_cmd_notify(struct ctl *c, const struct command *cmd, int argc, char **argv);
int ctl_cmd_schedule_add(struct ctl *c, const struct command *cmd, int argc, char **argv);
int ctl_cmd_schedule_rm(struct ctl *c, const struct command *cmd, int argc, char **argv);
int ctl_cmd_token_create(struct ctl *c, const struct command *cmd, int argc, char **argv);

#endif
