#!/usr/bin/env bash
# tests/lint/format.sh: every C source and header is as clang-format (.clang-format at the
# top) writes it; prints those that are not and exits 1.
# Fix with: git ls-files '*.c' '*.h' | xargs clang-format -i
set -euo pipefail
cd "$(dirname "$0")/../.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	files=$(git ls-files '*.c' '*.h')
else # an unpacked tarball: the tree's own files, not build directories'
	files=$(find broker common cli worker tests bench -name '*.[ch]' -not -path '*/build*')
fi
bad=0
for f in $files; do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (clang-format -i $f)"
		bad=1
	fi
done
exit $bad
