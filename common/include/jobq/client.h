/* jobq/client.h: libjobq-client, the C client of jobq: enqueue jobs and read them
 * straight from Redis, without the broker.
 *
 * A job stored here is the same as one stored by jobq-broker's POST /jobs: the
 * same validation, the same hash fields, the same enqueue script, ids from the
 * same counter. Workers cannot tell them apart. docs/client.md has a tour and
 * examples/client_example.c a whole program; build against it with
 *
 *     cc app.c $(pkg-config --cflags --libs jobq-client)
 *
 * Contract for every function:
 *   - Blocking: each call is one round trip on one synchronous Redis connection
 *     (an enqueue two, three with JQ_CLIENT_OPT_MIN_REPLICAS_ACK; one more to
 *     reconnect first, or to send a script Redis does not have yet), each bounded
 *     by the timeout (JQ_CLIENT_OPT_TIMEOUT_MS, default 5000 ms; the WAIT of
 *     JQ_CLIENT_OPT_MIN_REPLICAS_ACK by it plus JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS).
 *   - Thread safety: a struct jq_client is used by one thread at a time (give
 *     each thread its own). Different clients may be used from different
 *     threads at once.
 *   - Errors: functions return 0 (JQ_CLIENT_OK) or a negative JQ_CLIENT_E*
 *     code, and when err is not NULL write a one-line reason into err[0..errlen)
 *     (NUL-terminated, cut to fit). Nothing is written to stderr.
 *   - Connection loss: a call that meets a dead connection fails with
 *     JQ_CLIENT_EREDIS and drops it; the next call connects again (and fails
 *     again, quickly, while Redis stays down). There is no background thread
 *     and no retry inside a call.
 *   - Signals: like hiredis, the library leaves signal dispositions alone. A
 *     write to a connection the server closed can raise SIGPIPE: programs
 *     should ignore it (signal(SIGPIPE, SIG_IGN)), as the example does.
 *   - Ownership: strings the library returns are malloc'd and released with
 *     free(3); nothing else the caller receives needs freeing.
 *
 * Only this header is public; the library exports jq_client_* and nothing else. */
#ifndef JOBQ_CLIENT_H
#define JOBQ_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; jq_client_version() gives the library's. */
#define JQ_CLIENT_VERSION "0.1.0"

/* Return codes. */
enum {
	JQ_CLIENT_OK = 0,
	/* bad input (JSON, a field, an id, an option): nothing was stored or changed */
	JQ_CLIENT_EINVAL = -1,
	/* Redis could not be reached, failed or answered something unexpected.
	 * For an enqueue: the job was not stored, unless the connection broke
	 * after the request was sent, in which case it may have been. Retry with
	 * the same Idempotency-Key (jq_client_enqueue_json_idem) to be sure of
	 * exactly one job. */
	JQ_CLIENT_EREDIS = -2,
	JQ_CLIENT_ENOTFOUND = -3, /* no job with that id (never stored, or expired) */
	JQ_CLIENT_ECONFLICT = -4, /* cancel of a job that has already finished; a unique_key
				     held by a live job (nothing stored; err names the holder);
				     an idempotency key a bulk or batch request stored */
	JQ_CLIENT_ENOMEM = -5,    /* out of memory */
	/* An enqueue with JQ_CLIENT_OPT_MIN_REPLICAS_ACK: the primary stored the
	 * job(s) (the id is given as on success), but fewer replicas than asked for
	 * confirmed them within JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS (or the
	 * connection broke while waiting). The jobs may still exist, or be lost in a
	 * failover: retry with the same Idempotency-Key to be sure of exactly one
	 * job (the broker's 503 not_replicated). */
	JQ_CLIENT_ENOTREPLICATED = -6,
};

/* The most jobs one jq_client_enqueue_bulk_json() call stores, as POST /jobs/bulk. */
#define JQ_CLIENT_BULK_MAX 10000
/* An Idempotency-Key: 1 to this many printable ASCII characters, no spaces. */
#define JQ_CLIENT_IDEMPOTENCY_KEY_MAX 200

/* Opaque. */
struct jq_client;

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *jq_client_version(void);

/* Connects to the Redis at redis_url (redis://[[user]:password@]host[:port][/db] or
 * unix:///path/to/socket[?db=N]; NULL: redis://127.0.0.1:6379/0) whose jobq
 * keys start with prefix (NULL: "jobq:", what the broker and workers use by
 * default). Authenticates (AUTH user password for an ACL user, AUTH password
 * without one; user and password percent-encoded in the URL) and selects the
 * database.
 * Returns the client, or NULL with the reason in err when the URL or prefix is
 * invalid, Redis cannot be reached, or memory runs out. Free with
 * jq_client_free(). */
struct jq_client *jq_client_connect(const char *redis_url, const char *prefix, char *err,
				    size_t errlen);

/* Closes the connection and frees the client. NULL is a no-op. */
void jq_client_free(struct jq_client *c);

/* Settings; each applies to the calls after it. */
enum jq_client_option {
	/* ms, 1..3600000 (default 5000): connect and each command */
	JQ_CLIENT_OPT_TIMEOUT_MS,
	/* ms, 1000..31536000000 (default 24 h, the broker's): how long an
	 * Idempotency-Key names its first job */
	JQ_CLIENT_OPT_IDEMPOTENCY_WINDOW_MS,
	/* ms, 1000..31536000000 (default 24 h, the broker's): how long a job
	 * cancelled by jq_client_cancel() stays readable */
	JQ_CLIENT_OPT_KEEP_CANCELLED_MS,
	/* replicas, 0..100 (default 0, the broker's --min-replicas-ack): after each
	 * enqueue call, WAIT on the same connection until this many replicas have
	 * every write sent on it; fewer: JQ_CLIENT_ENOTREPLICATED. 0: the
	 * primary's word is enough */
	JQ_CLIENT_OPT_MIN_REPLICAS_ACK,
	/* ms, 1..60000 (default 1000, the broker's --replica-ack-timeout-ms): how
	 * long that WAIT waits for them */
	JQ_CLIENT_OPT_REPLICA_ACK_TIMEOUT_MS,
};

/* JQ_CLIENT_EINVAL for an unknown option or a value out of its range. */
int jq_client_set(struct jq_client *c, enum jq_client_option opt, int64_t value);

/* A W3C trace context (the broker's traceparent header, e.g.
 * "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") stored with every job
 * of the enqueue calls after it, until changed; NULL or "" stores none again (the
 * default). Workers put it on their log lines; GET /jobs/{id} shows it.
 * JQ_CLIENT_EINVAL (and the setting unchanged) when it is not a valid traceparent. */
int jq_client_set_traceparent(struct jq_client *c, const char *traceparent);

/* Stores one job described by job_json, the body of POST /jobs (docs/api.md):
 *   {"type": "hash", "payload": {...}, "queue": "default", "priority": 0,
 *    "max_attempts": 3, "timeout_ms": 0, "delay_ms": 0 | "run_at": ...}
 * Only "type" is required; unknown fields are refused. On success *id (if id
 * is not NULL) gets the new job's id; the job is pending, or scheduled when it
 * has a delay or a future run_at. Invalid JSON or fields: JQ_CLIENT_EINVAL and
 * nothing is stored. */
int jq_client_enqueue_json(struct jq_client *c, const char *job_json, int64_t *id, char *err,
			   size_t errlen);

/* The same with an Idempotency-Key (the broker's header): the first call with
 * key stores the job; any call with the same key within the idempotency
 * window, through this library or the broker, stores nothing and gives the
 * first job's id. *duplicate (if not NULL) is 0 when this call stored the job,
 * 1 when it named an earlier one. The check and the store are one atomic step.
 * A key the broker's POST /jobs/bulk (of more than one job) or POST /batches
 * stored: JQ_CLIENT_ECONFLICT, nothing stored. */
int jq_client_enqueue_json_idem(struct jq_client *c, const char *job_json, const char *key,
				int64_t *id, int *duplicate, char *err, size_t errlen);

/* Stores the jobs of jobs_json, a JSON array of 1 to JQ_CLIENT_BULK_MAX job
 * objects (as POST /jobs/bulk), all or none, in one atomic step. Their ids are
 * consecutive: *first_id (if not NULL) gets the first, in the order given. One
 * invalid job refuses them all (JQ_CLIENT_EINVAL, err names its index). */
int jq_client_enqueue_bulk_json(struct jq_client *c, const char *jobs_json, int64_t *first_id,
				size_t *count, char *err, size_t errlen);

/* The whole job as JSON, the object GET /jobs/{id} answers: id, type, queue,
 * state, status, progress {done, total}, attempts, max_attempts, priority,
 * timeout_ms, payload, result, error, errors, recoveries, run_at, created_at,
 * started_at, finished_at (RFC 3339 UTC or null), worker, batch, callback_of,
 * traceparent. On success *json
 * is a malloc'd NUL-terminated string (free(3) it); otherwise it is NULL.
 * An unknown id: JQ_CLIENT_ENOTFOUND. */
int jq_client_job_json(struct jq_client *c, int64_t id, char **json, char *err, size_t errlen);

/* The seed's status string of GET /task-status/{id}: "pending", "running",
 * "progress: 2/5", "completed", "failed: <reason>", "cancelled", written into
 * buf[0..cap) (NUL-terminated, cut to fit: 600 bytes, as the broker uses, keep
 * all but the longest failure reasons). A scheduled job
 * shows "pending". An unknown id writes "not_found" and returns
 * JQ_CLIENT_ENOTFOUND. */
int jq_client_status(struct jq_client *c, int64_t id, char *buf, size_t cap, char *err,
		     size_t errlen);

/* The job's state ("pending", "scheduled", "running", "completed", "failed",
 * "cancelled") into buf[0..cap) (16 bytes hold any); JQ_CLIENT_ENOTFOUND for an
 * unknown id. *terminal (if not NULL) is 1 for completed, failed and cancelled:
 * the job will not change any more. */
int jq_client_state(struct jq_client *c, int64_t id, char *buf, size_t cap, int *terminal,
		    char *err, size_t errlen);

/* Cancels a job, as DELETE /jobs/{id}: a pending or scheduled job is cancelled
 * at once and never runs (*running = 0); a running job's worker is told to stop
 * it, and it ends cancelled soon after (*running = 1). A finished job:
 * JQ_CLIENT_ECONFLICT; an unknown one: JQ_CLIENT_ENOTFOUND. running may be NULL. */
int jq_client_cancel(struct jq_client *c, int64_t id, int *running, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
