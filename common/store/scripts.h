/* scripts.h: the Lua scripts (common/scripts/NAME.lua, embedded at build time).
 * Each is loaded once per connection with SCRIPT LOAD and called by EVALSHA;
 * docs/redis.md describes the atomic step of each. */
#ifndef JQ_SCRIPTS_H
#define JQ_SCRIPTS_H

enum jq_script_id {
	JQ_SCRIPT_ENQUEUE,
	JQ_SCRIPT_FETCH,
	JQ_SCRIPT_FINISH,
	JQ_SCRIPT_PROGRESS,
	JQ_SCRIPT_REQUEUE,
	JQ_SCRIPT_PROMOTE,
	JQ_SCRIPT_HEARTBEAT,
	JQ_SCRIPT_REAP,
	JQ_SCRIPT_DEAD,
	JQ_SCRIPT_CANCEL,
	JQ_SCRIPT_QUEUES,
	JQ_SCRIPT_WORKERS,
	JQ_SCRIPT_BATCH_STATUS,
	JQ_SCRIPT_JOBS,
	JQ_SCRIPT_STATS,
	JQ_SCRIPT_METRICS,
	JQ_SCRIPT_SCHEDULES,
	JQ_SCRIPT_CRON_DUE,
	JQ_SCRIPT_CRON_CLAIM,
	JQ_SCRIPT_COUNT
};

struct jq_script {
	const char *name;
	const char *body; /* NUL-terminated Lua source */
	char sha[41];     /* hex SHA1 of body, what EVALSHA names */
};

/* Computes the SHA1s; idempotent, call once before the first connection. */
void jq_scripts_init(void);
const struct jq_script *jq_script_get(enum jq_script_id id);

#endif
