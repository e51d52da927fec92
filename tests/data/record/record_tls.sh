#!/bin/bash
# Record the TLS depth captures (issue 4: certificates, key exchange, cipher
# judgement, refused handshakes, legacy hellos). Runs setup.sh and
# setup_tls.sh first (SKIP_SETUP=1 to skip), then one function per capture:
#   sudo bash tests/data/record/record_tls.sh                 # all
#   sudo bash tests/data/record/record_tls.sh cert_expired    # some
# Then: python3 tests/data/record/make_truth.py && python3 tests/data/record/make_truth_tls.py
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(cd "$HERE/.." && pwd)
. "$HERE/lib.sh"
if [ "${SKIP_SETUP:-0}" != 1 ]; then
    bash "$HERE/setup.sh" >/dev/null
    bash "$HERE/setup_tls.sh" >/dev/null
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

# cert_note FILE...  -- the server's certificate(s) as configured, into the evidence log
cert_note() {
    for f in "$@"; do
        echo "### server certificate: $f" >> "$CAP_LOG"
        openssl x509 -in "$f" -noout -subject -issuer -startdate -enddate -fingerprint -sha256 \
            -ext subjectAltName -nameopt RFC2253 >> "$CAP_LOG" 2>&1
        openssl x509 -in "$f" -noout -text | grep -E 'Public Key Algorithm|Public-Key:|Signature Algorithm' \
            | sort -u | sed 's/^ */### cert text: /' >> "$CAP_LOG"
    done
}

rec_cert_ecdsa() {
    cap_start cert-ecdsa.pcap
    cert_note /etc/postfix/tls/mx7.pem
    note "server 127.0.0.7 (mx7): smtpd_tls_chain_files=mx7-chain.pem (ECDSA P-256 leaf + test CA), TLS >= 1.2"
    client "openssl s_client -tls1_2 (certificate in clear)" s_client_msg 127.0.0.7:25 client20.smtptls.test "ECDSA certificate, TLS 1.2" -tls1_2
    sleep 0.5
    client "swaks -tls (TLS 1.3: certificate encrypted)" "${SWAKS[@]}" -tls -s 127.0.0.7 -p 25 -h client20b.smtptls.test
    cap_stop
}
rec_cert_expired() {
    cap_start cert-expired.pcap
    cert_note /etc/postfix/tls/mx8.pem
    note "server 127.0.0.8 (mx8): smtpd_tls_chain_files=mx8-chain.pem (RSA-2048 leaf for expired.smtptls.test, valid 2020-01-01 to 2021-01-01, + test CA)"
    client "openssl s_client -tls1_2 to the expired certificate" s_client_msg 127.0.0.8:25 client21.smtptls.test "expired certificate" -tls1_2 -servername mx8.smtptls.test
    cap_stop
}
rec_kx_groups() {
    cap_start kx-groups.pcap
    cert_note /etc/postfix/tls/server.pem
    client "openssl s_client -tls1_3 -groups secp521r1" s_client_msg 127.0.0.1:25 client22.smtptls.test "TLS 1.3 secp521r1" -tls1_3 -groups secp521r1
    sleep 0.5
    client "openssl s_client -tls1_2 -groups secp384r1" s_client_msg 127.0.0.1:25 client22b.smtptls.test "TLS 1.2 ECDHE secp384r1" -tls1_2 -groups secp384r1
    sleep 0.5
    client "openssl s_client -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256" s_client_msg 127.0.0.1:25 client22c.smtptls.test "TLS 1.2 DHE" -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256
    cap_stop
}
rec_cipher_suites() {
    cap_start cipher-suites.pcap
    cert_note /etc/postfix/tls/server.pem
    note "server 127.0.0.9 (mx9): TLS 1.2 only, smtpd_tls_ciphers=null, tls_null_cipherlist=eNULL:!aNULL:@SECLEVEL=0"
    client "openssl s_client -tls1_2 -cipher AES128-SHA (RSA key exchange, CBC)" s_client_msg 127.0.0.1:25 client23.smtptls.test "AES128-SHA" -tls1_2 -cipher AES128-SHA
    sleep 0.5
    client "openssl s_client -tls1_2 -cipher ADH-AES128-GCM-SHA256 (anonymous DH)" s_client_msg 127.0.0.3:25 client23b.smtptls.test "anonymous DH" -tls1_2 -cipher 'ADH-AES128-GCM-SHA256:@SECLEVEL=0'
    sleep 0.5
    client "openssl s_client -tls1_2 -cipher ALL:eNULL (the server picks NULL)" s_client_msg 127.0.0.9:25 client23c.smtptls.test "NULL cipher chosen by the server" -tls1_2 -cipher 'ALL:eNULL:@SECLEVEL=0'
    cap_stop
}
rec_refused_handshake() {
    cap_start refused-handshake.pcap
    note "server 127.0.0.7 (mx7) accepts TLS >= 1.2 only; 127.0.0.1 (mx1) has no FFDHE group for TLS 1.3"
    client "openssl s_client -tls1 (TLS 1.0 only) to a TLS 1.2+ server" s_client_msg 127.0.0.7:25 client24.smtptls.test "TLS 1.0 refused" -tls1 -cipher 'ALL:@SECLEVEL=0'
    sleep 0.5
    client "openssl s_client -tls1_3 -groups ffdhe2048" s_client_msg 127.0.0.1:25 client24b.smtptls.test "ffdhe2048 refused" -tls1_3 -groups ffdhe2048
    cap_stop
}
rec_legacy_hellos() {
    cap_start legacy-hellos.pcap
    cert_note /etc/postfix/tls/server.pem
    client "python3 legacy_client.py --mode sslv2 (SSLv2-format ClientHello for TLS 1.0)" python3 -u "$HERE/legacy_client.py" --host 127.0.0.3 --port 25 --ehlo client25.smtptls.test --mode sslv2
    sleep 0.5
    client "python3 legacy_client.py --mode sslv3 (SSLv3 ClientHello)" python3 -u "$HERE/legacy_client.py" --host 127.0.0.3 --port 25 --ehlo client25b.smtptls.test --mode sslv3
    cap_stop
}
rec_starttls_no_hello() {
    cap_start starttls-no-hello.pcap
    client "python3 legacy_client.py --mode no-hello (closes after the 220)" python3 -u "$HERE/legacy_client.py" --host 127.0.0.1 --port 25 --ehlo client26.smtptls.test --mode no-hello
    cap_stop
}

ALL=(cert_ecdsa cert_expired kx_groups cipher_suites refused_handshake legacy_hellos starttls_no_hello)
todo=("$@"); [ ${#todo[@]} -gt 0 ] || todo=("${ALL[@]}")
for s in "${todo[@]}"; do
    s=${s//-/_}; s=${s%.pcap}
    echo "== $s"
    "rec_$s"
done
echo "done; now: python3 $HERE/make_truth.py && python3 $HERE/make_truth_tls.py"
