#!/bin/sh
# Derives the damaged captures of this folder from the recordings in
# tests/data (and failed-retry.pcap, recorded here), byte-faithfully: editcap cuts frames to a snapshot length
# (-s) or drops the first frames (-r keeps a range), tcpdump keeps one
# direction, tcprewrite moves a port. Then `python3 make_truth.py` writes
# truth.json. Run from anywhere; needs editcap, tcpdump and tcprewrite.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=$here/..
cd "$here"

for n in 96 128 200; do
  editcap -s "$n" "$data/mixed.pcap" "mixed-s$n.pcap"
done
# one direction of a link (asymmetric routing, one tap port)
tcpdump -r "$data/mixed.pcap" -w mixed-client.pcap 'dst port 25 or dst port 465' 2>/dev/null
tcpdump -r "$data/mixed.pcap" -w mixed-server.pcap 'src port 25 or src port 465' 2>/dev/null
tcpdump -r "$data/cleartext-auth.pcap" -w cleartext-auth-client.pcap 'dst port 25' 2>/dev/null
tcpdump -r "$data/hrr.pcap" -w hrr-client.pcap 'dst port 25' 2>/dev/null
tcpdump -r "$data/resumption.pcap" -w resumption-server.pcap 'src port 25' 2>/dev/null
tcpdump -r "$data/resumption12.pcap" -w resumption12-server.pcap 'src port 25' 2>/dev/null
tcpdump -r "$data/refused-handshake.pcap" -w refused-handshake-server.pcap 'src port 25' 2>/dev/null
tcpdump -r "$data/starttls-no-hello.pcap" -w starttls-no-hello-server.pcap 'src port 25' 2>/dev/null
# the capture started mid-session: at the 220 to STARTTLS, at the
# ClientHello, after the hellos
editcap -r "$data/starttls-tls13.pcap" starttls-tls13-mid220.pcap 10-1000
editcap -r "$data/starttls-tls12.pcap" starttls-tls12-midhello.pcap 11-1000
editcap -r "$data/starttls-tls13.pcap" starttls-tls13-middata.pcap 14-1000
# the failed handshake and its plaintext retry (record/failed_retry.sh),
# cut and one-sided
editcap -s 96 failed-retry.pcap failed-retry-s96.pcap
tcpdump -r failed-retry.pcap -w failed-retry-client.pcap 'dst port 25' 2>/dev/null
tcpdump -r failed-retry.pcap -w failed-retry-server.pcap 'src port 25' 2>/dev/null
# SMTP on a port nobody configured (captured with --classify)
tcprewrite --portmap=25:2525 -i "$data/no-starttls.pcap" -o no-starttls-2525.pcap
tcprewrite --portmap=25:2525 -i "$data/mixed.pcap" -o mixed-2525.pcap
