#!/bin/sh
# scripts/layers.sh [--graph] - checks that asterd's sources respect their
# layers, from the bottom up:
#
#   0 util/            3 provider/            6 http/, process/
#   1 log, diag        4 graph/, cli/,        7 runtime/
#   2 config/            product              8 handlers/
#                      5 contract/            9 control*, main, asterctl
#
# A file may include its own layer and those below, never one above; the
# public headers (include/aster/) are open to all. A provider under
# modules/ includes only the public headers and its own folder's. With
# --graph, prints every quoted include as "FILE -> HEADER (layer A -> B)"
# instead, and checks nothing. Exits 1 on a violation, listing each.
set -eu
cd "$(dirname "$0")/.."

layer() {
	case $1 in
	include/aster/*) echo P ;;
	src/util/*) echo 0 ;;
	src/log.[ch]|src/diag.[ch]) echo 1 ;;
	src/config/*) echo 2 ;;
	src/provider/*) echo 3 ;;
	src/graph/*|src/cli/*|src/product.[ch]) echo 4 ;;
	src/contract/*) echo 5 ;;
	src/http/*|src/process/*) echo 6 ;;
	src/runtime/*) echo 7 ;;
	src/handlers/*) echo 8 ;;
	src/control*|src/main.c|src/asterctl.c) echo 9 ;;
	*) echo '?' ;;
	esac
}

# "FILE HEADER" for every #include "HEADER" of the tree, HEADER resolved
# against src/, include/ or the including file's folder.
includes() {
	grep -rHo '^#include ["<][^">]*[">]' src modules --include='*.[ch]' |
	while IFS=: read -r file inc; do
		name=${inc#\#include ?}
		name=${name%?}
		if [ -f "src/$name" ]; then
			echo "$file src/$name"
		elif [ -f "include/$name" ]; then
			echo "$file include/$name"
		elif [ -f "$(dirname "$file")/$name" ]; then
			echo "$file $(dirname "$file")/$name"
		fi
	done
}

if [ "${1:-}" = "--graph" ]; then
	includes | while read -r file header; do
		echo "$file -> $header ($(layer "$file") -> $(layer "$header"))"
	done
	exit 0
fi

bad=$(includes | while read -r file header; do
	case $file in
	modules/*)
		dir=$(dirname "$file")
		case $header in
		include/aster/*|"$dir"/*) ;;
		*) echo "$file includes $header: a provider sees only include/aster/ and its own folder" ;;
		esac
		continue ;;
	esac
	from=$(layer "$file")
	to=$(layer "$header")
	[ "$to" = P ] && continue
	if [ "$from" = '?' ] || [ "$to" = '?' ]; then
		echo "$file includes $header: a file of no known layer (add it to scripts/layers.sh)"
	elif [ "$to" -gt "$from" ]; then
		echo "$file (layer $from) includes $header (layer $to), a layer above it"
	fi
done)
if [ -n "$bad" ]; then
	echo "$bad"
	echo "layers: $(echo "$bad" | wc -l) violations"
	exit 1
fi
echo "layers: ok"
