#!/bin/bash
# Test PKI for the link recordings: a CA and one certificate per receiving MTA.
# Keys stay in $RUN/pki (made afresh when absent); the certificates are copied
# to tests/data/links/record/pki/ for reference (they are on the wire in TLS 1.2).
set -euo pipefail
RUN=${RUN:-/var/tmp/links-run}
P=$RUN/pki
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$P"; cd "$P"
[ -s ca.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/C=DE/O=smtptls tests/CN=smtptls links test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null

# leaf NAME KEYALG SANS [selfsigned]
leaf() {
    local name=$1 alg=$2 sans=$3 self=${4:-}
    [ -s "$name.pem" ] && return 0
    case $alg in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$name.key" 2>/dev/null ;;
        ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$name.key" 2>/dev/null ;;
    esac
    if [ -n "$self" ]; then
        openssl req -x509 -new -key "$name.key" -days 3650 -sha256 -subj "/CN=$name" \
            -addext "subjectAltName=$sans" -out "$name.pem" 2>/dev/null
    else
        openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr" 2>/dev/null
        printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$sans" > "$name.ext"
        openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
            -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
        cat "$name.pem" ca.pem > "$name.chain.pem"
    fi
    chmod 600 "$name.key"
}
# Postfix receivers (198.51.100.10-.15): RSA-2048 from the CA
leaf mx10.links.test rsa "DNS:mx10.links.test,DNS:mx11.links.test,DNS:mx12.links.test,DNS:mx14.links.test,DNS:mx15.links.test"
# Postfix TLS 1.3-only receiver: self-signed ECDSA P-256
leaf mx13.links.test ec "DNS:mx13.links.test" self
# Exim receiver: ECDSA P-256 from the CA
leaf mx20.links.test ec "DNS:mx20.links.test"
# OpenSMTPD receiver: RSA-2048 from the CA
leaf mx30.links.test rsa "DNS:mx30.links.test"
chmod 644 ./*.pem
mkdir -p "$HERE/pki"
for f in ca mx10.links.test mx13.links.test mx20.links.test mx30.links.test; do cp "$f.pem" "$HERE/pki/$f.pem"; done
echo "pki: $P"
# Exim reads its key as Debian-exim (uid/gid 64990 inside the namespaces)
chgrp 64990 "$P/mx20.links.test.key"; chmod 640 "$P/mx20.links.test.key"
