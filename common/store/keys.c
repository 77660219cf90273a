/* keys.c: Redis key names, built from the key table (keys.def); see keys.h. */
#include "keys.h"

#include <string.h>

#include "util.h"

int jq_keys_init(struct jq_keys *k, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > JQ_PREFIX_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)prefix[i] <= ' ' || prefix[i] == 0x7f)
			return -1;
	memcpy(k->prefix, prefix, n + 1);
	return 0;
}

/* prefix + what + tail, cut to JQ_KEY_MAX - 1 bytes; memcpy, not printf: this runs
 * several times per job on the hot paths */
static size_t fmt(char *buf, const char *prefix, const char *what, const char *tail)
{
	size_t n = 0;
	const char *parts[3] = {prefix, what, tail};
	for (int i = 0; i < 3; i++) {
		size_t l = strlen(parts[i]);
		if (l > JQ_KEY_MAX - 1 - n)
			l = JQ_KEY_MAX - 1 - n;
		memcpy(buf + n, parts[i], l);
		n += l;
	}
	buf[n] = '\0';
	return n;
}

int jq_keys_id_bucket(int64_t id)
{
	return (int)(((id % JQ_BUCKETS) + JQ_BUCKETS) % JQ_BUCKETS);
}

/* <prefix>{<bucket of id>}:<what><id>: the hash tag makes the key's slot the id's bucket's
 * (docs/cluster.md); lib/keys.lua's jq_id_key() is the same rule on the scripts' side */
static size_t fmt_id(char *buf, const char *prefix, const char *what, int64_t id)
{
	char tag[64];
	size_t n = jq_fmt_i64(tag + 1, jq_keys_id_bucket(id)) + 1;
	tag[0] = '{';
	tag[n++] = '}';
	tag[n++] = ':';
	size_t w = strlen(what); /* a name of the table: a few characters */
	memcpy(tag + n, what, w);
	tag[n + w] = '\0';
	char digits[24];
	jq_fmt_i64(digits, id);
	return fmt(buf, prefix, tag, digits);
}

#define JQ_KEY_FIXED(name, text)                                                                   \
	size_t jq_keys_##name(const struct jq_keys *k, char *buf)                                  \
	{                                                                                          \
		return fmt(buf, k->prefix, text, "");                                              \
	}
#define JQ_KEY_NAMED(name, text)                                                                   \
	size_t jq_keys_##name(const struct jq_keys *k, const char *arg, char *buf)                 \
	{                                                                                          \
		return fmt(buf, k->prefix, text, arg);                                             \
	}
#define JQ_KEY_ID(name, text)                                                                      \
	size_t jq_keys_##name(const struct jq_keys *k, int64_t id, char *buf)                      \
	{                                                                                          \
		return fmt_id(buf, k->prefix, text, id);                                           \
	}
#define JQ_SUFFIX(name, text) const char jq_keys_suffix_##name[] = text;
#include "keys.def"
#undef JQ_KEY_FIXED
#undef JQ_KEY_NAMED
#undef JQ_KEY_ID
#undef JQ_SUFFIX

size_t jq_keys_batch_callback(const struct jq_keys *k, int64_t id, char *buf)
{
	size_t n = jq_keys_batch(k, id, buf);
	return fmt(buf + n, "", jq_keys_suffix_callback, "") + n;
}

size_t jq_keys_job_prefix(const struct jq_keys *k, char *buf)
{
	return fmt(buf, k->prefix, "", "");
}

size_t jq_keys_add_events(char *buf, size_t name_len)
{
	size_t l = strlen(jq_keys_suffix_events);
	if (l > JQ_KEY_MAX - 1 - name_len)
		l = JQ_KEY_MAX - 1 - name_len;
	memcpy(buf + name_len, jq_keys_suffix_events, l);
	buf[name_len + l] = '\0';
	return name_len + l;
}

int jq_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > JQ_QUEUE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}
