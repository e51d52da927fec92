#!/bin/bash
# The report's numbers on the recorded captures, against their truth
# (tests/data/truth.json): mixed.pcap number by number in all four
# formats, then all 22 captures in one database with every expected number
# computed from the truth; the filters, the time buckets, the text layout
# (80 columns) and the exit statuses.
# usage: numbers.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# ---- mixed.pcap: 3 encrypted + 3 plaintext sessions --------------------------
m=$tmp/mixed.db
cap "$m" mixed.pcap
"$bin" report --db "$m" --format json >"$tmp/m.json"
eq "mixed sessions" "$(js "$tmp/m.json" '$.sessions.total')" 6
eq "mixed encrypted" "$(js "$tmp/m.json" '$.sessions.encrypted')" 3
eq "mixed encrypted %" "$(js "$tmp/m.json" '$.sessions.encrypted_pct')" 50.0
eq "mixed unknown" "$(js "$tmp/m.json" '$.sessions.unknown')" 0
eq "port 25 sessions" "$(row "$tmp/m.json" encryption scope 25 sessions)" 5
eq "port 25 encrypted" "$(row "$tmp/m.json" encryption scope 25 encrypted)" 2
eq "port 25 %" "$(row "$tmp/m.json" encryption scope 25 encrypted_pct)" 40.0
eq "port 465 sessions" "$(row "$tmp/m.json" encryption scope 465 sessions)" 1
eq "port 465 encrypted" "$(row "$tmp/m.json" encryption scope 465 encrypted)" 1
eq "port 465 role" "$(row "$tmp/m.json" encryption scope 465 role)" submission
eq "port 587 absent" "$(row "$tmp/m.json" encryption scope 587 sessions)" ""
eq "TLSv1.3" "$(row "$tmp/m.json" tls_versions version TLSv1.3 sessions)" 2
eq "TLSv1.2" "$(row "$tmp/m.json" tls_versions version TLSv1.2 sessions)" 1
eq "0x1302" "$(row "$tmp/m.json" ciphers code 0x1302 sessions)" 2
eq "0xC030" "$(row "$tmp/m.json" ciphers code 0xC030 sessions)" 1
eq "AEAD FS" "$(row "$tmp/m.json" cipher_classes class forward_secret_aead sessions)" 3
eq "not offered" "$(row "$tmp/m.json" not_encrypted reason not_offered sessions)" 1
eq "offered not used" "$(row "$tmp/m.json" not_encrypted reason offered_not_used sessions)" 1
eq "refused" "$(row "$tmp/m.json" not_encrypted reason starttls_refused sessions)" 1
eq "refused 454" "$(row "$tmp/m.json" starttls_refused code 454 sessions)" 1
eq "mail in clear" "$(row "$tmp/m.json" clear_mail scope all transactions)" 3
eq "servers" "$(rows "$tmp/m.json" servers)" 4
eq "worst server STARTTLS" "$(row "$tmp/m.json" servers server 127.0.0.2:25 starttls)" never
eq "mx1 STARTTLS" "$(row "$tmp/m.json" servers server 127.0.0.1:25 starttls)" always
eq "mx1 versions" "$(row "$tmp/m.json" servers server 127.0.0.1:25 versions)" "TLSv1.3 1, TLSv1.2 1"
eq "465 posture" "$(row "$tmp/m.json" servers server 127.0.0.1:465 starttls)" "implicit TLS"
eq "no downgrade" "$(rows "$tmp/m.json" downgrade)" 0
# bytes: the report's sums against the rows
eq "bytes" "$(row "$tmp/m.json" encryption scope all bytes)" \
  "$(sql "$m" 'SELECT sum(bytes_c2s + bytes_s2c) FROM sessions')"
eq "encrypted bytes" "$(row "$tmp/m.json" encryption scope all encrypted_bytes)" \
  "$(sql "$m" 'SELECT sum(bytes_c2s + bytes_s2c) FROM sessions WHERE tls_version IS NOT NULL')"

text=$("$bin" report --db "$m")
has "text sessions" "$text" '^Sessions +6 '
has "text headline" "$text" '^TLS completed +50\.0%   3 of 6 known sessions: encrypted$'
has "text attempted" "$text" '^TLS attempted +50\.0%   3 of 6 known sessions$'
has "text port 25" "$text" '^  25 +relay +5 +2 +40\.0%'
has "text port 465" "$text" '^  465 +submission +1 +1 +100\.0%'
has "text refused" "$text" '^  454 +1 +100\.0%'
csv=$("$bin" report --db "$m" --format csv)
has "csv summary" "$csv" '^summary,[^,]*,none,hour,2026-11-22T21:47:36Z,2026-11-22T21:48:09Z,6,6,0,3,50\.0,3,50\.0$'
has "csv port 25" "$csv" '^encryption,25,25,relay,5,2,40\.0,3,60\.0,'
has "csv versions" "$csv" '^tls_versions,TLSv1\.3,2,66\.7$'
html=$("$bin" report --db "$m" --format html)
has "html headline" "$html" '<div class="big">50\.0%</div>'
has "html svg" "$html" '<svg class="plot" xmlns="http://www.w3.org/2000/svg"'

# ---- filters (times from the capture: mixed.pcap's sessions start at
# 21:47:36, :38, :59, 21:48:04, :06, :09 UTC) -------------------------------------
f() { "$bin" report --db "$m" --format json "$@" >"$tmp/f.json" && js "$tmp/f.json" "$FPATH"; }
FPATH='$.sessions.total'
eq "--port 25" "$(f --port 25)" 5
eq "--port 465" "$(f --port 465)" 1
eq "--port 25,465" "$(f --port 25,465)" 6
eq "--port 587" "$(f --port 587)" 0
eq "--server address" "$(f --server 127.0.0.5)" 1
eq "--server banner name" "$(f --server MX1.smtptls.test)" 3
eq "--since ISO" "$(f --since 2026-11-22T21:48:00Z)" 3
eq "--until ISO" "$(f --until '2026-11-22 21:48')" 3
eq "--since offset" "$(f --since 2026-11-22T22:47:59+01:00)" 4
eq "--since/--until epoch" "$(f --since 1795384080 --until 1795384087)" 2
eq "filters combine" "$(f --port 25 --since 2026-11-22T21:47:37Z --server 127.0.0.1)" 2
FPATH='$.sessions.encrypted'
eq "--port 25 encrypted" "$(f --port 25)" 2
eq "--until encrypted" "$(f --until 2026-11-22T21:48:00Z)" 3
FPATH='$.filters.ports[1]'
eq "filters echoed" "$(f --port 25 --port 587)" 587

# ---- time buckets -------------------------------------------------------------
"$bin" report --db "$m" --format json --by day >"$tmp/d.json"
eq "by day" "$(row "$tmp/d.json" series bucket 2026-11-22 sessions)" 6
"$bin" report --db "$m" --format json --by week >"$tmp/w.json"
eq "by week" "$(row "$tmp/w.json" series bucket 2026-W47 encrypted)" 3
"$bin" report --db "$m" --format json --by hour >"$tmp/h.json"
eq "by hour" "$(row "$tmp/h.json" series bucket '2026-11-22 21:00' encrypted_pct)" 50.0

# ---- all 22 captures in one database, every number from the truth ---------------
all=(starttls-tls13.pcap starttls-tls12.pcap starttls-tls10.pcap starttls-tls11.pcap
  implicit-465.pcap submission-587.pcap offered-not-used.pcap no-starttls.pcap
  refused-454.pcap cleartext-auth.pcap ipv6.pcap multi-message.pcap large-message.pcap
  netem-loss.pcap any-sll2.pcap hrr.pcap resumption.pcap resumption12.pcap bdat.pcap
  vlan.pcap starttls-tls13.pcapng mixed.pcap)
a=$tmp/all.db
cap "$a" "${all[@]}"
tr=$tmp/truth.db
truth_table "$tr" "${all[@]}"
T() { sql "$tr" "$1"; }
V="json_extract(v, '\$.tls_version')"
# encrypted: the handshake completed (contract C3); these captures' truth
# leaves tls_outcome out where every TLS session was established
E="coalesce(json_extract(v, '\$.tls_outcome'), CASE WHEN $V IS NOT NULL THEN 'established' END, '') = 'established'"
"$bin" report --db "$a" --format json >"$tmp/a.json"
total=$(T "SELECT count(*) FROM t")
enc=$(T "SELECT count(*) FROM t WHERE $E")
eq "all sessions" "$(js "$tmp/a.json" '$.sessions.total')" "$total"
eq "all sessions = 36" "$total" 36
eq "all encrypted" "$(js "$tmp/a.json" '$.sessions.encrypted')" "$enc"
eq "all encrypted %" "$(row "$tmp/a.json" encryption scope all encrypted_pct)" "$(pct "$enc" "$total")"
for p in 25 465 587; do
  P="json_extract(v, '\$.server_port') = $p"
  eq "port $p sessions" "$(row "$tmp/a.json" encryption scope $p sessions)" \
    "$(T "SELECT count(*) FROM t WHERE $P")"
  eq "port $p encrypted" "$(row "$tmp/a.json" encryption scope $p encrypted)" \
    "$(T "SELECT count(*) FROM t WHERE $P AND $E")"
done
eq "submission 587+465" "$(row "$tmp/a.json" encryption scope 587+465 encrypted)" \
  "$(T "SELECT count(*) FROM t WHERE json_extract(v, '\$.server_port') IN (465, 587) AND $E")"
while IFS='|' read -r version count; do
  eq "version $version" "$(row "$tmp/a.json" tls_versions version "$version" sessions)" "$count"
  eq "version $version %" "$(row "$tmp/a.json" tls_versions version "$version" sessions_pct)" \
    "$(pct "$count" "$enc")"
done < <(T "SELECT $V, count(*) FROM t WHERE $E GROUP BY 1")
eq "versions listed" "$(rows "$tmp/a.json" tls_versions)" "$(T "SELECT count(DISTINCT $V) FROM t WHERE $E")"
while IFS='|' read -r name count; do
  eq "cipher $name" "$(row "$tmp/a.json" ciphers cipher "$name" sessions)" "$count"
done < <(T "SELECT json_extract(v, '\$.cipher_name'), count(*) FROM t WHERE $E GROUP BY 1")
eq "ciphers listed" "$(rows "$tmp/a.json" ciphers)" \
  "$(T "SELECT count(DISTINCT json_extract(v, '\$.cipher_suite')) FROM t WHERE $E")"
O="json_extract(v, '\$.starttls_offered')"
R="json_extract(v, '\$.starttls_reply')"
eq "offered" "$(row "$tmp/a.json" starttls item offered sessions)" "$(T "SELECT count(*) FROM t WHERE $O = 1")"
eq "offered not used" "$(row "$tmp/a.json" starttls item offered_not_used sessions)" \
  "$(T "SELECT count(*) FROM t WHERE $O = 1 AND $R IS NULL")"
eq "not offered" "$(row "$tmp/a.json" not_encrypted reason not_offered sessions)" \
  "$(T "SELECT count(*) FROM t WHERE $O = 0")"
eq "STARTTLS sent" "$(row "$tmp/a.json" starttls item sent sessions)" \
  "$(T "SELECT count(*) FROM t WHERE $R IS NOT NULL")"
eq "refused 454" "$(row "$tmp/a.json" starttls_refused code 454 sessions)" \
  "$(T "SELECT count(*) FROM t WHERE $R = 454")"
eq "refused codes" "$(rows "$tmp/a.json" starttls_refused)" \
  "$(T "SELECT count(DISTINCT $R) FROM t WHERE $R NOT BETWEEN 200 AND 299")"
eq "AUTH in clear" "$(row "$tmp/a.json" starttls item cleartext_auth sessions)" \
  "$(T "SELECT sum(json_extract(v, '\$.cleartext_auth')) FROM t")"
eq "AUTH in clear = 2" "$(T "SELECT sum(json_extract(v, '\$.cleartext_auth')) FROM t")" 2
X="json_extract(v, '\$.plaintext_transactions')"
eq "MAIL in clear" "$(row "$tmp/a.json" clear_mail scope all transactions)" "$(T "SELECT sum($X) FROM t")"
eq "sessions with MAIL in clear" "$(row "$tmp/a.json" clear_mail scope all sessions)" \
  "$(T "SELECT count(*) FROM t WHERE $X > 0")"
SIP="json_extract(v, '\$.server_ip')"
S="CASE WHEN $SIP LIKE '%:%' THEN '[' || $SIP || ']' ELSE $SIP END || ':' || json_extract(v, '\$.server_port')"
eq "servers" "$(rows "$tmp/a.json" servers)" "$(T "SELECT count(DISTINCT $S) FROM t")"
while IFS='|' read -r server count clear posture; do
  eq "server $server sessions" "$(row "$tmp/a.json" servers server "$server" sessions)" "$count"
  eq "server $server clear" "$(row "$tmp/a.json" servers server "$server" clear)" "$clear"
  eq "server $server STARTTLS" "$(row "$tmp/a.json" servers server "$server" starttls)" "$posture"
done < <(T "SELECT $S, count(*), sum(NOT ($E)),
    CASE WHEN count($O) = 0 THEN 'implicit TLS' WHEN sum($O) = 0 THEN 'never'
         WHEN sum($O) < count($O) THEN 'sometimes' ELSE 'always' END
  FROM t GROUP BY 1")
eq "worst server first" "$(js "$tmp/a.json" '$.sections.servers.rows[0].server')" \
  "$(T "SELECT $S FROM t GROUP BY 1 ORDER BY sum(NOT ($E)) DESC, sum($X) DESC LIMIT 1")"
eq "no downgrade evidence" "$(js "$tmp/a.json" '$.sections.downgrade_summary.rows[0].sessions')" 0
eq "series: one hour" "$(row "$tmp/a.json" series bucket '2026-11-22 21:00' sessions)" "$total"
eq "series: encrypted" "$(row "$tmp/a.json" series bucket '2026-11-22 21:00' encrypted)" "$enc"
eq "runs" "$(js "$tmp/a.json" '$.sections.capture.rows[0].runs')" 22

# ---- text: 80 columns, same numbers --------------------------------------------
text=$("$bin" report --db "$a")
eq "text fits 80 columns" "$(awk 'length > 80' <<<"$text" | head -3)" ""
has "text sessions" "$text" "^Sessions +$total "
has "text encrypted" "$text" "^TLS completed +$(pct "$enc" "$total")%   $enc of $total known sessions"
eq "--top 0 lists every server" \
  "$("$bin" report --db "$a" --top 0 | awk '/^Servers, worst first/ { on = 1; next } /^[^ ]/ { on = 0 } on' |
     grep -cE '^  (\[[0-9a-f:]+\]|[0-9.]+):[0-9]+ +[0-9]')" \
  "$(T "SELECT count(DISTINCT $S) FROM t")"

# ---- read-only, errors --------------------------------------------------------------
before=$(sha256sum <"$a")
"$bin" report --db "$a" --format html >/dev/null
eq "database unchanged by report" "$(sha256sum <"$a")" "$before"
status "bad format" 2 "$bin" report --db "$m" --format xml
status "bad time" 2 "$bin" report --db "$m" --since yesterday
status "bad by" 2 "$bin" report --db "$m" --by month
status "bad port" 2 "$bin" report --db "$m" --port 70000
status "missing db" 1 "$bin" report --db "$tmp/none.db"
has "missing db named" "$(cat "$tmp/status.out")" "database '$tmp/none.db'"
sqlite3 "$tmp/other.db" "CREATE TABLE x (y);"
status "other db" 1 "$bin" report --db "$tmp/other.db"
has "other db named" "$(cat "$tmp/status.out")" "database '$tmp/other.db' is not an smtptls database"

finish numbers
