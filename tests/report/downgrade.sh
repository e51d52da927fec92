#!/bin/bash
# Downgrade evidence on recorded captures altered the way an attacker in
# the path would (addresses moved with tcprewrite, bytes overwritten in
# place with perl, checksums fixed, sequence numbers untouched):
#   stripped   no-starttls.pcap's server (mx2, no STARTTLS) moved onto
#              127.0.0.1, which offers STARTTLS in the other sessions;
#   mangled    offered-not-used.pcap with 250-STARTTLS overwritten as
#              250-XXXXXXXA;
#   refused    refused-454.pcap's server moved onto 127.0.0.1, which accepts
#              STARTTLS in starttls-tls13.pcap;
#   fallback   failed-handshake.pcap as recorded: the client rejects the
#              certificate after the ServerHello, then retries in clear
#              (overwriting a ServerHello's type byte no longer makes a
#              failure: the records after it still prove the handshake
#              completed, and the dissector says so);
#   injection  starttls-tls12.pcap whose EHLO segment carries
#              "STARTTLS\r\nRSET\r\n" pipelined (CVE-2011-0411's shape).
# Skipped (77) without tcprewrite (Debian package tcpreplay).
# usage: downgrade.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
command -v tcprewrite >/dev/null || { echo "skipped: tcprewrite not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# craft NAME SOURCE PERL_SUBSTITUTION [TCPREWRITE OPTIONS]
craft() {
  local name=$1 src=$2 subst=$3
  shift 3
  perl -0777 -pe "$subst" "$data/$src" >"$tmp/raw-$name"
  if ! tcprewrite --fixcsum "$@" --infile="$tmp/raw-$name" --outfile="$tmp/$name"; then
    echo "FAIL: tcprewrite $name"
    fails=$((fails + 1))
  fi
  n=$((n + 1))
  if cmp -s "$data/$src" "$tmp/$name"; then
    echo "FAIL: $name is unchanged"
    fails=$((fails + 1))
  fi
}

craft stripped.pcap no-starttls.pcap '' --pnat=127.0.0.2/32:127.0.0.1/32
craft mangled.pcap offered-not-used.pcap 's/250-STARTTLS\r\n/250-XXXXXXXA\r\n/'
craft refused.pcap refused-454.pcap '' --pnat=127.0.0.5/32:127.0.0.1/32
craft injected.pcap starttls-tls12.pcap \
  's/EHLO client02\.smtptls\.test\r\n/EHLO cc\r\nSTARTTLS\r\nRSET\r\nX\r\n/'

# evidence DB KIND SERVER SESSIONS IDS DETAIL
evidence() {
  "$bin" report --db "$1" --format json >"$tmp/r.json"
  eq "$2: sessions" "$(js "$tmp/r.json" "\$.sections.downgrade_summary.rows[$(kind_index "$2")].sessions")" "$4"
  eq "$2: server" "$(row "$tmp/r.json" downgrade kind "$2" server)" "$3"
  eq "$2: session ids" "$(row "$tmp/r.json" downgrade kind "$2" session_ids)" "$5"
  eq "$2: detail" "$(row "$tmp/r.json" downgrade kind "$2" detail)" "$6"
}
kind_index() {
  case $1 in
    starttls_stripped) echo 0 ;; capability_mangled) echo 1 ;; starttls_refused) echo 2 ;;
    plaintext_fallback) echo 3 ;; plaintext_injection) echo 4 ;;
  esac
}

# one sensor: the genuine server, then the stripped, mangled and refused views
d1=$tmp/d1.db
cap "$d1" starttls-tls13.pcap "$tmp/stripped.pcap" "$tmp/mangled.pcap" "$tmp/refused.pcap"
eq "mangled flagged by the dissector" "$(sql "$d1" "SELECT anomalies FROM sessions WHERE id = 3")" capability_mangled
evidence "$d1" starttls_stripped 127.0.0.1:25 1 2 "STARTTLS offered in 2 of 4 EHLO replies"
evidence "$d1" capability_mangled 127.0.0.1:25 1 3 "EHLO keyword XXXXXXXA"
evidence "$d1" starttls_refused 127.0.0.1:25 1 4 "refused with 454; accepted in 1 other sessions"
eq "no fallback here" "$(js "$tmp/r.json" '$.sections.downgrade_summary.rows[3].sessions')" 0
eq "posture: sometimes" "$(row "$tmp/r.json" servers server 127.0.0.1:25 starttls)" sometimes
text=$("$bin" report --db "$d1")
has "text: stripped" "$text" '^  127\.0\.0\.1:25 +starttls_stripped +1$'
has "text: ids" "$text" '^      session ids: 2$'

# the unaltered captures show none of it
"$bin" report --db "$d1" --format json --server 127.0.0.2 >"$tmp/none.json"
eq "filter: no evidence elsewhere" "$(rows "$tmp/none.json" downgrade)" 0

# fallback: a failed handshake, then the same client to the same server in clear
d2=$tmp/d2.db
cap "$d2" failed-handshake.pcap
eq "failed: a ServerHello, then the client's alert" \
  "$(sql "$d2" "SELECT client_hello, tls_version, tls_outcome FROM sessions WHERE id = 1")" \
  "1|TLSv1.2|failed"
evidence "$d2" plaintext_fallback 127.0.0.1:25 1 "1->2" \
  "1 client(s) went on in clear within 300 s of a failed handshake (ids: failed->clear)"
eq "failed: reason" "$(row "$tmp/r.json" not_encrypted reason tls_failed sessions)" 1

# injection
d3=$tmp/d3.db
cap "$d3" "$tmp/injected.pcap" starttls-tls13.pcap
evidence "$d3" plaintext_injection 127.0.0.1:25 1 1 "clear data after STARTTLS, before TLS"
eq "injected: still encrypted" "$(js "$tmp/r.json" '$.sessions.encrypted')" 2

# counted from the rollups as from the session rows: every kind of evidence
# in one database, with a time filter and --top; the fallback alone
all=$tmp/all.db
cap "$all" starttls-tls13.pcap "$tmp/stripped.pcap" "$tmp/mangled.pcap" "$tmp/refused.pcap" \
  failed-handshake.pcap offered-not-used.pcap "$tmp/injected.pcap" starttls-tls12.pcap
for top in 0 1; do
  same_as_scan "evidence, --top $top" "$all" --top $top
  same_as_scan "evidence since 21:47:40, --top $top" "$all" --top $top --since 2026-11-22T21:47:40Z
done
"$bin" report --db "$all" --format json --top 0 >"$tmp/r.json"
eq "every kind in one database" "$(sqlite3 -batch :memory: "SELECT count(*) FROM
  json_each(readfile('$tmp/r.json'), '\$.sections.downgrade_summary.rows') WHERE
  json_extract(value, '\$.sessions') > 0")" 5
same_as_scan "fallback" "$d2" --top 0

finish downgrade
