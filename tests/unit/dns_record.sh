#!/bin/bash
# Records the real DNS messages of tests/unit/dns_vectors.h: nsd serving a
# DNSSEC-signed zone (smtptls.test: MX, A/AAAA, CNAME, MTA-STS and TLS-RPT
# TXT, TLSA 3 1 1 and 3 0 1 of the Postfix test certificate of
# test_x509.c) and an unsigned one (plain.test), unbound validating in
# front of it, drill asking (UDP with and without DO, and TCP), all on the
# loopback of a network namespace (dnsmod-a), captured by tcpdump.
#   tests/unit/dns_record.sh       (as root; needs nsd unbound ldns-utils tcpdump)
# The signatures differ at every run; the tests only rely on what the
# zones say. Nothing leaves the namespace; it is deleted at the end.
set -eu
cd "$(dirname "$0")"
here=$PWD
ns=dnsmod-a
work=$(mktemp -d /tmp/dnsmod-rec.XXXXXX)
spki=8ddfc6af034c01e3c49802d8291d4b22c23171337199cf43c614ba93c0c56c2f # SHA-256, SPKI
cert=39f9d7b40cf6ab735803cfd878f5169e1b1bf4052e6fde32540ec92df11c8644 # SHA-256, cert
cleanup() {
  for p in "$work"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

cat > smtptls.test.zone <<EOF
\$ORIGIN smtptls.test.
\$TTL 300
@ IN SOA ns1 hostmaster 1 3600 900 604800 120
@ NS ns1
ns1 A 127.0.0.1
@ MX 10 mx1
@ MX 20 mx2
mx1 A 192.0.2.25
mx1 AAAA 2001:db8::25
mx2 A 192.0.2.26
mxalias CNAME mx1
_mta-sts TXT "v=STSv1; id=20240101T000000;"
mta-sts A 192.0.2.80
_smtp._tls TXT "v=TLSRPTv1; " "rua=mailto:tlsrpt@smtptls.test"
_25._tcp.mx1 TLSA 3 1 1 $spki
_25._tcp.mx1 TLSA 3 0 1 $cert
nosts MX 10 mx2
_mta-sts.nosts TXT "hello world"
EOF
cat > plain.test.zone <<EOF
\$ORIGIN plain.test.
\$TTL 600
@ IN SOA ns1 hostmaster 1 3600 900 604800 60
@ NS ns1
ns1 A 127.0.0.1
@ MX 5 mail
mail A 198.51.100.7
_25._tcp.mail TLSA 3 1 1 $spki
EOF
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k smtptls.test)
zsk=$(ldns-keygen -a ECDSAP256SHA256 smtptls.test)
ldns-signzone -e 20360101000000 -i 20250101000000 smtptls.test.zone "$ksk" "$zsk"

cat > nsd.conf <<EOF
server:
  ip-address: 127.0.0.1
  username: ""
  zonesdir: "$work"
  database: ""
  pidfile: "$work/nsd.pid"
  logfile: "$work/nsd.log"
  xfrdfile: "$work/xfrd.state"
  zonelistfile: "$work/zone.list"
  xfrdir: "$work"
  chroot: ""
remote-control:
  control-enable: no
zone:
  name: smtptls.test
  zonefile: smtptls.test.zone.signed
zone:
  name: plain.test
  zonefile: plain.test.zone
EOF
cat > unbound.conf <<EOF
server:
  interface: 127.0.0.2
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: "$work/unbound.pid"
  logfile: "$work/unbound.log"
  use-syslog: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor: "$(tr '\t' ' ' < "$ksk.ds")"
  domain-insecure: "plain.test"
  local-zone: "test." nodefault
  qname-minimisation: no
  minimal-responses: yes
stub-zone:
  name: "smtptls.test"
  stub-addr: 127.0.0.1@53
stub-zone:
  name: "plain.test"
  stub-addr: 127.0.0.1@53
remote-control:
  control-enable: no
EOF

ip netns add "$ns"
N="ip netns exec $ns"
$N ip link set lo up
$N nsd -c nsd.conf
$N tcpdump -i lo -U -w dns.pcap 'port 53' > tcpdump.log 2>&1 &
echo $! > tcpdump.pid
sleep 2
$N unbound -c unbound.conf
sleep 1
ask() { $N drill "$@" > /dev/null; }
ask -D @127.0.0.2 smtptls.test MX
ask -D @127.0.0.2 mx1.smtptls.test A
ask -D @127.0.0.2 mx1.smtptls.test AAAA
ask -D @127.0.0.2 _mta-sts.smtptls.test TXT
ask -D @127.0.0.2 _smtp._tls.smtptls.test TXT
ask -D @127.0.0.2 _25._tcp.mx1.smtptls.test TLSA
ask -D @127.0.0.2 _25._tcp.mx2.smtptls.test TLSA
ask -D @127.0.0.2 _mta-sts.nosts.smtptls.test TXT
ask -D @127.0.0.2 _mta-sts.none.smtptls.test TXT
ask -D @127.0.0.2 mxalias.smtptls.test A
ask @127.0.0.2 plain.test MX
ask -D @127.0.0.2 _25._tcp.mail.plain.test TLSA
ask -D @127.0.0.2 mail.plain.test A
ask @127.0.0.2 _25._tcp.mail.plain.test TLSA
ask -t -D @127.0.0.2 smtptls.test MX
ask -t -D @127.0.0.1 _25._tcp.mx1.smtptls.test TLSA
sleep 1
kill "$(cat tcpdump.pid)"
rm tcpdump.pid
sleep 1
python3 "$here/dns_pcap2vec.py" dns.pcap > "$here/dns_vectors.h"
echo "dns_record: wrote $here/dns_vectors.h"
