#!/usr/bin/env bash
# bench/runtime.sh ASTERD - a runtime process (SPEC 10) behind asterd,
# against the same server reached directly and through asterd's reverse
# proxy (SPEC 7.7).
#
# The server is the C example runtime, examples/runtimes/c-hello
# (built by `make tests` and `make bench` as
# $(B)/examples/runtimes/c-hello/hello beside ASTERD, or BENCH_RT_HELLO),
# whose every answer is the same small JSON document. Starts, on loopback
# and Unix sockets only:
#
#   - hello, standalone, with HELLO_TCP=127.0.0.1:0 (it prints the port
#     it got): the server reached directly, and the proxy's upstream;
#   - asterd (`--ephemeral-ports`) on a product it writes: one public
#     listener, no access log, and one module `hello` whose runtime is
#     hello itself (so asterd starts a second copy, on its runtime
#     socket), with a prefix route /rt, `handler: {runtime: {}}`, and a
#     prefix route /px, `handler: {proxy: {upstream: direct}}`, the
#     upstream `direct` being the standalone copy (keepalive 256).
#
# Three paths, then: runtime (wrk -> asterd /rt -> Unix socket -> the
# runtime), proxy (wrk -> asterd /px -> TCP -> the standalone copy) and
# direct (wrk -> the standalone copy). Each must answer 200 with the
# same body first, or the benchmark stops. Then a warm-up run on each
# and BENCH_RT_RUNS rounds of `wrk -t1 -cN -dS --latency` on each, in an
# order that rotates each round; around every run it reads the CPU time
# (utime + stime, /proc/PID/stat) of asterd and of the hello process
# that answered. It prints the median requests/s, p99 and CPU
# microseconds per request of each path, the ratios to the direct path,
# and the verdict on the target (issue 12): asterd's CPU per request on
# the runtime path at most BENCH_RT_MAX_CPU_RATIO (1.2) times its CPU per
# request on the proxy path.
#
# Exits 0 when the target passes (or is not measured), 1 when it fails or
# a step goes wrong (a server that does not start, a path that does not
# answer 200 and the body, a status other than 2xx during a run), 64 on
# bad usage, 69 when a program is missing after scripts/deps.sh bench has
# tried to install it. Everything it starts is stopped and its temporary
# directory removed on any exit.
#
# Environment: BENCH_RT_RUNS (3), BENCH_RT_SECONDS (5), BENCH_RT_WARMUP
# (2), BENCH_RT_CONNS (50), BENCH_RT_PATHS ("runtime proxy direct": the
# paths to measure), BENCH_RT_MAX_CPU_RATIO (1.2), BENCH_RT_HELLO (the
# hello program), TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
unset NOTIFY_SOCKET
PATH=$PATH:/usr/sbin:/sbin

runs=${BENCH_RT_RUNS:-3}
seconds=${BENCH_RT_SECONDS:-5}
warmup=${BENCH_RT_WARMUP:-2}
conns=${BENCH_RT_CONNS:-50}
paths=${BENCH_RT_PATHS:-runtime proxy direct}
max_cpu_ratio=${BENCH_RT_MAX_CPU_RATIO:-1.2}
hello=${BENCH_RT_HELLO:-$(dirname "$asterd")/examples/runtimes/c-hello/hello}
bench_check_numbers BENCH_RT_WARMUP runs seconds conns
for p in $paths; do
	case $p in runtime | proxy | direct) ;; *)
		echo "bench: BENCH_RT_PATHS: unknown path '$p'" \
		     "(runtime, proxy, direct)" >&2; exit 64 ;;
	esac
done
hello=$(readlink -f "$hello" 2>/dev/null) || hello=
if [ -z "$hello" ] || [ ! -x "$hello" ]; then
	echo "bench: $hello is not an executable; run make tests (or make" \
	     "bench) first, or set BENCH_RT_HELLO" >&2
	exit 64
fi

for t in wrk curl; do
	if ! command -v $t >/dev/null 2>&1; then
		sh "$benchdir/../scripts/deps.sh" bench >&2 || :
		command -v $t >/dev/null 2>&1 || {
			echo "bench: runtime.sh needs wrk and curl; $t is" \
			     "missing (apt-get install -y wrk curl)" >&2
			exit 69
		}
	fi
done

ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asterd-runtime.XXXXXX") || exit 1
clk_tck=$(getconf CLK_TCK 2>/dev/null) || clk_tck=100
module=hello
want='{"message":"hello from c","module":"hello"}'
direct_pid=
asterd_pid=
wrk_pid=
cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$wrk_pid" ] && stop "$wrk_pid"
	# asterd stops its runtime itself.
	[ -n "$asterd_pid" ] && stop "$asterd_pid"
	[ -n "$direct_pid" ] && stop "$direct_pid"
	rm -rf "$tmp"
}
bench_traps

# --- the standalone hello ------------------------------------------------
direct_dir=$tmp/direct
mkdir -p "$direct_dir" || exit 1
direct_log=$direct_dir/hello.out
(cd "$direct_dir" && ASTER_MODULE_ID=$module HELLO_TCP=127.0.0.1:0 \
	exec "$hello" </dev/null >"$direct_log" 2>&1) &
direct_pid=$!
direct_addr=
for ((i = 0; i < 200; i++)); do
	direct_addr=$(awk '$1 == "hello:" && $3 == "on" && $4 == "tcp" {
		print $5; exit }' "$direct_log")
	[ -n "$direct_addr" ] && break
	kill -0 "$direct_pid" 2>/dev/null || {
		wait "$direct_pid"
		st=$?
		direct_pid=
		die "hello exited (status $st) before listening" "$direct_log"
	}
	sleep 0.05
done
[ -n "$direct_addr" ] || die "hello printed no TCP address in 10 s" "$direct_log"

# --- asterd, with hello as a runtime and a proxy to the standalone one --
as_dir=$tmp/asterd
as_out=$as_dir/asterd.out
as_err=$as_dir/asterd.err
mkdir -p "$as_dir/conf/modules" "$as_dir/run" "$as_dir/state" || exit 1
cat >"$as_dir/conf/product.yaml" <<'EOF'
kind: product
id: benchruntime
name: Runtime bench
version: 0.1.0
server:
  listen:
    - address: 127.0.0.1:0
      scopes: [public]
log: { access: false }
EOF
cat >"$as_dir/conf/modules/hello.yaml" <<EOF
kind: module
id: $module
displayName: The C example runtime, and a proxy to another copy of it
version: 0.1.0
runtime:
  command: [$hello]
  restart: on-failure
  ready_timeout_ms: 5000
  stop_timeout_ms: 2000
upstreams:
  direct:
    targets: [http://$direct_addr]
    keepalive: 256
routes:
  - id: route:hello.runtime
    scope: public
    methods: [GET]
    mountPath: /rt
    match: prefix
    handler: { runtime: {} }
  - id: route:hello.proxy
    scope: public
    methods: [GET]
    mountPath: /px
    match: prefix
    handler: { proxy: { upstream: direct } }
EOF

export RUNTIME_DIRECTORY=$as_dir/run STATE_DIRECTORY=$as_dir/state
"$asterd" --check-config -c "$as_dir/conf" >/dev/null 2>"$as_dir/check.err" ||
	die "asterd --check-config rejects the runtime product" "$as_dir/check.err"
"$asterd" -c "$as_dir/conf" --ephemeral-ports </dev/null >"$as_out" \
	2>"$as_err" &
asterd_pid=$!
for ((i = 0; i < 300; i++)); do
	grep -qx ready "$as_out" && break
	if ! kill -0 "$asterd_pid" 2>/dev/null; then
		wait "$asterd_pid"
		st=$?
		asterd_pid=
		die "asterd exited (status $st) before printing ready" "$as_err"
	fi
	sleep 0.05
done
grep -qx ready "$as_out" || die "asterd did not print ready in 15 s" "$as_err"
asterd_addr=$(awk '$1 == "listening" && $2 !~ /^unix:/ &&
	$3 ~ /(^|,)public(,|$)/ { print $2; exit }' "$as_out")
[ -n "$asterd_addr" ] || die "asterd printed no TCP listener" "$as_out"

# runtime_pid: the hello that asterd runs (a child of asterd, or of a
# child), or nothing.
runtime_pid() {
	local c g
	for c in $(cat /proc/"$asterd_pid"/task/*/children 2>/dev/null); do
		for g in "$c" $(cat /proc/"$c"/task/*/children 2>/dev/null); do
			[ "$(readlink "/proc/$g/exe" 2>/dev/null)" = "$hello" ] &&
				{ echo "$g"; return; }
		done
	done
}

declare -A url
url[runtime]=http://$asterd_addr/rt/hello
url[proxy]=http://$asterd_addr/px/hello
url[direct]=http://$direct_addr/hello

# alive WHAT: fails the run when a process the path WHAT needs exited
# (wrk_run calls it after every run). A runtime that died shows as
# statuses other than 200, which wrk_run reports.
alive() {
	if [ "$1" != direct ] && ! kill -0 "$asterd_pid" 2>/dev/null; then
		wait "$asterd_pid"
		st=$?
		asterd_pid=
		die "asterd exited (status $st) during the benchmark" "$as_err"
	fi
	if [ "$1" != runtime ] && ! kill -0 "$direct_pid" 2>/dev/null; then
		wait "$direct_pid"
		st=$?
		direct_pid=
		die "the standalone hello exited (status $st)" "$direct_log"
	fi
}

# probe PATH: GET through PATH must answer 200 and hello's body.
probe() {
	local p=$1 out=$tmp/probe.$1 code
	code=$(curl -s --max-time 10 -o "$out" -w '%{http_code}' "${url[$p]}") ||
		code="no answer (curl exit $?)"
	if [ "$code" != 200 ] || [ "$(cat "$out")" != "$want" ]; then
		echo "bench: the $p path (${url[$p]}) answered $code, not 200" \
		     "$want; the body:" >&2
		head -c 600 "$out" | sed 's/^/    /' >&2
		echo >&2
		die "the $p path does not reach hello" "$as_err"
	fi
}

# bench_wrk PATH SECONDS: one wrk run; sets rps, p99 (ms), as_us and
# hello_us (CPU microseconds per request of asterd and of the hello that
# answered; "-" where there is none, or its process was not found).
bench_wrk() {
	local p=$1 log=$tmp/wrk.$1.out hp a0 a1 h0 h1
	if [ "$p" = runtime ]; then hp=$(runtime_pid); else hp=$direct_pid; fi
	a0=$(cpu_ticks "$asterd_pid")
	h0=$([ -n "$hp" ] && cpu_ticks "$hp")
	wrk_run "$p" "the $p path" "$log" "$2" -t1 -c"$conns" --latency \
		"${url[$p]}"
	a1=$(cpu_ticks "$asterd_pid")
	h1=$([ -n "$hp" ] && cpu_ticks "$hp")
	p99=$(awk '$1 == "99%" {
		v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000
		else if (u == "m") v *= 60000
		printf "%.3f\n", v }' "$log")
	if [ -z "$rps" ] || [ -z "$p99" ] || [ -z "$wrk_requests" ]; then
		die "cannot read requests/s, requests and p99 in wrk's output" "$log"
	fi
	if [ "$p" = direct ]; then
		as_us=-
	else
		as_us=$(us_per_request "$a0" "$a1" "$wrk_requests")
	fi
	if [ -n "$h0" ] && [ -n "$h1" ]; then
		hello_us=$(us_per_request "$h0" "$h1" "$wrk_requests")
	else
		hello_us=-
	fi
}

# rotated N: the paths, starting with the N-th (mod their count).
rotated() {
	local a k i
	read -r -a a <<<"$paths"
	k=${#a[@]}
	for ((i = 0; i < k; i++)); do
		printf '%s ' "${a[$(((i + $1) % k))]}"
	done
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0)
		printf "%.2f", a / b; else print "-" }'
}

# --- the run -----------------------------------------------------------
for p in $paths; do probe "$p"; done

echo "asterd at $asterd_addr (runtime: pid $(runtime_pid || :), on its Unix socket);" \
     "hello standalone at $direct_addr (pid $direct_pid)"
echo "wrk -t1 -c$conns -d${seconds}s --latency, $runs rounds in rotating" \
     "order; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$warmup" -gt 0 ]; then
	for p in $paths; do bench_wrk "$p" "$warmup"; done
fi
for p in $paths; do
	: >"$tmp/rps.$p"; : >"$tmp/p99.$p"; : >"$tmp/as.$p"; : >"$tmp/hello.$p"
done
for ((r = 0; r < runs; r++)); do
	for p in $(rotated "$r"); do
		bench_wrk "$p" "$seconds"
		echo "$rps" >>"$tmp/rps.$p"
		echo "$p99" >>"$tmp/p99.$p"
		echo "$as_us" >>"$tmp/as.$p"
		echo "$hello_us" >>"$tmp/hello.$p"
		printf 'run %d %-8s %10.0f req/s  p99 %8.3f ms  asterd %6s us/req  hello %6s us/req\n' \
			$((r + 1)) "$p" "$rps" "$p99" "$as_us" "$hello_us"
	done
done

declare -A rps_med p99_med as_med hello_med
for p in $paths; do
	rps_med[$p]=$(median "$tmp/rps.$p")
	p99_med[$p]=$(awk -v v="$(median "$tmp/p99.$p")" 'BEGIN { printf "%.3f", v }')
	if [ "$p" = direct ]; then
		as_med[$p]=-
	else
		as_med[$p]=$(awk -v v="$(median "$tmp/as.$p")" 'BEGIN { printf "%.2f", v }')
	fi
	if grep -q -- - "$tmp/hello.$p"; then
		hello_med[$p]=-
	else
		hello_med[$p]=$(awk -v v="$(median "$tmp/hello.$p")" 'BEGIN { printf "%.2f", v }')
	fi
done

echo
printf '%-8s %10s %9s %14s %14s %12s\n' path "req/s" "p99 ms" \
	"asterd us/req" "hello us/req" "req/s ratio"
for p in $paths; do
	printf '%-8s %10.0f %9.3f %14s %14s %12s\n' "$p" "${rps_med[$p]}" \
		"${p99_med[$p]}" "${as_med[$p]}" "${hello_med[$p]}" \
		"$(ratio "${rps_med[$p]}" "${rps_med[direct]:--}")"
done
echo "median of $runs runs of ${seconds} s; us/req: CPU time (user + system)" \
     "per request of asterd and of the hello that answered; req/s ratio:" \
     "to the direct path"

fail=0
case " $paths " in *" runtime "*) has_rt=1 ;; *) has_rt=0 ;; esac
case " $paths " in *" proxy "*) has_px=1 ;; *) has_px=0 ;; esac
if [ $has_rt = 1 ] && [ $has_px = 1 ]; then
	cr=$(ratio "${as_med[runtime]}" "${as_med[proxy]}")
	echo "ratio runtime/proxy: requests/s $(ratio "${rps_med[runtime]}" "${rps_med[proxy]}")x," \
	     "p99 $(ratio "${p99_med[runtime]}" "${p99_med[proxy]}")x"
	if awk -v r="$cr" -v m="$max_cpu_ratio" \
		'BEGIN { exit !(r != "-" && r + 0 <= m + 0) }'; then
		echo "PASS  asterd CPU per request, runtime path ${cr}x the proxy path's (target <= ${max_cpu_ratio}x)"
	else
		echo "FAIL  asterd CPU per request, runtime path ${cr}x the proxy path's (target <= ${max_cpu_ratio}x)"
		fail=1
	fi
else
	echo "runtime and proxy paths not both measured (BENCH_RT_PATHS=\"$paths\"): no verdict"
fi
exit $fail
