#!/bin/bash
# failed-handshake.pcap: in a network namespace of its own, a client whose
# TLS handshake fails after the ServerHello (openssl s_client does not
# trust the server's self-signed certificate and answers with a fatal
# unknown_ca alert), then the same client's retry in clear (Python's
# smtplib: one message, no STARTTLS), as an MTA with opportunistic TLS
# does. The server is failed_handshake_server.py (TLS 1.2 only). Needs
# root. usage: failed_handshake.sh OUT.pcap LOG
set -eu
dir=$(cd "$(dirname "$0")" && pwd)
out=$(realpath -m "$1")
log=$(realpath -m "$2")
ns=schema-rec
work=$(mktemp -d)
ip netns add $ns
trap 'kill $(jobs -p) 2>/dev/null || true; ip netns del $ns; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 \
  -subj "/CN=mx66.smtptls.test" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout /dev/null -out otherca.pem -days 3650 \
  -subj "/CN=some other CA" 2>/dev/null
ip netns exec $ns ip link set lo up
ip netns exec $ns tcpdump -i lo -U -s 262144 -w "$out" 'tcp port 25' 2>tcpdump.log &
sleep 1
ip netns exec $ns python3 "$dir/failed_handshake_server.py" cert.pem key.pem 2 >server.log 2>&1 &
sleep 1
echo QUIT | ip netns exec $ns timeout 10 openssl s_client -starttls smtp \
  -name client66.smtptls.test -connect 127.0.0.1:25 -tls1_2 -verify_return_error \
  -CAfile otherca.pem >client1.log 2>&1 || true
sleep 2
ip netns exec $ns python3 - >client2.log 2>&1 <<'PY'
import smtplib
s = smtplib.SMTP('127.0.0.1', 25, local_hostname='client66.smtptls.test')
s.set_debuglevel(1)
s.sendmail('a@client66.smtptls.test', ['b@mx66.smtptls.test'], 'Subject: retry in clear\r\n\r\nhello\r\n')
s.quit()
PY
sleep 1.5
kill %1
wait %1 2>/dev/null || true
{ echo "== server (failed_handshake_server.py)"; cat server.log
  echo "== client 1: openssl s_client -tls1_2 -verify_return_error"; cat client1.log
  echo "== client 2: smtplib, in clear"; cat client2.log
  echo "== tshark"; tshark -r "$out" -Y 'tls or smtp' 2>/dev/null; } >"$log"
