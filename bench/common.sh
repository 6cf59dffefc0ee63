# bench/common.sh - sourced by the benchmark scripts (bash).
#
# bench_init "$@" takes the one argument every script has, ASTERD, makes it
# absolute and checks it (usage errors exit 64), then moves to bench/ and
# sets: asterd, benchdir, LC_ALL=C.

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
