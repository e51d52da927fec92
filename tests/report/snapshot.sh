#!/bin/bash
# A report taken while a capture writes is internally consistent: every
# section reads the same snapshot, so the totals equal the sums of the
# sections (ports, time buckets, versions, servers, reasons). The capture
# reads a generated capture (bench/gen) from a pipe fed slowly, so that
# it commits rows for several seconds while reports run back to back, some
# with a start time at an odd second (rows from the rollups and from the
# sessions at once).
# usage: snapshot.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
gen=$(dirname "$bin")/bench/gen
[ -x "$gen" ] || { echo "skipped: $gen not built"; exit 77; }
tmp=$(mktemp -d)
trap 'kill $feed 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

"$gen" -o "$tmp/big.pcap" -n 30000 -c 500 -s 1 "$data/starttls-tls13.pcap" \
  "$data/offered-not-used.pcap" "$data/no-starttls.pcap" "$data/refused-454.pcap" \
  "$data/implicit-465.pcap" "$data/starttls-tls12.pcap" "$data/submission-587.pcap" >/dev/null
db=$tmp/live.db
cap "$db" "$data/mixed.pcap" # the database exists before the capture starts

# sum FILE SECTION COLUMN [WHERE]: a column summed over a section's rows
sum() {
  sqlite3 -batch :memory: "SELECT coalesce(sum(json_extract(r.value, '\$.$3')), 0)
    FROM json_each(readfile('$1'), '\$.sections.$2.rows') r WHERE ${4:-1};"
}

# consistent FILE: the totals against the sections of one report
consistent() {
  local f=$1 total known unknown enc
  total=$(js "$f" '$.sessions.total')
  known=$(js "$f" '$.sessions.known')
  unknown=$(js "$f" '$.sessions.unknown')
  enc=$(js "$f" '$.sessions.encrypted')
  eq "known + unknown" "$((known + unknown))" "$total"
  eq "encryption, all ports" "$(row "$f" encryption scope all sessions)" "$known"
  eq "encryption, all ports encrypted" "$(row "$f" encryption scope all encrypted)" "$enc"
  eq "encryption, per port" "$(sum "$f" encryption sessions "json_extract(r.value, '\$.port') IS NOT NULL
    AND json_extract(r.value, '\$.scope') <> '587+465'")" "$known"
  eq "series sessions" "$(sum "$f" series sessions)" "$known"
  eq "series unknown" "$(sum "$f" series unknown)" "$unknown"
  eq "TLS versions" "$(sum "$f" tls_versions sessions)" "$enc"
  eq "servers" "$(sum "$f" servers sessions)" "$total"
  eq "reasons" "$(sum "$f" not_encrypted sessions)" "$((known - enc))"
  eq "clear mail sessions" "$(row "$f" clear_mail scope all sessions)" \
    "$(sum "$f" clear_mail sessions "json_extract(r.value, '\$.port') IS NOT NULL
      AND json_extract(r.value, '\$.scope') <> '587+465'")"
}

# the capture file through a pipe, in 60 pieces a tenth of a second apart
size=$(stat -c %s "$tmp/big.pcap")
(
  for ((i = 0; i < 60; i++)); do
    dd if="$tmp/big.pcap" bs=$(((size + 59) / 60)) skip=$i count=1 status=none
    sleep 0.1
  done
) | "$bin" capture -q -r - --db "$db" &
feed=$!
during=0 reports=0
first=$(date -u -d @1767225600 +%FT%TZ) # bench/gen's first packet
while kill -0 $feed 2>/dev/null; do
  reports=$((reports + 1))
  if ((reports % 2)); then
    "$bin" report --db "$db" --format json --top 0 >"$tmp/r.json" || break
  else
    "$bin" report --db "$db" --format json --top 0 --since "${first%Z}.5Z" >"$tmp/r.json" || break
  fi
  total=$(js "$tmp/r.json" '$.sessions.total')
  ((total > 6)) && during=$((during + 1))
  consistent "$tmp/r.json"
done
wait $feed
eq "capture exit status" "$?" 0
final=$(sql "$db" "SELECT count(*) FROM session_rows")
eq "reports while the capture wrote" "$((during >= 2))" 1
((final > 30000)) || { echo "FAIL: only $final sessions written"; fails=$((fails + 1)); }
"$bin" report --db "$db" --format json --top 0 >"$tmp/r.json"
eq "final total" "$(js "$tmp/r.json" '$.sessions.total')" "$final"
consistent "$tmp/r.json"

# JSON and CSV lists are bounded too: 100 rows and how many more
"$bin" report --db "$db" --format json >"$tmp/d.json"
all_servers=$(rows "$tmp/r.json" servers)
((all_servers > 100)) || { echo "FAIL: only $all_servers servers"; fails=$((fails + 1)); }
eq "JSON: 100 servers by default" "$(rows "$tmp/d.json" servers)" 100
eq "JSON: the rest counted" "$(js "$tmp/d.json" '$.sections.servers.more')" $((all_servers - 100))
eq "JSON: top echoed" "$(js "$tmp/d.json" '$.top')" 100
eq "CSV: 100 servers by default" "$("$bin" report --db "$db" --format csv | grep -c '^servers,[0-9]')" 100
eq "CSV: --top 0 lists all" "$("$bin" report --db "$db" --format csv --top 0 | grep -c '^servers,[0-9]')" \
  "$all_servers"
echo "$reports reports, $during during the capture, $final sessions"
finish snapshot
