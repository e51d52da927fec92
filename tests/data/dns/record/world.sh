#!/bin/bash
# The network of the DNS world: three sending hosts on one LAN whose uplink is
# the link the sensor watches, and "the rest" (authoritative DNS, web, MX hosts)
# in one namespace behind it.  Nothing leaves the namespaces.
#
#   dnsworld-s1 (192.0.2.25, 2001:db8:2::25)  Postfix DANE sender + unbound
#   dnsworld-s2 (192.0.2.26, 2001:db8:2::26)  Postfix + mta-sts-daemon + unbound
#   dnsworld-s3 (192.0.2.27, 2001:db8:2::27)  Postfix ignoring policies + unbound (TCP upstream)
#        |  dnsworld-s1/-s2/-s3 <-> dnsworld-s1p/-s2p/-s3p
#   dnsworld-lan: bridge dnsworld-br  (the senders' LAN switch)
#        |  dnsworld-up <-> dnsworld-gw        <== mirror port: tcpdump -i dnsworld-gw
#   dnsworld-net: gateway 192.0.2.1 / 2001:db8:2::1; on its lo: root, TLD and
#        domain name servers (198.51.100.1-3), nginx (203.0.113.80), MX hosts
#        (203.0.113.11-20, 2001:db8:113::15), the STARTTLS-stripping relay.
#
# usage: world.sh up|down
set -euo pipefail
NS_SND="dnsworld-s1 dnsworld-s2 dnsworld-s3"
ALL="$NS_SND dnsworld-lan dnsworld-net"

nox() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
quiet_link() {  # ns dev: MTU 1500, offloads off, so frames are wire-sized
    nox "$1" ip link set "$2" mtu 1500
    nox "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
    nox "$1" ip link set "$2" up
}

reach() {  # ns addr: a TCP connect to a closed port is refused (RST) when the path works
    local out
    out=$(nox "$1" python3 -c "import socket,sys
try: socket.create_connection(('$2', 9), timeout=3)
except ConnectionRefusedError: sys.exit(0)
except Exception as e: print(e); sys.exit(1)" 2>&1) || { echo "no path from $1 to $2: $out" >&2; exit 1; }
}

down() {
    for ns in $ALL; do ip netns del "$ns" 2>/dev/null || true; done
    for ns in $ALL; do rm -rf "/etc/netns/$ns"; done
}

up() {
    down
    for ns in $ALL; do ip netns add "$ns"; nox "$ns" ip link set lo up; done
    nox dnsworld-lan ip link add dnsworld-br type bridge
    nox dnsworld-lan ip link set dnsworld-br up
    nox dnsworld-lan sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    local i=25
    for n in 1 2 3; do
        ip link add "dnsworld-s$n" netns "dnsworld-s$n" type veth peer name "dnsworld-s${n}p" netns dnsworld-lan
        quiet_link "dnsworld-s$n" "dnsworld-s$n"
        quiet_link dnsworld-lan "dnsworld-s${n}p"
        nox dnsworld-lan ip link set "dnsworld-s${n}p" master dnsworld-br
        nox "dnsworld-s$n" ip addr add "192.0.2.$i/24" dev "dnsworld-s$n"
        nox "dnsworld-s$n" ip addr add "2001:db8:2::$i/64" dev "dnsworld-s$n" nodad
        nox "dnsworld-s$n" ip route add default via 192.0.2.1
        nox "dnsworld-s$n" ip -6 route add default via 2001:db8:2::1
        mkdir -p "/etc/netns/dnsworld-s$n"
        # the host's own validating resolver (unbound on 127.0.0.1); trust-ad so
        # glibc passes the AD bit on to Postfix
        printf 'nameserver 127.0.0.1\noptions trust-ad\n' > "/etc/netns/dnsworld-s$n/resolv.conf"
        # the machine's own name stays local (swaks and Postfix ask for it)
        printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$(hostname)" > "/etc/netns/dnsworld-s$n/hosts"
        i=$((i + 1))
    done
    ip link add dnsworld-up netns dnsworld-lan type veth peer name dnsworld-gw netns dnsworld-net
    quiet_link dnsworld-lan dnsworld-up
    quiet_link dnsworld-net dnsworld-gw
    nox dnsworld-lan ip link set dnsworld-up master dnsworld-br
    nox dnsworld-net ip addr add 192.0.2.1/24 dev dnsworld-gw
    nox dnsworld-net ip addr add 2001:db8:2::1/64 dev dnsworld-gw nodad
    for a in 198.51.100.1 198.51.100.2 198.51.100.3 203.0.113.80 \
             203.0.113.11 203.0.113.12 203.0.113.13 203.0.113.14 203.0.113.16 \
             203.0.113.17 203.0.113.18 203.0.113.19 203.0.113.20 127.0.0.17; do
        nox dnsworld-net ip addr add "$a/32" dev lo
    done
    nox dnsworld-net ip addr add 2001:db8:113::15/128 dev lo nodad
    mkdir -p /etc/netns/dnsworld-net
    # nothing answers here: the receivers' reverse lookups fail at once, inside the namespace
    printf 'nameserver 127.0.0.1\n' > /etc/netns/dnsworld-net/resolv.conf
    printf '127.0.0.1 localhost\n::1 localhost\n' > /etc/netns/dnsworld-net/hosts
    sleep 1
    reach dnsworld-s1 203.0.113.11; reach dnsworld-s2 2001:db8:113::15; reach dnsworld-s3 198.51.100.1
    echo "world up"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
