#!/usr/bin/env bash
# bench/state.sh ASTERD - throughput of the internal state API against
# PostgreSQL itself (pgbench), and on SQLite.
#
# Everything runs on loopback and Unix sockets only, in a temporary
# directory:
#
#   1. A throwaway PostgreSQL made the way the test harness makes one
#      (tests/harness/pg.c): initdb (as the `postgres` user when run as
#      root), listen_addresses '' so only a Unix socket in the temporary
#      directory, fsync on, trust authentication for the user `aster`,
#      database `aster`, locale C.
#   2. asterd on a generated product: one internal listener and the
#      module `database` as conf.d/database.yaml has it, its store the
#      postgres provider (pool_size = the concurrency). The namespace
#      `bench` gets keys k0 .. k9999 first (bench/state-fill.lua).
#   3. BENCH_STATE_RUNS (3) rounds, in alternating order, of
#        wrk -t2 -c16 -d10s -s state-put.lua   PUT, random key of 10,000
#        pgbench -f state-upsert.sql           the provider's upsert
#        wrk ... -s state-get.lua              GET, random key
#        pgbench -f state-select.sql           the provider's select
#      pgbench: -n -M prepared -c 16 -j 2 -T 10, on bench_documents, a
#      table equal to the provider's (aster_documents), filled with the
#      same 10,000 rows.
#   4. asterd again, with the sqlite provider (a file in the temporary
#      directory), filled the same way, and BENCH_STATE_RUNS rounds of
#      the two wrk runs.
#
# Prints every run, then a table of the median requests/s (transactions/s
# for pgbench) and the ratios asterd-pg PUT / pgbench upsert (target >=
# BENCH_STATE_MIN_RATIO, 0.5) and asterd-pg GET / pgbench select. The
# table and the logs go to BENCH_OUT/state/ (bench/out is git-ignored).
# Any non-2xx answer, socket error, or server that exits fails the run.
#
# Exits 0 when the target passes, 1 when it fails or something goes wrong,
# 64 on bad usage, 69 when wrk, pgbench or the PostgreSQL server programs
# are missing (scripts/deps.sh bench installs them: wrk, postgresql).
#
# Environment: BENCH_STATE_RUNS (3), BENCH_STATE_SECONDS (10),
# BENCH_STATE_CONNS (16), BENCH_STATE_THREADS (2), BENCH_STATE_KEYS
# (10000), BENCH_STATE_MIN_RATIO (0.5), BENCH_STATE_WARMUP (2 seconds of
# each workload first, 0: none), BENCH_PG_BINDIR (else the newest
# /usr/lib/postgresql/N/bin, else PATH), ASTER_MODULE_PATH (else the
# modules/ beside ASTERD), BENCH_OUT (bench/out), TMPDIR.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_init "$@"
# Its logs stay in BENCH_OUT/state: die names them by their whole path.
die_full_path=1
unset NOTIFY_SOCKET
PATH=$PATH:/usr/sbin:/sbin

runs=${BENCH_STATE_RUNS:-3}
seconds=${BENCH_STATE_SECONDS:-10}
conc=${BENCH_STATE_CONNS:-16}
threads=${BENCH_STATE_THREADS:-2}
keys=${BENCH_STATE_KEYS:-10000}
warmup=${BENCH_STATE_WARMUP:-2}
min_ratio=${BENCH_STATE_MIN_RATIO:-0.5}
out=${BENCH_OUT:-$benchdir/out}/state
modpath=${ASTER_MODULE_PATH:-$(dirname "$asterd")/modules}
bench_check_numbers BENCH_STATE_WARMUP runs seconds conc threads keys
if [ "$conc" -lt "$threads" ]; then
	echo "bench: BENCH_STATE_CONNS must be at least BENCH_STATE_THREADS" >&2
	exit 64
fi
export BENCH_STATE_KEYS=$keys

# --- what it needs ---------------------------------------------------------
pgbin=${BENCH_PG_BINDIR:-}
if [ -z "$pgbin" ]; then
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n |
		tail -n 1)
fi
pgcmd() {
	if [ -n "$pgbin" ] && [ -x "$pgbin/$1" ]; then echo "$pgbin/$1"
	else command -v "$1"; fi
}
missing=
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
for p in initdb pg_ctl pgbench psql; do
	[ -n "$(pgcmd "$p")" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bench: state.sh needs wrk and PostgreSQL's programs; missing:$missing" >&2
	echo "bench: install them with: apt-get install -y wrk postgresql" >&2
	exit 69
fi
for m in postgres sqlite; do
	found=
	IFS=: read -r -a dirs <<<"$modpath"
	for d in "${dirs[@]}"; do
		[ -f "$d/$m.so" ] && found=1
	done
	if [ -z "$found" ]; then
		echo "bench: no $m.so in the module path $modpath (make builds" \
		     "it beside asterd; or set ASTER_MODULE_PATH)" >&2
		exit 1
	fi
done

mkdir -p "$out" || exit 1
# The socket path must fit in sun_path: keep the directory's name short.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/asb.XXXXXX") || exit 1
pg_dir=$tmp/pg
pg_started=
asterd_pid=
job_pid=

# As root, the server programs run as `postgres`, which must reach $tmp.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		echo "bench: as root, PostgreSQL runs as the user postgres," \
		     "which does not exist (install the postgresql package)" >&2
		exit 1
	fi
	if command -v runuser >/dev/null 2>&1; then
		as_pg=(runuser -u postgres --)
	else
		as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
	fi
	chmod 0711 "$tmp" || exit 1
	d=$(dirname "$tmp")
	while [ "$d" != / ]; do
		if ! "${as_pg[@]}" test -x "$d"; then
			echo "bench: the postgres user cannot enter $d; set TMPDIR" \
			     "to a directory it can reach" >&2
			exit 1
		fi
		d=$(dirname "$d")
	done
fi

cleanup() {
	trap - EXIT INT TERM HUP
	[ -n "$job_pid" ] && stop "$job_pid"
	[ -n "$asterd_pid" ] && stop "$asterd_pid"
	if [ -n "$pg_started" ]; then
		"${as_pg[@]}" "$(pgcmd pg_ctl)" -D "$pg_dir/data" -m immediate \
			-t 30 -w stop >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
bench_traps

# --- PostgreSQL ------------------------------------------------------------
pg_port=$((20000 + RANDOM % 40000))
psql_() {
	"$(pgcmd psql)" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir" -p "$pg_port" \
		-U aster "$@"
}
start_pg() {
	mkdir -p "$pg_dir" || exit 1
	[ ${#as_pg[@]} -gt 0 ] && { chown postgres: "$pg_dir" || exit 1; }
	"${as_pg[@]}" "$(pgcmd initdb)" -D "$pg_dir/data" -U aster \
		--auth=trust -E UTF8 --locale=C --no-sync \
		>"$out/initdb.log" 2>&1 ||
		die "initdb failed" "$out/initdb.log"
	# The harness's settings, but the default shared_buffers, and room
	# for asterd's pool and pgbench's clients at once.
	"${as_pg[@]}" sh -c "cat >>'$pg_dir/data/postgresql.conf'" <<EOF || exit 1

# bench/state.sh
listen_addresses = ''
port = $pg_port
unix_socket_directories = '$pg_dir'
unix_socket_permissions = 0777
max_connections = $((2 * conc + 20))
fsync = on
synchronous_commit = on
log_min_messages = warning
EOF
	pg_started=1
	"${as_pg[@]}" "$(pgcmd pg_ctl)" -D "$pg_dir/data" \
		-l "$pg_dir/server.log" -t 60 -w start >"$out/pg_ctl.log" 2>&1 ||
		die "PostgreSQL did not start" "$pg_dir/server.log"
	psql_ -d postgres -c "CREATE DATABASE aster" >"$out/psql.log" 2>&1 ||
		die "CREATE DATABASE failed" "$out/psql.log"
	# The provider's table (modules/postgres/docs.c), under another name,
	# for pgbench; filled with the keys asterd's namespace gets.
	psql_ -d aster >>"$out/psql.log" 2>&1 <<EOF ||
CREATE TABLE bench_documents (
	namespace text NOT NULL,
	key text COLLATE "C" NOT NULL,
	value text NOT NULL,
	version bigint NOT NULL,
	PRIMARY KEY (namespace, key));
CREATE SEQUENCE bench_document_version;
INSERT INTO bench_documents
	SELECT 'bench', 'k' || i, '{"n":42,"s":"bench","ok":true}',
	       nextval('bench_document_version')
	FROM generate_series(0, $keys - 1) AS i;
VACUUM ANALYZE bench_documents;
EOF
		die "creating bench_documents failed" "$out/psql.log"
	pg_version=$(psql_ -d aster -At -c "SHOW server_version")
}

# --- asterd ----------------------------------------------------------------
# write_product DIR PROVIDER: the product, with the store's config.
write_product() {
	local dir=$1 provider=$2
	mkdir -p "$dir/modules" || exit 1
	cat >"$dir/product.yaml" <<EOF
kind: product
id: statebench
name: State API benchmark
description: The internal state API for bench/state.sh.
version: 0.1.0
server:
  listen:
    - address: 127.0.0.1:18571
      scopes: [internal]
  limits:
    max_connections: 10000
  shutdown_timeout_ms: 5000
log:
  format: text
  level: warn
  access: false
EOF
	{
		cat <<EOF
kind: module
id: database
displayName: Database
version: 0.1.0
description: The state store and the internal state API.
provides: [state-store]
services:
  - id: store
EOF
		if [ "$provider" = postgres ]; then
			cat <<EOF
    provider: postgres
    config:
      dsn: "host=$pg_dir port=$pg_port user=aster dbname=aster"
      pool_size: $conc
EOF
		else
			cat <<EOF
    provider: sqlite
    config:
      path: "$tmp/sqlite/aster.db"
EOF
		fi
		cat <<EOF
  - id: state
    provider: gateway
routes:
  - id: route:database.state.document
    scope: internal
    methods: [GET, PUT, DELETE]
    mountPath: /gateway/v1/internal/state/{namespace}/{key}
    handler: { service: state, operation: state }
  - id: route:database.state.list
    scope: internal
    methods: [GET]
    mountPath: /gateway/v1/internal/state/{namespace}
    handler: { service: state, operation: state-list }
EOF
	} >"$dir/modules/database.yaml"
}

# start_asterd PROVIDER: runs asterd on its product; sets asterd_addr.
start_asterd() {
	local provider=$1 dir=$tmp/conf-$1 i st
	write_product "$dir" "$provider"
	mkdir -p "$tmp/sqlite" "$tmp/run" || exit 1
	asterd_log=$out/asterd-$provider.err
	: >"$tmp/asterd.out"
	RUNTIME_DIRECTORY=$tmp/run STATE_DIRECTORY=$tmp/sqlite \
		"$asterd" -c "$dir" --ephemeral-ports --module-path "$modpath" \
		</dev/null >>"$tmp/asterd.out" 2>"$asterd_log" &
	asterd_pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -qx ready "$tmp/asterd.out" && break
		if ! kill -0 "$asterd_pid" 2>/dev/null; then
			wait "$asterd_pid"
			st=$?
			asterd_pid=
			die "asterd ($provider) exited (status $st) before ready" \
			    "$asterd_log"
		fi
		sleep 0.05
	done
	grep -qx ready "$tmp/asterd.out" ||
		die "asterd ($provider) did not print ready in 15 s" "$asterd_log"
	asterd_addr=$(awk '$1 == "listening" && $2 !~ /^unix:/ &&
		$3 ~ /(^|,)internal(,|$)/ { print $2; exit }' "$tmp/asterd.out")
	[ -n "$asterd_addr" ] ||
		die "asterd printed no TCP listener with scope internal" \
		    "$tmp/asterd.out"
}

stop_asterd() {
	stop "$asterd_pid"
	asterd_pid=
}

asterd_alive() {
	kill -0 "$asterd_pid" 2>/dev/null && return 0
	wait "$asterd_pid"
	local st=$?
	asterd_pid=
	die "asterd exited (status $st) during the benchmark" "$asterd_log"
}

# fill: PUTs every key once (bench/state-fill.lua, which ends wrk when
# done), bounded to 120 s.
fill() {
	local log=$out/fill-$1.log
	bounded 150 "$log" wrk -t1 -c"$conc" -d120s -s state-fill.lua \
		"http://$asterd_addr"
	asterd_alive
	grep -q "state-fill: status" "$log" &&
		die "asterd refused a PUT while filling the keys" "$log"
	grep -q "state-fill: done" "$log" ||
		die "filling $keys keys did not finish in 120 s" "$log"
}

# --- one measurement -------------------------------------------------------
# run_wrk NAME SCRIPT SECONDS: sets rate (requests/s).
run_wrk() {
	local name=$1 script=$2 secs=$3 log=$out/$1.log
	bounded $((secs + 30)) "$log" wrk -t"$threads" -c"$conc" -d"$secs"s \
		--latency -s "$script" "http://$asterd_addr" ||
		{ asterd_alive; die "wrk ($name) failed" "$log"; }
	asterd_alive
	grep -q "Non-2xx or 3xx responses" "$log" &&
		die "$name: asterd answered with statuses other than 2xx" "$log"
	grep -q "Socket errors" "$log" &&
		die "$name: wrk $(grep "Socket errors" "$log" | sed 's/^ *//')" "$log"
	rate=$(awk '$1 == "Requests/sec:" { print $2 }' "$log")
	[ -n "$rate" ] || die "cannot read requests/s in wrk's output" "$log"
}

# run_pgbench NAME SCRIPT SECONDS: sets rate (transactions/s).
run_pgbench() {
	local name=$1 script=$2 secs=$3 log=$out/$1.log
	bounded $((secs + 30)) "$log" "$(pgcmd pgbench)" -n -M prepared \
		-c "$conc" -j "$threads" -T "$secs" -D keys="$keys" \
		-f "$script" -h "$pg_dir" -p "$pg_port" -U aster aster ||
		die "pgbench ($name) failed" "$log"
	grep -q "number of failed transactions: [1-9]" "$log" &&
		die "$name: pgbench counted failed transactions" "$log"
	rate=$(awk '$1 == "tps" && $2 == "=" { print $3; exit }' "$log")
	[ -n "$rate" ] || die "cannot read tps in pgbench's output" "$log"
}

# measure NAME ROUND: one run of workload NAME, appended to its file.
measure() {
	local name=$1 round=$2 secs=${3:-$seconds}
	case $name in
	asterd-pg-put | asterd-sqlite-put) run_wrk "$name" state-put.lua "$secs" ;;
	asterd-pg-get | asterd-sqlite-get) run_wrk "$name" state-get.lua "$secs" ;;
	pgbench-upsert) run_pgbench "$name" state-upsert.sql "$secs" ;;
	pgbench-select) run_pgbench "$name" state-select.sql "$secs" ;;
	esac
	if [ "$round" = warmup ]; then
		printf 'warm-up %-18s %10.0f /s\n' "$name" "$rate"
	else
		echo "$rate" >>"$tmp/rate.$name"
		printf 'run %d   %-18s %10.0f /s\n' "$round" "$name" "$rate"
	fi
}

# rounds WORKLOAD...: warm-up, then RUNS rounds, odd ones in the order
# given, even ones reversed.
rounds() {
	local r w order=("$@") rev=()
	for ((r = ${#order[@]} - 1; r >= 0; r--)); do rev+=("${order[r]}"); done
	if [ "$warmup" -gt 0 ]; then
		for w in "${order[@]}"; do measure "$w" warmup "$warmup"; done
	fi
	for ((r = 1; r <= runs; r++)); do
		if [ $((r % 2)) -eq 1 ]; then
			for w in "${order[@]}"; do measure "$w" "$r"; done
		else
			for w in "${rev[@]}"; do measure "$w" "$r"; done
		fi
	done
}

# --- the run ---------------------------------------------------------------
rm -f "$out"/*.log "$out"/*.err "$out/table.txt"
start_pg
echo "state API: wrk -t$threads -c$conc -d${seconds}s, pgbench -M prepared" \
     "-c $conc -j $threads -T $seconds; $keys keys; PostgreSQL $pg_version" \
     "(Unix socket, fsync on); $(nproc) CPUs, load average" \
     "$(cut -d' ' -f1-3 /proc/loadavg)"

start_asterd postgres
fill pg
rounds asterd-pg-put pgbench-upsert asterd-pg-get pgbench-select
stop_asterd

start_asterd sqlite
fill sqlite
rounds asterd-sqlite-put asterd-sqlite-get
stop_asterd

declare -A med
for w in asterd-pg-put asterd-pg-get asterd-sqlite-put asterd-sqlite-get \
	pgbench-upsert pgbench-select; do
	med[$w]=$(median "$tmp/rate.$w")
done
ratio() {
	awk -v a="$1" -v b="$2" \
		'BEGIN { if (b > 0) printf "%.2f", a / b; else print 0 }'
}
put_ratio=$(ratio "${med[asterd-pg-put]}" "${med[pgbench-upsert]}")
get_ratio=$(ratio "${med[asterd-pg-get]}" "${med[pgbench-select]}")
{
	echo
	printf '%-30s %12s\n' workload "req/s"
	printf '%-30s %12.0f\n' "asterd-pg PUT" "${med[asterd-pg-put]}"
	printf '%-30s %12.0f\n' "asterd-pg GET" "${med[asterd-pg-get]}"
	printf '%-30s %12.0f\n' "asterd-sqlite PUT" "${med[asterd-sqlite-put]}"
	printf '%-30s %12.0f\n' "asterd-sqlite GET" "${med[asterd-sqlite-get]}"
	printf '%-30s %12.0f\n' "pgbench upsert (tps)" "${med[pgbench-upsert]}"
	printf '%-30s %12.0f\n' "pgbench select (tps)" "${med[pgbench-select]}"
	echo "median of $runs runs of ${seconds} s each, alternating order;" \
	     "$conc connections, pool_size $conc"
	echo "ratio asterd-pg PUT / pgbench upsert: ${put_ratio}x"
	echo "ratio asterd-pg GET / pgbench select: ${get_ratio}x"
} | tee "$out/table.txt"

fail=0
if awk -v r="$put_ratio" -v m="$min_ratio" 'BEGIN { exit !(r + 0 >= m + 0) }'
then verdict="PASS  asterd-pg PUT ${put_ratio}x pgbench upsert (target >= ${min_ratio}x)"
else verdict="FAIL  asterd-pg PUT ${put_ratio}x pgbench upsert (target >= ${min_ratio}x)"
     fail=1
fi
echo "$verdict" | tee -a "$out/table.txt"
exit $fail
