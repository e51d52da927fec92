#!/bin/bash
# Record the DNS world: build the network, start every server, capture the
# watched link, send one message per (sender, recipient domain) in four rounds,
# stop, and keep the raw evidence in tests/data/dns/logs/.
#
#   round 1  s3 (ignores policies)      nothing about the domains seen yet
#   round 2  s2 (MTA-STS) + TLS-RPT     _mta-sts TXT, policy fetch over HTTPS,
#            lookups (drill, as a TLS-RPT reporter would make them)
#   round 3  s1 (DANE)                  TLSA lookups, DNSSEC
#   round 4  s3 again                   now every domain's policies were seen
#
# usage: bash record.sh        (as root, Debian 12; runs setup.sh first)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DNSDATA=$(dirname "$HERE")
R=/var/tmp/dnsworld
C=$HERE/conf
DOMAINS=${DOMAINS:-"dane.test daneta.test sts.test both.test plain.test badtlsa.test strip.test notls.test unsigned.test insecure.test"}
GAP=${GAP:-70}
EXIM=$R/exim/root/usr/sbin/exim4
CAP=$R/dnsworld.pcap
FILTER='port 53 or tcp port 25 or tcp port 465 or tcp port 587 or tcp port 443'
nx() { local ns=$1; shift; ip netns exec "dnsworld-$ns" "$@"; }
say() { echo "[$(date -u +%T)] $*" | tee -a "$R/logs/record.log"; }

prepare() {
    stop_all 2>/dev/null || true
    rm -rf "$R"; mkdir -p "$R"/{logs,run,pki,mta-sts,nginx,s1,s2,s3,exim/spool,exim/log}
    cp "$HERE"/pki/*.pem "$HERE"/pki/*.key "$R/pki/"
    cp "$C"/mta-sts/*.txt "$R/mta-sts/"
    R=$R bash "$HERE/zones.sh"
    bash "$C/postfix.sh"
    mkdir -p "$R/exim/root"; (cd "$R/exim" && apt-get download -q exim4-daemon-light exim4-base >/dev/null 2>&1 && for d in *.deb; do dpkg -x "$d" root; done)
    chown -R Debian-exim "$R/exim/spool" "$R/exim/log"; chown Debian-exim "$R/exim"
    bash "$HERE/world.sh" up
}

start_rest() {
    for n in root tld dom; do nx net nsd -c "$C/nsd-$n.conf"; done
    nx net nginx -c "$C/nginx.conf" -p "$R/nginx/"
    nx net postfix -c "$R/pf-rcv/etc" start
    nx net "$EXIM" -C "$C/exim-daneta.conf" -bd
    # started with ip netns exec itself (not through nx), so that $! is the server's own pid
    ip netns exec dnsworld-net /usr/bin/python3 "$HERE/strip_relay.py" 203.0.113.17 25 127.0.0.17 25 "$R/logs/strip-relay.log" &
    echo $! > "$R/run/strip-relay.pid"
    sleep 2
}

start_senders() {
    for n in 1 2 3; do nx s$n unbound -c "$C/unbound-s$n.conf"; done
    SSL_CERT_FILE="$R/pki/ca.pem" ip netns exec dnsworld-s2 mta-sts-daemon -c "$C/mta-sts-daemon.yml" -l "$R/logs/mta-sts-daemon.log" -v debug &
    echo $! > "$R/run/mta-sts-daemon.pid"
    for n in 1 2 3; do nx s$n postfix -c "$R/pf-s$n/etc" start; done
    sleep 3
}

cap_start() {
    ip netns exec dnsworld-net tcpdump -i dnsworld-gw -U -s 262144 -w "$CAP" "$FILTER" 2> "$R/logs/tcpdump.log" &
    echo $! > "$R/run/tcpdump.pid"
    for _ in $(seq 100); do grep -q "listening on" "$R/logs/tcpdump.log" && return 0; sleep 0.1; done
    echo "tcpdump did not start" >&2; return 1
}

cap_stop() {
    sleep 2
    kill -INT "$(cat "$R/run/tcpdump.pid")"; sleep 1
}

# send N DOMAIN: hand one message to sender sN, wait for its delivery attempt
send() {
    local n=$1 d=$2 out qid
    say "round $ROUND: s$n -> postmaster@$d"
    out=$(nx s$n swaks -s 127.0.0.1 -f "postmaster@out$n.senders.test" -t "postmaster@$d" --helo "out$n.senders.test" \
          --h-Subject "dnsworld round $ROUND s$n to $d" --body "test message" 2>&1)
    qid=$(echo "$out" | sed -n 's/.*queued as \([0-9A-F]*\).*/\1/p' | head -1)
    [ -n "$qid" ] || { echo "$out" >&2; return 1; }
    echo "round=$ROUND sender=s$n domain=$d queue_id=$qid" >> "$R/logs/messages.txt"
    for _ in $(seq 300); do
        grep -q "$qid: to=<postmaster@$d>.*status=" "$R/logs/postfix-s$n.log" 2>/dev/null && break
        sleep 0.1
    done
    grep "$qid: to=<postmaster@$d>.*status=" "$R/logs/postfix-s$n.log" | tail -1 | sed 's/^/    /' | tee -a "$R/logs/record.log"
    sleep 2
}

tlsrpt_lookup() {  # the TLS-RPT record a reporting sender reads before reporting
    say "round $ROUND: s2 looks up _smtp._tls.$1 TXT (drill)"
    nx s2 drill TXT "_smtp._tls.$1" @127.0.0.1 >> "$R/logs/drill-s2.log" 2>&1 || true
}

rounds() {
    # rounds are $GAP s apart: a lookup made in one round is never within a
    # minute of a session of another round, whoever made it
    ROUND=1; for d in $DOMAINS; do send 3 "$d"; done; sleep "$GAP"
    ROUND=2; for d in $DOMAINS; do tlsrpt_lookup "$d"; send 2 "$d"; done; sleep "$GAP"
    ROUND=3; for d in $DOMAINS; do send 1 "$d"; done; sleep "$GAP"
    ROUND=4; for d in $DOMAINS; do send 3 "$d"; done
}

stop_all() {
    for n in 1 2 3; do [ -d "$R/pf-s$n" ] && nx s$n postfix -c "$R/pf-s$n/etc" stop 2>/dev/null || true; done
    [ -d "$R/pf-rcv" ] && nx net postfix -c "$R/pf-rcv/etc" stop 2>/dev/null || true
    for p in "$R"/run/*.pid "$R"/exim/exim.pid; do
        [ -s "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    done
    sleep 2
}

# The control: the same frames without DNS and HTTPS (tcpdump copies the kept
# frames byte for byte, with their original time stamps).
derive_nodns() {
    tcpdump -r "$DNSDATA/dnsworld.pcap" -w "$DNSDATA/nodns.pcap" 'tcp port 25 or tcp port 465 or tcp port 587' 2>/dev/null
}

collect() {
    local L=$DNSDATA/logs
    rm -rf "$L"; mkdir -p "$L/zones"
    cp "$R"/logs/* "$L/"
    cp "$R"/exim/log/mainlog "$L/exim-mainlog.log"
    cp "$R"/dns/*.zone.signed "$R"/dns/root.ds "$R"/dns/root.hints "$L/zones/"
    cp "$CAP" "$DNSDATA/dnsworld.pcap"
    derive_nodns
    {
        echo "recorded: $(date -u +%FT%TZ) on $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
        for p in nsd unbound postfix postfix-mta-sts-resolver nginx openssl ldnsutils swaks tcpdump python3-aiohttp python3-aiodns; do
            echo "$p $(dpkg-query -W -f='${Version}' "$p")"
        done
        echo "exim4-daemon-light $(dpkg-deb -f "$R"/exim/exim4-daemon-light_*.deb Version) (unpacked, not installed)"
    } > "$L/versions.txt"
}

[ "${1:-}" = --derive ] && { derive_nodns; exit 0; }
[ "${1:-}" = --no-setup ] || bash "$HERE/setup.sh"
prepare
start_rest
cap_start
start_senders
rounds
cap_stop
stop_all
collect
bash "$HERE/world.sh" down
say "done: $DNSDATA/dnsworld.pcap; now: /usr/bin/python3 $HERE/make_truth.py"
