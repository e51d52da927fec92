#!/bin/bash
# Re-record every capture in tests/data (best effort; client ports and times change
# on every run, so run make_truth.py afterwards and review its cross-checks).
#   sudo bash tests/data/record/record.sh            # all scenarios
#   sudo bash tests/data/record/record.sh hrr bdat   # only some
# Needs root (tcpdump, ip addr, tc, postfix).  setup.sh prepares the machine.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$(cd "$HERE/.." && pwd)
. "$HERE/lib.sh"
[ "${SKIP_SETUP:-0}" = 1 ] || bash "$HERE/setup.sh" >/dev/null
WORK=$(mktemp -d)
trap 'tc qdisc del dev lo root 2>/dev/null; bash "$HERE/impair.sh" off; rm -rf "$WORK"' EXIT
cd "$WORK"

rec_starttls_tls13() {
    cap_start starttls-tls13.pcap
    client "swaks, OpenSSL 3.0 via Net::SSLeay" "${SWAKS[@]}" -tls --tls-sni mx1.smtptls.test -s 127.0.0.1 -p 25 -h client01.smtptls.test
    cap_stop
}
rec_starttls_tls12() {
    cap_start starttls-tls12.pcap
    client "openssl s_client 3.0 -tls1_2" s_client_msg 127.0.0.1:25 client02.smtptls.test "TLS 1.2 via s_client" -tls1_2 -servername mx1.smtptls.test
    cap_stop
}
rec_starttls_tls10() {
    cap_start starttls-tls10.pcap
    client "swaks --tls-protocol tlsv1" "${SWAKS[@]}" -tls --tls-protocol tlsv1 --tls-cipher 'ALL:@SECLEVEL=0' -s 127.0.0.3 -p 25 -h client03.smtptls.test
    cap_stop
}
rec_starttls_tls11() {
    cap_start starttls-tls11.pcap
    client "openssl s_client -tls1_1" s_client_msg 127.0.0.3:25 client03b.smtptls.test "TLS 1.1 via s_client" -tls1_1 -cipher 'ALL:@SECLEVEL=0' -noservername
    cap_stop
}
rec_implicit_465() {
    cap_start implicit-465.pcap
    client "swaks --tlsc (TLS on connect)" "${SWAKS[@]}" --tlsc -s 127.0.0.1 -p 465 -h client04.smtptls.test
    cap_stop
}
rec_submission_587() {
    cap_start submission-587.pcap
    printf 'Subject: submission test\nFrom: %s\nTo: %s\n\nhello via 587 with AUTH PLAIN after STARTTLS\n' "$FROM" "$TO" > msg587.txt
    client "msmtp 1.8 (GnuTLS), STARTTLS then AUTH PLAIN" sh -c "msmtp --host=127.0.0.1 --port=587 --tls=on --tls-starttls=on --tls-certcheck=off --auth=plain --user=testuser@smtptls.test --passwordeval='echo testpass' --domain=client05.smtptls.test --from=$FROM --debug $TO < msg587.txt"
    cap_stop
}
rec_offered_not_used() {
    cap_start offered-not-used.pcap
    client "swaks without -tls" "${SWAKS[@]}" -s 127.0.0.1 -p 25 -h client06.smtptls.test
    cap_stop
}
rec_no_starttls() {
    cap_start no-starttls.pcap
    client "swaks without -tls, server without TLS" "${SWAKS[@]}" -s 127.0.0.2 -p 25 -h client07.smtptls.test
    cap_stop
}
rec_refused_454() {
    python3 -u "$HERE/refuse454_server.py" --addr 127.0.0.5 --port 25 --max-conns 1 --timeout 60 > srv454.txt 2>&1 &
    local spid=$!
    sleep 0.5
    cap_start refused-454.pcap
    client "swaks --tls-optional (continues in plaintext after 454)" "${SWAKS[@]}" --tls-optional -s 127.0.0.5 -p 25 -h client08.smtptls.test
    cap_stop
    wait "$spid"
    { echo "### server log: refuse454_server.py (scripted server, its own transcript)"; cat srv454.txt; } >> "$CAP_LOG"
}
rec_cleartext_auth() {
    cap_start cleartext-auth.pcap
    client "swaks AUTH PLAIN without TLS" "${SWAKS[@]}" -s 127.0.0.6 -p 25 -h client09.smtptls.test -a PLAIN -au testuser@smtptls.test -ap testpass
    sleep 0.5
    client "swaks AUTH LOGIN without TLS" "${SWAKS[@]}" -s 127.0.0.6 -p 25 -h client09b.smtptls.test -a LOGIN -au testuser@smtptls.test -ap testpass
    cap_stop
}
rec_ipv6() {
    cap_start ipv6.pcap
    client "swaks -tls over IPv6" "${SWAKS[@]}" -tls -s ::1 -p 25 -h client10.smtptls.test
    cap_stop
}
rec_multi_message() {
    cap_start multi-message.pcap
    client "python3 multi_client.py (raw pipelined plaintext session + smtplib STARTTLS session)" python3 -u "$HERE/multi_client.py" --host 127.0.0.1 --port 25 --ehlo client11.smtptls.test
    cap_stop
}
rec_large_message() {
    python3 -c "
import random
random.seed(2026)
a='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
print('\n'.join(''.join(random.choice(a) for _ in range(76)) for _ in range(27000)))" > body.txt
    cap_start large-message.pcap
    note "body: $(wc -c < body.txt) bytes of random base64 alphabet text, 27000 lines of 76 characters"
    client "swaks -n (body summarised), plaintext, ~2 MB" "${SWAKS[@]}" -n -s 127.0.0.1 -p 25 -h client12.smtptls.test --header 'Subject: large message' --body @body.txt
    cap_stop
}
rec_netem_loss() {
    # This kernel has no sch_netem ("tc qdisc add dev lo root netem ..." fails with
    # "Specified qdisc kind is unknown"), so impair.sh + netimpair.py do the same job
    # with iptables NFQUEUE: 4% loss and 3ms+-2ms delay with 20% of packets overtaking
    # on OUTPUT (before the capture point), plus 2% loss on INPUT (after it).
    if tc qdisc add dev lo root netem delay 3ms 2ms loss 4% reorder 20% 50% 2>/dev/null; then
        local how="tc netem"
    else
        local how="netimpair"
    fi
    python3 -c "
import random
random.seed(13)
a='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
open('body40k.txt','w').write('\n'.join(''.join(random.choice(a) for _ in range(76)) for _ in range(520)) + '\n')
open('body120k.txt','w').write('\n'.join(''.join(random.choice(a) for _ in range(76)) for _ in range(1560)) + '\n')"
    if [ "$how" = netimpair ]; then
        bash "$HERE/impair.sh" on
        python3 "$HERE/netimpair.py" --loss 0.04 --reorder 0.20 --delay 3 --jitter 2 --duration 100 > impair.txt 2>&1 &
        local ipid=$!
        sleep 0.5
    fi
    cap_start netem-loss.pcap
    if [ "$how" = netimpair ]; then
        note "impairment: no sch_netem in this kernel; impair.sh on (iptables-legacy NFQUEUE on lo OUTPUT + 2% random DROP on lo INPUT, MSS clamped to 1460, TSO/GSO off on lo) and netimpair.py --loss 0.04 --reorder 0.20 --delay 3 --jitter 2"
    else
        note "impairment: tc qdisc add dev lo root netem delay 3ms 2ms loss 4% reorder 20% 50%"
    fi
    for i in 1 2 3 4 5; do
        client "swaks -tls #$i under loss/reordering, 40 kB body" "${SWAKS[@]}" -n -tls -s 127.0.0.1 -p 25 -h client13-$i.smtptls.test --header "Subject: impaired TLS $i" --body @body40k.txt
    done
    client "swaks plaintext under loss/reordering, 120 kB body" "${SWAKS[@]}" -n -s 127.0.0.1 -p 25 -h client13-6.smtptls.test --header "Subject: impaired plaintext" --body @body120k.txt
    cap_stop
    if [ "$how" = netimpair ]; then
        bash "$HERE/impair.sh" off
        kill -TERM "$ipid" 2>/dev/null; wait "$ipid" 2>/dev/null
        { echo "### impairment log: netimpair.py (every DROP on OUTPUT and every packet that overtook held ones)"; cat impair.txt; } >> "$CAP_LOG"
    else
        tc qdisc del dev lo root
    fi
}
rec_vlan() {
    tcprewrite --enet-vlan=add --enet-vlan-tag=42 --enet-vlan-cfi=0 --enet-vlan-pri=0 \
        --infile="$DATA/starttls-tls12.pcap" --outfile="$DATA/vlan.pcap"
    { echo "### derived: tcprewrite --enet-vlan=add --enet-vlan-tag=42 --enet-vlan-cfi=0 --enet-vlan-pri=0 of starttls-tls12.pcap"
      echo "### same sessions and evidence as logs/starttls-tls12.pcap.log"; } > "$LOGDIR/vlan.pcap.log"
}
rec_any_sll2() {
    cap_start any-sll2.pcap any
    client "swaks -tls, captured on -i any" "${SWAKS[@]}" -tls -s 127.0.0.1 -p 25 -h client15.smtptls.test
    cap_stop
}
rec_pcapng() {
    editcap -F pcapng "$DATA/starttls-tls13.pcap" "$DATA/starttls-tls13.pcapng"
    { echo "### derived: editcap -F pcapng starttls-tls13.pcap starttls-tls13.pcapng"
      echo "### same sessions and evidence as logs/starttls-tls13.pcap.log"; } > "$LOGDIR/starttls-tls13.pcapng.log"
}
rec_hrr() {
    cap_start hrr.pcap
    note "server 127.0.0.4 runs with -o tls_eecdh_auto_curves=secp384r1; client key share is x25519 only"
    client "openssl s_client -groups x25519:secp384r1" s_client_msg 127.0.0.4:25 client17.smtptls.test "HelloRetryRequest" -groups x25519:secp384r1 -servername mx4.smtptls.test
    cap_stop
}
rec_resumption() {
    rm -f sess13.pem
    cap_start resumption.pcap
    client "openssl s_client TLS 1.3, full handshake, -sess_out" s_client_msg 127.0.0.1:25 client18.smtptls.test "resumption 1/2" -tls1_3 -servername mx1.smtptls.test -sess_out sess13.pem
    sleep 0.5
    client "openssl s_client TLS 1.3, -sess_in (resumption)" s_client_msg 127.0.0.1:25 client18.smtptls.test "resumption 2/2" -tls1_3 -servername mx1.smtptls.test -sess_in sess13.pem
    cap_stop
}
rec_resumption12() {
    rm -f sess12.pem
    cap_start resumption12.pcap
    client "openssl s_client TLS 1.2, full handshake, -sess_out" s_client_msg 127.0.0.1:25 client18b.smtptls.test "resumption12 1/2" -tls1_2 -servername mx1.smtptls.test -sess_out sess12.pem
    sleep 0.5
    client "openssl s_client TLS 1.2, -sess_in (resumption)" s_client_msg 127.0.0.1:25 client18b.smtptls.test "resumption12 2/2" -tls1_2 -servername mx1.smtptls.test -sess_in sess12.pem
    cap_stop
}
rec_bdat() {
    cap_start bdat.pcap
    client "python3 bdat_client.py (CHUNKING, plaintext)" python3 -u "$HERE/bdat_client.py" --host 127.0.0.1 --port 25 --ehlo client19.smtptls.test
    cap_stop
}
rec_mixed() {
    local parts=(starttls-tls13.pcap starttls-tls12.pcap implicit-465.pcap offered-not-used.pcap no-starttls.pcap refused-454.pcap)
    (cd "$DATA" && mergecap -F pcap -w mixed.pcap "${parts[@]}")
    { echo "### derived: mergecap -F pcap -w mixed.pcap ${parts[*]}"
      echo "### evidence: see the logs of those captures"; } > "$LOGDIR/mixed.pcap.log"
}

ALL=(starttls_tls13 starttls_tls12 starttls_tls10 starttls_tls11 implicit_465 submission_587
     offered_not_used no_starttls refused_454 cleartext_auth ipv6 multi_message large_message
     netem_loss vlan any_sll2 pcapng hrr resumption resumption12 bdat mixed)
todo=("$@"); [ ${#todo[@]} -gt 0 ] || todo=("${ALL[@]}")
for s in "${todo[@]}"; do
    s=${s//-/_}; s=${s%.pcap}
    echo "== $s"
    "rec_$s"
done
tc qdisc del dev lo root 2>/dev/null || true
echo "done; now: python3 $HERE/make_truth.py"
