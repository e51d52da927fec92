#!/bin/bash
# Records ../failed-retry.pcap: a TLS handshake that fails after the
# ServerHello (the client rejects the certificate: unknown_ca), then the
# client's plaintext retry, between two network namespaces on a veth pair
# (frames <= 1514 bytes), Postfix as the server with a config of its own
# (nothing of the host's Postfix, network or /etc is touched). As root:
#   bash failed_retry.sh    (then python3 ../make_truth.py)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/dissect-rec.XXXXXX)
chmod 755 "$work"
mkdir -p "$work/etc" "$work/spool" "$work/data"
chown postfix "$work/data"

cleanup() {
	[ -n "${dump:-}" ] && kill "$dump" 2>/dev/null || true
	ip netns exec dissect-srv postfix -c "$work/etc" stop >/dev/null 2>&1 || true
	sleep 1
	ip netns del dissect-cli 2>/dev/null || true
	ip netns del dissect-srv 2>/dev/null || true
}
trap cleanup EXIT

ip netns add dissect-srv
ip netns add dissect-cli
ip link add dissect-a type veth peer name dissect-b
ip link set dissect-a netns dissect-cli
ip link set dissect-b netns dissect-srv
ip netns exec dissect-cli ip addr add 10.77.0.2/24 dev dissect-a
ip netns exec dissect-srv ip addr add 10.77.0.1/24 dev dissect-b
for nd in dissect-cli:dissect-a dissect-srv:dissect-b; do
	ns=${nd%%:*} dev=${nd##*:}
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" ip link set "$dev" up mtu 1500
	ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/etc/key.pem" -out "$work/etc/cert.pem" \
	-days 3650 -subj "/CN=mx.dissect.test" -addext "subjectAltName=DNS:mx.dissect.test" 2>/dev/null
cat > "$work/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $work/spool
data_directory = $work/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 10.77.0.1
inet_protocols = ipv4
myhostname = mx.dissect.test
mydomain = dissect.test
mydestination = \$myhostname, dissect.test
mynetworks = 10.77.0.0/24, 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP Postfix
alias_maps =
alias_database =
local_recipient_maps =
smtpd_tls_security_level = may
smtpd_tls_cert_file = $work/etc/cert.pem
smtpd_tls_key_file = $work/etc/key.pem
smtpd_tls_loglevel = 1
maillog_file = $work/postfix.log
maillog_file_prefixes = /var, $work
default_transport = discard
local_transport = discard
relay_transport = discard
smtputf8_enable = no
EOC
cat > "$work/etc/master.cf" <<'EOC'
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOC
ip netns exec dissect-srv postfix -c "$work/etc" check
ip netns exec dissect-srv postfix -c "$work/etc" start
sleep 2

: > "$work/tcpdump.out"
ip netns exec dissect-srv tcpdump -i dissect-b -U -w "$work/failed-retry.pcap" 'tcp port 25' \
	2> "$work/tcpdump.out" &
dump=$!
until grep -q listening "$work/tcpdump.out"; do sleep 0.2; done
ip netns exec dissect-cli python3 "$here/failed_retry_client.py" 10.77.0.1 client-retry.dissect.test \
	> "$work/client.out" 2> "$work/client.err"
sleep 2
kill "$dump"
wait "$dump" 2>/dev/null || true
dump=

cp "$work/failed-retry.pcap" "$here/../failed-retry.pcap"
{
	echo "### recorded $(date -u +%Y-%m-%dT%H:%M:%SZ) by record/failed_retry.sh"
	cat "$work/client.out"
	echo "### client dialogue (smtplib debug output)"
	cat "$work/client.err"
	echo "### postfix log"
	grep -E 'smtpd|cleanup|qmgr|discard' "$work/postfix.log"
	echo "### server certificate: self-signed, CN=mx.dissect.test (not in the client's CAs)"
	openssl x509 -in "$work/etc/cert.pem" -noout -fingerprint -sha256
} > "$here/failed-retry.log"
cleanup # Postfix stops with its config, which goes next
trap - EXIT
rm -rf "$work"
