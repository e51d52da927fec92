#!/bin/bash
# Install what recording the DNS world needs on a fresh Debian 12 machine.
# Touches no system service's configuration: every server runs later from
# /var/tmp/dnsworld with the files in conf/.  The only system changes are the
# packages, the Debian-exim system user (the unpacked Exim binary looks it up
# by name) and /etc/netns/dnsworld-* (made and removed by world.sh).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
need=""
for p in nsd ldnsutils unbound postfix postfix-mta-sts-resolver nginx openssl swaks tcpdump tshark \
         python3-scapy python3-cryptography ethtool iproute2 curl; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then apt-get update -qq; apt-get install -y -qq $need; fi
# Debian starts some of these as services on install; the recording never
# uses those default instances (nor stops them: their ports are in the host's
# namespace, ours in dnsworld-*).
getent passwd Debian-exim >/dev/null || \
    adduser --system --group --quiet --allow-bad-names --no-create-home --home /var/tmp/dnsworld/exim Debian-exim
