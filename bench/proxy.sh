#!/usr/bin/env bash
# bench/proxy.sh ASTERD - the reverse proxy (SPEC 7.7) against nginx's
# proxy_pass and HAProxy, in front of the same nginx upstream.
#
# Starts, on loopback only:
#
#   - the upstream: nginx, one process, `location = /api/ping { return 200
#     "pong"; }`, a 10 MiB file at /api/big.bin, keep-alive (1,000,000
#     requests, 300 s) and stub_status, whose `accepts` counts the
#     connections the proxies open to it;
#   - asterd (`--ephemeral-ports`) on a product it writes: one public
#     listener, no access log, a module whose upstream `nginx` has the
#     upstream as its one target with `keepalive: 256`, and a prefix route
#     /api with `handler: {proxy: {upstream: nginx, strip_prefix: false}}`;
#   - nginx as a proxy: one process, `proxy_pass` to an `upstream` block
#     with `keepalive 256`, `proxy_http_version 1.1`, `Connection ""`;
#   - HAProxy: `nbthread 1`, `http-reuse always`, idle server connections
#     kept 60 s (`pool-purge-delay`), as asterd and nginx keep theirs.
#
# Every proxy must answer GET /api/ping with 200 "pong" first, or the
# benchmark stops. Then, for -c50 and -c200, a warm-up run on each and
# BENCH_PROXY_RUNS rounds of `wrk -t1 -cN -dS --latency` on GET /api/ping
# through each proxy, in an order that rotates each round; the upstream's
# `accepts` is read before and after each run. Then the 10 MiB file:
# `wrk -t1 -c1` MB/s directly from the upstream and through each proxy.
# It prints the median requests/s and p99 of each proxy and concurrency,
# the upstream connections they opened during the measured runs, each
# proxy's peak RSS (VmHWM) at the end, the ratios asterd/nginx, and the
# verdicts on the targets of the proxy (issue: asterd at least as fast as
# nginx, p99 no worse, download within 10 % of the direct one).
#
# Exits 0 when every target passes, 1 when one fails or a step goes wrong
# (a server that does not start, a proxy that does not answer 200 "pong",
# a status other than 2xx during a run), 64 on bad usage, 69 when a
# program is missing after scripts/deps.sh bench has tried to install it.
# Everything it starts is stopped and its temporary directory removed on
# any exit.
#
# Environment: BENCH_PROXY_RUNS (3), BENCH_PROXY_SECONDS (5),
# BENCH_PROXY_WARMUP (2), BENCH_PROXY_CONNS ("50 200"),
# BENCH_PROXY_SERVERS ("asterd nginx haproxy": the proxies to measure;
# leave asterd out to measure the others alone), BENCH_PROXY_MIN_RATIO
# (1.0), BENCH_PROXY_MAX_DL_LOSS (0.10), TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
unset NOTIFY_SOCKET
PATH=$PATH:/usr/sbin:/sbin

runs=${BENCH_PROXY_RUNS:-3}
seconds=${BENCH_PROXY_SECONDS:-5}
warmup=${BENCH_PROXY_WARMUP:-2}
conc_list=${BENCH_PROXY_CONNS:-50 200}
servers=${BENCH_PROXY_SERVERS:-asterd nginx haproxy}
min_ratio=${BENCH_PROXY_MIN_RATIO:-1.0}
max_dl_loss=${BENCH_PROXY_MAX_DL_LOSS:-0.10}
bench_check_numbers BENCH_PROXY_WARMUP runs seconds
for s in $servers; do
	case $s in asterd | nginx | haproxy) ;; *)
		echo "bench: BENCH_PROXY_SERVERS: unknown proxy '$s'" \
		     "(asterd, nginx, haproxy)" >&2; exit 64 ;;
	esac
done
for c in $conc_list; do
	case $c in '' | *[!0-9]* | 0)
		echo "bench: BENCH_PROXY_CONNS must list positive integers" >&2
		exit 64 ;;
	esac
done

# wrk, nginx (the upstream, and a proxy), haproxy, curl: installed by
# scripts/deps.sh bench when missing (as root or with sudo).
missing_tools() {
	local t m=
	for t in wrk nginx haproxy curl; do
		command -v $t >/dev/null 2>&1 || m="$m $t"
	done
	echo "$m"
}
missing=$(missing_tools)
if [ -n "$missing" ]; then
	echo "bench: proxy.sh: missing:$missing; trying scripts/deps.sh bench" >&2
	sh "$benchdir/../scripts/deps.sh" bench >&2 || :
	missing=$(missing_tools)
	if [ -n "$missing" ]; then
		echo "bench: proxy.sh needs wrk, nginx, haproxy and curl;" \
		     "missing:$missing (apt-get install -y wrk nginx haproxy curl)" >&2
		exit 69
	fi
fi

ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asterd-proxy.XXXXXX") || exit 1
declare -A pid logf addr
wrk_pid=
cleanup() {
	trap - EXIT INT TERM HUP
	local n
	[ -n "$wrk_pid" ] && stop "$wrk_pid"
	for n in asterd nginx haproxy upstream; do
		[ -n "${pid[$n]:-}" ] && stop "${pid[$n]}"
	done
	rm -rf "$tmp"
}
bench_traps

# alive NAME: fails the run when NAME (a proxy or the upstream) exited.
alive() {
	local p=${pid[$1]:-}
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null && return 0
	[ -n "$p" ] && wait "$p"
	local st=$?
	pid[$1]=
	die "$1 exited (status $st) during the benchmark" "${logf[$1]}"
}

# port_free PORT: nothing accepts on 127.0.0.1:PORT.
port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# accepting PORT: something accepts on 127.0.0.1:PORT.
accepting() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start_fixed NAME CONFIG-FUNCTION CMD...: nginx and HAProxy cannot report
# an ephemeral port, so each gets a random free port of 20000-31999 (the
# function CONFIG-FUNCTION PORT writes its configuration), and another one
# when that one was taken meanwhile. Sets pid[NAME] and addr[NAME].
start_fixed() {
	local name=$1 writer=$2 attempt i port
	shift 2
	for ((attempt = 0; attempt < 8; attempt++)); do
		port=$((20000 + RANDOM % 12000))
		port_free "$port" || continue
		"$writer" "$port"
		: >"${logf[$name]}"
		"$@" </dev/null >>"${logf[$name]}" 2>&1 &
		pid[$name]=$!
		for ((i = 0; i < 200; i++)); do
			if ! kill -0 "${pid[$name]}" 2>/dev/null; then
				wait "${pid[$name]}"
				pid[$name]=
				grep -qi "address already in use\|cannot bind" \
					"${logf[$name]}" && continue 2
				die "$name did not start" "${logf[$name]}"
			fi
			if accepting "$port"; then
				addr[$name]=127.0.0.1:$port
				return 0
			fi
			sleep 0.05
		done
		die "$name does not accept connections on port $port" "${logf[$name]}"
	done
	die "$name found no free port in 8 tries" "${logf[$name]}"
}

# nginx_temps DIR: the temporary paths of the modules compiled in, in
# DIR, so that nginx never needs /var/lib/nginx (nor root).
nginx_temps() {
	local m
	for m in client_body proxy fastcgi uwsgi scgi; do
		case $m in client_body) ;; *)
			nginx -V 2>&1 | grep -q -- "--without-http_${m}_module" &&
				continue ;;
		esac
		printf '\t%s_temp_path %s/%s;\n' "$m" "$1" "$m"
	done
}

# --- the upstream ------------------------------------------------------
up_dir=$tmp/upstream
logf[upstream]=$up_dir/error.log
mkdir -p "$up_dir/www/api" || exit 1
head -c $((10 * 1024 * 1024)) /dev/urandom >"$up_dir/www/api/big.bin" ||
	exit 1

write_upstream_conf() {
	cat >"$up_dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $up_dir/nginx.pid;
error_log $up_dir/error.log error;
events {
	worker_connections 20000;
}
http {
	access_log off;
	keepalive_requests 1000000;
	keepalive_timeout 300s;
$(nginx_temps "$up_dir")
	server {
		listen 127.0.0.1:$1;
		location = /api/ping {
			default_type text/plain;
			return 200 "pong";
		}
		location /api/ {
			root $up_dir/www;
		}
		location = /nginx_status {
			stub_status;
		}
	}
}
EOF
}
start_fixed upstream write_upstream_conf \
	nginx -p "$up_dir/" -e "$up_dir/error.log" -c "$up_dir/nginx.conf"

# accepts: the connections the upstream has accepted so far, the one
# that asks included (so a difference of two counts the later one).
accepts() {
	local n
	n=$(curl -s --max-time 5 "http://${addr[upstream]}/nginx_status" |
		awk 'NR == 3 { print $1 }')
	case $n in '' | *[!0-9]*)
		die "cannot read the upstream's stub_status" "${logf[upstream]}" ;;
	esac
	echo "$n"
}

# --- nginx as the proxy ------------------------------------------------
px_dir=$tmp/nginx
logf[nginx]=$px_dir/error.log
mkdir -p "$px_dir" || exit 1
write_nginx_conf() {
	cat >"$px_dir/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $px_dir/nginx.pid;
error_log $px_dir/error.log error;
events {
	worker_connections 20000;
}
http {
	access_log off;
	keepalive_requests 1000000;
$(nginx_temps "$px_dir")
	upstream api {
		server ${addr[upstream]};
		keepalive 256;
		keepalive_requests 1000000;
		keepalive_timeout 60s;
	}
	server {
		listen 127.0.0.1:$1;
		location /api {
			proxy_pass http://api;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
}

# --- HAProxy -----------------------------------------------------------
ha_dir=$tmp/haproxy
logf[haproxy]=$ha_dir/haproxy.log
mkdir -p "$ha_dir" || exit 1
write_haproxy_conf() {
	cat >"$ha_dir/haproxy.cfg" <<EOF
global
	nbthread 1
	maxconn 4096
defaults
	mode http
	option http-keep-alive
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout http-keep-alive 60s
frontend fe
	bind 127.0.0.1:$1
	default_backend api
backend api
	http-reuse always
	server up ${addr[upstream]} pool-max-conn 256 pool-purge-delay 60s
EOF
}

# --- asterd ------------------------------------------------------------
as_dir=$tmp/asterd
logf[asterd]=$as_dir/asterd.err
mkdir -p "$as_dir/conf/modules" "$as_dir/run" "$as_dir/state" || exit 1
write_asterd_conf() {
	cat >"$as_dir/conf/product.yaml" <<'EOF'
kind: product
id: benchproxy
name: Proxy bench
version: 0.1.0
server:
  listen:
    - address: 127.0.0.1:0
      scopes: [public]
log: { access: false }
EOF
	cat >"$as_dir/conf/modules/api.yaml" <<EOF
kind: module
id: api
displayName: API behind the proxy
version: 0.1.0
upstreams:
  nginx:
    targets: [http://${addr[upstream]}]
    keepalive: 256
routes:
  - id: route:api.proxy
    scope: public
    methods: [GET, HEAD]
    mountPath: /api
    match: prefix
    handler: { proxy: { upstream: nginx, strip_prefix: false } }
EOF
}

start_asterd() {
	local i st
	write_asterd_conf
	export RUNTIME_DIRECTORY=$as_dir/run STATE_DIRECTORY=$as_dir/state
	"$asterd" --check-config -c "$as_dir/conf" >/dev/null \
		2>"$as_dir/check.err" ||
		die "asterd --check-config rejects the proxy product (upstreams, handler: {proxy: ...})" \
		    "$as_dir/check.err"
	: >"$as_dir/asterd.out"
	"$asterd" -c "$as_dir/conf" --ephemeral-ports </dev/null \
		>>"$as_dir/asterd.out" 2>"${logf[asterd]}" &
	pid[asterd]=$!
	for ((i = 0; i < 300; i++)); do
		grep -qx ready "$as_dir/asterd.out" && break
		if ! kill -0 "${pid[asterd]}" 2>/dev/null; then
			wait "${pid[asterd]}"
			st=$?
			pid[asterd]=
			die "asterd exited (status $st) before printing ready" \
			    "${logf[asterd]}"
		fi
		sleep 0.05
	done
	grep -qx ready "$as_dir/asterd.out" ||
		die "asterd did not print ready in 15 s" "${logf[asterd]}"
	addr[asterd]=$(awk '$1 == "listening" && $2 !~ /^unix:/ &&
		$3 ~ /(^|,)public(,|$)/ { print $2; exit }' "$as_dir/asterd.out")
	[ -n "${addr[asterd]}" ] ||
		die "asterd printed no TCP listener with scope public" \
		    "$as_dir/asterd.out"
}

# probe NAME: GET /api/ping through NAME must answer 200 "pong"; anything
# else stops the benchmark, saying what came back.
probe() {
	local name=$1 out=$tmp/probe.$1 code
	code=$(curl -s --max-time 10 -o "$out" -w '%{http_code}' \
		"http://${addr[$name]}/api/ping") || code="no answer (curl exit $?)"
	if [ "$code" != 200 ] || [ "$(cat "$out")" != pong ]; then
		echo "bench: $name answered GET /api/ping with $code," \
		     "not 200 \"pong\" from the upstream; the body:" >&2
		head -c 600 "$out" | sed 's/^/    /' >&2
		echo >&2
		die "$name does not proxy to the upstream" "${logf[$name]}"
	fi
}

# --- measuring ---------------------------------------------------------
# bench_wrk NAME CONNS SECONDS: one wrk run through NAME; sets rps, p99
# (ms) and opened (upstream connections accepted meanwhile).
bench_wrk() {
	local name=$1 c=$2 log=$tmp/wrk.$1.$2.out a0 a1
	a0=$(accepts)
	wrk_run "$name" "$name" "$log" "$3" -t1 -c"$c" --latency \
		"http://${addr[$name]}/api/ping"
	a1=$(accepts)
	opened=$((a1 - a0 - 1))
	p99=$(awk '$1 == "99%" {
		v = $2 + 0; u = $2; sub(/^[0-9.]+/, "", u)
		if (u == "us") v /= 1000; else if (u == "s") v *= 1000
		else if (u == "m") v *= 60000
		printf "%.3f\n", v }' "$log")
	if [ -z "$rps" ] || [ -z "$p99" ]; then
		die "cannot read requests/s and p99 in wrk's output" "$log"
	fi
}

# download NAME: MB/s (10^6 bytes) of /api/big.bin over one connection
# through NAME (or from the upstream itself).
download() {
	local name=$1 log=$tmp/dl.$1.out
	wrk_run "$name" "$name" "$log" "$seconds" -t1 -c1 \
		"http://${addr[$name]}/api/big.bin"
	mbs=$(awk '$1 == "Transfer/sec:" {
		v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
		m = u == "GB" ? 1073741824 : u == "MB" ? 1048576 : u == "KB" ? 1024 : 1
		printf "%.1f\n", v * m / 1e6 }' "$log")
	[ -n "$mbs" ] || die "cannot read Transfer/sec in wrk's output" "$log"
}

# rotated N: the proxies, starting with the N-th (mod their count).
rotated() {
	local a k i
	read -r -a a <<<"$servers"
	k=${#a[@]}
	for ((i = 0; i < k; i++)); do
		printf '%s ' "${a[$(((i + $1) % k))]}"
	done
}

hwm_kib() {
	awk '/^VmHWM:/ { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
}

# --- the run -----------------------------------------------------------
for s in $servers; do
	case $s in
	asterd) start_asterd ;;
	nginx) start_fixed nginx write_nginx_conf nginx -p "$px_dir/" \
		-e "$px_dir/error.log" -c "$px_dir/nginx.conf" ;;
	haproxy) write_haproxy_conf 1
		haproxy -c -f "$ha_dir/haproxy.cfg" >"$ha_dir/check.log" 2>&1 ||
			die "haproxy rejects its configuration" "$ha_dir/check.log"
		start_fixed haproxy write_haproxy_conf \
			haproxy -db -f "$ha_dir/haproxy.cfg" ;;
	esac
done
for s in $servers; do probe "$s"; done

echo "proxies: $(for s in $servers; do printf '%s at %s; ' "$s" "${addr[$s]}"; done)" \
     "upstream: nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') at ${addr[upstream]}"
echo "wrk -t1 -d${seconds}s --latency GET /api/ping, $runs rounds in rotating" \
     "order; $(haproxy -v 2>/dev/null | awk 'NR == 1 { print $1, $2, $3 }');" \
     "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A rps_med p99_med conns_sum
for c in $conc_list; do
	if [ "$warmup" -gt 0 ]; then
		for s in $servers; do bench_wrk "$s" "$c" "$warmup"; done
	fi
	for s in $servers; do
		: >"$tmp/rps.$s.$c"; : >"$tmp/p99.$s.$c"; conns_sum[$s.$c]=0
	done
	for ((r = 0; r < runs; r++)); do
		for s in $(rotated "$r"); do
			bench_wrk "$s" "$c" "$seconds"
			echo "$rps" >>"$tmp/rps.$s.$c"
			echo "$p99" >>"$tmp/p99.$s.$c"
			conns_sum[$s.$c]=$((conns_sum[$s.$c] + opened))
			printf 'c%-4d run %d %-8s %10.0f req/s  p99 %8.3f ms  upstream connections opened %d\n' \
				"$c" $((r + 1)) "$s" "$rps" "$p99" "$opened"
		done
	done
	for s in $servers; do
		rps_med[$s.$c]=$(median "$tmp/rps.$s.$c")
		p99_med[$s.$c]=$(awk -v v="$(median "$tmp/p99.$s.$c")" \
			'BEGIN { printf "%.3f", v }')
	done
done

declare -A dl_med
dl_names="upstream $servers"
for n in $dl_names; do : >"$tmp/dl.$n"; done
for ((r = 0; r < runs; r++)); do
	for n in $dl_names; do
		download "$n"
		echo "$mbs" >>"$tmp/dl.$n"
	done
done
for n in $dl_names; do
	dl_med[$n]=$(awk -v v="$(median "$tmp/dl.$n")" 'BEGIN { printf "%.1f", v }')
done

declare -A hwm
for s in $servers; do hwm[$s]=$(hwm_kib "${pid[$s]}"); done

echo
printf '%-8s %6s %10s %9s %9s %9s\n' proxy conns "req/s" "p99 ms" \
	"up conns" "peak RSS"
for c in $conc_list; do
	for s in $servers; do
		printf '%-8s %6d %10.0f %9.3f %9d %6.1f MiB\n' "$s" "$c" \
			"${rps_med[$s.$c]}" "${p99_med[$s.$c]}" "${conns_sum[$s.$c]}" \
			"$(awk -v k="${hwm[$s]:-0}" 'BEGIN { print k / 1024 }')"
	done
done
echo "median of $runs runs of ${seconds} s; up conns: connections the" \
     "upstream accepted from the proxy during those runs (after the warm-up);" \
     "peak RSS: VmHWM after everything"
printf '\n10 MiB download (wrk -t1 -c1, MB/s, median of %d runs of %d s):' \
	"$runs" "$seconds"
for n in $dl_names; do
	printf ' %s %s' "$([ "$n" = upstream ] && echo direct || echo "$n")" \
		"${dl_med[$n]}"
done
echo

fail=0
verdict() {   # verdict OK TEXT
	if [ "$1" = 1 ]; then echo "PASS  $2"; else echo "FAIL  $2"; fail=1; fi
}
case " $servers " in *" asterd "*) has_asterd=1 ;; *) has_asterd=0 ;; esac
case " $servers " in *" nginx "*) has_nginx=1 ;; *) has_nginx=0 ;; esac
if [ $has_asterd = 1 ] && [ $has_nginx = 1 ]; then
	for c in $conc_list; do
		rr=$(ratio "${rps_med[asterd.$c]}" "${rps_med[nginx.$c]}")
		pr=$(ratio "${p99_med[asterd.$c]}" "${p99_med[nginx.$c]}")
		echo "c$c ratio asterd/nginx: requests/s ${rr}x, p99 ${pr}x"
		ok=$(awk -v r="$rr" -v m="$min_ratio" 'BEGIN { print (r + 0 >= m + 0) ? 1 : 0 }')
		verdict "$ok" "c$c asterd requests/s ${rr}x nginx (target >= ${min_ratio}x)"
		ok=$(awk -v a="${p99_med[asterd.$c]}" -v b="${p99_med[nginx.$c]}" \
			'BEGIN { print (a + 0 <= b + 0) ? 1 : 0 }')
		verdict "$ok" "c$c asterd p99 ${p99_med[asterd.$c]} ms (target <= nginx's ${p99_med[nginx.$c]} ms)"
	done
fi
if [ $has_asterd = 1 ]; then
	dr=$(ratio "${dl_med[asterd]}" "${dl_med[upstream]}")
	ok=$(awk -v r="$dr" -v l="$max_dl_loss" 'BEGIN { print (r + 0 >= 1 - l) ? 1 : 0 }')
	verdict "$ok" "10 MiB through asterd ${dr}x the direct download (target >= $(awk -v l="$max_dl_loss" 'BEGIN { print 1 - l }')x)"
	# Reuse: over every measured run, fewer upstream connections than
	# the client connections wrk opened (a pool that reuses nothing opens
	# one per request).
	for c in $conc_list; do
		ok=$(awk -v n="${conns_sum[asterd.$c]}" -v c="$c" -v r="$runs" \
			'BEGIN { print (n <= c * r) ? 1 : 0 }')
		verdict "$ok" "c$c asterd opened ${conns_sum[asterd.$c]} upstream connections in $runs runs (target <= $((c * runs)): reused)"
	done
else
	echo "asterd not measured (BENCH_PROXY_SERVERS=\"$servers\"): no verdict"
fi
exit $fail
