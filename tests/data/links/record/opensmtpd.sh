#!/bin/bash
# OpenSMTPD 6.8.0p2 (Debian 12's opensmtpd, OpenSSL 3), unpacked with
# `apt-get download` + `dpkg -x` (it conflicts with Postfix as a package).
# Its spool (/var/spool/smtpd) and control socket (/run/smtpd.sock) are
# compiled in: each instance runs in a mount namespace of its own (ip netns
# exec makes one) where $RUN/NAME/spool is bound over /var/spool and
# $RUN/NAME/run over /run; opensmtpd/opensmtpq exist only inside the namespaces.
#   os-rcv (links-rcv): mx30 198.51.100.30 :25 STARTTLS (RSA certificate from
#       the test CA; under OpenSSL 3 every handshake fails after the
#       ServerHello), mx31 198.51.100.31 :25 without TLS.
#   os-snd (links-snd): the sending MTA out7 192.0.2.7, listening on
#       127.0.0.1:10027 for injection, relaying by recipient domain.
#   opensmtpd.sh config | start | stop
set -euo pipefail
RUN=${RUN:-/var/tmp/links-run}
SW=${SW:-/var/tmp/links-sw}
SMTPD=$SW/opensmtpd/usr/sbin/smtpd
P=$RUN/pki
SND=links-snd RCV=links-rcv

rcv_config() {
    local d=$RUN/os-rcv
    mkdir -p "$d/spool/smtpd" "$d/run" "$d/varlib/opensmtpd/empty"; chmod 711 "$d/spool/smtpd"
    install -m 600 "$P/mx30.links.test.key" "$d/mx30.key"
    cat > "$d/smtpd.conf" <<EOT
pki mx30.links.test cert "$P/mx30.links.test.chain.pem"
pki mx30.links.test key "$d/mx30.key"
listen on 198.51.100.30 port 25 tls pki mx30.links.test hostname mx30.links.test
listen on 198.51.100.31 port 25 hostname mx31.links.test
table sinkusers { "@" = "nobody" }
action "sink" mda "/bin/cat > /dev/null" virtual <sinkusers>
match from any for any action "sink"
EOT
}

snd_config() {
    local d=$RUN/os-snd
    mkdir -p "$d/spool/smtpd" "$d/run" "$d/varlib/opensmtpd/empty"; chmod 711 "$d/spool/smtpd"
    cat > "$d/smtpd.conf" <<EOT
listen on lo port 10027 hostname out7.links.test
action "to-pf10" relay host smtp://198.51.100.10 src 192.0.2.7 helo out7.links.test
action "to-pf11" relay host smtp://198.51.100.11 src 192.0.2.7 helo out7.links.test
action "to-pf12" relay host smtp://198.51.100.12 src 192.0.2.7 helo out7.links.test
action "to-ex20" relay host smtp://198.51.100.20 src 192.0.2.7 helo out7.links.test
action "to-ex21" relay host smtp://198.51.100.21 src 192.0.2.7 helo out7.links.test
action "to-os31" relay host smtp://198.51.100.31 src 192.0.2.7 helo out7.links.test
match from any for domain "os-pf10.links.test" action "to-pf10"
match from any for domain "os-pf11.links.test" action "to-pf11"
match from any for domain "os-pf12.links.test" action "to-pf12"
match from any for domain "os-ex20.links.test" action "to-ex20"
match from any for domain "os-ex21.links.test" action "to-ex21"
match from any for domain "os-os31.links.test" action "to-os31"
EOT
}

# binds: spool, control socket, the privsep chroot (/var/lib/opensmtpd/empty)
# and the helpers (/usr/libexec/opensmtpd/mail.mda), all only inside the
# mount namespace of this process tree.
binds() {  # NAME
    local d=$RUN/$1
    echo "mount --bind '$d/spool' /var/spool && mount --bind '$d/run' /run && \
mount --bind '$d/varlib' /var/lib && mount --bind '$SW/opensmtpd/usr/libexec' /usr/libexec"
}
osmtpd() {  # NS NAME args...
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" sh -c "$(binds "$name") && exec '$SMTPD' -f '$RUN/$name/smtpd.conf' $*"
}

case "${1:-}" in
    config) rcv_config; snd_config
            osmtpd $RCV os-rcv -n; osmtpd $SND os-snd -n ;;
    start) for x in "$RCV os-rcv" "$SND os-snd"; do
               set -- $x
               nohup ip netns exec "$1" sh -c "$(binds "$2") && \
                   exec '$SMTPD' -d -v -T smtp -f '$RUN/$2/smtpd.conf'" >> "$RUN/$2/smtpd.log" 2>&1 &
               echo $! > "$RUN/$2/smtpd.pid"
           done ;;
    stop) for n in os-rcv os-snd; do
              [ -s "$RUN/$n/smtpd.pid" ] && kill "$(cat "$RUN/$n/smtpd.pid")" 2>/dev/null || true
              rm -f "$RUN/$n/smtpd.pid"
          done ;;
    *) echo "usage: opensmtpd.sh config|start|stop" >&2; exit 2 ;;
esac
