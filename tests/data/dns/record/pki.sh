#!/bin/bash
# Test PKI for the DNS world: a test CA, the MX hosts' certificates and the
# mta-sts.DOMAIN web certificates.  Made once and committed (record/pki/), so
# the TLSA records in zones/ stay valid across re-recordings.  Test keys only:
# nothing here protects anything.  Re-make with:  rm -rf pki && bash pki.sh
set -euo pipefail
cd "$(dirname "$0")"
P=pki
mkdir -p $P
days=3650
[ -s $P/ca.pem ] || {
openssl ecparam -name prime256v1 -genkey -noout -out $P/ca.key
openssl req -x509 -new -key $P/ca.key -days $days -sha256 -subj "/C=DE/O=smtptls tests/CN=dnsworld test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out $P/ca.pem
}

# leaf NAME KEYTYPE(rsa|ec) [selfsigned]
leaf() {
    local n=$1 kt=$2 self=${3:-}
    [ -s $P/$n.pem ] && return 0
    if [ "$kt" = rsa ]; then openssl genrsa -out $P/$n.key 2048 2>/dev/null
    else openssl ecparam -name prime256v1 -genkey -noout -out $P/$n.key; fi
    if [ -n "$self" ]; then
        openssl req -x509 -new -key $P/$n.key -days $days -sha256 -subj "/CN=$n" \
            -addext "subjectAltName=DNS:$n" -out $P/$n.pem
    else
        openssl req -new -key $P/$n.key -subj "/CN=$n" -out $P/$n.csr
        printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$n" > $P/$n.ext
        openssl x509 -req -in $P/$n.csr -CA $P/ca.pem -CAkey $P/ca.key -CAcreateserial -days $days -sha256 \
            -extfile $P/$n.ext -out $P/$n.pem 2>/dev/null
        rm -f $P/$n.csr $P/$n.ext
        cat $P/$n.pem $P/ca.pem > $P/$n.chain.pem
    fi
}
leaf mx.dane.test rsa
leaf mx.daneta.test ec
leaf mx.sts.test ec
leaf mx.both.test rsa
leaf mx.plain.test rsa self
leaf mx.badtlsa.test rsa
leaf mx.strip.test ec
leaf mx.unsigned.test rsa self
leaf mx.insecure.test ec
for d in sts both strip notls; do leaf mta-sts.$d.test ec; done
# The key mx.badtlsa.test had before a rollover nobody told DNS about: its
# TLSA record still names this key, not the one in the certificate.
[ -s $P/mx.badtlsa.test.old.key ] || openssl genrsa -out $P/mx.badtlsa.test.old.key 2048 2>/dev/null
rm -f $P/ca.srl
chmod 644 $P/*.key
ls $P
