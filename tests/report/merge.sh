#!/bin/bash
# smtptls merge: each recorded capture in a database of its own, as if
# from 22 sensors; mixed.pcap, vlan.pcap and starttls-tls13.pcapng repeat
# sessions of the others. The merged database holds each connection once
# (the truth's distinct connections), keeps every run with its origin, and
# merging again changes nothing. Clock offsets within and beyond the
# tolerance.
# usage: merge.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

all=(starttls-tls13.pcap starttls-tls12.pcap starttls-tls10.pcap starttls-tls11.pcap
  implicit-465.pcap submission-587.pcap offered-not-used.pcap no-starttls.pcap
  refused-454.pcap cleartext-auth.pcap ipv6.pcap multi-message.pcap large-message.pcap
  netem-loss.pcap any-sll2.pcap hrr.pcap resumption.pcap resumption12.pcap bdat.pcap
  vlan.pcap starttls-tls13.pcapng mixed.pcap)
inputs=()
for c in "${all[@]}"; do
  cap "$tmp/$c.db" "$c"
  inputs+=("$tmp/$c.db")
done
truth_table "$tmp/truth.db" "${all[@]}"
T() { sql "$tmp/truth.db" "$1"; }
K="json_extract(v, '\$.client_ip') || ' ' || json_extract(v, '\$.client_port') || ' ' || json_extract(v, '\$.server_ip') || ' ' || json_extract(v, '\$.server_port')"
distinct=$(T "SELECT count(DISTINCT $K) FROM t")
eq "truth: 36 rows, 28 connections" "$(T 'SELECT count(*) FROM t') $distinct" "36 28"

out=$tmp/out.db
status "merge" 0 "$bin" merge "$out" "${inputs[@]}"
has "merge summary" "$(cat "$tmp/status.out")" "merged 22 databases into $out: $distinct sessions added, 8 already there"
eq "sessions once" "$(sql "$out" 'SELECT count(*) FROM sessions')" "$distinct"
eq "no connection twice" "$(sql "$out" 'SELECT count(DISTINCT client_ip || client_port || server_ip || server_port) FROM sessions')" "$distinct"
eq "runs kept" "$(sql "$out" 'SELECT count(*) FROM runs')" 22
eq "origins" "$(sql "$out" 'SELECT count(*) FROM run_origins')" 22
eq "origin of mixed" "$(sql "$out" "SELECT o.sessions_copied + o.sessions_duplicate + o.sessions_replaced FROM run_origins o JOIN runs r ON r.id = o.run_id WHERE r.source LIKE '%/mixed.pcap'")" 6
eq "origin path" "$(sql "$out" "SELECT count(*) FROM run_origins WHERE origin_db LIKE '$tmp/%.db' AND origin_run_id = 1")" 22
"$bin" report --db "$out" --format json >"$tmp/r.json"
V="json_extract(v, '\$.tls_version')"
eq "report: sessions" "$(js "$tmp/r.json" '$.sessions.total')" "$distinct"
eq "report: encrypted" "$(js "$tmp/r.json" '$.sessions.encrypted')" \
  "$(T "SELECT count(*) FROM (SELECT DISTINCT $K, $V AS tv FROM t) WHERE tv IS NOT NULL")"
eq "report: sensors" "$(js "$tmp/r.json" '$.sections.capture.rows[0].sensors')" 22
eq "report: port 25" "$(row "$tmp/r.json" encryption scope 25 sessions)" \
  "$(T "SELECT count(DISTINCT $K) FROM t WHERE json_extract(v, '\$.server_port') = 25")"

# again: nothing added
before=$(sql "$out" 'SELECT count(*), sum(bytes_c2s), group_concat(id) FROM sessions')
status "merge again" 0 "$bin" merge "$out" "${inputs[@]}"
has "merge again summary" "$(cat "$tmp/status.out")" ": 0 sessions added, 36 already there, 0 replaced by a more complete row; 0 runs added, 22 already there"
eq "merge again: same rows" "$(sql "$out" 'SELECT count(*), sum(bytes_c2s), group_concat(id) FROM sessions')" "$before"

# a second sensor whose clock is 0.4 s ahead sees mixed.pcap's connections:
# the same sessions (tolerance 1 s); 5 s ahead they are other sessions.
# The rows are changed in session_rows (sessions is the view over it).
sk=$tmp/skew.db
cp "$tmp/mixed.pcap.db" "$sk"
sqlite3 "$sk" "UPDATE session_rows SET ts_start = ts_start + 0.4, ts_end = ts_end + 0.4; UPDATE runs SET source = 'sensor-b', started = started + 1;"
status "merge skewed" 0 "$bin" merge "$out" "$sk"
has "skewed: deduplicated" "$(cat "$tmp/status.out")" ": 0 sessions added, 6 already there"
eq "skewed: sessions" "$(sql "$out" 'SELECT count(*) FROM sessions')" "$distinct"
eq "skewed: run kept" "$(sql "$out" 'SELECT count(*) FROM runs')" 23
sqlite3 "$sk" "UPDATE session_rows SET ts_start = ts_start + 5; UPDATE runs SET source = 'sensor-c';"
status "merge far" 0 "$bin" merge "$out" "$sk"
eq "5 s apart: other sessions" "$(sql "$out" 'SELECT count(*) FROM sessions')" "$((distinct + 6))"
cp "$tmp/mixed.pcap.db" "$tmp/tol.db"
sqlite3 "$tmp/tol.db" "UPDATE session_rows SET ts_start = ts_start + 5; UPDATE runs SET source = 'sensor-d';"
status "merge --tolerance 10" 0 "$bin" merge --tolerance 10 "$tmp/o2.db" "$tmp/mixed.pcap.db" "$tmp/tol.db"
eq "--tolerance 10" "$(sql "$tmp/o2.db" 'SELECT count(*) FROM sessions')" 6

# a more complete row replaces a partial one: sensor E lost the handshake
cp "$tmp/mixed.pcap.db" "$tmp/partial.db"
sqlite3 "$tmp/partial.db" "UPDATE session_rows SET transport = (SELECT code FROM transports WHERE name = 'unknown'), tls_version = NULL, anomalies = 1 << (SELECT bit FROM anomaly_names WHERE name = 'midstream'), packets = 3 WHERE client_port = 57610; UPDATE runs SET source = 'sensor-e';"
status "merge partial first" 0 "$bin" merge "$tmp/o3.db" "$tmp/partial.db" "$tmp/mixed.pcap.db"
has "partial replaced" "$(cat "$tmp/status.out")" ": 6 sessions added, 5 already there, 1 replaced"
eq "complete row kept" "$(sql "$tmp/o3.db" "SELECT transport || ' ' || tls_version FROM sessions WHERE client_port = 57610")" "starttls TLSv1.3"

# errors
status "usage" 2 "$bin" merge "$out"
status "bad tolerance" 2 "$bin" merge --tolerance -1 "$out" "$sk"
status "missing input" 1 "$bin" merge "$tmp/o4.db" "$tmp/none.db"
has "missing input named" "$(cat "$tmp/status.out")" "database '$tmp/none.db'"
# a failed merge leaves nothing behind: no output, no temporary file; an
# existing output stays as it was
eq "failed merge: no output" "$(ls "$tmp" | grep -c '^o4\.db')" 0
sum_before=$(md5sum <"$out")
status "failed merge into an output" 1 "$bin" merge "$out" "$tmp/mixed.pcap.db" "$tmp/none.db"
eq "failed merge: output unchanged" "$(md5sum <"$out")" "$sum_before"
eq "failed merge: no temporary file" "$(ls "$tmp" | grep -c '\.merge-\|\.input-')" 0
status "output as input" 1 "$bin" merge "$out" "$out"
has "output as input named" "$(cat "$tmp/status.out")" "is the output"
sqlite3 "$tmp/other.db" "CREATE TABLE x (y);"
status "not smtptls" 1 "$bin" merge "$tmp/o5.db" "$tmp/other.db"
has "not smtptls named" "$(cat "$tmp/status.out")" "database '$tmp/other.db' is not an smtptls database"

finish merge
