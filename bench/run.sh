#!/usr/bin/env bash
# bench/run.sh ASTERD - the configuration scale benchmark (`make bench`).
#
# Generates products of 1,000 and 10,000 modules (bench/gen-product.sh) and
# times `ASTERD --check-config -c DIR` on each: one untimed warm-up run,
# then BENCH_RUNS timed runs. Prints a table of modules, files, routes,
# median wall seconds and peak RSS (the largest of the runs), the 10k/1k
# time ratio, and the verdict on each target:
#
#     10,000 modules checked in under 1 s (median)
#     time(10,000) / time(1,000) <= 12, i.e. close to linear
#
# then times `--plan --format json` on the 10,000-module product once, and
# runs the HTTP benchmark against nginx, bench/http.sh (its targets: asterd
# requests/s >= nginx's, idle RSS < 10 MiB), and the state store benchmark
# against pgbench, bench/state.sh (its target: asterd PUT on PostgreSQL at
# least half pgbench's upsert rate), the cost of credentials, bench/auth.sh,
# and the cost of request body validation and of a provider's operation,
# bench/contract.sh (its targets: a POST with a 10-property schema at least
# 0.90 times the requests/s without; testecho's operation within 5 % of
# the built-in health route), and the reverse proxy against nginx and
# HAProxy, bench/proxy.sh (its targets: asterd requests/s >= nginx's, p99
# no worse, a download within 10 % of the direct one), and a runtime
# process behind asterd, bench/runtime.sh (its target: asterd's CPU per
# request on the runtime path within 1.2x of the proxy path's).
# Exits 0 when every target passes, 1 when one fails, a check does not
# accept a generated product or http.sh, state.sh or contract.sh cannot
# run, 64 on bad usage.
#
# Wall time and peak RSS come from bench/measure.c (wait4 and a monotonic
# clock), built here with the system C compiler, so no GNU time is needed.
#
# Environment: BENCH_RUNS (default 5), BENCH_OUT (default bench/out, which
# git ignores; products are regenerated on every run), BENCH_SEED (default
# 42), CC (default cc), and the target bounds BENCH_MAX_SECONDS (1) and
# BENCH_MAX_RATIO (12).
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"

runs=${BENCH_RUNS:-5}
out=${BENCH_OUT:-$benchdir/out}
seed=${BENCH_SEED:-42}
max_seconds=${BENCH_MAX_SECONDS:-1}
max_ratio=${BENCH_MAX_RATIO:-12}
sizes="1000 10000"
case $runs in '' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 64 ;; esac

mkdir -p "$out" || exit 1
measure=$out/measure
if [ ! -x "$measure" ] || [ measure.c -nt "$measure" ]; then
	${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$measure" \
		measure.c || exit 1
fi

# median FILE: the median of the numbers in FILE, one per line.
median() {
	sort -g "$1" | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# timed NAME ARGS...: runs ASTERD ARGS with measure; stdout goes to
# $out/NAME.out, stderr to $out/NAME.err; sets wall, kib and status.
timed() {
	local name=$1
	shift
	"$measure" -o "$out/$name.m" "$asterd" "$@" \
		>"$out/$name.out" 2>"$out/$name.err" || exit 1
	read -r wall kib status <"$out/$name.m"
}

fail=0
declare -A median_of
printf '%8s %6s %7s %10s %10s\n' modules files routes "wall s" "RSS MiB"
for n in $sizes; do
	dir=$out/p$n
	rm -rf "$dir"
	sh gen-product.sh "$n" "$dir" "$seed" || exit 1
	files=$(find "$dir" -name '*.yaml' -type f | wc -l)

	# Warm-up: page cache, and the product must be accepted as generated.
	timed check$n --check-config -c "$dir"
	want="configuration ok: product 'bench' 1.0.0, $n modules, $((5 * n)) routes"
	if [ "$status" -ne 0 ] || [ "$(cat "$out/check$n.err")" != "$want" ]; then
		echo "bench: --check-config on $n modules exited $status," \
		     "expected exactly '$want'; first lines:" >&2
		head -5 "$out/check$n.err" >&2
		exit 1
	fi

	: >"$out/wall$n"
	peak=0
	for ((i = 0; i < runs; i++)); do
		timed check$n --check-config -c "$dir"
		if [ "$status" -ne 0 ]; then
			echo "bench: run $i on $n modules exited $status" >&2
			exit 1
		fi
		echo "$wall" >>"$out/wall$n"
		[ "$kib" -gt "$peak" ] && peak=$kib
	done
	median_of[$n]=$(median "$out/wall$n")
	printf '%8d %6d %7d %10.3f %10.1f\n' "$n" "$files" $((5 * n)) \
		"${median_of[$n]}" "$(awk -v k="$peak" 'BEGIN { print k / 1024 }')"
done

echo
echo "median of $runs runs each; RSS is the peak over the runs"
t1k=${median_of[1000]}
t10k=${median_of[10000]}
ratio=$(awk -v a="$t10k" -v b="$t1k" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
echo "ratio time(10000) / time(1000): $ratio"

verdict() {
	if awk -v v="$2" -v max="$3" 'BEGIN { exit !(v ~ /^[0-9.]+$/ && v + 0 <= max + 0) }'; then
		echo "PASS  $1 ($2, target <= $3)"
	else
		echo "FAIL  $1 ($2, target <= $3)"
		fail=1
	fi
}
verdict "10000 modules --check-config, median seconds" "$t10k" "$max_seconds"
verdict "time ratio 10000/1000" "$ratio" "$max_ratio"

echo
timed plan10000 --plan --format json -c "$out/p10000"
if [ "$status" -ne 0 ]; then
	echo "bench: --plan --format json on 10000 modules exited $status" >&2
	head -5 "$out/plan10000.err" >&2
	exit 1
fi
bytes=$(wc -c <"$out/plan10000.out")
# The wave count, and a check that the document is JSON, when python3 is
# there (it is not a build dependency).
waves=
if command -v python3 >/dev/null 2>&1; then
	waves=$(python3 -c 'import json, sys
print(len(json.load(open(sys.argv[1]))["waves"]))' "$out/plan10000.out") || {
		echo "bench: --plan --format json printed invalid JSON" >&2
		exit 1
	}
fi
printf 'plan --format json, 10000 modules: %.3f s, %.1f MiB RSS, %d bytes%s\n' \
	"$wall" "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')" "$bytes" \
	"${waves:+, $waves waves}"

# Then the HTTP benchmark against nginx (bench/http.sh, bench/README.md).
echo
bash "$benchdir/http.sh" "$asterd" || fail=1

# Then the state API against PostgreSQL's own pgbench (bench/state.sh).
echo
bash "$benchdir/state.sh" "$asterd" || fail=1

# Then the cost of credentials (bench/auth.sh; its FAIL counts only with
# BENCH_STRICT=1).
echo
bash "$benchdir/auth.sh" "$asterd" || fail=1

# Then request body validation and a provider's operation, each against
# the same request without it (bench/contract.sh).
echo
bash "$benchdir/contract.sh" "$asterd" || fail=1

# Then the reverse proxy against nginx's proxy_pass and HAProxy
# (bench/proxy.sh).
echo
bash "$benchdir/proxy.sh" "$asterd" || fail=1

# Then the C example runtime behind asterd, against the same server
# directly and through the proxy (bench/runtime.sh).
echo
bash "$benchdir/runtime.sh" "$asterd" || fail=1

exit $fail
