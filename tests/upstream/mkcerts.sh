#!/bin/sh
# tests/upstream/mkcerts.sh DIR - the certificates of the HTTPS upstream
# tests, made with openssl(1) into DIR (created when missing):
#
#   ca.crt, ca.key            a test CA (P-256, CA:true, 2 days)
#   server.crt, server.key    a server certificate signed by the CA, for
#                             DNS:localhost and IP:127.0.0.1 (CN localhost)
#   self.crt, self.key        a self-signed certificate for the same names,
#                             which no CA vouches for: the "unverified" case
#
# Short-lived (2 days) as they are made afresh for every run. Prints
# nothing on success; on failure shows openssl's output and exits 1.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 64
fi
dir=$1
mkdir -p "$dir"
log=$dir/mkcerts.log
: >"$log"

run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "mkcerts: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

# The server's names: the same for the signed and the self-signed one, so
# that only the issuer tells them apart.
cat >"$dir/server.ext" <<'EXT'
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
EXT

run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=asterd test CA" -days 2 \
	-addext "basicConstraints=critical,CA:true" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" \
	-keyout "$dir/ca.key" -out "$dir/ca.crt"

run openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr"
run openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" \
	-CAkey "$dir/ca.key" -CAcreateserial -days 2 -sha256 \
	-extfile "$dir/server.ext" -out "$dir/server.crt"

run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=localhost" -days 2 \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	-keyout "$dir/self.key" -out "$dir/self.crt"

run openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt"
rm -f "$dir/server.csr" "$dir/ca.srl" "$dir/server.ext" "$log"
