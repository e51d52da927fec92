#!/bin/bash
# Prepare this (Debian 12) machine for recording: packages, loopback addresses,
# a self-signed certificate, Cyrus SASL (sasldb) and Postfix with one smtpd per
# TLS setting.  Touches only system config (/etc/postfix, /etc/sasldb2, lo).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
need=""
for p in postfix swaks tcpdump tshark msmtp tcpreplay wireshark-common sasl2-bin libsasl2-modules openssl python3 iproute2 iptables ethtool; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then apt-get update -qq; apt-get install -y -qq $need; fi

# Loopback addresses, one per differently configured server.
#  127.0.0.1  mx1   default Postfix (STARTTLS, TLS >= 1.0 allowed by protocol, default ciphers); also :465 and :587
#  127.0.0.2  mx2   Postfix without TLS (smtpd_tls_security_level=none)
#  127.0.0.3  mx3   Postfix allowing legacy TLS 1.0/1.1 (ALL:@SECLEVEL=0)
#  127.0.0.4  mx4   Postfix with only secp384r1 for (EC)DHE -> HelloRetryRequest for x25519-first clients
#  127.0.0.5  mx5   scripted server (refuse454_server.py) answering 454 to STARTTLS
#  127.0.0.6  mx6   Postfix with SASL AUTH allowed before TLS
#  ::1        mx1v6 Postfix on IPv6 loopback
for a in 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6; do
    ip addr show dev lo | grep -q "inet $a/" || ip addr add "$a/32" dev lo
done

# Self-signed certificate.
mkdir -p /etc/postfix/tls
if [ ! -s /etc/postfix/tls/server.pem ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
        -subj "/CN=mx.smtptls.test" \
        -addext "subjectAltName=DNS:mx.smtptls.test,DNS:mx1.smtptls.test,DNS:*.smtptls.test" \
        -keyout /etc/postfix/tls/server.key -out /etc/postfix/tls/server.pem 2>/dev/null
    chmod 600 /etc/postfix/tls/server.key
fi

# Cyrus SASL user for AUTH (test password, not a secret).
cat > /etc/postfix/sasl/smtpd.conf <<'EOT'
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: /etc/sasldb2
EOT
echo 'testpass' | saslpasswd2 -p -c -u smtptls.test testuser
chown root:postfix /etc/sasldb2; chmod 640 /etc/sasldb2

[ -f /etc/postfix/master.cf.smtptls-orig ] || cp /etc/postfix/master.cf /etc/postfix/master.cf.smtptls-orig
[ -f /etc/postfix/main.cf.smtptls-orig ] || cp /etc/postfix/main.cf /etc/postfix/main.cf.smtptls-orig

postconf -e \
  maillog_file=/var/log/postfix.log \
  'inet_interfaces=127.0.0.1, 127.0.0.2, 127.0.0.3, 127.0.0.4, 127.0.0.6, [::1]' \
  inet_protocols=all \
  myhostname=mx1.smtptls.test \
  'mydestination=$myhostname, localhost, smtptls.test' \
  'mynetworks=127.0.0.0/8 [::1]/128' \
  local_transport=discard \
  smtpd_tls_cert_file=/etc/postfix/tls/server.pem \
  smtpd_tls_key_file=/etc/postfix/tls/server.key \
  smtpd_tls_security_level=may \
  smtpd_tls_loglevel=1 \
  smtpd_client_port_logging=yes \
  'smtpd_tls_session_cache_database=btree:${data_directory}/smtpd_scache' \
  smtpd_tls_session_cache_timeout=3600s \
  smtpd_sasl_type=cyrus \
  smtpd_sasl_path=smtpd \
  cyrus_sasl_config_path=/etc/postfix/sasl \
  message_size_limit=20480000 \
  smtpd_tls_received_header=yes

# master.cf: replace the default "smtp inet" line by one line per address.
cp /etc/postfix/master.cf.smtptls-orig /etc/postfix/master.cf
sed -i -E 's/^smtp( +)inet /#smtp\1inet /' /etc/postfix/master.cf
cat >> /etc/postfix/master.cf <<'EOT'
# ---- smtptls test servers (tests/data/record/setup.sh) ----
127.0.0.1:smtp inet n - n - - smtpd
[::1]:smtp inet n - n - - smtpd
  -o myhostname=mx1v6.smtptls.test
127.0.0.2:smtp inet n - n - - smtpd
  -o myhostname=mx2.smtptls.test
  -o smtpd_tls_security_level=none
127.0.0.3:smtp inet n - n - - smtpd
  -o myhostname=mx3.smtptls.test
  -o smtpd_tls_protocols=>=TLSv1
  -o smtpd_tls_ciphers=medium
  -o tls_medium_cipherlist=ALL:@SECLEVEL=0
127.0.0.4:smtp inet n - n - - smtpd
  -o myhostname=mx4.smtptls.test
  -o tls_eecdh_auto_curves=secp384r1
127.0.0.6:smtp inet n - n - - smtpd
  -o myhostname=mx6.smtptls.test
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=no
127.0.0.1:smtps inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:submission inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
EOT

touch /var/log/postfix.log
script -qc "postfix check" /dev/null || true
if postfix status >/dev/null 2>&1; then postfix reload; else postfix start; fi
sleep 2
ss -ltnp | grep -E ':(25|465|587) ' || true
