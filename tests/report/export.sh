#!/bin/bash
# smtptls export: the session rows of mixed.pcap as JSON lines and CSV,
# checked against the truth and against the database row by row; filters.
# usage: export.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

m=$tmp/mixed.db
cap "$m" mixed.pcap
truth_table "$tmp/truth.db" mixed.pcap

# JSON lines: one valid object per session, every column, the truth's values
"$bin" export --db "$m" --format jsonl >"$tmp/s.jsonl"
eq "jsonl exit" "$?" 0
eq "jsonl lines" "$(wc -l <"$tmp/s.jsonl")" 6
sqlite3 -batch "$tmp/x.db" "CREATE TABLE j (line TEXT);"
while IFS= read -r line; do
  sqlite3 -batch "$tmp/x.db" "INSERT INTO j VALUES ('${line//\'/\'\'}');"
done <"$tmp/s.jsonl"
eq "jsonl valid" "$(sql "$tmp/x.db" 'SELECT sum(json_valid(line)) FROM j')" 6
eq "jsonl keys = columns" "$(sql "$tmp/x.db" "SELECT count(*) FROM json_each((SELECT line FROM j LIMIT 1))")" \
  "$(sql "$m" "SELECT count(*) FROM pragma_table_info('sessions')")"
sqlite3 -batch "$tmp/x.db" "ATTACH '$tmp/truth.db' AS tr;"
for field in client_ip server_ip server_port transport starttls_reply tls_version cipher_suite \
  cipher_name sni plaintext_transactions cleartext_auth server_name ehlo_name; do
  # sessions whose exported field equals the truth's, matched by client port
  got=$(sqlite3 -batch "$tmp/x.db" "ATTACH '$tmp/truth.db' AS tr;
    SELECT count(*) FROM j, tr.t
    WHERE json_extract(line, '\$.client_port') = json_extract(v, '\$.client_port')
      AND (json_type(v, '\$.$field') IS NULL
           OR json_extract(line, '\$.$field') IS json_extract(v, '\$.$field'));")
  eq "jsonl $field as in the truth" "$got" 6
done
eq "jsonl oldest first" "$(sql "$tmp/x.db" "SELECT group_concat(json_extract(line, '\$.client_port')) FROM j")" \
  "57610,57612,37112,46640,38580,48608"
eq "jsonl ts_start" "$(sql "$tmp/x.db" "SELECT json_extract(line, '\$.ts_start') FROM j LIMIT 1")" \
  "$(sql "$m" "SELECT ts_start FROM sessions ORDER BY ts_start LIMIT 1")"

# CSV: a header and one record per session; imported back, equal to the rows
"$bin" export --db "$m" --format csv >"$tmp/s.csv"
eq "csv exit" "$?" 0
eq "csv header" "$(head -1 "$tmp/s.csv")" \
  "$(sql "$m" "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('sessions') ORDER BY cid)")"
sqlite3 -batch "$tmp/c.db" ".import --csv $tmp/s.csv s"
for col in client_port server_port transport starttls_offered starttls_reply tls_version cipher_name \
  bytes_c2s bytes_s2c ehlo_name ehlo_keywords anomalies; do
  eq "csv $col" "$(sql "$tmp/c.db" "SELECT group_concat($col, '|') FROM (SELECT $col FROM s ORDER BY id)")" \
    "$(sql "$m" "SELECT group_concat(coalesce($col, ''), '|') FROM (SELECT $col FROM sessions ORDER BY id)")"
done

# filters are the report's
eq "--port 465" "$("$bin" export --db "$m" --port 465 | wc -l)" 1
eq "--server (header + 4)" "$("$bin" export --db "$m" --server 127.0.0.1 --format csv | wc -l)" 5
eq "--since" "$("$bin" export --db "$m" --since 2026-11-22T21:48:00Z | wc -l)" 3
status "bad format" 2 "$bin" export --db "$m" --format xml
status "missing db" 1 "$bin" export --db "$tmp/none.db"
has "missing db named" "$(cat "$tmp/status.out")" "database '$tmp/none.db'"

finish export
