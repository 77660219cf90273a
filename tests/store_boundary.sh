#!/usr/bin/env bash
# store_boundary.sh: the store layer is the one place that knows Redis (common/store/store.h):
#   * no command, script call or key name is built outside common/store/ (the connections,
#     common/redis.c, common/redis_cluster.c, common/sentinel.c and libjobq-client's transport in common/client.c,
#     only carry them, and speak to Redis and Sentinel about the connection itself);
#   * no script spells a key name: the names come from the key table (keys.def, lib/keys.lua);
#   * every script starts with #!lua, so Redis checks the keys it touches on a cluster.
# Usage: store_boundary.sh <source root>. Exit 1 with the offending lines.
set -euo pipefail
root=$1
cd "$root"
bad=0
say() { echo "store_boundary: $*" >&2; bad=1; }

# 1. Redis calls and key builders outside the store layer
hits=$(grep -rnE 'redisAsyncCommand|redisAsyncFormattedCommand|redisCommand\(|jq_redis_eval\(|jq_redis_command\(' \
	broker worker cli common --include='*.c' --include='*.h' |
	grep -vE '^common/store/|^common/redis\.[ch]:|^common/redis_cluster\.c:|^common/sentinel\.c:' |
	grep -vE '^common/client\.c:[0-9]+:.*redisCommandArgv' || true)
[ -z "$hits" ] || say "Redis commands sent outside common/store/:"$'\n'"$hits"
hits=$(grep -rnE 'jq_keys_[a-z_]+\(' broker worker cli common --include='*.c' |
	grep -vE '^common/store/' | grep -vE 'jq_keys_init\(' || true)
[ -z "$hits" ] || say "key names built outside common/store/:"$'\n'"$hits"

# 2. key names spelled in the scripts: a table name joined to something (`.. 'dead'`), or
#    quoted anywhere when it cannot be a word of its own (a state or field name)
names=$(sed -nE 's/^JQ_(KEY_FIXED|KEY_NAMED|KEY_ID|SUFFIX)\([a-z_]+, *"([^"]*)"\).*/\2/p' common/store/keys.def)
lua=(common/store/scripts/*.lua common/store/scripts/lib/*.lua)
for n in $names; do
	hits=$(grep -nE -- "\.\. *['\"]$n['\"]" "${lua[@]}" || true)
	if [[ $n == *[:#-]* ]]; then
		hits+=$(grep -nF -- "'$n'" "${lua[@]}" || true)
		hits+=$(grep -nF -- "\"$n\"" "${lua[@]}" || true)
	fi
	[ -z "$hits" ] || say "key name '$n' spelled in a script (use JQ_KEY/JQ_SUFFIX):"$'\n'"$hits"
done

# 3. the shebang
for f in common/store/scripts/*.lua; do
	head -n 1 "$f" | grep -qE '^#!lua( flags=[a-z,-]+)?$' || say "$f does not start with #!lua"
done
[ $bad -eq 0 ] && echo "store_boundary: ok"
exit $bad
