#!/usr/bin/env bash
# bench/auth.sh ASTERD - what a credential costs a request.
#
# Starts, on loopback only, `ASTERD -c DIR --ephemeral-ports` on a product
# it writes into a temporary directory: one public+user+admin listener,
# no access log, the state store on SQLite (a file in the temporary
# directory), module `auth` (provider auth, with a JWKS file of one RSA
# key) and three routes with the same `respond` handler (200, "ok"):
#
#     GET /bench/public   scope public   no credential
#     GET /bench/key      scope user     an API key made by asterctl
#     GET /bench/jwt      scope user     an RS256 JWT
#
# The JWT and the JWKS are made here with the openssl command line (RSA
# 2048, the modulus as base64url with basenc). Then `wrk -t2 -c64 -d10s`
# on each route, one at a time, in rotating order, BENCH_AUTH_RUNS times
# (after a short warm-up of each), and the median requests/s of each. It
# prints every run, a table and the overhead of each credential,
# 1 - (req/s with it) / (req/s public), and the verdict on the target:
#
#     overhead of an API key <= 15 %, and of a JWT <= 15 %
#
# Exits 0 when both pass; when one fails it prints FAIL and exits 0, or 1
# with BENCH_STRICT=1. Exits 1 when a step goes wrong (asterd does not
# start, a key cannot be made, an answer other than 200, wrk errors), 64
# on bad usage, 69 when wrk, openssl or basenc is missing. Everything it
# starts is stopped, and its temporary directory removed, on any exit.
#
# Environment: BENCH_AUTH_RUNS (3), BENCH_AUTH_SECONDS (10),
# BENCH_AUTH_WARMUP (2 seconds per route, 0: none), BENCH_AUTH_THREADS
# (2), BENCH_AUTH_CONNS (64), BENCH_AUTH_MAX_OVERHEAD (15, percent),
# BENCH_STRICT (0), ASTER_MODULE_PATH (else the modules/ beside ASTERD),
# TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
unset NOTIFY_SOCKET

runs=${BENCH_AUTH_RUNS:-3}
seconds=${BENCH_AUTH_SECONDS:-10}
warmup=${BENCH_AUTH_WARMUP:-2}
threads=${BENCH_AUTH_THREADS:-2}
conns=${BENCH_AUTH_CONNS:-64}
max_overhead=${BENCH_AUTH_MAX_OVERHEAD:-15}
strict=${BENCH_STRICT:-0}
asterctl=$(dirname "$asterd")/asterctl
modpath=${ASTER_MODULE_PATH:-$(dirname "$asterd")/modules}
bench_check_numbers BENCH_AUTH_WARMUP runs seconds threads conns
case $max_overhead in '' | *[!0-9.]*)
	echo "bench: BENCH_AUTH_MAX_OVERHEAD must be a percentage" >&2; exit 64 ;;
esac
if [ ! -x "$asterctl" ]; then
	echo "bench: no asterctl beside $asterd; run make first" >&2
	exit 64
fi

missing=
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v basenc >/dev/null 2>&1 || missing="$missing basenc"
if [ -n "$missing" ]; then
	echo "bench: auth.sh needs wrk, openssl and basenc; missing:$missing" >&2
	echo "bench: install them with: apt-get install -y wrk openssl" \
	     "coreutils" >&2
	exit 69
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asterd-auth.XXXXXX") || exit 1
asterd_pid=
wrk_pid=

cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$wrk_pid" ] && stop "$wrk_pid"
	[ -n "$asterd_pid" ] && stop "$asterd_pid"
	rm -rf "$tmp"
}
bench_traps

alive() {
	kill -0 "$asterd_pid" 2>/dev/null && return 0
	wait "$asterd_pid"
	local st=$?
	asterd_pid=
	die "asterd exited (status $st) during the benchmark" "$tmp/asterd.err"
}

# b64url: standard input as base64url without padding (RFC 7515 2).
b64url() {
	basenc --base64url -w0 | tr -d '='
}

# --- the JWT ---------------------------------------------------------------
# An RSA 2048 key, its JWKS (kid "bench") and an RS256 token valid for a
# day, all with the openssl command line.
make_jwt() {
	local key=$tmp/jwt.pem n h p sig now
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out "$key" 2>"$tmp/openssl.err" ||
		die "openssl cannot make an RSA key" "$tmp/openssl.err"
	openssl rsa -in "$key" -noout -text 2>/dev/null |
		grep -q '^publicExponent: 65537 ' ||
		die "the RSA key's public exponent is not 65537"
	n=$(openssl rsa -in "$key" -noout -modulus 2>"$tmp/openssl.err" |
		sed 's/^Modulus=//' | tr 'a-f' 'A-F' | basenc --base16 -d | b64url)
	[ ${#n} -eq 342 ] || die "cannot read the RSA modulus" "$tmp/openssl.err"
	printf '{"keys":[{"kty":"RSA","kid":"bench","alg":"RS256","use":"sig","n":"%s","e":"AQAB"}]}\n' \
		"$n" >"$tmp/jwks.json"
	now=$(date +%s)
	h=$(printf '%s' '{"alg":"RS256","typ":"JWT","kid":"bench"}' | b64url)
	p=$(printf '{"sub":"bench","iss":"https://bench.test/","aud":"aster-bench","iat":%d,"exp":%d,"role":"user"}' \
		"$now" $((now + 86400)) | b64url)
	sig=$(printf '%s.%s' "$h" "$p" |
		openssl dgst -sha256 -sign "$key" -binary 2>"$tmp/openssl.err" |
		b64url)
	[ -n "$sig" ] || die "openssl cannot sign the JWT" "$tmp/openssl.err"
	jwt=$h.$p.$sig
}

# --- the product -----------------------------------------------------------
write_product() {
	local c=$tmp/conf
	mkdir -p "$c/modules" "$tmp/state" || exit 1
	cat >"$c/product.yaml" <<EOF || exit 1
kind: product
id: authbench
name: Auth benchmark
version: 0.1.0
server:
  listen:
    - address: 127.0.0.1:0
      scopes: [public, user, admin]
  control: $tmp/control.sock
log:
  access: false
EOF
	cat >"$c/modules/database.yaml" <<EOF || exit 1
kind: module
id: database
displayName: Database
version: 0.1.0
provides: [state-store]
services:
  - id: store
    provider: sqlite
    config: { path: "$tmp/state/aster.db" }
EOF
	cat >"$c/modules/auth.yaml" <<EOF || exit 1
kind: module
id: auth
displayName: Auth
version: 0.1.0
provides: [auth]
needs: [state-store]
services:
  - id: verifier
    provider: auth
    config:
      jwt:
        jwks: "$tmp/jwks.json"
        issuer: "https://bench.test/"
        audience: aster-bench
        leeway_s: 30
  - id: api
    provider: gateway
routes:
  - id: route:auth.whoami
    scope: user
    methods: [GET]
    mountPath: /gateway/v1/whoami
    handler: { service: api, operation: whoami }
EOF
	cat >"$c/modules/bench.yaml" <<EOF || exit 1
kind: module
id: bench
displayName: Benchmark routes
version: 0.1.0
routes:
  - id: route:bench.public
    scope: public
    methods: [GET]
    mountPath: /bench/public
    handler: { respond: { status: 200, body: ok } }
  - id: route:bench.key
    scope: user
    methods: [GET]
    mountPath: /bench/key
    handler: { respond: { status: 200, body: ok } }
  - id: route:bench.jwt
    scope: user
    methods: [GET]
    mountPath: /bench/jwt
    handler: { respond: { status: 200, body: ok } }
EOF
}

start_asterd() {
	local i
	export ASTER_MODULE_PATH=$modpath
	"$asterd" --check-config -c "$tmp/conf" >/dev/null 2>"$tmp/check.err" ||
		die "asterd --check-config rejects the benchmark product" \
		    "$tmp/check.err"
	: >"$tmp/asterd.out"
	"$asterd" -c "$tmp/conf" --ephemeral-ports </dev/null \
		>>"$tmp/asterd.out" 2>"$tmp/asterd.err" &
	asterd_pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -qx ready "$tmp/asterd.out" && break
		alive
		sleep 0.05
	done
	grep -qx ready "$tmp/asterd.out" ||
		die "asterd did not print ready in 15 s" "$tmp/asterd.err"
	addr=$(awk '$1 == "listening" && $2 !~ /^unix:/ &&
		$3 ~ /(^|,)public(,|$)/ { print $2; exit }' "$tmp/asterd.out")
	[ -n "$addr" ] || die "asterd printed no TCP listener with scope public" \
		"$tmp/asterd.out"
}

# status PATH [TOKEN]: the status code of one GET (bash's /dev/tcp).
status() {
	local line host=${addr%:*} port=${addr##*:} auth=
	[ -n "${2:-}" ] && auth="Authorization: Bearer $2"$'\r\n'
	exec 3<>"/dev/tcp/$host/$port" || return 1
	printf 'GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n' \
		"$1" "$addr" "$auth" >&3
	IFS=' ' read -r -t 5 _ line _ <&3 || line=
	exec 3<&-
	echo "$line"
}

# --- wrk -------------------------------------------------------------------
# bench_wrk NAME SECONDS: one wrk run on /bench/NAME with its credential;
# sets rps and cpu_us (asterd's CPU time per request, microseconds).
bench_wrk() {
	local name=$1 log=$tmp/wrk.$1.out t0 t1 hdr=()
	case $name in
	key) hdr=(-H "Authorization: Bearer $key") ;;
	jwt) hdr=(-H "Authorization: Bearer $jwt") ;;
	esac
	t0=$(cpu_ticks "$asterd_pid")
	wrk_run asterd "/bench/$name" "$log" "$2" -t"$threads" -c"$conns" \
		"${hdr[@]}" "http://$addr/bench/$name"
	t1=$(cpu_ticks "$asterd_pid")
	[ -n "$rps" ] && [ -n "$wrk_requests" ] ||
		die "cannot read requests/s in wrk's output" "$log"
	cpu_us=$(us_per_request "$t0" "$t1" "$wrk_requests")
}

# --- the run ---------------------------------------------------------------
clk_tck=$(getconf CLK_TCK 2>/dev/null) || clk_tck=100
make_jwt
write_product
start_asterd

key=$("$asterctl" --socket "$tmp/control.sock" keys create --role user \
	--name bench 2>"$tmp/asterctl.err" | head -n 1)
case $key in aster_*) ;; *) die "asterctl keys create made no key" "$tmp/asterctl.err" ;; esac

# Each route answers 200 with its credential, the user routes 401 without.
for check in "public::200" "key:$key:200" "jwt:$jwt:200" "key::401" "jwt::401"; do
	route=${check%%:*} rest=${check#*:}
	want=${rest##*:} token=${rest%:*}
	got=$(status "/bench/$route" "$token")
	[ "$got" = "$want" ] || die "GET /bench/$route${token:+ with its credential}:" \
		"${got:-no answer}, expected $want" "$tmp/asterd.err"
done

echo "asterd at $addr; wrk -t$threads -c$conns -d${seconds}s per run," \
     "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
names="public key jwt"
if [ "$warmup" -gt 0 ]; then
	for name in $names; do bench_wrk "$name" "$warmup"; done
fi
for name in $names; do : >"$tmp/rps.$name"; : >"$tmp/cpu.$name"; done
for ((r = 1; r <= runs; r++)); do
	case $((r % 3)) in
	1) order="public key jwt" ;;
	2) order="key jwt public" ;;
	0) order="jwt public key" ;;
	esac
	for name in $order; do
		bench_wrk "$name" "$seconds"
		echo "$rps" >>"$tmp/rps.$name"
		echo "$cpu_us" >>"$tmp/cpu.$name"
		printf 'run %d %-7s %10.0f req/s  CPU %6.2f us/req\n' \
			"$r" "$name" "$rps" "$cpu_us"
	done
done

declare -A rps_med cpu_med
for name in $names; do
	rps_med[$name]=$(median "$tmp/rps.$name")
	cpu_med[$name]=$(median "$tmp/cpu.$name")
done
echo
printf '%-22s %10s %10s %11s %12s\n' "credential" "req/s" "overhead" \
	"CPU us/req" "CPU vs public"
for name in $names; do
	case $name in
	public) label="none (scope public)" ;;
	key) label="API key (scope user)" ;;
	jwt) label="RS256 JWT (scope user)" ;;
	esac
	over=$(awk -v a="${rps_med[$name]}" -v b="${rps_med[public]}" \
		'BEGIN { if (b > 0) printf "%.1f%%", (1 - a / b) * 100; else print "?" }')
	cpu=$(awk -v a="${cpu_med[$name]}" -v b="${cpu_med[public]}" \
		'BEGIN { if (b > 0) printf "%+.1f%%", (a / b - 1) * 100; else print "?" }')
	if [ "$name" = public ]; then over=- cpu=-; fi
	printf '%-22s %10.0f %10s %11.2f %12s\n' "$label" "${rps_med[$name]}" \
		"$over" "${cpu_med[$name]}" "$cpu"
done
echo "median of $runs runs of ${seconds} s each, rotating order;" \
     "overhead = 1 - req/s with the credential / req/s public;" \
     "CPU: asterd's CPU time per request (no target)"

fail=0
for name in key jwt; do
	case $name in key) label="API key" ;; jwt) label="RS256 JWT" ;; esac
	over=$(awk -v a="${rps_med[$name]}" -v b="${rps_med[public]}" \
		'BEGIN { if (b > 0) printf "%.1f", (1 - a / b) * 100; else print 100 }')
	if awk -v o="$over" -v m="$max_overhead" 'BEGIN { exit !(o + 0 <= m + 0) }'
	then echo "PASS  $label overhead $over% (target <= $max_overhead%)"
	else echo "FAIL  $label overhead $over% (target <= $max_overhead%)"
	     fail=1
	fi
done
if [ $fail -ne 0 ] && [ "$strict" = 1 ]; then
	exit 1
fi
exit 0
