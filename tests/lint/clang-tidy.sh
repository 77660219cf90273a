#!/usr/bin/env bash
# tests/lint/clang-tidy.sh BUILD_DIR: a small clang-tidy set over the C sources, from the
# build's compile_commands.json (configure with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON); exits
# 1 on any finding. A finding that is wrong is suppressed where it is, with
# // NOLINT(check) and the reason.
#   bugprone-sizeof-expression is not in the set: clang-tidy 14 flags every sizeof of a
#     pointer to a struct, which is how arrays of pointers are sized (n * sizeof(*list)),
#     and has no option to stop that one case.
#   bugprone-not-null-terminated-result is not in the set: the HTTP server and the
#     replies build byte buffers with their lengths, never C strings.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/lint/clang-tidy.sh BUILD_DIR}
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json" >&2; exit 2; }
checks='-*,bugprone-suspicious-string-compare,bugprone-misplaced-widening-cast,bugprone-signed-char-misuse,bugprone-too-small-loop-variable,bugprone-infinite-loop,bugprone-integer-division,bugprone-suspicious-memset-usage,bugprone-macro-parentheses,bugprone-suspicious-semicolon,bugprone-bool-pointer-implicit-conversion,cert-err34-c,misc-redundant-expression,readability-misleading-indentation'
out=$(git ls-files 'broker/*.c' 'common/*.c' 'common/store/*.c' 'worker/*.c' 'cli/*.c' |
	xargs -n 8 -P 2 clang-tidy -p "$build" --quiet -checks="$checks" 2>/dev/null |
	grep -E '(warning|error):' | sort -u || true)
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
