/* client_example.c: enqueue one job with libjobq-client and follow it until it ends.
 *
 *   cc client_example.c $(pkg-config --cflags --libs jobq-client) -o client_example
 *   ./client_example '{"type": "hash", "payload": {"data": "abc", "repeat": 1000}}'
 *
 * Prints the job's id, then each new status ("pending", "progress: 2/5", ...),
 * then the whole job as JSON (the shape of the broker's GET /jobs/{id}). Exits 0
 * when the job completed, 1 when it failed or was cancelled, 2 on bad usage,
 * 3 when Redis could not be reached or the wait timed out. */
#define _POSIX_C_SOURCE 200809L /* nanosleep, also under -std=c11 */

#include <jobq/client.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 100

static const char usage[] =
	"usage: client_example [--redis-url URL] [--prefix PREFIX] [--idempotency-key KEY]\n"
	"                      [--traceparent TRACEPARENT] [--no-wait] [--timeout SECONDS]\n"
	"                      JOB_JSON\n"
	"\n"
	"Enqueues JOB_JSON (the body of the broker's POST /jobs, e.g.\n"
	"'{\"type\": \"noop\"}') straight into Redis with libjobq-client, prints its id,\n"
	"then polls its status until it ends and prints the job as JSON.\n"
	"\n"
	"  --redis-url URL        Redis (default $JOBQ_REDIS_URL, else redis://127.0.0.1:6379/0)\n"
	"  --prefix PREFIX        key prefix (default $JOBQ_PREFIX, else jobq:)\n"
	"  --idempotency-key KEY  store the job once per KEY; a repeat names the first job\n"
	"  --traceparent TP       a W3C trace context stored with the job\n"
	"  --no-wait              print the id and exit 0 without waiting\n"
	"  --timeout SECONDS      give up waiting after this long (default 60)\n"
	"\n"
	"Exit status: 0 completed (or enqueued, with --no-wait), 1 failed or cancelled,\n"
	"2 bad usage or a refused job, 3 Redis unreachable or timed out.\n";

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *url = getenv("JOBQ_REDIS_URL");
	const char *prefix = getenv("JOBQ_PREFIX");
	const char *idem = NULL;
	const char *traceparent = NULL;
	const char *job = NULL;
	int wait = 1;
	long timeout_s = 60;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_value = i + 1 < argc;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			printf("\nlibjobq-client %s\n", jq_client_version());
			return 0;
		} else if (strcmp(a, "--redis-url") == 0 && has_value) {
			url = argv[++i];
		} else if (strcmp(a, "--prefix") == 0 && has_value) {
			prefix = argv[++i];
		} else if (strcmp(a, "--idempotency-key") == 0 && has_value) {
			idem = argv[++i];
		} else if (strcmp(a, "--traceparent") == 0 && has_value) {
			traceparent = argv[++i];
		} else if (strcmp(a, "--timeout") == 0 && has_value) {
			char *end;
			timeout_s = strtol(argv[++i], &end, 10);
			if (*end || timeout_s < 1 || timeout_s > 86400) {
				fprintf(stderr,
					"client_example: --timeout must be 1 to 86400 seconds\n");
				return 2;
			}
		} else if (strcmp(a, "--no-wait") == 0) {
			wait = 0;
		} else if (a[0] == '-' || job) {
			fprintf(stderr, "client_example: unexpected argument '%s'\n%s", a, usage);
			return 2;
		} else {
			job = a;
		}
	}
	if (!job) {
		fputs(usage, stderr);
		return 2;
	}
	/* a write to a connection Redis closed must be an error, not the end of us */
	signal(SIGPIPE, SIG_IGN);

	char err[512];
	struct jq_client *c = jq_client_connect(url, prefix, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "client_example: %s\n", err);
		return 3;
	}
	if (traceparent && jq_client_set_traceparent(c, traceparent) != JQ_CLIENT_OK) {
		fprintf(stderr, "client_example: '%s' is not a W3C traceparent\n", traceparent);
		jq_client_free(c);
		return 2;
	}
	int64_t id = 0;
	int dup = 0;
	int rc = idem ? jq_client_enqueue_json_idem(c, job, idem, &id, &dup, err, sizeof(err))
		      : jq_client_enqueue_json(c, job, &id, err, sizeof(err));
	if (rc != JQ_CLIENT_OK) {
		fprintf(stderr, "client_example: %s\n", err);
		jq_client_free(c);
		return rc == JQ_CLIENT_EINVAL ? 2 : 3;
	}
	printf("id %" PRId64 "%s\n", id, dup ? " (stored earlier under this idempotency key)" : "");
	fflush(stdout);

	int status = 0;
	if (wait) {
		char last[600] = "", now[600], state[16];
		int terminal = 0;
		long waited_ms = 0;
		status = 3;
		while (waited_ms <= timeout_s * 1000) {
			/* the state first: once it is final, the status read after it is final too,
			 * so the last status printed is the job's end */
			rc = jq_client_state(c, id, state, sizeof(state), &terminal, err,
					     sizeof(err));
			if (rc == JQ_CLIENT_OK)
				rc = jq_client_status(c, id, now, sizeof(now), err, sizeof(err));
			if (rc == JQ_CLIENT_OK && strcmp(now, last) != 0) {
				printf("status %s\n", now);
				fflush(stdout);
				snprintf(last, sizeof(last), "%s", now);
			}
			if (rc != JQ_CLIENT_OK) /* Redis away for a moment: keep trying */
				fprintf(stderr, "client_example: %s\n", err);
			if (terminal) {
				status = strcmp(state, "completed") == 0 ? 0 : 1;
				break;
			}
			sleep_ms(POLL_MS);
			waited_ms += POLL_MS;
		}
		if (!terminal)
			fprintf(stderr, "client_example: job %" PRId64 " still '%s' after %ld s\n",
				id, last, timeout_s);
		char *json = NULL;
		if (jq_client_job_json(c, id, &json, err, sizeof(err)) == JQ_CLIENT_OK)
			printf("%s\n", json);
		else
			fprintf(stderr, "client_example: %s\n", err);
		free(json);
	}
	jq_client_free(c);
	return status;
}
