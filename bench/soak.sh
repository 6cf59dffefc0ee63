#!/usr/bin/env bash
# bench/soak.sh ASTERD - a long run of mixed traffic at a fixed rate: does
# asterd's memory or descriptor count creep, does any request fail?
#
# A benchmark, not a test: it lasts SOAK_SECONDS (10 minutes by default),
# is not part of `make check`, and runs with `make soak`.
#
# Starts, on loopback only, `ASTERD -c COPY --ephemeral-ports` on a copy of
# conf.d (the SQLite store and the control socket in a temporary
# directory, the access log off). Then bench/soak.c (built here with the
# system C compiler) PUTs SOAK_KEYS state keys and, for SOAK_SECONDS,
# sends SOAK_RATE requests a second: GET health, 404s, made-up API keys
# (401, or 429 once asterd throttles the address), GET and PUT of state
# keys on the internal listener; beside them SOAK_SLOW connections that
# send their request a byte every 50 ms and SOAK_SLOW that read their
# answer 256 bytes every 50 ms; and every SOAK_RELOAD seconds it adds or
# removes a module file and runs `asterctl reload`. Each minute it prints
# asterd's VmRSS, its open descriptors (/proc/PID/fd), the requests sent
# and the failures by kind.
#
# A request fails on a transport error (refused, reset, cut short, no
# answer in 10 s, 30 s for the slow ones), a 5xx, or a status its kind
# does not expect; a reload fails when asterctl does not exit 0. The
# verdict, each target printed PASS or FAIL:
#
#   - RSS at the last minute within SOAK_RSS_PERCENT (5) % of minute 2;
#   - descriptors flat: at every minute from the second, asterd's count
#     less the connections the load generator holds is within
#     SOAK_FD_TOLERANCE (4) of the same figure at minute 2, and with the
#     load gone and every client connection closed, asterd holds no more
#     descriptors than before the load (same tolerance). The tolerance
#     covers what is legitimately in flight at the instant of a sample:
#     a connection asterd has accepted or closed that the generator has
#     not seen yet (or the reverse), the control connection of a reload
#     that is running;
#   - zero failed requests and zero failed reloads.
#
# It also says whether the rate held (WARN, not a failure, when requests
# came due while every connection the generator may open, 512 per
# listener, was busy: answers stalled, by asterd or by a busy machine).
#
# Exits 0 when every target passes, 1 when one fails or a step goes wrong,
# 64 on bad usage. Everything it starts is stopped, and its temporary
# directory removed, on any exit.
#
# Environment: SOAK_SECONDS (600), SOAK_RATE (2000 requests/s), SOAK_RELOAD
# (30 s), SOAK_KEYS (200), SOAK_SLOW (4), SOAK_RSS_PERCENT (5),
# SOAK_FD_TOLERANCE (4), BENCH_CONF (conf.d of the repository), BENCH_OUT
# (bench/out, where soak is built), CC (cc), TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
unset NOTIFY_SOCKET

seconds=${SOAK_SECONDS:-600}
rate=${SOAK_RATE:-2000}
reload=${SOAK_RELOAD:-30}
keys=${SOAK_KEYS:-200}
slow=${SOAK_SLOW:-4}
rss_percent=${SOAK_RSS_PERCENT:-5}
fd_tol=${SOAK_FD_TOLERANCE:-4}
conf=${BENCH_CONF:-$benchdir/../conf.d}
out=${BENCH_OUT:-$benchdir/out}
for v in seconds rate reload keys; do
	case ${!v} in '' | *[!0-9]* | 0)
		echo "bench: soak: $v must be a positive integer" >&2; exit 64 ;;
	esac
done
for v in slow rss_percent fd_tol; do
	case ${!v} in '' | *[!0-9]*)
		echo "bench: soak: $v must be a number" >&2; exit 64 ;;
	esac
done
asterctl=$(dirname "$asterd")/asterctl
[ -x "$asterctl" ] || { echo "bench: no asterctl beside $asterd" >&2; exit 64; }

mkdir -p "$out" || exit 1
soak=$out/soak
if [ ! -x "$soak" ] || [ soak.c -nt "$soak" ]; then
	${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$soak" soak.c ||
		exit 1
fi
ulimit -n 8192 2>/dev/null || true

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asterd-soak.XXXXXX") || exit 1
asterd_pid=
job_pid=

cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$job_pid" ] && stop "$job_pid"
	[ -n "$asterd_pid" ] && stop "$asterd_pid"
	rm -rf "$tmp"
}
bench_traps

fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# --- asterd ------------------------------------------------------------
cp -R "$conf" "$tmp/conf.d" || exit 1
# The access log off: 2,000 lines a second for 10 minutes measure the disk.
sed -i 's/^\([[:space:]]*\)access:[[:space:]]*true/\1access: false/' \
	"$tmp/conf.d/product.yaml"
grep -q '^[[:space:]]*access: false' "$tmp/conf.d/product.yaml" ||
	die "cannot turn the access log off in $conf/product.yaml"
mkdir -p "$tmp/run" "$tmp/state" || exit 1
export RUNTIME_DIRECTORY=$tmp/run STATE_DIRECTORY=$tmp/state
sock=$tmp/run/control.sock

: >"$tmp/asterd.out"
"$asterd" -c "$tmp/conf.d" --ephemeral-ports </dev/null \
	>>"$tmp/asterd.out" 2>"$tmp/asterd.err" &
asterd_pid=$!
for ((i = 0; i < 300; i++)); do
	grep -qx ready "$tmp/asterd.out" && break
	kill -0 "$asterd_pid" 2>/dev/null ||
		{ asterd_pid=; die "asterd exited before printing ready" "$tmp/asterd.err"; }
	sleep 0.05
done
grep -qx ready "$tmp/asterd.out" ||
	die "asterd did not print ready in 15 s" "$tmp/asterd.err"
listener() {
	awk -v s="$1" '$1 == "listening" && $2 !~ /^unix:/ &&
		$3 ~ "(^|,)" s "(,|$)" { print $2; exit }' "$tmp/asterd.out"
}
public=$(listener public)
internal=$(listener internal)
[ -n "$public" ] && [ -n "$internal" ] ||
	die "asterd printed no public and internal TCP listeners" "$tmp/asterd.out"

fds_before=$(fds_of "$asterd_pid")
echo "soak: asterd $public (public) $internal (internal), ${seconds} s at" \
     "$rate requests/s, a reload every $reload s; $fds_before descriptors" \
     "before the load"

# --- the run -----------------------------------------------------------
"$soak" -P "$asterd_pid" -a "$public" -i "$internal" -s "$sock" \
	-c "$asterctl" -d "$tmp/conf.d" -t "$seconds" -r "$rate" -R "$reload" \
	-k "$keys" -H "$slow" -L "$slow" -l "$tmp/asterctl.log" \
	>"$tmp/soak.out" 2>"$tmp/soak.err" &
job_pid=$!
# The minute lines as they come.
tail -n +1 -f --pid="$job_pid" "$tmp/soak.out" 2>/dev/null |
	awk '$1 == "minute" { printf "soak: minute %d: RSS %.1f MiB, %d fds, " \
		"%d requests, %d failed\n", $2, $4 / 1024, $6, $10, $12; fflush() }'
wait "$job_pid"
st=$?
job_pid=
kill -0 "$asterd_pid" 2>/dev/null || { asterd_pid=; die "asterd exited during the soak" "$tmp/asterd.err"; }
[ "$st" -eq 0 ] || die "the load generator failed (exit $st)" "$tmp/soak.err"
# Client connections are closed: give asterd a moment to close its side.
sleep 1
fds_after=$(fds_of "$asterd_pid")
stop "$asterd_pid"
asterd_pid=

# --- report ------------------------------------------------------------
if [ -s "$tmp/soak.err" ]; then
	echo "soak: what failed first:"
	head -n 20 "$tmp/soak.err" | sed 's/^/    /'
fi
printf '\n%6s %9s %5s %7s %9s %7s %7s %9s %10s %7s %7s %7s\n' minute \
	"RSS MiB" fds clients "fds-cl" sent failed transport unexpected 5xx \
	reloads "max ms"
awk '$1 == "minute" {
	printf "%6d %9.1f %5d %7d %9d %7d %7d %9d %10d %7d %7d %7d\n",
		$2, $4 / 1024, $6, $8, $6 - $8, $10, $12, $14, $18, $16,
		$22, $26 }' "$tmp/soak.out"
echo
grep '^kind ' "$tmp/soak.out" | awk '{
	printf "  %-9s sent %8d  2xx %8d  4xx %8d  5xx %4d  transport %4d  " \
	       "unexpected %4d\n", $2, $4, $6, $8, $10, $12, $14 }'
total=$(grep '^total ' "$tmp/soak.out")
[ -n "$total" ] || die "the load generator printed no total" "$tmp/soak.out"
read -r _ _ sent _ failed _ behind _ reloads _ reload_failed _ max_ms \
	<<<"$total"
echo "  $sent requests, $failed failed, $behind not sent (generator" \
     "behind), $reloads reloads ($reload_failed failed), slowest ${max_ms} ms;" \
     "descriptors with no client: $fds_before before, $fds_after after"
echo

verdict=0
target() {  # target PASS|FAIL TEXT
	echo "$1  $2"
	[ "$1" = PASS ] || verdict=1
}
awk '$1 == "minute" { print $2, $4, $6 - $8 }' "$tmp/soak.out" >"$tmp/minutes"
last=$(tail -n 1 "$tmp/minutes")
ref=$(awk '$1 == 2' "$tmp/minutes")
[ -n "$ref" ] || ref=$(head -n 1 "$tmp/minutes")
read -r ref_m ref_rss ref_fds <<<"$ref"
read -r last_m last_rss _ <<<"$last"
ok=$(awk -v a="$ref_rss" -v b="$last_rss" -v p="$rss_percent" \
	'BEGIN { d = b - a; if (d < 0) d = -d; print (d * 100 <= p * a) ? "PASS" : "FAIL" }')
target "$ok" "$(awk -v a="$ref_rss" -v b="$last_rss" -v m="$ref_m" -v n="$last_m" -v p="$rss_percent" \
	'BEGIN { printf "RSS at minute %d %.1f MiB vs minute %d %.1f MiB: %+.1f %% (bound %d %%)", n, b / 1024, m, a / 1024, (b - a) * 100 / a, p }')"
spread=$(awk -v r="$ref_fds" -v m="$ref_m" '$1 >= m { d = $3 - r; if (d < 0) d = -d; if (d > x) x = d } END { print x + 0 }' "$tmp/minutes")
[ "$spread" -le "$fd_tol" ] && ok=PASS || ok=FAIL
target "$ok" "descriptors less client connections: at most $spread off minute $ref_m's $ref_fds (tolerance $fd_tol)"
d=$((fds_after - fds_before))
[ "${d#-}" -le "$fd_tol" ] && ok=PASS || ok=FAIL
target "$ok" "descriptors with no client: $fds_before before, $fds_after after (tolerance $fd_tol)"
[ "$failed" -eq 0 ] && [ "$reload_failed" -eq 0 ] && ok=PASS || ok=FAIL
target "$ok" "failed requests: $failed of $sent; failed reloads: $reload_failed of $reloads"
# Not a target: a stall of asterd, or of a busy machine, for longer than
# 1,024 connections take to fill makes the generator skip requests.
if [ "$behind" -eq 0 ]; then
	echo "PASS  rate held: every request sent at $rate requests/s"
else
	echo "WARN  rate not held: $behind requests not sent (every allowed" \
	     "connection busy; slowest answer ${max_ms} ms)"
fi
[ "$seconds" -ge 600 ] ||
	echo "note: a ${seconds} s run; the targets are meant for 600 s"
exit "$verdict"
