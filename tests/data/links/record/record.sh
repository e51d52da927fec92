#!/bin/bash
# Records the real-link captures of tests/data/links (see ../README.md).
#   sudo bash tests/data/links/record/record.sh              # everything
#   sudo bash tests/data/links/record/record.sh postfix_relay mix   # some
#   KEEP=1 ...   leave the namespaces and MTAs running afterwards
# Needs root on Debian 12.  Makes the namespaces (net.sh), the PKI (pki.sh),
# configures and starts the MTAs, records, then stops everything and deletes
# the namespaces.  Client ports and times change with every run: rebuild the
# derived captures (derive.py) and the truth (make_truth.py) afterwards.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

setup() {
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections
    local need="" p
    for p in postfix swaks tcpdump tshark python3-scapy wireshark-common tcpreplay ethtool openssl \
             msmtp sasl2-bin libsasl2-modules libspf2-2 iproute2 python3; do
        dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
    done
    if [ -n "$need" ]; then apt-get update -qq; apt-get install -y -qq $need; fi
    # Exim and OpenSMTPD conflict with Postfix as packages: unpack them beside it
    mkdir -p "$SW"
    if [ ! -x "$SW/exim/usr/sbin/exim4" ] || [ ! -x "$SW/opensmtpd/usr/sbin/smtpd" ]; then
        (cd "$SW" && apt-get download exim4-daemon-heavy exim4-base opensmtpd &&
         mkdir -p exim opensmtpd && dpkg -x exim4-daemon-heavy_*.deb exim && dpkg -x exim4-base_*.deb exim &&
         dpkg -x opensmtpd_*.deb opensmtpd)
    fi
    bash "$HERE/net.sh" up
    bash "$HERE/pki.sh"
    bash "$HERE/postfix.sh" config && bash "$HERE/postfix.sh" start
    bash "$HERE/exim.sh" config && bash "$HERE/exim.sh" start
    bash "$HERE/opensmtpd.sh" config >/dev/null && bash "$HERE/opensmtpd.sh" start
    sleep 3
}

teardown() {
    [ "${KEEP:-0}" = 1 ] && return
    bash "$HERE/opensmtpd.sh" stop; bash "$HERE/exim.sh" stop; bash "$HERE/postfix.sh" stop
    [ -n "${DRAFT_PIDS:-}" ] && kill $DRAFT_PIDS 2>/dev/null
    sleep 2
    bash "$HERE/net.sh" down
}

versions() {
    {
        echo "### software versions ($(date -u +%F))"
        echo "kernel $(uname -r)"
        dpkg-query -W -f='${Package} ${Version}\n' postfix swaks tcpdump tshark openssl libssl3 libgnutls30 \
            msmtp python3-scapy wireshark-common tcpreplay libsasl2-2
        echo "exim4-daemon-heavy $(dpkg-deb -f "$SW"/exim4-daemon-heavy_*.deb Version) (unpacked in $SW/exim)"
        echo "opensmtpd $(dpkg-deb -f "$SW"/opensmtpd_*.deb Version) (unpacked in $SW/opensmtpd)"
        ip netns exec $RCV "$SW/exim/usr/sbin/exim4" -C "$RUN/exim-rcv/exim.conf" -bV 2>/dev/null | head -1
        ip netns exec $RCV "$SW/exim/usr/sbin/exim4" -C "$RUN/exim-rcv/exim.conf" -d -bV 2>&1 | grep -i 'gnutls' | head -2
    } > "$LOGDIR/versions.txt"
}

gap() { sleep "${1:-1}"; }

# --- single cases -----------------------------------------------------------

rec_postfix_relay() {   # Postfix -> Postfix, one session per receiver setting
    cap_start postfix-relay.pcap
    pf_send r1@pf10.links.test; gap            # STARTTLS, TLS 1.3, SNI mx10
    pf_send r1@pf12.links.test; gap            # server TLS 1.2 only
    pf_send r1@pf10-12.links.test; gap         # client TLS 1.2 only, ECDHE-RSA-AES128-GCM
    pf_send r1@pf13.links.test; gap            # TLS 1.3 only, self-signed ECDSA (Untrusted), SNI mx13
    pf_send r1@pf10-13.links.test; gap         # client TLS 1.3 only, secp384r1 only
    pf_send r1@pf10-clear.links.test; gap      # client without TLS: STARTTLS offered, not used
    pf_send r1@pf11.links.test r2@pf11.links.test r3@pf11.links.test   # no STARTTLS; 3 RCPT pipelined
    cap_stop
}

rec_exim_receiver() {   # Postfix -> Exim (GnuTLS server); 454 from mx21
    cap_start exim-receiver.pcap
    pf_send r1@ex20.links.test; gap
    pf_send r1@ex20-12.links.test; gap
    pf_send r1@ex20-13.links.test; gap
    pf_send r1@ex21.links.test
    cap_stop
}

rec_exim_sender() {     # Exim (GnuTLS client, CHUNKING) -> everyone
    cap_start exim-sender.pcap
    ex_send r1@ex-pf10.links.test; gap 1.5     # TLS 1.3, BDAT inside TLS
    ex_send r1@ex-pf11.links.test; gap 1.5     # no STARTTLS: BDAT in clear
    ex_send r1@ex-pf12.links.test; gap 1.5     # TLS 1.2
    ex_send r1@ex-pf13.links.test; gap 1.5     # TLS 1.3 only (OpenSSL server, GnuTLS client)
    ex_send r1@ex-ex20.links.test; gap 1.5     # GnuTLS at both ends
    ex_send r1@ex-ex21.links.test; gap 1.5     # 454, then BDAT in clear
    ex_send r1@ex-os30.links.test              # OpenSMTPD: handshake fails, Exim retries in clear
    cap_stop
}

rec_opensmtpd() {       # OpenSMTPD as sender (OpenSSL 3 client) and as plaintext receiver
    cap_start opensmtpd.pcap
    os_send r1@os-pf10.links.test; gap 1.5
    os_send r1@os-ex20.links.test; gap 1.5
    os_send r1@os-pf11.links.test; gap 1.5
    os_send r1@os-os31.links.test; gap 1.5
    pf_send r1@os31.links.test
    cap_stop
}

rec_failed_tls_fallback() {  # Postfix -> OpenSMTPD mx30: failed handshake, then the plaintext retry
    # Postfix falls back to plaintext only for a message that waited at least
    # minimal_backoff_time: the first attempt (deferred) is left out of the
    # capture, which then holds the second attempt: failed TLS + plaintext.
    local before; before=$(grep -c 'status=deferred (Cannot start TLS' "$RUN/pf-snd/maillog")
    BODY_NOTE="links test message (failed TLS)" pf_send_quiet r1@os30.links.test
    for _ in $(seq 100); do
        [ "$(grep -c 'status=deferred (Cannot start TLS' "$RUN/pf-snd/maillog")" -gt "$before" ] && break; sleep 0.2
    done
    cap_start failed-tls-fallback.pcap
    note "message to r1@os30.links.test injected before the capture; its first attempt (deferred after the failed handshake) is not in this capture"
    cap_stop
}

rec_submission() {      # 587 with AUTH: inside TLS (Postfix, Exim) and in clear (mx14)
    cap_start submission-auth.pcap
    pf_send r1@pf10-587p.links.test; gap       # STARTTLS, AUTH PLAIN inside TLS
    pf_send r1@pf10-587l.links.test; gap       # STARTTLS, AUTH LOGIN inside TLS
    pf_send r1@ex20-587p.links.test; gap       # Exim :587 STARTTLS, AUTH PLAIN inside TLS
    pf_send r1@pf14-587p.links.test; gap       # AUTH PLAIN in clear (server allows AUTH before TLS)
    pf_send r1@pf14-587l.links.test; gap       # AUTH LOGIN in clear
    client "msmtp 1.8 (GnuTLS) AUTH LOGIN in clear to mx14:587" sh -c \
        "printf 'Subject: msmtp\n\nlinks test message\n' | msmtp --host=198.51.100.14 --port=587 --tls=off \
         --auth=login --user=testuser@links.test --passwordeval='echo testpass' --domain=mua9.links.test \
         --source-ip=192.0.2.9 --from=mua@mua9.links.test --debug r1@sub.links.test"
    cap_stop
}

rec_implicit_tls() {    # 465: Postfix wrappermode client to Postfix and Exim servers, Exim smtps client
    cap_start implicit-tls.pcap
    pf_send r1@pf10-465.links.test; gap
    pf_send r1@ex20-465.links.test; gap
    ex_send r1@ex-pf10-465.links.test
    cap_stop
}

rec_ipv6() {            # the same over IPv6 (for 6in4 and IPv6 fragments)
    cap_start ipv6-relay.pcap
    pf_send r1@pf10v6.links.test; gap          # TLS 1.3, SNI mx10v6
    pf_send r1@pf12v6.links.test; gap          # TLS 1.2 (server)
    ex_send r1@ex-ex20v6.links.test; gap 1.5   # Exim -> Exim
    ex_send r1@ex-pf10v6.links.test
    cap_stop
}

rec_bdat_malformed() {  # a scripted client's `BDAT 5 X` against real Postfix and Exim servers
    cap_start bdat-malformed.pcap
    client "bdat_client.py -> Postfix mx11" timeout 30 python3 "$HERE/bdat_client.py" --host 198.51.100.11 --src 192.0.2.8 --mode first; gap
    client "bdat_client.py -> Postfix mx11" timeout 30 python3 "$HERE/bdat_client.py" --host 198.51.100.11 --src 192.0.2.8 --mode in-transaction; gap
    client "bdat_client.py -> Exim mx20" timeout 30 python3 "$HERE/bdat_client.py" --host 198.51.100.20 --src 192.0.2.8 --mode first; gap
    client "bdat_client.py -> Exim mx20" timeout 30 python3 "$HERE/bdat_client.py" --host 198.51.100.20 --src 192.0.2.8 --mode in-transaction
    cap_stop
}

rec_port_2525() {       # plain SMTP on 2525 (for --classify)
    cap_start port-2525.pcap
    pf_send r1@pf15.links.test; gap            # Postfix relaying a message
    client "swaks, greeting and EHLO only" swaks -s 198.51.100.15 -p 2525 -li 192.0.2.9 -h mua9.links.test --quit-after EHLO; gap
    client "swaks, HELO and one message" swaks -s 198.51.100.15 -p 2525 -li 192.0.2.9 -h mua9.links.test --protocol SMTP \
        -f mua@mua9.links.test -t r2@pf15.links.test; gap
    pf_send r1@ex22.links.test; gap            # Exim mx22: a two-line 220 greeting
    client "swaks to Exim mx22:2525" swaks -s 198.51.100.22 -p 2525 -li 192.0.2.9 -h mua9.links.test \
        -f mua@mua9.links.test -t r2@ex22.links.test
    cap_stop
}

rec_tls13_draft() {     # TLS 1.3 draft ServerHellos from a scripted server, real clients
    : > "$RUN/scripted.log"
    ip netns exec $RCV python3 -u "$HERE/draft_server.py" --addr 198.51.100.16 --name mx16.links.test --draft 18 --log "$RUN/scripted.log" --timeout 90 &
    local p1=$!
    ip netns exec $RCV python3 -u "$HERE/draft_server.py" --addr 198.51.100.17 --name mx17.links.test --draft 23 --log "$RUN/scripted.log" --timeout 90 &
    local p2=$!
    DRAFT_PIDS="$p1 $p2"
    sleep 1
    cap_start tls13-draft.pcap
    client "openssl s_client 3.0 -> draft-18 server" sh -c "sleep 2 | openssl s_client -starttls smtp -connect 198.51.100.16:25 -name out9.links.test -servername mx16.links.test -bind 192.0.2.9:0 2>&1 | grep -vE '^(---|    |.*BEGIN|.*END)'"
    gap
    client "openssl s_client 3.0 -> draft-23 server" sh -c "sleep 2 | openssl s_client -starttls smtp -connect 198.51.100.17:25 -name out9.links.test -servername mx17.links.test -bind 192.0.2.9:0 2>&1 | grep -vE '^(---|    |.*BEGIN|.*END)'"
    gap
    pf_send r1@draft18.links.test              # Postfix: failed, then (retry) failed + plaintext
    cap_stop
    kill $DRAFT_PIDS 2>/dev/null; DRAFT_PIDS=""
}

# --- the mix: ~70 relays at once ----------------------------------------------

rec_mix() {
    local jobs=() j
    # Postfix sender (out1-out5)
    for j in pf10 pf10 pf10 pf10 pf10 pf10 pf12 pf12 pf12 pf10-12 pf10-12 pf10-12 pf13 pf13 pf13 \
             pf10-13 pf10-13 pf10-clear pf10-clear pf10-clear pf11 pf11 pf11 pf11 ex20 ex20 ex20 ex20 \
             ex20-12 ex20-12 ex21 ex21 ex21 os30 os30 os30 os30 os31 os31 pf10-465 pf10-465 ex20-465 \
             pf10-587p pf10-587l pf14-587p pf14-587l pf10v6 pf10v6 pf12v6; do jobs+=("pf $j"); done
    # Exim sender (out6)
    for j in ex-pf10 ex-pf10 ex-pf10 ex-pf11 ex-pf11 ex-ex20 ex-ex20 ex-ex21 ex-os30 ex-os30 ex-pf10-465 ex-pf10v6; do
        jobs+=("ex $j"); done
    # OpenSMTPD sender (out7)
    for j in os-pf10 os-ex20 os-pf11 os-os31; do jobs+=("os $j"); done
    cap_start mix.pcap
    note "the mix: ${#jobs[@]} messages injected in a shuffled order, 0-400 ms apart (shuf with a fixed seed)"
    local i=0 line kind dom pids=()
    RANDOM=12
    while read -r line; do
        kind=${line%% *}; dom=${line#* }
        i=$((i + 1))
        case $kind in
            pf) pf_send "m$i@$dom.links.test" & pids+=($!) ;;
            ex) ex_send "m$i@$dom.links.test" ;;
            os) os_send "m$i@$dom.links.test" & pids+=($!) ;;
        esac
        sleep "0.$(printf '%03d' $((RANDOM % 400)))"
    done < <(printf '%s\n' "${jobs[@]}" | shuf --random-source=<(yes links))
    wait "${pids[@]}"   # the injections only (tcpdump is a child too)
    cap_stop
}

pf_send_quiet() { ip netns exec $SND swaks -s 127.0.0.1 -p 10025 -h inject.links.test -f sender@out1.links.test \
    --to "$*" --header "Subject: $BODY_NOTE" --body "$BODY_NOTE to $*" >/dev/null 2>&1; }

ALL="postfix_relay exim_receiver exim_sender opensmtpd failed_tls_fallback submission implicit_tls ipv6 bdat_malformed port_2525 tls13_draft mix"
trap teardown EXIT
if [ "${SKIP_SETUP:-0}" != 1 ]; then setup; fi
versions
for s in ${*:-$ALL}; do
    echo "recording $s"
    "rec_$s"
done
