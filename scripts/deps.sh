#!/bin/sh
# scripts/deps.sh [fuzz|bench] - installs the Debian packages asterd needs to
# build and test, if any are missing.
#
# Silent and fast when everything is installed. Otherwise, as root, runs
# apt-get update once and installs only the missing packages; as another
# user tries `sudo -n`, else prints the exact command to run and exits 1.
# The test tools node and npm come from Debian only when no npm is found.
# With `fuzz`, also installs libFuzzer's runtime (for `make fuzz`); with
# `bench`, wrk, nginx, haproxy and curl (for `make bench`).
# On a system without dpkg it says so and exits 0: install the equivalents
# of the packages below by hand.
set -eu

pkgs="gcc make autoconf automake pkg-config
      libevent-dev libyaml-dev libjson-c-dev libpq-dev libssl-dev libsqlite3-dev
      libpcre2-dev check clang mandoc postgresql valgrind python3"

# The test tools of tests/schema/ (ajv) and tests/openapi/ (redocly,
# TypeScript) run under node. A node that came from elsewhere (it bundles
# its own npm) is fine as it is; asking dpkg for Debian's npm there would
# pull in a second node.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

case "${1:-}" in
"") ;;
fuzz) pkgs="$pkgs libclang-rt-14-dev" ;;
bench) pkgs="$pkgs wrk nginx haproxy curl" ;;
*) echo "usage: $0 [fuzz|bench]" >&2; exit 64 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: no dpkg here; make sure these (or your system's" \
	     "equivalents) are installed:" $pkgs >&2
	exit 0
fi

missing=
for p in $pkgs; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done
[ -n "$missing" ] || exit 0

install_cmd="apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
	run() { sh -c "$install_cmd"; }
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	run() { sudo -n sh -c "$install_cmd"; }
else
	echo "deps.sh: missing packages:$missing; as root, run:" >&2
	echo "  $install_cmd" >&2
	exit 1
fi

echo "deps.sh: installing:$missing" >&2
# apt and dpkg are chatty even with -qq: keep their output for a failure.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! run >"$log" 2>&1; then
	cat "$log" >&2
	echo "deps.sh: installing the packages failed; the command was:" >&2
	echo "  $install_cmd" >&2
	exit 1
fi
