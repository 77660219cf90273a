/* secrets.c: a job's secrets for its handler; see secrets.h. */
#include "secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int jq_secret_get(const char *secrets, size_t len, const char *name, size_t nlen,
		  const char **value, size_t *vlen)
{
	if (!secrets || !len)
		return -1;
	const unsigned char *p = (const unsigned char *)secrets;
	struct jq_mp_raw m;
	jq_mp_raw_head(&p, &m);
	if (m.kind != JQ_MP_MAP)
		return -1;
	for (uint64_t i = 0; i < m.u; i++) {
		struct jq_mp_raw k, v;
		jq_mp_raw_read(&p, &k);
		jq_mp_raw_read(&p, &v);
		if (k.kind == JQ_MP_STR && v.kind == JQ_MP_STR && k.len == nlen &&
		    memcmp(k.str, name, nlen) == 0) {
			*value = v.str;
			*vlen = v.len;
			return 0;
		}
	}
	return -1;
}

char *jq_secrets_expand(const char *secrets, size_t len, const char *text, int header, char *err,
			size_t errlen)
{
	const size_t rl = strlen(JQ_SECRET_REF);
	size_t cap = strlen(text) + 1, n = 0;
	char *out = malloc(cap);
	if (!out)
		goto oom;
	for (const char *p = text; *p;) {
		const char *ref = strstr(p, JQ_SECRET_REF);
		size_t lit = ref ? (size_t)(ref - p) : strlen(p);
		const char *val = p;
		size_t vlen = lit;
		const char *next = p + lit;
		if (lit == 0 && ref) {
			const char *name = ref + rl, *close = strchr(name, '}');
			if (!close) {
				snprintf(err, errlen, "'%s' without its closing '}'",
					 JQ_SECRET_REF);
				free(out);
				return NULL;
			}
			if (jq_secret_get(secrets, len, name, (size_t)(close - name), &val,
					  &vlen) != 0) {
				snprintf(err, errlen, "the job has no secret '%.*s'",
					 (int)((close - name) > 64 ? 64 : close - name), name);
				free(out);
				return NULL;
			}
			if (header && (memchr(val, '\r', vlen) || memchr(val, '\n', vlen) ||
				       memchr(val, 0, vlen))) {
				snprintf(err, errlen,
					 "secret '%.*s' holds a line break: not usable in a "
					 "header",
					 (int)(close - name), name);
				free(out);
				return NULL;
			}
			next = close + 1;
		}
		if (n + vlen + 1 > cap) {
			while (n + vlen + 1 > cap)
				cap *= 2;
			char *o = realloc(out, cap);
			if (!o)
				goto oom;
			out = o;
		}
		memcpy(out + n, val, vlen);
		n += vlen;
		p = next;
	}
	out[n] = '\0';
	return out;
oom:
	free(out);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

int jq_secrets_env(const char *secrets, size_t len, const struct msgpack_object *payload,
		   char **env, size_t max, char *err, size_t errlen)
{
	env[0] = NULL;
	const msgpack_object *names = jq_mp_get(payload, "secret_env");
	if (!names || names->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (names->type != MSGPACK_OBJECT_ARRAY || names->via.array.size > max) {
		snprintf(err, errlen, "'secret_env' must be an array of at most %zu secret names",
			 max);
		return -1;
	}
	size_t n = 0;
	for (; n < names->via.array.size; n++) {
		const msgpack_object *o = &names->via.array.ptr[n];
		const char *v;
		size_t vlen;
		if (o->type != MSGPACK_OBJECT_STR ||
		    jq_secret_get(secrets, len, o->via.str.ptr, o->via.str.size, &v, &vlen) != 0) {
			snprintf(err, errlen,
				 "'secret_env': %s%.*s%s is not one of the job's secrets",
				 o->type == MSGPACK_OBJECT_STR ? "'" : "",
				 o->type == MSGPACK_OBJECT_STR
					 ? (int)(o->via.str.size > 64 ? 64 : o->via.str.size)
					 : 0,
				 o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : "",
				 o->type == MSGPACK_OBJECT_STR ? "'" : "a non-string");
			goto fail;
		}
		/* Always under the prefix: a job chooses no variable of its own, since many are
		 * code to some program (BASH_ENV, PERL5OPT, NODE_OPTIONS, PYTHONSTARTUP, LD_*,
		 * ...), and no list of them is ever complete. Names are [A-Za-z0-9_] (job.c). */
		const char *name = o->via.str.ptr;
		size_t nl = o->via.str.size, pl = strlen(JQ_SECRET_ENV_PREFIX);
		if (!(env[n] = malloc(pl + nl + 1 + vlen + 1))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		memcpy(env[n], JQ_SECRET_ENV_PREFIX, pl);
		memcpy(env[n] + pl, name, nl);
		env[n][pl + nl] = '=';
		memcpy(env[n] + pl + nl + 1, v, vlen);
		env[n][pl + nl + 1 + vlen] = '\0';
		env[n + 1] = NULL;
	}
	return (int)n;
fail:
	env[n] = NULL;
	jq_secrets_env_free(env);
	return -1;
}

void jq_secrets_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++) {
		free(env[i]);
		env[i] = NULL;
	}
}
