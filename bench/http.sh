#!/usr/bin/env bash
# bench/http.sh ASTERD - HTTP throughput and memory of asterd against nginx.
#
# Starts, on loopback only, nginx (one process, from a configuration
# generated in a temporary directory, answering GET /gateway/v1/health with
# a fixed {"status":"ok"}) and `ASTERD -c conf.d --ephemeral-ports` (on a
# copy of conf.d with the access log turned off, as nginx's is). Then:
#
#   - the resident set size (VmRSS) of each server, idle after start;
#   - `wrk -t1 -c64 -d10s --latency` on GET /gateway/v1/health of each, one
#     at a time, in alternating order, BENCH_HTTP_RUNS times (after a short
#     warm-up); the median requests/s and 99th percentile latency of each;
#   - the RSS of each server while it holds BENCH_CONNS (10,000) idle
#     keep-alive connections, opened by bench/conns.c (built here with the
#     system C compiler), each of which has had one 200 answer;
#
# prints a table, the asterd/nginx ratios and the verdict on each target:
#
#     asterd requests/s >= 1.0 x nginx requests/s (medians)
#     asterd idle RSS < 10 MiB
#
# Exits 0 when both pass, 1 when one fails or a step goes wrong (a server
# that does not start or answers something else than 200, wrk errors),
# 64 on bad usage, 69 when wrk or nginx is not installed. Everything it
# starts is stopped, and its temporary directory removed, on any exit.
#
# With BENCH_PERF=1 and perf installed, one more wrk run on asterd is
# profiled (perf record -g) and the top functions printed.
#
# Environment: BENCH_HTTP_RUNS (3), BENCH_HTTP_SECONDS (10),
# BENCH_HTTP_WARMUP (2 seconds per server), BENCH_CONNS (10000),
# BENCH_MIN_RATIO (1.0), BENCH_MAX_IDLE_MIB (10), BENCH_CONF (conf.d of the
# repository), BENCH_OUT (bench/out, where conns is built), CC (cc),
# BENCH_PERF (0), TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
unset NOTIFY_SOCKET
PATH=$PATH:/usr/sbin:/sbin

runs=${BENCH_HTTP_RUNS:-3}
seconds=${BENCH_HTTP_SECONDS:-10}
warmup=${BENCH_HTTP_WARMUP:-2}
nconns=${BENCH_CONNS:-10000}
min_ratio=${BENCH_MIN_RATIO:-1.0}
max_idle_mib=${BENCH_MAX_IDLE_MIB:-10}
conf=${BENCH_CONF:-$benchdir/../conf.d}
out=${BENCH_OUT:-$benchdir/out}
bench_check_numbers BENCH_HTTP_WARMUP runs seconds nconns

# The packages, for scripts/deps.sh: Debian and Ubuntu call them the same.
missing=
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v nginx >/dev/null 2>&1 || missing="$missing nginx"
if [ -n "$missing" ]; then
	echo "bench: http.sh needs wrk and nginx; missing:$missing" >&2
	echo "bench: install them with: apt-get install -y wrk nginx" \
	     "(Debian and Ubuntu packages: wrk nginx)" >&2
	exit 69
fi

mkdir -p "$out" || exit 1
conns=$out/conns
if [ ! -x "$conns" ] || [ conns.c -nt "$conns" ]; then
	${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$conns" \
		conns.c || exit 1
fi

# 10,000 connections need as many descriptors in conns and in the server.
ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((nconns + 100)) ]; then
	echo "bench: $nconns connections need $((nconns + 100)) open files;" \
	     "the limit is $nofile (ulimit -Hn: $(ulimit -Hn))" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asterd-http.XXXXXX") || exit 1
asterd_pid=
nginx_pid=
conns_pid=
wrk_pid=

cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$wrk_pid" ] && stop "$wrk_pid"
	[ -n "$conns_pid" ] && stop "$conns_pid"
	[ -n "$asterd_pid" ] && stop "$asterd_pid"
	[ -n "$nginx_pid" ] && stop "$nginx_pid"
	rm -rf "$tmp"
}
bench_traps

# rss_kib PID: its VmRSS in KiB.
rss_kib() {
	awk '/^VmRSS:/ { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

mib() {
	awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# alive NAME: fails the run when the server NAME has exited.
alive() {
	local pid log
	if [ "$1" = asterd ]; then pid=$asterd_pid log=$tmp/asterd.err
	else pid=$nginx_pid log=$tmp/nginx/error.log; fi
	kill -0 "$pid" 2>/dev/null && return 0
	wait "$pid"
	local st=$?
	if [ "$1" = asterd ]; then asterd_pid=; else nginx_pid=; fi
	die "$1 exited (status $st) during the benchmark" "$log"
}

# --- nginx -------------------------------------------------------------
# It cannot report an ephemeral port, so it gets a random port below the
# usual ephemeral range and another one if that is taken.
start_nginx() {
	local dir=$tmp/nginx temps='' m attempt i
	mkdir -p "$dir" || exit 1
	# Temporary directories of the modules compiled in, so that nginx
	# never needs /var/lib/nginx (nor root).
	for m in client_body proxy fastcgi uwsgi scgi; do
		case $m in client_body) ;; *)
			nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" &&
				continue ;;
		esac
		temps="$temps	${m}_temp_path $dir/$m;
"
	done
	for ((attempt = 0; attempt < 8; attempt++)); do
		nginx_port=$((20000 + RANDOM % 12000))
		cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log error;
events {
	worker_connections 20000;
}
http {
	access_log off;
	keepalive_requests 1000000;
$temps	server {
		listen 127.0.0.1:$nginx_port;
		location = /gateway/v1/health {
			default_type application/json;
			return 200 '{"status":"ok"}';
		}
	}
}
EOF
		: >"$dir/error.log"
		nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf" \
			</dev/null >"$dir/stdout" 2>&1 &
		nginx_pid=$!
		for ((i = 0; i < 100; i++)); do
			if ! kill -0 "$nginx_pid" 2>/dev/null; then
				wait "$nginx_pid"
				nginx_pid=
				grep -q "Address already in use" "$dir/error.log" \
					"$dir/stdout" && continue 2
				cat "$dir/stdout" >>"$dir/error.log"
				die "nginx did not start" "$dir/error.log"
			fi
			if "$conns" -q -n 1 -w 1 "127.0.0.1:$nginx_port" \
				>/dev/null; then
				nginx_addr=127.0.0.1:$nginx_port
				return 0
			fi
			sleep 0.05
		done
		die "nginx did not answer GET /gateway/v1/health with 200" \
		    "$dir/error.log"
	done
	die "nginx found no free port in 8 tries" "$dir/error.log"
}

# --- asterd ------------------------------------------------------------
# A copy of the product with `log: {access: false}`: nginx logs no access
# either. (product.yaml takes no variable for it.)
start_asterd() {
	local product=$tmp/conf.d/product.yaml i
	cp -R "$conf" "$tmp/conf.d" || exit 1
	[ -f "$product" ] || die "no product.yaml in $conf"
	awk '
		function flush() {
			if (inlog && !done) { print ind "access: false"; done = 1 }
		}
		/^[^[:space:]#]/ {
			flush(); inlog = 0
			if ($0 ~ /^log:[[:space:]]*(#.*)?$/) {
				inlog = 1; seen = 1; ind = "  "; print; next
			}
		}
		inlog && /^[[:space:]]+[^[:space:]#]/ {
			if (!gotind) {
				match($0, /^[[:space:]]+/)
				ind = substr($0, 1, RLENGTH); gotind = 1
			}
			if ($0 ~ /^[[:space:]]+access:/) {
				print ind "access: false"; done = 1; next
			}
		}
		{ print }
		END {
			flush()
			if (!seen) { print "log:"; print "  access: false" }
		}' "$conf/product.yaml" >"$product" || exit 1
	mkdir -p "$tmp/run" "$tmp/state" || exit 1
	export RUNTIME_DIRECTORY=$tmp/run STATE_DIRECTORY=$tmp/state

	"$asterd" --check-config -c "$tmp/conf.d" >/dev/null \
		2>"$tmp/check.err" ||
		die "asterd --check-config rejects the copy of $conf with access: false" \
		    "$tmp/check.err"

	: >"$tmp/asterd.out"
	"$asterd" -c "$tmp/conf.d" --ephemeral-ports </dev/null \
		>>"$tmp/asterd.out" 2>"$tmp/asterd.err" &
	asterd_pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -qx ready "$tmp/asterd.out" && break
		if ! kill -0 "$asterd_pid" 2>/dev/null; then
			wait "$asterd_pid"
			local st=$?
			asterd_pid=
			die "asterd exited (status $st) before printing ready" \
			    "$tmp/asterd.err"
		fi
		sleep 0.05
	done
	grep -qx ready "$tmp/asterd.out" ||
		die "asterd did not print ready in 15 s" "$tmp/asterd.err"
	# "listening ADDRESS SCOPES": the TCP listener that serves public.
	asterd_addr=$(awk '$1 == "listening" && $2 !~ /^unix:/ &&
		$3 ~ /(^|,)public(,|$)/ { print $2; exit }' "$tmp/asterd.out")
	[ -n "$asterd_addr" ] ||
		die "asterd printed no TCP listener with scope public" \
		    "$tmp/asterd.out"
	"$conns" -n 1 -w 5 "$asterd_addr" >/dev/null 2>"$tmp/probe.err" ||
		die "asterd at $asterd_addr: GET /gateway/v1/health did not answer 200" \
		    "$tmp/probe.err"
}

# --- wrk ---------------------------------------------------------------
# bench_wrk NAME SECONDS: one wrk run on server NAME; sets rps, p99 (ms)
# and cpu_us, the server's CPU time per request in microseconds, which
# depends less than requests/s on what else the machine runs.
bench_wrk() {
	local name=$1 addr pid log=$tmp/wrk.$1.out t0 t1
	if [ "$name" = asterd ]; then addr=$asterd_addr pid=$asterd_pid
	else addr=$nginx_addr pid=$nginx_pid; fi
	t0=$(cpu_ticks "$pid")
	wrk_run "$name" "$name" "$log" "$2" -t1 -c64 --latency \
		"http://$addr/gateway/v1/health"
	t1=$(cpu_ticks "$pid")
	p99=$(awk '$1 == "99%" {
		v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000
		else if (u == "m") v *= 60000
		printf "%.3f\n", v }' "$log")
	[ -n "$rps" ] && [ -n "$p99" ] && [ -n "$wrk_requests" ] ||
		die "cannot read requests/s and p99 in wrk's output" "$log"
	cpu_us=$(us_per_request "$t0" "$t1" "$wrk_requests")
}

# --- idle connections --------------------------------------------------
# hold NAME: NCONNS idle keep-alive connections to server NAME; sets
# held_kib (its largest VmRSS while they are open) and open_s.
hold() {
	local name=$1 addr pid i k log=$tmp/conns.$1
	if [ "$name" = asterd ]; then addr=$asterd_addr pid=$asterd_pid
	else addr=$nginx_addr pid=$nginx_pid; fi
	: >"$log.out"
	"$conns" -n "$nconns" -t 30 -w 30 "$addr" >>"$log.out" 2>"$log.err" &
	conns_pid=$!
	for ((i = 0; i < 700; i++)); do
		grep -q '^open ' "$log.out" && break
		if ! kill -0 "$conns_pid" 2>/dev/null; then
			wait "$conns_pid"
			conns_pid=
			alive "$name"
			die "$nconns connections to $name failed" "$log.err"
		fi
		sleep 0.05
	done
	grep -q '^open ' "$log.out" ||
		die "$name did not answer $nconns connections in 35 s" "$log.err"
	open_s=$(awk '$1 == "open" { print $3 }' "$log.out")
	sleep 1
	held_kib=0
	for ((i = 0; i < 5; i++)); do
		k=$(rss_kib "$pid")
		[ -n "$k" ] && [ "$k" -gt "$held_kib" ] && held_kib=$k
		sleep 0.2
	done
	stop "$conns_pid"
	conns_pid=
	alive "$name"
	k=$(awk '$1 == "held" { print $2 }' "$log.out")
	if [ "${k:-0}" -lt "$nconns" ]; then
		echo "bench: $name closed $((nconns - ${k:-0})) of the" \
		     "$nconns idle connections while they were held" >&2
	fi
}

# --- the run -----------------------------------------------------------
clk_tck=$(getconf CLK_TCK 2>/dev/null) || clk_tck=100
start_nginx
start_asterd
sleep 0.5
declare -A idle_kib rps_med p99_med cpu_med held conns_s
idle_kib[nginx]=$(rss_kib "$nginx_pid")
idle_kib[asterd]=$(rss_kib "$asterd_pid")
# What the idle figure is made of: the heap and the like, and the pages of
# mapped files (the executable and the shared libraries).
idle_split=$(awk '$1 == "RssAnon:" { a = $2 } $1 == "RssFile:" { f = $2 }
	END { printf "%.1f MiB anonymous, %.1f MiB mapped files", a / 1024, f / 1024 }' \
	"/proc/$asterd_pid/status")
echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') at $nginx_addr," \
     "asterd at $asterd_addr; wrk -t1 -c64 -d${seconds}s, $(nproc) CPUs," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$warmup" -gt 0 ]; then
	bench_wrk nginx "$warmup"
	bench_wrk asterd "$warmup"
fi
: >"$tmp/rps.nginx" ; : >"$tmp/rps.asterd"
: >"$tmp/p99.nginx" ; : >"$tmp/p99.asterd"
: >"$tmp/cpu.nginx" ; : >"$tmp/cpu.asterd"
for ((r = 1; r <= runs; r++)); do
	if [ $((r % 2)) -eq 1 ]; then order="nginx asterd"
	else order="asterd nginx"; fi
	for name in $order; do
		bench_wrk "$name" "$seconds"
		echo "$rps" >>"$tmp/rps.$name"
		echo "$p99" >>"$tmp/p99.$name"
		echo "$cpu_us" >>"$tmp/cpu.$name"
		printf 'run %d %-6s %10.0f req/s  p99 %8.3f ms  CPU %6.2f us/req\n' \
			"$r" "$name" "$rps" "$p99" "$cpu_us"
	done
done
for name in nginx asterd; do
	rps_med[$name]=$(median "$tmp/rps.$name")
	p99_med[$name]=$(median "$tmp/p99.$name")
	cpu_med[$name]=$(median "$tmp/cpu.$name")
done

for name in nginx asterd; do
	hold "$name"
	held[$name]=$held_kib
	conns_s[$name]=$open_s
done

if [ "${BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null 2>&1; then
	echo
	echo "perf: $seconds s of wrk on asterd, top functions (self)"
	perf record -q -g -p "$asterd_pid" -o "$tmp/perf.data" \
		>"$tmp/perf.err" 2>&1 &
	perf_pid=$!
	sleep 0.3
	bench_wrk asterd "$seconds"
	kill -INT "$perf_pid" 2>/dev/null
	wait "$perf_pid" 2>/dev/null
	perf report -i "$tmp/perf.data" --stdio --no-children -g none \
		--percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' |
		head -25
fi

echo
printf '%-7s %10s %9s %11s %13s %20s\n' server "req/s" "p99 ms" \
	"CPU us/req" "idle RSS MiB" "RSS $nconns conns MiB"
for name in nginx asterd; do
	printf '%-7s %10.0f %9.3f %11.2f %13s %20s\n' "$name" \
		"${rps_med[$name]}" "${p99_med[$name]}" "${cpu_med[$name]}" \
		"$(mib "${idle_kib[$name]}")" "$(mib "${held[$name]}")"
done
echo "median of $runs runs of ${seconds} s each, alternating order;" \
     "$nconns connections opened in ${conns_s[nginx]} s (nginx)," \
     "${conns_s[asterd]} s (asterd)"
echo "asterd idle RSS: $idle_split"
ratio=$(awk -v a="${rps_med[asterd]}" -v b="${rps_med[nginx]}" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }')
p99_ratio=$(awk -v a="${p99_med[asterd]}" -v b="${p99_med[nginx]}" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
cpu_ratio=$(awk -v a="${cpu_med[asterd]}" -v b="${cpu_med[nginx]}" \
	'BEGIN { if (b > 0) printf "%.2f", a / b; else print "inf" }')
echo "ratio asterd/nginx: requests/s ${ratio}x, p99 ${p99_ratio}x," \
     "CPU per request ${cpu_ratio}x"

fail=0
if awk -v r="$ratio" -v m="$min_ratio" 'BEGIN { exit !(r + 0 >= m + 0) }'
then echo "PASS  asterd requests/s ${ratio}x nginx (target >= ${min_ratio}x)"
else echo "FAIL  asterd requests/s ${ratio}x nginx (target >= ${min_ratio}x)"
     fail=1
fi
idle=$(mib "${idle_kib[asterd]}")
if awk -v k="${idle_kib[asterd]}" -v m="$max_idle_mib" \
	'BEGIN { exit !(k / 1024 < m + 0) }'
then echo "PASS  asterd idle RSS $idle MiB (target < $max_idle_mib MiB)"
else echo "FAIL  asterd idle RSS $idle MiB (target < $max_idle_mib MiB)"
     fail=1
fi
exit $fail
