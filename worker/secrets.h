/* secrets.h: a job's secrets (docs/api.md "Secrets") as its handler uses them.
 *
 * A job may carry `secrets`, an object of name -> string stored apart from its payload
 * and never shown by any read (common/redact.h). The worker receives them with the job
 * (struct jq_run: a msgpack map, checked when the job was enqueued) and:
 * - http jobs: "${secret:NAME}" in a header value is replaced by that secret when the
 *   request is made (e.g. "Authorization": "Bearer ${secret:API_TOKEN}"); a NAME the job
 *   does not carry, or a value with CR, LF or NUL, fails the job (no retry);
 * - exec jobs: the names listed in the payload's "secret_env" become environment
 *   variables of the program, JOBQ_SECRET_<NAME>=value: under a prefix, so that a job
 *   (an enqueue token is enough) cannot set a variable a shell or interpreter runs
 *   (BASH_ENV, PERL5OPT, NODE_OPTIONS, ...).
 * Pure: no IO. */
#ifndef JQ_SECRETS_H
#define JQ_SECRETS_H

#include <stddef.h>

#define JQ_SECRET_REF "${secret:"
#define JQ_SECRET_ENV_PREFIX "JOBQ_SECRET_"

/* The secret name[0..nlen) of the map secrets[0..len): 0 with its value (not
 * NUL-terminated, pointing into secrets), -1 when absent (or secrets is NULL). */
int jq_secret_get(const char *secrets, size_t len, const char *name, size_t nlen,
		  const char **value, size_t *vlen);

/* text with every "${secret:NAME}" replaced by that secret, as a new string (malloc), or
 * NULL with err (a NAME the job does not carry, an unclosed reference, out of memory).
 * header: the result is a header line, so a value with CR, LF or NUL is refused too. */
char *jq_secrets_expand(const char *secrets, size_t len, const char *text, int header, char *err,
			size_t errlen);

/* exec jobs: the payload's "secret_env" (absent or null: none), an array of at most max
 * secret names, as "JOBQ_SECRET_<NAME>=value" strings (malloc) in env[0..), NULL after
 * the last. The count, or -1 with err (not an array of names of the job's secrets). Free
 * with jq_secrets_env_free. */
struct msgpack_object;
int jq_secrets_env(const char *secrets, size_t len, const struct msgpack_object *payload,
		   char **env, size_t max, char *err, size_t errlen);
/* Frees the strings of env up to its NULL (env NULL: nothing). */
void jq_secrets_env_free(char **env);

#endif
