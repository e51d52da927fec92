#!/bin/bash
# Extra Postfix servers for the TLS depth captures (issue 4), on top of what
# setup.sh configures (run setup.sh first; it rewrites master.cf, so run this
# again after it).  Touches only /etc/postfix and lo.
#
#  127.0.0.7  mx7  ECDSA P-256 certificate from the test CA (CN/SAN mx7.smtptls.test),
#                  TLS 1.2 and up only (a TLS 1.0 client gets a protocol_version alert)
#  127.0.0.8  mx8  RSA-2048 certificate from the test CA that expired on 2021-01-01,
#                  issued to expired.smtptls.test (does not match the banner name)
#  127.0.0.9  mx9  TLS 1.2 only, NULL ciphers only (smtpd_tls_ciphers=null at
#                  SECLEVEL=0): whatever else the client offers, the server picks
#                  a suite without encryption
set -euo pipefail
TLS=/etc/postfix/tls
for a in 127.0.0.7 127.0.0.8 127.0.0.9; do
    ip addr show dev lo | grep -q "inet $a/" || ip addr add "$a/32" dev lo
done

# A test CA (ECDSA P-256) and two leaves, made once.
mkdir -p "$TLS"
if [ ! -s "$TLS/ca.pem" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7300 \
        -subj "/C=DE/O=smtptls tests/CN=smtptls test CA" \
        -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
    chmod 600 "$TLS/ca.key"
fi
if [ ! -s "$TLS/mx7-chain.pem" ]; then
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=mx7.smtptls.test" -keyout "$TLS/mx7.key" -out "$TLS/mx7.csr" 2>/dev/null
    printf 'subjectAltName=DNS:mx7.smtptls.test\n' > "$TLS/mx7.ext"
    openssl x509 -req -in "$TLS/mx7.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
        -days 3650 -sha256 -extfile "$TLS/mx7.ext" -out "$TLS/mx7.pem" 2>/dev/null
    cat "$TLS/mx7.key" "$TLS/mx7.pem" "$TLS/ca.pem" > "$TLS/mx7-chain.pem"
    chmod 600 "$TLS/mx7.key" "$TLS/mx7-chain.pem"
fi
if [ ! -s "$TLS/mx8-chain.pem" ]; then
    # openssl ca can set the validity dates (x509 -req cannot in OpenSSL 3.0).
    d=$(mktemp -d)
    mkdir -p "$d/new"; : > "$d/index.txt"; echo 1000 > "$d/serial"
    cat > "$d/ca.cnf" <<EOT
[ca]
default_ca = test
[test]
dir = $d
database = $d/index.txt
new_certs_dir = $d/new
serial = $d/serial
certificate = $TLS/ca.pem
private_key = $TLS/ca.key
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
[leaf]
subjectAltName = DNS:expired.smtptls.test
basicConstraints = CA:FALSE
EOT
    openssl req -new -newkey rsa:2048 -nodes -subj "/CN=expired.smtptls.test" \
        -keyout "$TLS/mx8.key" -out "$d/mx8.csr" 2>/dev/null
    openssl ca -batch -config "$d/ca.cnf" -in "$d/mx8.csr" -out "$TLS/mx8.pem" -notext \
        -startdate 20200101000000Z -enddate 20210101000000Z 2>/dev/null
    cat "$TLS/mx8.key" "$TLS/mx8.pem" "$TLS/ca.pem" > "$TLS/mx8-chain.pem"
    chmod 600 "$TLS/mx8.key" "$TLS/mx8-chain.pem"
    rm -rf "$d"
fi

# inet_interfaces stays as setup.sh set it: services with an explicit address
# bind it anyway, and a changed inet_interfaces makes every reload log two
# warnings per service -- with maillog_file, more datagrams than the postlog
# socket queues while postlogd restarts, which blocks the master for good.

# master.cf: replace this script's block (if any) by the current one.
sed -i '/^# ---- smtptls TLS depth servers/,/^# ---- end smtptls TLS depth servers/d' /etc/postfix/master.cf
cat >> /etc/postfix/master.cf <<'EOT'
# ---- smtptls TLS depth servers (tests/data/record/setup_tls.sh) ----
127.0.0.7:smtp inet n - n - - smtpd
  -o myhostname=mx7.smtptls.test
  -o smtpd_tls_chain_files=/etc/postfix/tls/mx7-chain.pem
  -o smtpd_tls_protocols=>=TLSv1.2
127.0.0.8:smtp inet n - n - - smtpd
  -o myhostname=mx8.smtptls.test
  -o smtpd_tls_chain_files=/etc/postfix/tls/mx8-chain.pem
127.0.0.9:smtp inet n - n - - smtpd
  -o myhostname=mx9.smtptls.test
  -o smtpd_tls_protocols=>=TLSv1.2,<=TLSv1.2
  -o smtpd_tls_ciphers=null
  -o tls_null_cipherlist=eNULL:!aNULL:@SECLEVEL=0
# ---- end smtptls TLS depth servers ----
EOT
script -qc "postfix check" /dev/null || true
postfix reload
sleep 2
ss -ltn | grep -E '127\.0\.0\.[789]:25 ' || { echo "setup_tls.sh: the new servers do not listen" >&2; exit 1; }
