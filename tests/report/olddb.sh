#!/bin/bash
# A database written by smtptls 0.1.0 (tests/data/db/release-0.1.0.db:
# every recorded capture, one run each, schema version 1 with names as
# text) read by this smtptls: report migrates a copy of it in place, and
# gives every number a fresh capture of the same files gives (section by
# section; the capture runs aside, as their counters differ, and so does
# whether DNS was followed), export gives
# the same rows; a capture appends to it; merge takes it as an input
# without writing it; a reader that cannot write it says why.
# usage: olddb.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

old=$tmp/old.db
cp "$data/db/release-0.1.0.db" "$old"
eq "release database: version 1" "$(sql "$old" 'PRAGMA user_version')" 1
eq "release database: a table of sessions" \
  "$(sql "$old" "SELECT type FROM sqlite_master WHERE name = 'sessions'")" table

# the same captures, in the same order, by this smtptls
fresh=$tmp/fresh.db
while IFS= read -r src; do
  cap "$fresh" "$data/$(basename "$src")"
done < <(sql "$old" 'SELECT source FROM runs ORDER BY id')
eq "fresh: the same sessions" "$(sql "$fresh" 'SELECT count(*) FROM sessions')" \
  "$(sql "$old" 'SELECT count(*) FROM sessions')"

# Verdicts the dissector has changed since 0.1.0, put back to what 0.1.0
# wrote, so that the comparison below checks the migration and the reports
# and nothing else. Each line names the session and why it changed:
# - legacy-hellos.pcap, the SSLv2-format hello to 127.0.0.3: ServerHello,
#   Certificate, ServerHelloDone, then the client closed without a Finished.
#   0.1.0 wrote incomplete; the end is in the capture, so it is failed now.
changed=$(sql "$fresh" "SELECT count(*) FROM session_rows WHERE sslv2_hello = 1
  AND tls_outcome = 3 AND server_ip = '127.0.0.3'")
eq "fresh: the one verdict changed since 0.1.0" "$changed" 1
sqlite3 "$fresh" "UPDATE session_rows SET tls_outcome = 5, tls_established = 0
  WHERE sslv2_hello = 1 AND tls_outcome = 3 AND server_ip = '127.0.0.3'"
edited "$fresh" # the rollups count from the rows edited by hand

"$bin" report --db "$old" --format json >"$tmp/old.json"
eq "report on the release database" "$?" 0
eq "migrated in place" "$(sql "$old" 'PRAGMA user_version')" "$(sql "$fresh" 'PRAGMA user_version')"
eq "sessions is the view" "$(sql "$old" "SELECT type FROM sqlite_master WHERE name = 'sessions'")" view
"$bin" report --db "$fresh" --format json >"$tmp/fresh.json"
same_json() { # WHAT PATH
  local a b
  a=$(sqlite3 -batch :memory: "SELECT json_extract(readfile('$tmp/old.json'), '$2')")
  b=$(sqlite3 -batch :memory: "SELECT json_extract(readfile('$tmp/fresh.json'), '$2')")
  eq "$1" "$a" "$b"
}
same_json "totals" '$.sessions'
sections=$(sqlite3 -batch :memory: "SELECT key FROM json_each(readfile('$tmp/fresh.json'), '\$.sections')
  WHERE key NOT IN ('capture', 'capture_counters', 'dns_link', 'coverage')")
eq "sections compared" "$(wc -l <<<"$sections")" \
  "$(($(sqlite3 -batch :memory: "SELECT count(*) FROM json_each(readfile('$tmp/fresh.json'), '\$.sections')") - 4))"
for s in $sections; do
  same_json "section $s" "\$.sections.$s"
done
has "encrypted sessions counted" "$(js "$tmp/old.json" '$.sessions.encrypted')" '^[1-9][0-9]*$'

# every row, every column, as the release wrote it and as this one writes it
# (but sensor: NULL in the release's rows, the host name in a fresh capture's)
nosensor() { sed -E 's/,"sensor":(null|"[^"]*")\}$/}/'; }
"$bin" export --db "$old" --format jsonl | nosensor >"$tmp/old.jsonl"
"$bin" export --db "$fresh" --format jsonl | nosensor >"$tmp/fresh.jsonl"
eq "export: sensor taken out" "$(cat "$tmp/old.jsonl" "$tmp/fresh.jsonl" | grep -c "\"sensor\"")" 0
eq "export: the same rows" "$(md5sum <"$tmp/old.jsonl")" "$(md5sum <"$tmp/fresh.jsonl")"
eq "export: rows" "$(wc -l <"$tmp/old.jsonl")" "$(sql "$fresh" 'SELECT count(*) FROM sessions')"

# a capture appends to it
n=$(sql "$old" 'SELECT count(*) FROM sessions')
cap "$old" mixed.pcap
eq "appended" "$(sql "$old" 'SELECT count(*) FROM sessions')" "$((n + 6))"
eq "appended rows as a fresh capture's" \
  "$(sql "$old" "SELECT group_concat(client_port || transport || coalesce(tls_version, '-'), ',')
    FROM (SELECT * FROM sessions WHERE run_id = (SELECT max(id) FROM runs) ORDER BY id)")" \
  "$(sql "$fresh" "SELECT group_concat(client_port || transport || coalesce(tls_version, '-'), ',')
    FROM (SELECT * FROM sessions WHERE run_id = (SELECT max(id) FROM runs) ORDER BY id)")"
status "report after the capture" 0 "$bin" report --db "$old"
eq "integrity" "$(sql "$old" 'PRAGMA integrity_check')" ok
eq "foreign keys" "$(sql "$old" 'PRAGMA foreign_key_check')" ""

# merge reads a version-1 input without writing it
in=$tmp/in.db
cp "$data/db/release-0.1.0.db" "$in"
sum=$(md5sum <"$in")
status "merge of a version-1 input" 0 "$bin" merge "$tmp/merged.db" "$in"
eq "merge: input untouched" "$(md5sum <"$in")" "$sum"
eq "merge: sessions" "$(sql "$tmp/merged.db" 'SELECT count(*) FROM sessions')" \
  "$(sql "$in" 'SELECT count(*) FROM (SELECT DISTINCT client_ip, client_port, server_ip, server_port FROM sessions)')"
eq "merge: no copy left behind" "$(ls "$tmp" | grep -c '\.input-\|\.merge-')" 0

# a reader that cannot write an old database says so, and leaves it alone
# (the folder is writable: SQLite's shared-memory file of a WAL database)
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
  ro=$tmp/ro
  mkdir "$ro"
  cp "$data/db/release-0.1.0.db" "$ro/old.db"
  chmod 755 "$tmp"
  chmod 777 "$ro"
  chmod 644 "$ro/old.db"
  status "read-only: report" 1 runuser -u nobody -- "$bin" report --db "$ro/old.db"
  has "read-only: why" "$(cat "$tmp/status.out")" "database '$ro/old.db' has schema version 1 and must be migrated to version [0-9]+, which needs write access"
  eq "read-only: still version 1" "$(sql "$ro/old.db" 'PRAGMA user_version')" 1
else
  echo "read-only check skipped: needs root and runuser"
fi

# a database of a newer smtptls is refused, naming it
cp "$fresh" "$tmp/newer.db"
sqlite3 "$tmp/newer.db" "PRAGMA user_version = 999"
status "newer: report" 1 "$bin" report --db "$tmp/newer.db"
has "newer: named" "$(cat "$tmp/status.out")" "database '$tmp/newer.db' has schema version 999, newer than this smtptls"
status "newer: capture" 1 "$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/newer.db"
has "newer: capture names it" "$(cat "$tmp/status.out")" "database '$tmp/newer.db' has schema version 999"

finish olddb
