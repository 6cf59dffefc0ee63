#!/usr/bin/env bash
# tests/integration/run.sh ASTERD - the integration tests.
#
# Runs every test program built from tests/integration/test_*.c (by `make
# tests`, which `make check` does first) against the real binary ASTERD.
# The programs are looked up beside ASTERD: ASTERD=build/asterd runs
# build/tests/integration/test_*. This script builds nothing.
#
# Exported to the tests (absolute paths):
#   ASTERD              the binary under test
#   ASTER_MODULE_PATH   DIR/modules:DIR/tests/modules beside ASTERD, unless
#                       already set
#   ASTER_SRCDIR        the source tree (the tests read confs/ from it)
#   ASTER_TEST_MODULES  DIR/tests/modules, unless already set
# Environment: INTEG_VALGRIND=1 (run asterd under valgrind's memcheck:
# any error or definite leak makes asterd exit 97, which fails the test
# that started it; timeouts are stretched), INTEG_FILTER (run programs
# whose name contains it),
# INTEG_TIMEOUT (seconds per program, default 600), CK_RUN_SUITE,
# CK_RUN_CASE and CK_VERBOSITY as check reads them.
#
# Prints `ok NAME` or `FAIL NAME` (with the program's output) per program,
# and under it every `SKIP: ...` line the program printed (a test that
# could not run here and was allowed to say so), then `integration: N
# passed, M failed, K skipped`; exits 1 when a program failed, ran no
# test (check's "Checks: 0"), or none was found.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 ASTERD" >&2
	exit 64
fi
asterd=$1
case $asterd in /*) ;; *) asterd=$PWD/$asterd ;; esac
bindir=$(dirname "$asterd")
filter=${INTEG_FILTER:-}

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
root=$PWD

if [ ! -x "$asterd" ]; then
	echo "integration: $asterd is not an executable" >&2
	echo "integration: 0 passed, 1 failed"
	exit 1
fi

export ASTERD=$asterd
export ASTER_SRCDIR=${ASTER_SRCDIR:-$root}
export ASTER_TEST_MODULES=${ASTER_TEST_MODULES:-$bindir/tests/modules}
export ASTER_MODULE_PATH=${ASTER_MODULE_PATH:-$bindir/modules:$ASTER_TEST_MODULES}

timeout_cmd=()
if command -v timeout >/dev/null 2>&1; then
	timeout_cmd=(timeout -k 10 "${INTEG_TIMEOUT:-600}")
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# The tests make their temp dirs under TMPDIR: keep them in ours.
export TMPDIR=$tmp

# Under valgrind, ASTERD is a wrapper beside which asterctl is found too.
if [ "${INTEG_VALGRIND:-0}" = 1 ]; then
	mkdir "$tmp/valgrind"
	printf '#!/bin/sh\nexec valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite "%s" "$@"\n' "$asterd" >"$tmp/valgrind/asterd"
	chmod +x "$tmp/valgrind/asterd"
	ln -s "$bindir/asterctl" "$tmp/valgrind/asterctl"
	export ASTERD=$tmp/valgrind/asterd
	export ASTER_TEST_TIMEOUT_MULTIPLIER=${ASTER_TEST_TIMEOUT_MULTIPLIER:-8}
fi

passed=0
failed=0
found=0
skipped=0
for src in "$root"/tests/integration/test_*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	case $name in *"$filter"*) ;; *) continue ;; esac
	found=$((found + 1))
	prog=$bindir/tests/integration/$name
	if [ ! -x "$prog" ]; then
		echo "FAIL $name: $prog is not built (make tests)"
		failed=$((failed + 1))
		continue
	fi
	log=$tmp/$name.log
	start=$(date +%s)
	"${timeout_cmd[@]}" "$prog" >"$log" 2>&1
	rc=$?
	took=$(( $(date +%s) - start ))
	summary=$(grep -E '^[0-9]+%: ' "$log" | tail -n 1)
	if [ $rc -eq 0 ] && [[ $summary == *"Checks: 0,"* ]]; then
		echo "FAIL $name: ran no test ($summary)"
		failed=$((failed + 1))
	elif [ $rc -eq 0 ]; then
		echo "ok $name (${took}s): $summary"
		passed=$((passed + 1))
		skips=$(grep -c '^SKIP: ' "$log")
		skipped=$((skipped + skips))
		grep '^SKIP: ' "$log" | sed 's/^/    /'
	else
		if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
			echo "FAIL $name: timed out after ${took}s"
		else
			echo "FAIL $name (exit $rc, ${took}s)"
		fi
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
	fi
done

if [ $found -eq 0 ]; then
	echo "integration: no test matched '${filter}'" >&2
	failed=$((failed + 1))
fi
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
