#!/bin/bash
# Report speed (issue 16): 960,000 sessions over 8 days. bench/gen makes one
# day of traffic (the templates of run.sh's big.pcap, 104,000 copies:
# 120,000 sessions), editcap shifts it by whole days, and each day is
# captured once into one database. Then each report is run RUNS times
# (default 5) and the median wall time and median CPU time (user + system)
# are printed, with the database's size.
#
#   bench/reports.sh [OUT_DIR]   (default bench/out; needs build/, editcap, sqlite3)
#
# Environment: DAYS (8), COPIES (104000 a day), CLIENTS (client addresses
# to cycle through, bench/gen -C; default one per copy, the same every
# day), RUNS (5), SMTPTLS (the binary, default build/smtptls), SERVER (the
# one-server report's --server, default 172.16.0.1), KEEP=1 keeps an
# existing database.
set -u
cd "$(dirname "$0")/.."
out=${1:-bench/out}
mkdir -p "$out"
b=build
smtptls=${SMTPTLS:-$b/smtptls}
measure=$b/bench/measure
days=${DAYS:-8}
copies=${COPIES:-104000}
clients=${CLIENTS:-}
runs=${RUNS:-5}
server=${SERVER:-172.16.0.1}
for f in "$smtptls" "$measure" "$b/bench/gen"; do
  [ -x "$f" ] || { echo "reports: $f missing: meson compile -C build first" >&2; exit 1; }
done
command -v editcap >/dev/null || { echo "reports: editcap missing (apt-get install wireshark-common)" >&2; exit 1; }
d=tests/data
big_t="$d/starttls-tls13.pcap $d/starttls-tls13.pcap $d/offered-not-used.pcap
  $d/no-starttls.pcap $d/refused-454.pcap $d/bdat.pcap $d/cleartext-auth.pcap
  $d/cleartext-auth.pcap $d/implicit-465.pcap $d/starttls-tls10.pcap
  $d/starttls-tls12.pcap $d/ipv6.pcap $d/submission-587.pcap"
db=$out/days.db
day0=1767225600 # bench/gen's epoch, 2026-01-01T00:00:00Z

# ---- the database: one capture run per day ----------------------------------
if [ "${KEEP:-0}" != 1 ] || [ ! -f "$db" ]; then
  rm -f "$db" "$db-wal" "$db-shm"
  if [ ! -f "$out/day.pcap" ] || [ "$(grep -c '^template' "$out/day.gen" 2>/dev/null)" != 13 ] ||
     [ "$(awk '/^template/ { n += $3 } END { print n }' "$out/day.gen")" != "$copies" ] ||
     [ "$(cat "$out/day.clients" 2>/dev/null)" != "$clients" ]; then
    echo "generating $out/day.pcap ($copies copies${clients:+, $clients clients}) ..."
    $b/bench/gen -o "$out/day.pcap" -n "$copies" -c 2000 -s 1 ${clients:+-C "$clients"} $big_t \
      >"$out/day.gen" || exit 1
    echo "$clients" >"$out/day.clients"
  fi
  cpu_total=0
  for ((i = 0; i < days; i++)); do
    editcap -t $((i * 86400)) "$out/day.pcap" "$out/shifted.pcap" || exit 1
    err=$("$measure" -- "$smtptls" capture -r "$out/shifted.pcap" --db "$db" 2>&1 >/dev/null)
    grep -q 'status=0' <<<"$err" || { echo "capture of day $i failed: $err" >&2; exit 1; }
    line=$(grep '^wall_s=' <<<"$err")
    acct=$(sed -n 's/.*CPU seconds: \(.*\)/\1/p' <<<"$err")
    echo "day $i captured: $line; CPU seconds: $acct"
  done
  rm -f "$out/shifted.pcap"
fi

sessions=$(sqlite3 "$db" "SELECT count(*) FROM session_rows")
size=$(stat -c %s "$db")
echo
echo "database: $db, $sessions sessions, $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }'),"\
  "$(awk -v s="$size" -v n="$sessions" 'BEGIN { printf "%.0f", s / n }') bytes a session"
# bytes a session by what holds them (SQLite's dbstat)
sqlite3 "$db" "SELECT '  ' || CASE WHEN name GLOB 'rollup_*_*' THEN rtrim(rtrim(name, 'adhlloruy'), '_')
    WHEN name GLOB 'session_rows*' THEN name ELSE 'other' END AS part,
    printf('%.0f bytes a session', sum(pgsize) * 1.0 / $sessions)
  FROM dbstat GROUP BY part ORDER BY sum(pgsize) DESC" 2>/dev/null

# ---- the reports ---------------------------------------------------------------
# median of the numbers on standard input
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# time LABEL ARGS...: RUNS reports, median wall and CPU seconds, output size
time_report() {
  local label=$1 walls= cpus= err line i
  shift
  for ((i = 0; i < runs; i++)); do
    err=$("$measure" -o "$out/report.out" -- "$smtptls" report --db "$db" "$@" 2>&1)
    line=$(grep '^wall_s=' <<<"$err" | tail -1)
    grep -q 'status=0' <<<"$line" || { echo "report $label failed: $err" >&2; return 1; }
    walls+="$(sed 's/.*wall_s=\([0-9.]*\).*/\1/' <<<"$line")"$'\n'
    cpus+="$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
      END { print v["user_s"] + v["sys_s"] }' <<<"$line")"$'\n'
  done
  printf '%-34s %8.3f %8.3f %10s\n' "$label" "$(median <<<"${walls%$'\n'}")" \
    "$(median <<<"${cpus%$'\n'}")" "$(stat -c %s "$out/report.out")"
}

one_day="--since $(date -u -d @$((day0 + 3 * 86400)) +%FT%TZ) --until $(date -u -d @$((day0 + 4 * 86400)) +%FT%TZ)"
echo "$runs runs each, medians; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %8s %10s\n' report wall_s cpu_s bytes
time_report "full, text"
time_report "full, json" --format json
time_report "full, csv" --format csv
time_report "full, html" --format html
time_report "one day, text" $one_day
time_report "one day, json" $one_day --format json
time_report "one server, text" --server "$server"
time_report "one server, json" --server "$server" --format json
time_report "odd seconds, json" --since 2026-01-02T00:07:13Z --until 2026-01-06T00:01:59Z --format json
