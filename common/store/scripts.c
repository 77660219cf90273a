/* scripts.c: the embedded Lua scripts and their SHA1s; see scripts.h. */
#include "scripts.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

extern const char jq_lua_enqueue[];
extern const char jq_lua_fetch[];
extern const char jq_lua_finish[];
extern const char jq_lua_progress[];
extern const char jq_lua_requeue[];
extern const char jq_lua_promote[];
extern const char jq_lua_heartbeat[];
extern const char jq_lua_reap[];
extern const char jq_lua_dead[];
extern const char jq_lua_cancel[];
extern const char jq_lua_queues[];
extern const char jq_lua_workers[];
extern const char jq_lua_batch_status[];
extern const char jq_lua_jobs[];
extern const char jq_lua_stats[];
extern const char jq_lua_metrics[];
extern const char jq_lua_schedules[];
extern const char jq_lua_cron_due[];
extern const char jq_lua_cron_claim[];

static struct jq_script scripts[JQ_SCRIPT_COUNT] = {
	[JQ_SCRIPT_ENQUEUE] = {"enqueue", jq_lua_enqueue, ""},
	[JQ_SCRIPT_FETCH] = {"fetch", jq_lua_fetch, ""},
	[JQ_SCRIPT_FINISH] = {"finish", jq_lua_finish, ""},
	[JQ_SCRIPT_PROGRESS] = {"progress", jq_lua_progress, ""},
	[JQ_SCRIPT_REQUEUE] = {"requeue", jq_lua_requeue, ""},
	[JQ_SCRIPT_PROMOTE] = {"promote", jq_lua_promote, ""},
	[JQ_SCRIPT_HEARTBEAT] = {"heartbeat", jq_lua_heartbeat, ""},
	[JQ_SCRIPT_REAP] = {"reap", jq_lua_reap, ""},
	[JQ_SCRIPT_DEAD] = {"dead", jq_lua_dead, ""},
	[JQ_SCRIPT_CANCEL] = {"cancel", jq_lua_cancel, ""},
	[JQ_SCRIPT_QUEUES] = {"queues", jq_lua_queues, ""},
	[JQ_SCRIPT_WORKERS] = {"workers", jq_lua_workers, ""},
	[JQ_SCRIPT_BATCH_STATUS] = {"batch_status", jq_lua_batch_status, ""},
	[JQ_SCRIPT_JOBS] = {"jobs", jq_lua_jobs, ""},
	[JQ_SCRIPT_STATS] = {"stats", jq_lua_stats, ""},
	[JQ_SCRIPT_METRICS] = {"metrics", jq_lua_metrics, ""},
	[JQ_SCRIPT_SCHEDULES] = {"schedules", jq_lua_schedules, ""},
	[JQ_SCRIPT_CRON_DUE] = {"cron_due", jq_lua_cron_due, ""},
	[JQ_SCRIPT_CRON_CLAIM] = {"cron_claim", jq_lua_cron_claim, ""},
};

void jq_scripts_init(void)
{
	for (int i = 0; i < JQ_SCRIPT_COUNT; i++) {
		unsigned char md[SHA_DIGEST_LENGTH];
		SHA1((const unsigned char *)scripts[i].body, strlen(scripts[i].body), md);
		for (int k = 0; k < SHA_DIGEST_LENGTH; k++)
			snprintf(scripts[i].sha + 2 * k, 3, "%02x", md[k]);
	}
}

const struct jq_script *jq_script_get(enum jq_script_id id)
{
	return &scripts[id];
}
