#!/usr/bin/env bash
# tests/openapi/run.sh BUILD_DIR - asterd's OpenAPI documents against the
# tools people feed them to (SPEC §14).
#
# For the shipped conf.d/ and for tests/openapi/product/ (a product using
# every schema keyword, route scope and handler form), each of the default
# document (public, user, admin) and the internal one, it runs
#   BUILD_DIR/asterd --openapi -c DIR --module-path BUILD_DIR/modules
# and requires:
#   - `redocly lint` with the recommended rules (redocly.yaml says which
#     one is off, and why) to exit 0 and report 0 errors and 0 warnings;
#   - `openapi-typescript` to turn it into TypeScript;
#   - `tsc --strict --noEmit` to compile those types together with
#     client.ts, a small client typed by them alone.
#
# The tools are pinned in package-lock.json; `npm ci` installs them into
# tests/openapi/node_modules/ when it is missing or was installed from
# another lock file. Outputs (documents, generated types, lint reports) go
# to BUILD_DIR/openapi/. Needs node and npm (Node 18 or later).
# Prints `ok NAME` or `FAIL NAME` per document and step, then
# `openapi: N passed, M failed`; exits 1 when anything failed.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 64
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=$(cd "$1" 2>/dev/null && pwd) || {
	echo "openapi: no build directory $1" >&2
	exit 1
}
asterd=$build/asterd
out=$build/openapi
bin=$here/node_modules/.bin
stamp=$here/node_modules/.asterd-lock

# No telemetry and no update check: CI reaches the npm registry only.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export NO_UPDATE_NOTIFIER=1

for tool in node npm; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "openapi: $tool not found (scripts/deps.sh installs" \
		     "Debian's nodejs and npm)" >&2
		exit 1
	fi
done
if [ ! -x "$asterd" ]; then
	echo "openapi: $asterd not built" >&2
	exit 1
fi

# The pinned tools, unless node_modules holds exactly this lock's.
if ! cmp -s "$here/package-lock.json" "$stamp" ||
   [ ! -x "$bin/redocly" ] || [ ! -x "$bin/openapi-typescript" ] ||
   [ ! -x "$bin/tsc" ]; then
	echo "openapi: npm ci (tests/openapi/package-lock.json)"
	rm -f "$stamp"
	if ! (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund \
	      --loglevel=error); then
		echo "openapi: npm ci failed" >&2
		exit 1
	fi
	cp "$here/package-lock.json" "$stamp"
fi

rm -rf "$out"
mkdir -p "$out"
passed=0
failed=0

pass() {
	echo "ok $1"
	passed=$((passed + 1))
}

fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}

# lint NAME: redocly's verdict on $out/NAME.json, by exit status and by
# the counts of its JSON report, which must both say clean.
lint() {
	local name=$1 rc counts

	"$bin/redocly" lint --config "$here/redocly.yaml" --format=json \
		"$out/$name.json" >"$out/$name.lint.json" 2>"$out/$name.lint.log"
	rc=$?
	counts=$(node -e '
		const r = JSON.parse(require("fs").readFileSync(process.argv[1],
		                                                "utf8"));
		console.log(`${r.totals.errors} ${r.totals.warnings}`);
	' "$out/$name.lint.json" 2>/dev/null) || counts="? ?"
	if [ $rc -eq 0 ] && [ "$counts" = "0 0" ]; then
		pass "$name: redocly lint"
		return 0
	fi
	set -- $counts
	fail "$name: redocly lint" "exit $rc, $1 errors, $2 warnings"
	"$bin/redocly" lint --config "$here/redocly.yaml" --format=stylish \
		"$out/$name.json" 2>&1 | sed 's/^/    /'
	return 1
}

# document NAME DIR [ARGS]: the document of DIR, linted and typed.
document() {
	local name=$1 dir=$2

	shift 2
	if ! "$asterd" --openapi -c "$dir" --module-path "$build/modules" \
	     "$@" >"$out/$name.json" 2>"$out/$name.err"; then
		fail "$name: asterd --openapi" "$(cat "$out/$name.err")"
		return
	fi
	pass "$name: asterd --openapi"
	lint "$name"
	if "$bin/openapi-typescript" "$out/$name.json" -o "$out/$name.ts" \
	   >"$out/$name.types.log" 2>&1; then
		pass "$name: openapi-typescript"
	else
		fail "$name: openapi-typescript" "$(cat "$out/$name.types.log")"
	fi
}

document distro "$top/conf.d"
document distro-internal "$top/conf.d" --scope internal
document product "$here/product"
document product-internal "$here/product" --scope internal

# client.ts uses distro.ts and product.ts; tsconfig.json adds the
# internal documents' types, which nothing imports.
cp "$here/client.ts" "$here/tsconfig.json" "$out/"
if (cd "$out" && "$bin/tsc" -p tsconfig.json --strict --noEmit) \
   >"$out/tsc.log" 2>&1; then
	pass "client.ts and the generated types: tsc --strict --noEmit"
else
	fail "client.ts and the generated types: tsc --strict --noEmit" \
	     "$(cat "$out/tsc.log")"
fi

echo "openapi: $passed passed, $failed failed"
[ $failed -eq 0 ]
