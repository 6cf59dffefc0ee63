#!/usr/bin/env bash
# tests/configs/run.sh ASTERD - the configuration corpus.
#
# Each directory tests/configs/CASE/ is a config dir (its *.yaml files) plus
# a file EXPECT naming the exit code and every diagnostic
# `ASTERD --check-config` must print, one per line, in any order:
#
#     # comment
#     exit 78
#     error modules/billing.yaml:12:7 missing-dependency
#     warning product.yaml:3:5 unused-module
#     error - no-product
#
# Paths are relative to the case dir; `-` is a diagnostic without position
# on the config dir itself. Without an `exit` line the expected code is 78
# when an error is expected and 0 otherwise. An optional file ENV holds
# NAME=VALUE lines exported for that case only.
#
# The text output (stderr) must hold exactly the expected diagnostics (hints,
# notes and the summary line are not compared); the --format json run must
# exit the same way and print one line of valid JSON whose "ok" agrees with
# the exit code (parsed with python3, else jq; with neither the runner
# fails at once, as it does when no case is found or matches the filter).
#
# Environment: CORPUS_FILTER (run cases whose name contains it),
# ASTER_TEST_MODULES (default: DIR/tests/modules beside ASTERD),
# CORPUS_MODULE_PATH (default: DIR/modules:$ASTER_TEST_MODULES),
# CORPUS_TIMEOUT (seconds per run, default 60).
# Prints `ok CASE` or `FAIL CASE` and the reason per case, then
# `corpus: N passed, M failed`; exits 1 when a case failed or none ran.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 ASTERD" >&2
	exit 64
fi
asterd=$1
case $asterd in /*) ;; *) asterd=$PWD/$asterd ;; esac
bindir=$(dirname "$asterd")
test_modules=${ASTER_TEST_MODULES:-$bindir/tests/modules}
modpath=${CORPUS_MODULE_PATH:-$bindir/modules:$test_modules}
filter=${CORPUS_FILTER:-}

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
root=$PWD

timeout_cmd=()
if command -v timeout >/dev/null 2>&1; then
	timeout_cmd=(timeout "${CORPUS_TIMEOUT:-60}")
fi
# The JSON output is checked by a real parser: python3 (scripts/deps.sh
# installs it), else jq. Without either, nothing could be checked.
if command -v python3 >/dev/null 2>&1; then
	json_checker=python3
elif command -v jq >/dev/null 2>&1; then
	json_checker=jq
else
	echo "corpus: neither python3 nor jq is installed: the --format json" \
	     "output cannot be checked (scripts/deps.sh installs python3)" >&2
	echo "corpus: 0 passed, 1 failed"
	exit 1
fi

# json_ok_is true|false FILE: FILE is one valid JSON object whose "ok" is
# that boolean; a parse error goes to stderr.
json_ok_is() {
	case $json_checker in
	python3)
		python3 -c 'import json, sys
o = json.load(open(sys.argv[2]))
sys.exit(0 if isinstance(o, dict) and o.get("ok") is (sys.argv[1] == "true") else 1)' "$1" "$2" ;;
	jq)
		jq -e --argjson want "$1" '.ok == $want' "$2" >/dev/null ;;
	esac
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0

# Indents its input, for evidence under a FAIL line.
indent() { sed 's/^/    /'; }

# diagnostics CASEDIR < stderr: "SEV RELPATH:LINE:COL CODE" or "SEV - CODE",
# one per diagnostic line of the text format.
diagnostics() {
	sed -nE \
		-e 's/^([^:]+):([0-9]+):([0-9]+): (error|warning): .* \[([A-Za-z0-9_-]+)\]$/\4 \1:\2:\3 \5/p' \
		-e 's/^([^:]+): (error|warning): .* \[([A-Za-z0-9_-]+)\]$/\2 \1 \3/p' |
	awk -v dir="$1" -v abs="$root/$1" '
		function rel(p) {
			sub(/^\.\//, "", p)
			if (p == dir || p == dir "/" || p == abs || p == abs "/")
				return "-"
			if (index(p, dir "/") == 1)
				return substr(p, length(dir) + 2)
			if (index(p, abs "/") == 1)
				return substr(p, length(abs) + 2)
			return p
		}
		{
			n = split($2, part, ":")
			path = part[1]
			for (i = 2; i <= n - 2; i++)
				path = path ":" part[i]
			if (n >= 3)
				print $1, rel(path) ":" part[n - 1] ":" part[n], $3
			else
				print $1, rel($2), $3
		}'
}

# fail CASE REASON [FILE...]: reports a failed case with its evidence.
fail() {
	local name=$1 reason=$2
	shift 2
	echo "FAIL $name: $reason"
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "  ${f##*/}:"
		head -n 60 "$f" | indent
	done
	failed=$((failed + 1))
}

run_case() {
	local name=$1 dir=tests/configs/$1
	local expect_exit= want_exit rc rc_json line
	local -a env_vars=() words

	if [ ! -f "$dir/EXPECT" ]; then
		fail "$name" "no $dir/EXPECT"
		return
	fi
	: >"$tmp/expected"
	while IFS= read -r line || [ -n "$line" ]; do
		read -r -a words <<<"$line"    # trims and squeezes blanks
		case ${words[0]:-#}:${#words[@]} in
		"#"*) ;;
		exit:2) expect_exit=${words[1]} ;;
		error:3 | warning:3) echo "${words[*]}" >>"$tmp/expected" ;;
		*)
			fail "$name" "EXPECT: bad line: $line"
			return ;;
		esac
	done <"$dir/EXPECT"
	if [ -n "$expect_exit" ]; then
		want_exit=$expect_exit
	elif grep -q '^error ' "$tmp/expected"; then
		want_exit=78
	else
		want_exit=0
	fi
	if [ -f "$dir/ENV" ]; then
		while IFS= read -r line || [ -n "$line" ]; do
			case $line in "" | "#"*) continue ;; esac
			env_vars+=("$line")
		done <"$dir/ENV"
	fi

	env ${env_vars[@]+"${env_vars[@]}"} "${timeout_cmd[@]}" "$asterd" \
		--check-config -c "$dir" --format text --module-path "$modpath" \
		>"$tmp/stdout" 2>"$tmp/stderr" </dev/null
	rc=$?
	diagnostics "$dir" <"$tmp/stderr" | LC_ALL=C sort >"$tmp/actual"
	LC_ALL=C sort -o "$tmp/expected" "$tmp/expected"

	if [ "$rc" != "$want_exit" ]; then
		fail "$name" "text: exit $rc, expected $want_exit" "$tmp/stderr"
		return
	fi
	if ! diff -u --label expected --label actual "$tmp/expected" \
		"$tmp/actual" >"$tmp/diff"; then
		fail "$name" "diagnostics differ" "$tmp/diff" "$tmp/stderr"
		return
	fi

	env ${env_vars[@]+"${env_vars[@]}"} "${timeout_cmd[@]}" "$asterd" \
		--check-config -c "$dir" --format json --module-path "$modpath" \
		>"$tmp/stdout" 2>"$tmp/stderr" </dev/null
	rc_json=$?
	if [ "$rc_json" != "$want_exit" ]; then
		fail "$name" "json: exit $rc_json, expected $want_exit" "$tmp/stderr"
		return
	fi
	if [ "$(wc -l <"$tmp/stdout")" -ne 1 ]; then
		fail "$name" "json: stdout is not one line" "$tmp/stdout"
		return
	fi
	if [ "$rc_json" = 0 ]; then line=true; else line=false; fi
	if ! json_ok_is "$line" "$tmp/stdout" 2>"$tmp/jsonerr"; then
		fail "$name" "json: not valid JSON with \"ok\": $line for exit" \
			"$rc_json ($json_checker)" "$tmp/jsonerr" "$tmp/stdout"
		return
	fi

	echo "ok $name"
	passed=$((passed + 1))
}

cases=()
for d in tests/configs/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	d=${d##*/}
	[ -z "$filter" ] || [[ $d == *"$filter"* ]] || continue
	cases+=("$d")
done

if [ ${#cases[@]} -eq 0 ]; then
	echo "corpus: no case in tests/configs/ matches '${filter}'" >&2
	echo "corpus: 0 passed, 1 failed"
	exit 1
fi

if [ ! -x "$asterd" ]; then
	echo "corpus: $asterd is not an executable; build it first" >&2
	echo "corpus: 0 passed, ${#cases[@]} failed"
	exit 1
fi

for c in ${cases[@]+"${cases[@]}"}; do
	run_case "$c"
done

echo "corpus: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
