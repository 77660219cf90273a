/* job_json.h: a stored job as the JSON object of GET /jobs/{id} (docs/api.md).
 *
 * One place builds that shape, so the broker and libjobq-client show a job the
 * same way: the defaults that are not stored (docs/redis.md) filled in, the
 * msgpack payload as JSON, the seed's status string, times as RFC 3339 UTC. */
#ifndef JQ_JOB_JSON_H
#define JQ_JOB_JSON_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdint.h>

/* The job whose hash HGETALL answered with r (an array of name, value strings,
 * not empty), as a new JSON reference the caller owns (json_decref). NULL only
 * when out of memory. */
json_t *jq_job_json(int64_t id, const redisReply *r);

#endif
