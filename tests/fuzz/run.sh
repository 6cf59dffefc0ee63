#!/bin/sh
# tests/fuzz/run.sh NAME BUILD SECONDS [SEED...] - runs the fuzz target
# BUILD/fuzz_NAME (made by `make fuzz`) for SECONDS and says how it went.
#
# The corpus BUILD/corpus/NAME/ is kept between runs and topped up first
# with tests/fuzz/seeds/NAME/* and the SEED files (those from the tests);
# tests/fuzz/NAME.dict is the dictionary when it exists; $FUZZ_ARGS goes
# to libFuzzer last. The whole output is in BUILD/fuzz_NAME.log; printed
# are libFuzzer's final figures (executions, cov, ft, corpus, peak RSS).
# A crash, leak or timeout leaves its input in BUILD/findings/NAME/ and
# the exit status is 1.
set -u

if [ $# -lt 3 ]; then
	echo "usage: $0 NAME BUILD SECONDS [SEED...]" >&2
	exit 64
fi
name=$1 build=$2 seconds=$3
shift 3
src=$(pwd)
bin=fuzz_$name
log=$build/$bin.log
corpus=corpus/$name
findings=findings/$name

mkdir -p "$build/$corpus" "$build/$findings" || exit 1
for f in tests/fuzz/seeds/"$name"/*; do
	[ ! -f "$f" ] || cp "$f" "$build/$corpus/" || exit 1
done
for f in "$@"; do
	[ ! -f "$f" ] || cp "$f" "$build/$corpus/seed_$(echo "$f" | tr / _)" ||
		exit 1
done
dict=
[ ! -f "tests/fuzz/$name.dict" ] || dict="-dict=$src/tests/fuzz/$name.dict"

echo "fuzz $name: ${seconds}s, corpus $build/$corpus ($(ls "$build/$corpus" |
	wc -l) inputs)${dict:+, dictionary tests/fuzz/$name.dict}"
# From the build dir, as the targets expect (fuzz_config finds the
# providers beside its binary); ASan's defaults plus leak checks.
# shellcheck disable=SC2086
(cd "$build" && exec "./$bin" -max_total_time="$seconds" -timeout=10 \
	-rss_limit_mb=2048 -artifact_prefix="$findings/" -print_final_stats=1 \
	$dict ${FUZZ_ARGS:-} "$corpus") >"$log" 2>&1
rc=$?

# The last status line ("#N DONE cov: C ft: F corp: ...") has the
# coverage; the stat:: lines the totals.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log")
echo "fuzz $name: ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}," \
	"corpus ${corp:-?}, peak RSS ${rss:-?} MB"
if [ "$rc" -eq 0 ]; then
	exit 0
fi
echo "fuzz $name: FAILED (exit $rc); the end of $log:" >&2
tail -n 60 "$log" >&2
unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
if [ -n "$unit" ]; then
	echo "fuzz $name: reproducer $build/${unit#./}; replay it with:" >&2
	echo "  $build/$bin $build/${unit#./}" >&2
fi
exit 1
