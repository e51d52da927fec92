#!/bin/bash
# Exim 4.96 (Debian's exim4-daemon-heavy, GnuTLS), unpacked beside Postfix with
# `apt-get download` + `dpkg -x` (the packages conflict), run from its own
# config, spool and log under $RUN.  The Debian-exim user exists only inside the
# namespaces (/etc/netns/links-*/passwd, net.sh).
#   exim-rcv (links-rcv): mx20 198.51.100.20 / 2001:db8:2::20 :25 STARTTLS
#       (ECDSA certificate from the test CA), :465 TLS on connect, :587 AUTH
#       PLAIN/LOGIN after STARTTLS; CHUNKING and PIPELINING advertised;
#     mx21 198.51.100.21 :25 offers STARTTLS with a certificate it cannot load,
#       so STARTTLS is answered "454 TLS currently unavailable".
#     mx22 198.51.100.22 :2525 plain SMTP (no STARTTLS), a two-line 220 greeting.
#   exim-snd (links-snd): the sending MTA out6 192.0.2.6 / 2001:db8:1::6,
#       manualroute by recipient domain, CHUNKING (BDAT) where offered.
#   exim.sh config | start | stop | send FROM RCPT  (stdin: the message)
set -euo pipefail
RUN=${RUN:-/var/tmp/links-run}
SW=${SW:-/var/tmp/links-sw}
EXIM=$SW/exim/usr/sbin/exim4
P=$RUN/pki
SND=links-snd RCV=links-rcv

common() {  # NAME
    local d=$RUN/$1
    cat <<EOT
exim_path = $EXIM
exim_user = Debian-exim
exim_group = Debian-exim
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
process_log_path = $d/exim-process.info
keep_environment =
host_lookup =
rfc1413_hosts =
qualify_domain = links.test
log_selector = +incoming_port +incoming_interface +smtp_connection +smtp_incomplete_transaction \\
  +smtp_protocol_error +smtp_syntax_error +tls_peerdn +tls_sni +tls_certificate_verified \\
  +received_recipients +outgoing_port +outgoing_interface +pipelining +smtp_confirmation \\
  +deliver_time +millisec +connection_reject +lost_incoming_connection
EOT
}

rcv_config() {
    local d=$RUN/exim-rcv
    mkdir -p "$d/spool" "$d/log"
    { common exim-rcv; cat <<EOT
primary_hostname = mx20.links.test
local_interfaces = <; 198.51.100.20.25 ; 198.51.100.20.465 ; 198.51.100.20.587 ; \\
  198.51.100.21.25 ; 2001:db8:2::20.25 ; 2001:db8:2::21.25 ; 198.51.100.22.2525
tls_on_connect_ports = 465
tls_advertise_hosts = \${if eq{\$received_ip_address}{198.51.100.22}{}{*}}
# mx21 (198.51.100.21, 2001:db8:2::21) points at a certificate that does not
# exist: STARTTLS is offered and answered 454.
tls_certificate = \${if match_ip{\$received_ip_address}{<; 198.51.100.21 ; 2001:db8:2::21}\\
  {$d/missing-cert.pem}{$P/mx20.links.test.chain.pem}}
tls_privatekey = \${if match_ip{\$received_ip_address}{<; 198.51.100.21 ; 2001:db8:2::21}\\
  {$d/missing-key.pem}{$P/mx20.links.test.key}}
smtp_banner = \${if eq{\$received_ip_address}{198.51.100.22}\\
  {mx22.links.test ESMTP Exim \$version_number\\nplain SMTP on port 2525, no TLS here}\\
  {\${if match_ip{\$received_ip_address}{<; 198.51.100.21 ; 2001:db8:2::21}\\
  {mx21.links.test}{mx20.links.test}} ESMTP Exim \$version_number \$tod_full}}
chunking_advertise_hosts = *
pipelining_advertise_hosts = *
auth_advertise_hosts = \${if and{{eq{\$received_port}{587}}{!eq{\$tls_in_cipher}{}}}{*}{}}
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
smtp_accept_max = 200
smtp_accept_queue_per_connection = 0
queue_only = false

begin acl
acl_rcpt:
  accept
acl_data:
  accept

begin routers
sink:
  driver = redirect
  data = :blackhole:

begin transports
begin retry
* * F,1m,1m
begin rewrite

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and{{eq{\$auth2}{testuser@links.test}}{eq{\$auth3}{testpass}}}}
  server_set_id = \$auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = \${if and{{eq{\$auth1}{testuser@links.test}}{eq{\$auth2}{testpass}}}}
  server_set_id = \$auth1
EOT
    } > "$d/exim.conf"
}

snd_config() {
    local d=$RUN/exim-snd
    mkdir -p "$d/spool" "$d/log"
    { common exim-snd; cat <<EOT
primary_hostname = out6.links.test
local_interfaces = 127.0.0.1.10026
tls_advertise_hosts = :
acl_smtp_rcpt = accept
queue_only = false
remote_max_parallel = 50

begin routers
# recipient domain -> receiver; "-465" domains use implicit TLS, "v6" IPv6
smtps:
  driver = manualroute
  domains = *-465.links.test
  route_data = \${lookup{\$domain}lsearch{$d/routes}}
  transport = smtps
  self = send
v4v6:
  driver = manualroute
  route_data = \${lookup{\$domain}lsearch{$d/routes}}
  transport = smtp
  self = send

begin transports
smtp:
  driver = smtp
  interface = <; 192.0.2.6 ; 2001:db8:1::6
  helo_data = out6.links.test
  hosts_try_chunking = *
  hosts_try_prdr = :
  tls_verify_certificates = $P/ca.pem
  tls_try_verify_hosts = *
  tls_verify_cert_hostnames = :
  tls_tempfail_tryclear = true
smtps:
  driver = smtp
  port = 465
  protocol = smtps
  interface = 192.0.2.6
  helo_data = out6.links.test
  tls_verify_certificates = $P/ca.pem
  tls_try_verify_hosts = *
  tls_verify_cert_hostnames = :

begin retry
* * F,1h,10s
begin rewrite
begin authenticators
EOT
    } > "$d/exim.conf"
    cat > "$d/routes" <<'EOT'
ex-pf10.links.test: 198.51.100.10
ex-pf11.links.test: 198.51.100.11
ex-pf12.links.test: 198.51.100.12
ex-pf13.links.test: 198.51.100.13
ex-pf10-465.links.test: 198.51.100.10
ex-ex20.links.test: 198.51.100.20
ex-ex21.links.test: 198.51.100.21
ex-ex20-465.links.test: 198.51.100.20
ex-os30.links.test: 198.51.100.30
ex-os31.links.test: 198.51.100.31
ex-pf10v6.links.test: <;2001:db8:2::10
ex-ex20v6.links.test: <;2001:db8:2::20
EOT
}

exim() {  # NS NAME args...
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" "$EXIM" -C "$RUN/$name/exim.conf" "$@"
}

case "${1:-}" in
    config) rcv_config; snd_config
            chown -R 64990:64990 "$RUN"/exim-{rcv,snd}/{spool,log}
            exim $RCV exim-rcv -bV >/dev/null; exim $SND exim-snd -bV >/dev/null ;;
    start) exim $RCV exim-rcv -bd -q1m; exim $SND exim-snd -bd -q10s ;;
    stop) for n in exim-rcv exim-snd; do
              [ -s "$RUN/$n/exim.pid" ] && kill "$(cat "$RUN/$n/exim.pid")" 2>/dev/null || true
          done ;;
    send) shift; from=$1; shift; exim $SND exim-snd -odb -f "$from" -- "$@" ;;
    sendfg) shift; from=$1; shift; exim $SND exim-snd -odi -f "$from" -- "$@" ;;
    *) echo "usage: exim.sh config|start|stop|send FROM RCPT..." >&2; exit 2 ;;
esac
