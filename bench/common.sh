# bench/common.sh - sourced by the benchmark scripts (bash).
#
# bench_init "$@" takes the one argument every script has, ASTERD, makes it
# absolute and checks it (usage errors exit 64), then moves to bench/ and
# sets: asterd, benchdir, LC_ALL=C.
#
# bench_check_numbers WARMUP_NAME VAR... checks the script's settings
# (usage errors exit 64).
#
# Then the plumbing the scripts share: stop PID, die MESSAGE [LOG],
# median FILE, bounded SECONDS LOG CMD..., cpu_ticks PID, us_per_request,
# wrk_run and bench_traps (each described where it is defined). wrk_run
# calls the script's alive SERVER; the script's cleanup stops $wrk_pid
# (wrk_run) and $job_pid (bounded) when they are set.

bench_init() {
	if [ $# -ne 1 ]; then
		echo "usage: $0 ASTERD" >&2
		exit 64
	fi
	asterd=$1
	case $asterd in /*) ;; *) asterd=$PWD/$asterd ;; esac
	if [ ! -x "$asterd" ]; then
		echo "bench: $asterd is not an executable; run make first" >&2
		exit 64
	fi
	cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1
	benchdir=$PWD
	export LC_ALL=C
}

# bench_check_numbers WARMUP_NAME VAR...: each named variable must hold a
# positive integer, and $warmup a whole number of seconds (WARMUP_NAME is
# the environment variable it came from, for the message).
bench_check_numbers() {
	local name=$1 v
	shift
	for v in "$@"; do
		case ${!v} in '' | *[!0-9]* | 0)
			echo "bench: $v must be a positive integer" >&2; exit 64 ;;
		esac
	done
	case $warmup in '' | *[!0-9]*)
		echo "bench: $name must be a number of seconds" >&2; exit 64 ;;
	esac
}

# stop PID: SIGTERM, then SIGKILL after 5 s; reaps it.
stop() {
	local i
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return; }
	for ((i = 0; i < 50; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# die MESSAGE [LOG]: prints MESSAGE and the last lines of LOG, exits 1.
# LOG is named by its base name, or by its whole path when the script
# sets die_full_path=1 (its logs outlive the run).
die() {
	echo "bench: $1" >&2
	if [ $# -gt 1 ] && [ -s "$2" ]; then
		if [ "${die_full_path:-0}" = 1 ]; then
			echo "bench: last lines of $2:" >&2
		else
			echo "bench: last lines of $(basename "$2"):" >&2
		fi
		tail -n 15 "$2" | sed 's/^/    /' >&2
	fi
	exit 1
}

# median FILE: the median of the numbers in FILE, one per line.
median() {
	sort -g "$1" | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2];
		      else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# bounded SECONDS LOG CMD...: runs CMD in the background (so a signal to
# this script is handled at once) with a time limit, output to LOG; the
# caller's cleanup stops $job_pid while it runs.
bounded() {
	local limit=$1 log=$2 st
	shift 2
	timeout -k 5 "$limit" "$@" >"$log" 2>&1 &
	job_pid=$!
	wait "$job_pid"
	st=$?
	job_pid=
	return $st
}

# cpu_ticks PID: user + system CPU time of PID, in clock ticks.
cpu_ticks() {
	# The command name, in parentheses, may hold spaces: skip past it.
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'
}

# us_per_request T0 T1 N: the CPU ticks T1 - T0 spent on N requests, in
# microseconds per request (0 when N is 0); needs clk_tck set.
us_per_request() {
	awk -v a="$1" -v b="$2" -v n="$3" -v hz="$clk_tck" \
		'BEGIN { if (n > 0) printf "%.2f\n", (b - a) / hz * 1e6 / n; else print 0 }'
}

# wrk_run SERVER WHAT LOG SECONDS WRK-ARGS...: one `wrk -dSECONDS WRK-ARGS`
# in the background (so that a signal to the script is handled at once;
# the script's cleanup stops $wrk_pid), limited to SECONDS + 30 s, output
# to LOG. Then the script's `alive SERVER` (fails the run when SERVER has
# exited). Fails the run when wrk fails or WHAT answered other than 2xx
# and 3xx; warns of socket errors. Sets rps (requests/s) and wrk_requests
# (the requests wrk counted; empty, like rps, when it cannot be read).
wrk_run() {
	local server=$1 what=$2 log=$3 secs=$4
	shift 4
	timeout $((secs + 30)) wrk -d"$secs"s "$@" >"$log" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || { wrk_pid=; alive "$server"; die "wrk on $what failed" "$log"; }
	wrk_pid=
	alive "$server"
	grep -q "Non-2xx or 3xx responses" "$log" &&
		die "$what answered wrk with statuses other than 200" "$log"
	if grep -q "Socket errors" "$log"; then
		echo "bench: $what: wrk $(grep "Socket errors" "$log" |
			sed 's/^ *//')" >&2
	fi
	rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$log")
	wrk_requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$log")
}

# bench_traps: the script's cleanup runs on any exit, and SIGINT, SIGTERM
# and SIGHUP exit with 130, 143 and 129 (through cleanup). cleanup starts
# with `trap - EXIT INT TERM HUP`.
bench_traps() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}
