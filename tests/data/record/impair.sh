#!/bin/bash
# impair.sh on|off -- loss/delay/reorder for SMTP ports on lo without sch_netem
# (this kernel has no netem).  "on": iptables-legacy sends lo OUTPUT packets of
# ports 25/465/587 to NFQUEUE 0 (netimpair.py decides: drop / delay / overtake) and
# drops 2% of them on INPUT (after the capture point, so those show up twice in the
# capture: original + retransmission).  It also clamps the MSS of these connections
# to 1460 and turns TSO/GSO off on lo, so that data goes as Ethernet-sized segments
# (several in flight at once, which is what makes reordering possible).
# "off" removes every rule it added and restores lo's offload settings.
IPT=iptables-legacy
case "$1" in
on)
    $IPT -N SMTPTLS_OUT 2>/dev/null; $IPT -F SMTPTLS_OUT
    $IPT -N SMTPTLS_IN 2>/dev/null; $IPT -F SMTPTLS_IN
    $IPT -A SMTPTLS_OUT -o lo -p tcp -m multiport --ports 25,465,587 -j NFQUEUE --queue-num 0 --queue-bypass
    $IPT -A SMTPTLS_IN -i lo -p tcp -m multiport --ports 25,465,587 -m statistic --mode random --probability 0.02 -j DROP
    $IPT -C OUTPUT -j SMTPTLS_OUT 2>/dev/null || $IPT -I OUTPUT -j SMTPTLS_OUT
    $IPT -C INPUT -j SMTPTLS_IN 2>/dev/null || $IPT -I INPUT -j SMTPTLS_IN
    $IPT -t mangle -C OUTPUT -o lo -p tcp --tcp-flags SYN SYN -m multiport --ports 25,465,587 -j TCPMSS --set-mss 1460 2>/dev/null ||
        $IPT -t mangle -A OUTPUT -o lo -p tcp --tcp-flags SYN SYN -m multiport --ports 25,465,587 -j TCPMSS --set-mss 1460
    [ -f /run/smtptls-lo-offload ] || ethtool -k lo | awk '/^tcp-segmentation-offload:/{t=$2} /^generic-segmentation-offload:/{g=$2} END{print "tso " t " gso " g}' > /run/smtptls-lo-offload
    ethtool -K lo tso off gso off
    ;;
off)
    $IPT -D OUTPUT -j SMTPTLS_OUT 2>/dev/null
    $IPT -D INPUT -j SMTPTLS_IN 2>/dev/null
    $IPT -F SMTPTLS_OUT 2>/dev/null; $IPT -X SMTPTLS_OUT 2>/dev/null
    $IPT -F SMTPTLS_IN 2>/dev/null; $IPT -X SMTPTLS_IN 2>/dev/null
    $IPT -t mangle -D OUTPUT -o lo -p tcp --tcp-flags SYN SYN -m multiport --ports 25,465,587 -j TCPMSS --set-mss 1460 2>/dev/null
    if [ -f /run/smtptls-lo-offload ]; then ethtool -K lo $(cat /run/smtptls-lo-offload); rm -f /run/smtptls-lo-offload; fi
    ;;
*) echo "usage: $0 on|off" >&2; exit 2;;
esac
