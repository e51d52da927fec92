#!/bin/bash
# Two Postfix instances of their own (never /etc/postfix): each has its config
# folder, queue, data directory and log under $RUN, and runs in its namespace.
#   pf-rcv  in links-rcv: the receiving servers (one smtpd line per address/setting)
#   pf-snd  in links-snd: the sending MTA (one smtp transport per TLS setting,
#           chosen by recipient domain through transport_maps)
#   postfix.sh config | start | stop
set -euo pipefail
RUN=${RUN:-/var/tmp/links-run}
P=$RUN/pki
SND=links-snd RCV=links-rcv

common_main() {  # NAME
    local d=$RUN/$1
    cat <<EOT
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
maillog_file = $d/maillog
mail_owner = postfix
setgid_group = postdrop
inet_protocols = all
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_client_port_logging = yes
smtpd_tls_loglevel = 1
smtp_tls_loglevel = 1
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
local_recipient_maps =
mydomain = links.test
message_size_limit = 20480000
EOT
}

rcv_config() {
    local d=$RUN/pf-rcv
    mkdir -p "$d/etc/sasl"
    { common_main pf-rcv; cat <<EOT
myhostname = mx10.links.test
inet_interfaces = 198.51.100.10, 198.51.100.11, 198.51.100.12, 198.51.100.13, 198.51.100.14, 198.51.100.15, [2001:db8:2::10], [2001:db8:2::12]
mydestination =
mynetworks = 127.0.0.0/8 192.0.2.0/24 [2001:db8:1::]/64
default_transport = discard:links test sink
relay_transport = discard:links test sink
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_tls_chain_files = $P/mx10.links.test.key, $P/mx10.links.test.chain.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database = btree:\${data_directory}/smtpd_scache
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
# (Debian's Postfix reads smtpd.conf from \$config_directory/sasl)
smtpd_sasl_auth_enable = no
EOT
    } > "$d/etc/main.cf"
    cat > "$d/etc/sasl/smtpd.conf" <<EOT
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $d/etc/sasl/sasldb2
EOT
    echo testpass | saslpasswd2 -f "$d/etc/sasl/sasldb2" -p -c -u links.test testuser
    chown root:postfix "$d/etc/sasl/sasldb2"; chmod 640 "$d/etc/sasl/sasldb2"
    cat > "$d/etc/master.cf" <<EOT
# ---- links receivers (tests/data/links/record/postfix.sh) ----
# mx10: STARTTLS offered, TLS 1.2 and 1.3 (defaults), CA-signed RSA certificate
198.51.100.10:smtp inet n - n - - smtpd
[2001:db8:2::10]:smtp inet n - n - - smtpd
  -o myhostname=mx10v6.links.test
# mx10:587 submission: STARTTLS required, then AUTH PLAIN/LOGIN
198.51.100.10:submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
# mx10:465 implicit TLS (wrappermode)
198.51.100.10:smtps inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
# mx11: no STARTTLS
198.51.100.11:smtp inet n - n - - smtpd
  -o myhostname=mx11.links.test
  -o smtpd_tls_security_level=none
# mx12: TLS 1.2 only
198.51.100.12:smtp inet n - n - - smtpd
  -o myhostname=mx12.links.test
  -o smtpd_tls_protocols=>=TLSv1.2,<=TLSv1.2
[2001:db8:2::12]:smtp inet n - n - - smtpd
  -o myhostname=mx12v6.links.test
  -o smtpd_tls_protocols=>=TLSv1.2,<=TLSv1.2
# mx13: TLS 1.3 only, self-signed ECDSA certificate
198.51.100.13:smtp inet n - n - - smtpd
  -o myhostname=mx13.links.test
  -o smtpd_tls_protocols=>=TLSv1.3
  -o smtpd_tls_chain_files=$P/mx13.links.test.key,$P/mx13.links.test.pem
# mx14:587 submission allowing AUTH before TLS (cleartext AUTH possible)
198.51.100.14:submission inet n - n - - smtpd
  -o myhostname=mx14.links.test
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
# mx14:25 the same on port 25
198.51.100.14:smtp inet n - n - - smtpd
  -o myhostname=mx14.links.test
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
# mx15:2525 plain SMTP on a non-standard port (no STARTTLS)
198.51.100.15:2525 inet n - n - - smtpd
  -o myhostname=mx15.links.test
  -o smtpd_tls_security_level=none
EOT
    tail_master >> "$d/etc/master.cf"
}

snd_config() {
    local d=$RUN/pf-snd
    mkdir -p "$d/etc"
    { common_main pf-snd; cat <<EOT
myhostname = out1.links.test
inet_interfaces = 127.0.0.1
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = error:no route in the links test
transport_maps = texthash:$d/etc/transport
smtp_tls_policy_maps = texthash:$d/etc/tls_policy
smtp_tls_security_level = may
smtp_tls_CAfile = $P/ca.pem
smtp_tls_note_starttls_offer = yes
smtp_connection_cache_on_demand = no
smtp_bind_address = 192.0.2.1
smtp_bind_address6 = 2001:db8:1::1
smtp_sasl_password_maps = static:testuser@links.test:testpass
smtp_sasl_security_options = noanonymous
smtp_sasl_tls_security_options = noanonymous
smtp_address_preference = any
default_destination_concurrency_limit = 50
default_process_limit = 200
smtp_destination_concurrency_limit = 50
initial_destination_concurrency = 50
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
EOT
    } > "$d/etc/main.cf"
    # transports: NAME [-o ...]
    cat > "$d/etc/master.cf" <<EOT
# ---- links sender (tests/data/links/record/postfix.sh) ----
127.0.0.1:10025 inet n - n - - smtpd
# out1 192.0.2.1: defaults (TLS 1.2/1.3 may), SNI = the MX name
tls-default unix - - n - - smtp
# out2 192.0.2.2: TLS 1.2 only, AES-GCM ECDHE-RSA only
tls12 unix - - n - - smtp
  -o smtp_bind_address=192.0.2.2
  -o smtp_helo_name=out2.links.test
  -o smtp_tls_protocols=>=TLSv1.2,<=TLSv1.2
  -o smtp_tls_ciphers=high
  -o tls_high_cipherlist=ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256
# out2 192.0.2.2: TLS 1.3 only, key exchange secp384r1 only
tls13 unix - - n - - smtp
  -o smtp_bind_address=192.0.2.2
  -o smtp_helo_name=out2.links.test
  -o smtp_tls_protocols=>=TLSv1.3
  -o tls_eecdh_auto_curves=secp384r1
# out3 192.0.2.3: no TLS at all (smtp_tls_security_level=none)
notls unix - - n - - smtp
  -o smtp_bind_address=192.0.2.3
  -o smtp_helo_name=out3.links.test
  -o smtp_tls_security_level=none
  -o smtp_tls_policy_maps=
# out4 192.0.2.4: implicit TLS (wrappermode) to port 465
wrapper unix - - n - - smtp
  -o smtp_bind_address=192.0.2.4
  -o smtp_helo_name=out4.links.test
  -o smtp_tls_wrappermode=yes
  -o smtp_tls_security_level=encrypt
# out4 192.0.2.4: submission with AUTH PLAIN inside TLS
sub-plain unix - - n - - smtp
  -o smtp_bind_address=192.0.2.4
  -o smtp_helo_name=out4.links.test
  -o smtp_tls_security_level=encrypt
  -o smtp_sasl_auth_enable=yes
  -o smtp_sasl_mechanism_filter=plain
# out4 192.0.2.4: submission with AUTH LOGIN inside TLS
sub-login unix - - n - - smtp
  -o smtp_bind_address=192.0.2.4
  -o smtp_helo_name=out4.links.test
  -o smtp_tls_security_level=encrypt
  -o smtp_sasl_auth_enable=yes
  -o smtp_sasl_mechanism_filter=login
# out5 192.0.2.5: AUTH PLAIN / LOGIN in clear (TLS off, server allows AUTH before TLS)
clear-plain unix - - n - - smtp
  -o smtp_bind_address=192.0.2.5
  -o smtp_helo_name=out5.links.test
  -o smtp_tls_security_level=none
  -o smtp_tls_policy_maps=
  -o smtp_sasl_auth_enable=yes
  -o smtp_sasl_mechanism_filter=plain
clear-login unix - - n - - smtp
  -o smtp_bind_address=192.0.2.5
  -o smtp_helo_name=out5.links.test
  -o smtp_tls_security_level=none
  -o smtp_tls_policy_maps=
  -o smtp_sasl_auth_enable=yes
  -o smtp_sasl_mechanism_filter=login
# out1 over IPv6
tls-v6 unix - - n - - smtp
EOT
    tail_master >> "$d/etc/master.cf"
    # SNI for some receivers (the policy table's servername); the others get none
    cat > "$d/etc/tls_policy" <<'EOT'
[198.51.100.10]:25 may servername=mx10.links.test
[198.51.100.13]:25 may servername=mx13.links.test
[198.51.100.20]:25 may servername=mx20.links.test
[2001:db8:2::10]:25 may servername=mx10v6.links.test
EOT
    # recipient domain -> transport:[nexthop]:port
    cat > "$d/etc/transport" <<'EOT'
# STARTTLS receivers
pf10.links.test        tls-default:[198.51.100.10]:25
pf10-12.links.test     tls12:[198.51.100.10]:25
pf10-13.links.test     tls13:[198.51.100.10]:25
pf10-clear.links.test  notls:[198.51.100.10]:25
pf11.links.test        tls-default:[198.51.100.11]:25
pf12.links.test        tls-default:[198.51.100.12]:25
pf13.links.test        tls-default:[198.51.100.13]:25
pf13-12.links.test     tls12:[198.51.100.13]:25
pf14.links.test        tls-default:[198.51.100.14]:25
pf10-465.links.test    wrapper:[198.51.100.10]:465
pf10-587p.links.test   sub-plain:[198.51.100.10]:587
pf10-587l.links.test   sub-login:[198.51.100.10]:587
pf14-587p.links.test   clear-plain:[198.51.100.14]:587
pf14-587l.links.test   clear-login:[198.51.100.14]:587
pf10v6.links.test      tls-v6:[2001:db8:2::10]:25
pf12v6.links.test      tls-v6:[2001:db8:2::12]:25
pf15.links.test        notls:[198.51.100.15]:2525
ex22.links.test        notls:[198.51.100.22]:2525
ex20.links.test        tls-default:[198.51.100.20]:25
ex20-12.links.test     tls12:[198.51.100.20]:25
ex20-13.links.test     tls13:[198.51.100.20]:25
ex21.links.test        tls-default:[198.51.100.21]:25
ex20-465.links.test    wrapper:[198.51.100.20]:465
ex20-587p.links.test   sub-plain:[198.51.100.20]:587
ex20v6.links.test      tls-v6:[2001:db8:2::20]:25
os30.links.test        tls-default:[198.51.100.30]:25
os30-13.links.test     tls13:[198.51.100.30]:25
os31.links.test        tls-default:[198.51.100.31]:25
draft18.links.test     tls-default:[198.51.100.16]:25
draft23.links.test     tls-default:[198.51.100.17]:25
EOT
}

tail_master() {  # the services every instance needs (chroot off)
    cat <<'EOT'
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
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOT
}

pf() {  # NS NAME postfix-args...
    local ns=$1 name=$2; shift 2
    ip netns exec "$ns" postfix -c "$RUN/$name/etc" "$@"
}

case "${1:-}" in
    config) rcv_config; snd_config
            for x in "$RCV pf-rcv" "$SND pf-snd"; do
                set -- $x
                mkdir -p "$RUN/$2/queue" "$RUN/$2/data"; chown postfix "$RUN/$2/data"; touch "$RUN/$2/maillog"
                ip netns exec "$1" script -qc "postfix -c $RUN/$2/etc check" /dev/null
            done ;;
    start) pf $RCV pf-rcv start; pf $SND pf-snd start ;;
    stop) pf $SND pf-snd stop 2>/dev/null || true; pf $RCV pf-rcv stop 2>/dev/null || true ;;
    *) echo "usage: postfix.sh config|start|stop" >&2; exit 2 ;;
esac
