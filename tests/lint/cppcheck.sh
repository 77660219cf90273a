#!/usr/bin/env bash
# tests/lint/cppcheck.sh: cppcheck over the C sources (warnings, portability, performance);
# exits 1 on any finding. A finding that is wrong is suppressed inline where it is
# (// cppcheck-suppress <id> with the reason) or, when it points into a macro table, here.
set -euo pipefail
cd "$(dirname "$0")/../.."
# keys.def's JQ_KEY_ID rows expand to functions taking (keys, id, buf): cppcheck takes the
# id 0 of jq_keys_job_prefix's call for a null pointer and blames the first argument
exec cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance --std=c11 \
	--inline-suppr --library=tests/lint/jansson.cfg --suppress=missingIncludeSystem \
	--suppress=ctunullpointer:common/store/keys.def \
	-I common -I common/store -I common/include -I broker -I worker -I cli \
	broker common cli worker tests/unit tests/client tests/cluster bench/jqload.c
