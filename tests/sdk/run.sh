#!/usr/bin/env bash
# tests/sdk/run.sh B - the SDK as a provider author gets it (SPEC 4, 15, 18).
#
# Installs the build in B into a temporary root (make install DESTDIR=,
# from B as it is: nothing is compiled again), then, with nothing but the
# installed tree and pkg-config:
#
#   1. compiles every installed header alone, as C11 with $CC and as C++
#      with g++ (else clang++; with neither, that part alone is skipped),
#      under -Wall -Wextra -Werror -pedantic;
#   2. builds a copy of examples/providers/hello/ outside the source tree,
#      where pkg-config finds aster.pc and aster-testing.pc in the root
#      (PKG_CONFIG_SYSROOT_DIR), and checks no compile line reaches into
#      the source tree;
#   3. installs hello.so into the installed module directory (the .pc's
#      moduledir) and runs test_hello against the installed asterd with
#      that directory as its module path;
#   4. make uninstall, which leaves hello.so to the example's own
#      uninstall (run with a copy of the .pc files), and then nothing but
#      the configuration is left.
#
# make check-run calls it; its make variables (B, SAN, CC...) reach the
# `make install` here through MAKEFLAGS, so B is not rebuilt with other
# flags. Called by hand for a build other than the plain one, pass them
# the same way: MAKEFLAGS='SAN=address' bash tests/sdk/run.sh build/asan.
# Environment: CC (default cc) builds the example; SAN_LDFLAGS, the
# sanitizer flags B was linked with, link test_hello with libastertest.a.
# Prints `sdk: STEP` per step and `sdk: ok` at the end; on a failure the
# step's output, and exits 1.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 B" >&2
	exit 64
fi
b=$1                    # for make, as the caller wrote it
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
root=$PWD
case $b in /*) build=$b ;; *) build=$root/$b ;; esac

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/root
log=$tmp/log
export TMPDIR=$tmp
: "${CC:=cc}"
export CC

fail() {
	echo "sdk: FAILED: $*"
	[ -s "$log" ] && sed 's/^/  | /' "$log"
	exit 1
}

# step NAME COMMAND...: runs COMMAND with its output in $log.
step() {
	local name=$1
	shift
	echo "sdk: $name"
	"$@" >"$log" 2>&1 || fail "$name"
}

# --- install --------------------------------------------------------------

flags_before=$(cat "$build/.flags" 2>/dev/null)
step "make install DESTDIR=<tmp> (from $build)" \
	make --no-print-directory -C "$root" install B="$b" DESTDIR="$stage"
[ "$(cat "$build/.flags" 2>/dev/null)" = "$flags_before" ] ||
	fail "make install rebuilt $build with other flags: run this with" \
	     "the make variables $build was built with (see the top)"

pcdir=$(find "$stage" -path '*/pkgconfig/aster.pc' -printf '%h\n' | head -n 1)
if [ -z "$pcdir" ] || [ ! -f "$pcdir/aster-testing.pc" ]; then
	fail "make install put no aster.pc and aster-testing.pc under $stage"
fi
export PKG_CONFIG_PATH=$pcdir PKG_CONFIG_LIBDIR=$pcdir
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1

# Directories as installed (no sysroot), and as found in the root.
var() { PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable="$2" "$1"; }
if ! { moduledir=$(var aster moduledir) && includedir=$(var aster includedir) &&
       asterd=$(var aster asterd) && libdir=$(var aster-testing libdir); }; then
	fail "pkg-config cannot read $pcdir/aster.pc or aster-testing.pc"
fi
[ -f "$stage$includedir/aster/provider.h" ] ||
	fail "aster.pc's includedir $includedir holds no aster/provider.h"
[ -x "$stage$asterd" ] || fail "aster.pc's asterd $asterd is not installed"
[ -d "$stage$moduledir" ] || fail "aster.pc's moduledir $moduledir is missing"
[ -f "$stage$libdir/libastertest.a" ] ||
	fail "aster-testing.pc's libdir $libdir holds no libastertest.a"
export PKG_CONFIG_SYSROOT_DIR=$stage

# --- 1. every header alone ------------------------------------------------

cxx=
if command -v g++ >/dev/null 2>&1; then
	cxx=g++
elif command -v clang++ >/dev/null 2>&1; then
	cxx=clang++
fi
cflags=$(pkg-config --cflags aster) || fail "pkg-config --cflags aster"
case " $cflags " in *" -I$stage"*) ;; *)
	fail "pkg-config --cflags aster is '$cflags', not into $stage" ;;
esac
headers=$(cd "$stage$includedir" && ls aster/*.h)
[ -n "$headers" ] || fail "no headers installed in $includedir/aster"
for h in $headers; do
	printf '#include <%s>\n' "$h" >"$tmp/alone.c"
	cp "$tmp/alone.c" "$tmp/alone.cc"
	# shellcheck disable=SC2086 # cflags is a list of words
	step "$h alone in C11 ($CC)" $CC -std=c11 -Wall -Wextra -Werror \
		-pedantic $cflags -c -o "$tmp/alone.o" "$tmp/alone.c"
	if [ -n "$cxx" ]; then
		# shellcheck disable=SC2086
		step "$h alone in C++ ($cxx)" $cxx -std=c++11 -Wall -Wextra \
			-Werror -pedantic $cflags -c -o "$tmp/alone.o" \
			"$tmp/alone.cc"
	fi
done
[ -n "$cxx" ] || echo "SKIP: no g++ or clang++: the headers were not compiled as C++"

# --- 2. the example, outside the tree -------------------------------------

cp -R "$root/examples/providers/hello" "$tmp/hello" || fail "copying the example"
ex=(make --no-print-directory -C "$tmp/hello")
step "build examples/providers/hello against the installed headers" \
	"${ex[@]}" hello.so
# A copy can still name the tree: make sure nothing did.
grep -qF -e "$root" -e ' -Iinclude' "$log" &&
	fail "the example's compile line reaches into the source tree"
step "build its test_hello with the installed libastertest" \
	"${ex[@]}" test_hello LDFLAGS="${SAN_LDFLAGS:-}"
grep -qF -e "$root" -e ' -Iinclude' "$log" &&
	fail "test_hello's compile line reaches into the source tree"

# --- 3. install it, and test it on the installed asterd -------------------

# Installed the way a package would: DESTDIR and the .pc's moduledir.
step "make install hello.so into $moduledir" \
	env -u PKG_CONFIG_SYSROOT_DIR "${ex[@]}" install DESTDIR="$stage"
[ -f "$stage$moduledir/hello.so" ] ||
	fail "the example's make install put no hello.so in $stage$moduledir"
# The module path is the installed directory alone: hello.so is found
# there, as asterd's own providers are.
step "test_hello on the installed asterd, module path $moduledir" \
	"${ex[@]}" check ASTERD="$stage$asterd" MODULE_PATH="$stage$moduledir"
grep '^not ok\|^ok\|^test_hello' "$log" | sed 's/^/  /'

# --- 4. uninstall -----------------------------------------------------------

# The example's own uninstall reads moduledir from aster.pc, which asterd's
# uninstall removes: keep a copy for it.
cp -R "$pcdir" "$tmp/pkgconfig" || fail "keeping a copy of $pcdir"
step "make uninstall" \
	make --no-print-directory -C "$root" uninstall B="$b" DESTDIR="$stage"
[ -f "$stage$moduledir/hello.so" ] ||
	fail "asterd's make uninstall removed hello.so, which it did not install"
step "the example's make uninstall" \
	env -u PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH="$tmp/pkgconfig" \
	PKG_CONFIG_LIBDIR="$tmp/pkgconfig" "${ex[@]}" uninstall DESTDIR="$stage"
left=$(cd "$stage" && find . ! -type d ! -path './*/aster/conf.d/*' | sort)
[ -z "$left" ] || { echo "$left" >"$log"; fail "left after uninstall:"; }

echo "sdk: ok"
