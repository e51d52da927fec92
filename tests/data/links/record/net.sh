#!/bin/bash
# The link: two network namespaces joined by a veth pair, MTU 1500, offloads off
# on both ends, so every frame is <= 1514 bytes like a wire's.  Nothing leaves
# the namespaces.
#   net.sh up     create links-snd (senders) and links-rcv (receivers)
#   net.sh down   delete them (and the /etc/netns overlays)
#
#   links-snd  links-s0 02:00:5e:10:00:01  192.0.2.1-.9/24     2001:db8:1::1-9/64
#      |  veth, MTU 1500, tso/gso/gro/tx/rx off
#   links-rcv  links-r0 02:00:5e:10:00:02  198.51.100.10-.39/24 2001:db8:2::10-39/64
# Both sides use documentation prefixes (RFC 5737, RFC 3849) with on-link
# routes to each other, so there is no router and no ARP proxy.
set -euo pipefail
SND=links-snd RCV=links-rcv
RUN=${RUN:-/var/tmp/links-run}

overlay() {  # /etc/netns/NS/{passwd,group}: users the MTAs need, only inside NS
    local ns=$1 d=/etc/netns/$1
    mkdir -p "$d"
    # the host may have its own entries for these names (another Exim): ours win
    grep -vE '^(Debian-exim|opensmtpd|opensmtpq):' /etc/passwd > "$d/passwd"
    grep -vE '^(Debian-exim|opensmtpd|opensmtpq):' /etc/group > "$d/group"
    cat >> "$d/passwd" <<'EOT'
Debian-exim:x:64990:64990:Exim (links):/nonexistent:/usr/sbin/nologin
opensmtpd:x:64991:64991:OpenSMTPD (links):/nonexistent:/usr/sbin/nologin
opensmtpq:x:64992:64992:OpenSMTPD queue (links):/nonexistent:/usr/sbin/nologin
EOT
    cat >> "$d/group" <<'EOT'
Debian-exim:x:64990:
opensmtpd:x:64991:
opensmtpq:x:64992:
EOT
    # hosts: our names only (no DNS in the namespaces)
    cat > "$d/hosts" <<'EOT'
127.0.0.1 localhost
::1 localhost
EOT
}

up() {
    ip netns add $SND; ip netns add $RCV
    ip link add links-s0 type veth peer name links-r0
    ip link set links-s0 netns $SND; ip link set links-r0 netns $RCV
    local ns dev mac
    for pair in "$SND links-s0 02:00:5e:10:00:01" "$RCV links-r0 02:00:5e:10:00:02"; do
        set -- $pair; ns=$1 dev=$2 mac=$3
        ip -n "$ns" link set lo up
        ip -n "$ns" link set "$dev" address "$mac" mtu 1500
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.$dev.accept_dad=0 net.ipv6.conf.$dev.accept_ra=0 net.ipv6.conf.$dev.router_solicitations=0
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off rx off >/dev/null
        ip -n "$ns" link set "$dev" up
        overlay "$ns"
    done
    for i in 1 2 3 4 5 6 7 8 9; do
        ip -n $SND addr add 192.0.2.$i/24 dev links-s0
        ip -n $SND addr add 2001:db8:1::$i/64 dev links-s0 nodad
    done
    for i in $(seq 10 39); do
        ip -n $RCV addr add 198.51.100.$i/24 dev links-r0
        ip -n $RCV addr add 2001:db8:2::$i/64 dev links-r0 nodad
    done
    ip -n $SND route add 198.51.100.0/24 dev links-s0 src 192.0.2.1
    ip -n $SND -6 route add 2001:db8:2::/64 dev links-s0 src 2001:db8:1::1
    ip -n $RCV route add 192.0.2.0/24 dev links-r0 src 198.51.100.10
    ip -n $RCV -6 route add 2001:db8:1::/64 dev links-r0 src 2001:db8:2::10
    mkdir -p "$RUN"
    echo "links: namespaces up"
}

down() {
    ip netns del $SND 2>/dev/null || true
    ip netns del $RCV 2>/dev/null || true
    rm -rf /etc/netns/$SND /etc/netns/$RCV
    rmdir /etc/netns 2>/dev/null || true
}

case "${1:-}" in
    up) down; up ;;
    down) down ;;
    *) echo "usage: net.sh up|down" >&2; exit 2 ;;
esac
