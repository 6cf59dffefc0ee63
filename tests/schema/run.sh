#!/usr/bin/env bash
# tests/schema/run.sh BUILD_DIR - the schema differential test.
#
# asterd's request validation (src/contract/) and ajv, an independent
# JSON Schema 2020-12 validator, must give the same verdict on every
# (schema, instance) pair that gen.js generates (deterministically; at
# least 200). gen.js asks ajv; BUILD_DIR/tests/schema/verdicts asks
# asterd and prints every disagreement, then `schema: N passed, M failed`.
#
# ajv and ajv-formats come from the npm registry at the exact versions of
# package-lock.json, installed here with `npm ci` unless node_modules
# holds exactly this lock's (scripts/deps.sh installs node and npm).
# Environment: SCHEMA_SEED (gen.js's seed), SCHEMA_KEEP=1 keeps the cases
# file and prints its path.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 64
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
verdicts=$1/tests/schema/verdicts
case $verdicts in /*) ;; *) verdicts=$PWD/$verdicts ;; esac

echo "schema: differential test against ajv (tests/schema/)"
if [ ! -x "$verdicts" ]; then
	echo "schema: $verdicts is missing; run make tests" >&2
	exit 1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "schema: node and npm are needed (scripts/deps.sh installs them)" >&2
	exit 1
fi
export NO_UPDATE_NOTIFIER=1
stamp=$here/node_modules/.asterd-lock
if ! cmp -s "$here/package-lock.json" "$stamp" ||
   [ ! -f "$here/node_modules/ajv/package.json" ]; then
	echo "schema: npm ci (ajv, ajv-formats as package-lock.json pins them)"
	rm -f "$stamp"
	if ! (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund \
	      --loglevel=error >/dev/null); then
		echo "schema: npm ci failed" >&2
		exit 1
	fi
	cp "$here/package-lock.json" "$stamp"
fi

work=$(mktemp -d) || exit 1
cases=$work/cases.json
if [ "${SCHEMA_KEEP:-}" = 1 ]; then
	echo "schema: cases in $cases"
else
	trap 'rm -rf "$work"' EXIT
fi
node "$here/gen.js" "$cases" || exit 1
"$verdicts" "$cases"
