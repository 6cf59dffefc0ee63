#!/usr/bin/env bash
# bench/static.sh ASTERD - static file serving, against another build.
#
# Serves, on loopback, a product with one plain and one TLS listener (a
# self-signed P-256 certificate made with the openssl command) and a
# static route over three files: small.txt (1 KiB), f16m.bin (16 MiB, the
# largest answer asterd served before files were streamed) and big.bin
# (1 GiB). With BENCH_BASELINE=OTHER_ASTERD the same runs are made on
# that binary too, alternating, so two builds compare side by side:
#
#   - small file, plain and TLS: `wrk -t1 -c64` requests/s;
#   - 16 MiB file, plain and TLS: `wrk -t1 -c1` and `-c8` MB/s;
#   - 1 GiB file, plain and TLS: one `curl` download, MB/s (a binary that
#     does not answer 200 with the whole file shows "-").
#
# Medians of BENCH_STATIC_RUNS (3) runs of BENCH_STATIC_SECONDS (5) each.
# Prints a table; exits 0, or 1 when a step goes wrong, 69 without wrk,
# curl or openssl. Environment: BENCH_BASELINE, BENCH_STATIC_RUNS,
# BENCH_STATIC_SECONDS, TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
unset NOTIFY_SOCKET

runs=${BENCH_STATIC_RUNS:-3}
seconds=${BENCH_STATIC_SECONDS:-5}
baseline=${BENCH_BASELINE:-}
for tool in wrk curl openssl; do
	command -v $tool >/dev/null 2>&1 || {
		echo "bench: static.sh needs $tool (apt-get install -y $tool)" >&2
		exit 69
	}
done
if [ -n "$baseline" ]; then
	case $baseline in /*) ;; *) baseline=$OLDPWD/$baseline ;; esac
	[ -x "$baseline" ] || { echo "bench: $baseline is not an executable" >&2; exit 64; }
fi

tmp=$(mktemp -d) || exit 1
pid=
cleanup() {
	[ -n "$pid" ] && stop "$pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

conf=$tmp/conf
mkdir -p "$conf/modules" "$conf/static"
cat >"$conf/product.yaml" <<'EOF'
kind: product
id: benchstatic
name: Static bench
version: 0.1.0
server:
  listen:
    - address: 127.0.0.1:0
      scopes: [public]
    - address: 127.0.0.1:0
      scopes: [public]
      tls: { cert: server.crt, key: server.key }
log: { access: false }
EOF
cat >"$conf/modules/site.yaml" <<'EOF'
kind: module
id: site
displayName: Site
version: 0.1.0
routes:
  - id: route:site.files
    scope: public
    methods: [GET]
    mountPath: /f
    match: prefix
    handler: { static: { root: ../static } }
EOF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=bench -days 1 -keyout "$conf/server.key" \
	-out "$conf/server.crt" >/dev/null 2>&1 || die "openssl req failed"
head -c 1024 /dev/urandom >"$conf/static/small.txt"
head -c $((16 * 1024 * 1024)) /dev/urandom >"$conf/static/f16m.bin"
dd if=/dev/zero of="$conf/static/big.bin" bs=1M count=1024 status=none
cat "$conf/static/"* >/dev/null      # into the page cache

# start BINARY: runs it on the product; sets pid, plain and tls.
start() {
	: >"$tmp/out"
	"$1" -c "$conf" --ephemeral-ports </dev/null >"$tmp/out" \
		2>"$tmp/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$tmp/out" && break
		kill -0 "$pid" 2>/dev/null || die "asterd exited" "$tmp/err"
		sleep 0.1
	done
	grep -q '^ready' "$tmp/out" || die "asterd is not ready" "$tmp/err"
	plain=$(awk '$1 == "listening" { print $2; exit }' "$tmp/out")
	tls=$(awk '$1 == "listening" { n++ } n == 2 { print $2; exit }' \
		"$tmp/out")
}

# wrk_req URL CONNS: requests/s.
wrk_req() {
	wrk -t1 -c"$2" -d"${seconds}s" "$1" 2>&1 |
		awk '$1 == "Requests/sec:" { print $2 }'
}

# wrk_mbs URL CONNS: MB/s (10^6 bytes).
wrk_mbs() {
	wrk -t1 -c"$2" -d"${seconds}s" "$1" 2>&1 | awk '
		$1 == "Transfer/sec:" {
			v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
			m = u == "GB" ? 1073741824 : u == "MB" ? 1048576 : u == "KB" ? 1024 : 1
			printf "%.0f\n", v * m / 1e6 }'
}

# curl_mbs URL: MB/s of one whole download of big.bin, or "-".
curl_mbs() {
	curl -sk -o /dev/null -w '%{http_code} %{size_download} %{speed_download}\n' \
		"$1" | awk '$1 == 200 && $2 == 1073741824 { printf "%.0f\n", $3 / 1e6; ok = 1 }
		END { if (!ok) print "-" }'
}

# measure NAME BINARY: one run of everything, appended to $tmp/NAME.*.
measure() {
	start "$2"
	wrk_req "http://$plain/f/small.txt" 64 >>"$tmp/$1.small_plain"
	wrk_req "https://$tls/f/small.txt" 64 >>"$tmp/$1.small_tls"
	wrk_mbs "http://$plain/f/f16m.bin" 1 >>"$tmp/$1.f16_plain_1"
	wrk_mbs "http://$plain/f/f16m.bin" 8 >>"$tmp/$1.f16_plain_8"
	wrk_mbs "https://$tls/f/f16m.bin" 1 >>"$tmp/$1.f16_tls_1"
	wrk_mbs "https://$tls/f/f16m.bin" 8 >>"$tmp/$1.f16_tls_8"
	curl_mbs "http://$plain/f/big.bin" >>"$tmp/$1.big_plain"
	curl_mbs "https://$tls/f/big.bin" >>"$tmp/$1.big_tls"
	stop "$pid"
	pid=
}

# cell NAME KEY: the median, or "-" when a run had none.
cell() {
	if [ ! -s "$tmp/$1.$2" ] || grep -qv '^[0-9.]*$' "$tmp/$1.$2"; then
		echo "-"
	else
		median "$tmp/$1.$2"
	fi
}

for ((r = 0; r < runs; r++)); do
	measure this "$asterd"
	[ -n "$baseline" ] && measure base "$baseline"
done

printf '%-34s %14s' "" "this build"
[ -n "$baseline" ] && printf ' %14s' "baseline"
printf '\n'
for row in "small.txt plain, req/s (c64):small_plain" \
	   "small.txt TLS, req/s (c64):small_tls" \
	   "16 MiB plain, MB/s (c1):f16_plain_1" \
	   "16 MiB plain, MB/s (c8):f16_plain_8" \
	   "16 MiB TLS, MB/s (c1):f16_tls_1" \
	   "16 MiB TLS, MB/s (c8):f16_tls_8" \
	   "1 GiB plain, MB/s (curl):big_plain" \
	   "1 GiB TLS, MB/s (curl):big_tls"; do
	printf '%-34s %14s' "${row%%:*}" "$(cell this "${row##*:}")"
	[ -n "$baseline" ] && printf ' %14s' "$(cell base "${row##*:}")"
	printf '\n'
done
exit 0
