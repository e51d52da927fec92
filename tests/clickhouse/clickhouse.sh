#!/bin/bash
# ClickHouse end to end: two clickhouse-server processes on loopback (own
# configs in a temporary folder, chserver.sh) as a two-shard cluster, and
#  - equality: the recorded captures from two sensors into the cluster and
#    into one SQLite database hold the same sessions (every column of the
#    sessions view but id and run_id, row for row), the same per sensor;
#    one server alone (no cluster) too;
#  - nothing doubled: an insert whose answer is lost after ClickHouse took
#    it (a proxy drops it) is sent again, and every session counts once;
#  - outage: the entry server stops during a capture, which exits 0 with
#    its rows spooled and says so; once it is back the next run delivers
#    them; every session then is there exactly once (count, checksum);
#  - bad input: wrong URLs, a wrong password, a read-only user, a user
#    without access, a server that is not ClickHouse, and one that stops
#    being ClickHouse during a capture: one clear error each naming the URL
#    (never the password), exit status 1, nothing lost.
# usage: clickhouse.sh SMTPTLS GEN DATA_DIR
set -u
bin=$(realpath "$1") gen=$(realpath "$2") data=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
for t in /usr/sbin/clickhouse-server python3 curl sqlite3; do
  command -v "$t" >/dev/null || { echo "skipped: $t not installed"; exit 77; }
done
tmp=$(mktemp -d /tmp/ch-test.XXXXXX)
A=19130 B=19140 PROXY=19160 # HTTP ports; TCP +1, interserver +2
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  "$here/chserver.sh" stop "$tmp/a"
  "$here/chserver.sh" stop "$tmp/b"
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
eq() { [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"; }
has() { case "$2" in *"$3"*) ;; *) fail "$1: no '$3' in: $2" ;; esac; }
q() { curl -s "http://127.0.0.1:$1/" --data-binary "$2"; }
# ClickHouse merges the parts each insert makes in the background; reading
# an 86-column table through FINAL takes about 2 MB per column and part in
# 18.16, so the tests merge them first, as a server's own merges would.
merge_parts() { # PORT DATABASE TABLE_SUFFIX
  for t in sessions runs run_counters; do q "$1" "OPTIMIZE TABLE $2.$t$3 FINAL"; done
}
start_a() { "$here/chserver.sh" start "$tmp/a" $A $((A + 1)) $((A + 2)) fleet $((A + 1)) $((B + 1)); }
start_a || exit 1
"$here/chserver.sh" start "$tmp/b" $B $((B + 1)) $((B + 2)) fleet $((A + 1)) $((B + 1)) || exit 1
cluster="clickhouse://127.0.0.1:$A/fleet?cluster=fleet&shards=127.0.0.1:$B"
single="clickhouse://127.0.0.1:$B/single"
cd "$tmp" || exit 1
captures=$(ls "$data"/*.pcap "$data"/*.pcapng)

# ---- equality ---------------------------------------------------------------------
printf "%s s: equality\n" "$SECONDS"
for s in s1 s2; do
  for f in $captures; do
    "$bin" capture -q -r "$f" --sensor $s --db "$tmp/all.db" || fail "sqlite capture $f"
    out=$("$bin" capture -q -r "$f" --sensor $s --db "$cluster" --spool "$tmp/eq.spool" 2>&1) ||
      fail "cluster capture $f: $out"
    [ -z "$out" ] || fail "cluster capture $f said: $out"
  done
done
merge_parts $A fleet _local
merge_parts $B fleet _local
python3 "$here/chcompare.py" "$tmp/all.db" "http://127.0.0.1:$A" fleet || fail "cluster rows differ"
python3 "$here/chcompare.py" "$tmp/all.db" "http://127.0.0.1:$B" fleet || fail "cluster rows differ (read on the second shard)"
n1=$(q $A "SELECT count() FROM fleet.sessions_local")
n2=$(q $B "SELECT count() FROM fleet.sessions_local")
[ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] || fail "the sessions are not on both shards ($n1, $n2)"
eq "runs per sensor" "$(q $A "SELECT sensor, count() FROM fleet.runs FINAL GROUP BY sensor ORDER BY sensor FORMAT CSV" | tr '\n' ' ')" \
  "$(sqlite3 -csv all.db "SELECT sensor, count(*) FROM runs GROUP BY sensor ORDER BY sensor" | tr -d '\r' | sed 's/^\([^,]*\)/"\1"/' | tr '\n' ' ')"
for s in s1 s2; do # per sensor: report and export --sensor on SQLite, the sensor column on ClickHouse
  python3 "$here/chcompare.py" "$tmp/all.db" "http://127.0.0.1:$A" fleet $s >/dev/null || fail "sensor $s: rows differ"
  eq "export --sensor $s" "$("$bin" export --db "$tmp/all.db" --sensor $s | wc -l)" \
    "$(q $A "SELECT count() FROM fleet.sessions FINAL WHERE sensor = '$s'")"
done
eq "export --sensor nobody" "$("$bin" export --db "$tmp/all.db" --sensor nobody | wc -l)" 0
eq "every run complete" "$(q $A "SELECT countIf(status != 'complete') FROM fleet.runs FINAL")" 0
eq "runs count their sessions" "$(q $A "SELECT sum(sessions) FROM fleet.runs FINAL")" \
  "$(sqlite3 all.db "SELECT count(*) FROM sessions")"

# report and export on the cluster: what they print on the SQLite database,
# section by section (report.log), row for row (ids aside: each database's
# own; rows of the same start time, the two sensors' copies of a session,
# follow each database's ids: compared in one order)
noid() { sed -E 's/^\{"id":-?[0-9]+,"run_id":-?[0-9]+,/{/' | sort; }
for f in "" "--sensor s1" "--port 587" "--since 2026-11-22T21:48:06Z --until 2026-11-22T21:49:04Z" \
  "--since 2026-11-22T21:48:25Z --until 2026-12-05" "--server 127.0.0.1" "--sensor s2 --port 25"; do
  # shellcheck disable=SC2086
  "$bin" report --db "$tmp/all.db" --format json $f > "$tmp/sq.json" || fail "sqlite report $f"
  for entry in $A $B; do
    # shellcheck disable=SC2086
    "$bin" report --db "clickhouse://127.0.0.1:$entry/fleet" --format json $f > "$tmp/ch.json" ||
      fail "report on the cluster $f (entry $entry)"
    echo "report $f (entry $entry):" >> "$tmp/report.log"
    python3 "$here/chreport.py" "$tmp/sq.json" "$tmp/ch.json" >> "$tmp/report.log" ||
      fail "report $f (entry $entry) differs: $(grep -A2 DIFF "$tmp/report.log" | tail -3)"
  done
  # shellcheck disable=SC2086
  "$bin" export --db "$tmp/all.db" $f | noid > "$tmp/sq.jsonl"
  # shellcheck disable=SC2086
  "$bin" export --db "clickhouse://127.0.0.1:$A/fleet" $f | noid > "$tmp/ch.jsonl"
  [ -s "$tmp/sq.jsonl" ] || [ -n "$f" ] || fail "export: nothing"
  cmp -s "$tmp/sq.jsonl" "$tmp/ch.jsonl" || fail "export $f differs: $(diff "$tmp/sq.jsonl" "$tmp/ch.jsonl" | head -3)"
done
echo "sections equal: $(grep -c "^same" "$tmp/report.log"), different: $(grep -c "^DIFF" "$tmp/report.log")"
sed -n '1,/^aside capture_counters/p' "$tmp/report.log" | tr '\n' ' ' | fold -w 100; echo
out=$("$bin" report --db "clickhouse://writer:wrong-pw@127.0.0.1:$A/fleet" 2>&1)
eq "report, wrong password: status" $? 1
has "report, wrong password" "$out" "'clickhouse://writer@127.0.0.1:$A/fleet': ClickHouse error 193"
out=$("$bin" report --db "clickhouse://127.0.0.1:$A/nothing_here" 2>&1)
eq "report, no such database: status" $? 1

"$bin" capture -q -r "$data/mixed.pcap" --sensor s1 --db "$tmp/one.db" || fail "sqlite mixed"
"$bin" capture -q -r "$data/mixed.pcap" --sensor s1 --db "$single" --spool "$tmp/s.spool" || fail "single mixed"
python3 "$here/chcompare.py" "$tmp/one.db" "http://127.0.0.1:$B" single || fail "single server rows differ"
out=$("$bin" capture -q -r "$data/mixed.pcap" --sensor s1 --db "$single" --spool "$tmp/s.spool" 2>&1)
eq "the same file again: status" $? 1
has "the same file again" "$out" "was already captured"

# ---- an answer lost after the insert: sent again, counted once ----------------------------
printf "%s s: an answer lost\n" "$SECONDS"
python3 "$here/chproxy.py" $PROXY $A drop-insert 2 >/dev/null &
pids+=($!)
sleep 0.5
via="clickhouse://127.0.0.1:$PROXY/dd?cluster=fleet&shards=127.0.0.1:$B"
out=$("$bin" capture -q -r "$data/mixed.pcap" --sensor s1 --db "$via" --spool "$tmp/dd.spool" 2>&1)
eq "lost answer: status" $? 0
has "lost answer" "$out" "rows go to the spool '$tmp/dd.spool'"
# delivered by a retry of the same capture, or else by the next one
"$bin" capture -q -r "$data/hrr.pcap" --sensor s1 --db "$via" --spool "$tmp/dd.spool" 2>/dev/null ||
  fail "lost answer: the next run failed"
[ -e "$tmp/dd.spool" ] && fail "the spool is still there after delivery"
raw=$(q $A "SELECT count() FROM dd.sessions")
final=$(q $A "SELECT count() FROM dd.sessions FINAL")
want=$(( $(sqlite3 one.db "SELECT count(*) FROM sessions") + 1 ))
eq "lost answer: sessions once" "$final" "$want"
[ "$raw" -gt "$final" ] || fail "no insert was sent twice ($raw rows stored, $final sessions): the test proved nothing"
eq "lost answer: identities unique" "$(q $A "SELECT uniqExact(writer, seq) FROM dd.sessions FINAL")" "$final"

# ---- outage: the entry server stops during a capture -----------------------------------------
printf "%s s: outage\n" "$SECONDS"
"$gen" -o "$tmp/g.pcap" -n 1500 -c 100 "$data/starttls-tls13.pcap" "$data/offered-not-used.pcap" \
  "$data/refused-454.pcap" >/dev/null || exit 1
"$bin" capture -q -r "$tmp/g.pcap" --sensor s1 --db "$tmp/g.db" || fail "sqlite g"
"$bin" capture -q -r "$data/hrr.pcap" --sensor s1 --db "$tmp/g.db" || fail "sqlite hrr"
size=$(stat -c %s "$tmp/g.pcap")
mkfifo "$tmp/feed"
{ head -c $((size / 2)) "$tmp/g.pcap"; while [ ! -e "$tmp/go" ]; do sleep 0.1; done
  tail -c +$((size / 2 + 1)) "$tmp/g.pcap"; } > "$tmp/feed" &
"$bin" capture -q -r - --sensor s1 --db "clickhouse://127.0.0.1:$A/out" --spool "$tmp/out.spool" \
  < "$tmp/feed" > "$tmp/out.log" 2>&1 &
cap=$!
for _ in $(seq 1 50); do # the first rows are in ClickHouse: the capture is under way
  [ "$(q $A "SELECT count() FROM out.sessions" 2>/dev/null)" -gt 0 ] 2>/dev/null && break
  sleep 0.1
done
"$here/chserver.sh" stop "$tmp/a"
touch "$tmp/go"
wait $cap
eq "outage: status" $? 0
out=$(cat "$tmp/out.log")
has "outage" "$out" "rows go to the spool '$tmp/out.spool'"
has "outage" "$out" "could not be delivered: kept in the spool"
[ -s "$tmp/out.spool" ] || fail "outage: nothing in the spool"
start_a || exit 1
out=$("$bin" capture -q -r "$data/hrr.pcap" --sensor s1 --db "clickhouse://127.0.0.1:$A/out" --spool "$tmp/out.spool" 2>&1)
eq "after the outage: status" $? 0
has "after the outage" "$out" "delivered"
[ -e "$tmp/out.spool" ] && fail "outage: the spool is still there after delivery"
eq "outage: identities unique" "$(q $A "SELECT uniqExact(writer, seq) FROM out.sessions")" \
  "$(sqlite3 g.db "SELECT count(*) FROM sessions")"
merge_parts $A out ""
python3 "$here/chcompare.py" "$tmp/g.db" "http://127.0.0.1:$A" out || fail "outage: rows differ"
eq "outage: count" "$(q $A "SELECT count() FROM out.sessions FINAL")" "$(sqlite3 g.db "SELECT count(*) FROM sessions")"
eq "outage: runs" "$(q $A "SELECT status, count() FROM out.runs FINAL GROUP BY status FORMAT CSV")" '"complete",2'

# the server back while the capture still runs: its retries deliver
rm -f "$tmp/feed" "$tmp/go"
mkfifo "$tmp/feed"
third=$((size / 3))
{ head -c $third "$tmp/g.pcap"; while [ ! -e "$tmp/go1" ]; do sleep 0.1; done
  tail -c +$((third + 1)) "$tmp/g.pcap" | head -c $third
  while [ ! -e "$tmp/go2" ]; do sleep 0.1; done
  tail -c +$((2 * third + 1)) "$tmp/g.pcap"; } > "$tmp/feed" &
"$bin" capture -q -r - --sensor s1 --db "clickhouse://127.0.0.1:$A/retry" --spool "$tmp/retry.spool" \
  < "$tmp/feed" > "$tmp/retry.log" 2>&1 &
cap=$!
for _ in $(seq 1 50); do
  [ "$(q $A "SELECT count() FROM retry.sessions" 2>/dev/null)" -gt 0 ] 2>/dev/null && break
  sleep 0.1
done
"$here/chserver.sh" stop "$tmp/a"
touch "$tmp/go1"
for _ in $(seq 1 50); do # the sessions of the second third fail: spooled
  grep -q "rows go to the spool" "$tmp/retry.log" && break
  sleep 0.1
done
start_a || exit 1
for _ in $(seq 1 100); do # retried after 1 s, 2 s, 4 s ...
  grep -q "delivering again" "$tmp/retry.log" && [ ! -s "$tmp/retry.spool" ] && break
  sleep 0.1
done
has "retry" "$(cat "$tmp/retry.log")" "rows go to the spool '$tmp/retry.spool'"
has "retry" "$(cat "$tmp/retry.log")" "delivering again"
[ -s "$tmp/retry.spool" ] && fail "retry: the spool still holds rows while the capture runs"
touch "$tmp/go2"
wait $cap
eq "retry: status" $? 0
case "$(cat "$tmp/retry.log")" in *"could not be delivered"*) fail "retry: rows left: $(cat "$tmp/retry.log")" ;; esac
eq "retry: count" "$(q $A "SELECT count() FROM retry.sessions FINAL")" "$(sqlite3 g.db "SELECT count(*) FROM sessions WHERE run_id = 1")"

# ---- bad input -----------------------------------------------------------------------------------
printf "%s s: bad input\n" "$SECONDS"
bad() { # LABEL URL EXPECTED_TEXT URL_AS_SHOWN
  local out
  out=$("$bin" capture -q -r "$data/mixed.pcap" --sensor s1 --db "$2" --spool "$tmp/bad.spool" 2>&1)
  eq "$1: status" $? 1
  has "$1" "$out" "$3"
  has "$1" "$out" "'$4'"
  case "$out" in *secret*|*wrong-pw*) fail "$1: the password is shown: $out" ;; esac
  [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "$1: more than one clear error: $out"
  [ -s "$tmp/bad.spool" ] && fail "$1: rows spooled although nothing was captured"
}
bad "no host" "clickhouse:///db" "no host" "clickhouse:///db"
bad "unknown scheme" "postgres://u:secret@h/db" "unknown scheme 'postgres'" "postgres://u@h/db"
bad "bad port" "clickhouse://127.0.0.1:99999/db" "bad host or port" "clickhouse://127.0.0.1:99999/db"
bad "wrong password" "clickhouse://writer:wrong-pw@127.0.0.1:$A/fleet" "Wrong password" \
  "clickhouse://writer@127.0.0.1:$A/fleet"
bad "read-only user" "clickhouse://reader@127.0.0.1:$A/newdb" "readonly mode" \
  "clickhouse://reader@127.0.0.1:$A/newdb"
bad "no access" "clickhouse://stranger@127.0.0.1:$A/fleet" "Access denied to database fleet" \
  "clickhouse://stranger@127.0.0.1:$A/fleet"
python3 "$here/chproxy.py" $((PROXY + 1)) $A garbage >/dev/null &
pids+=($!)
sleep 0.5
bad "not ClickHouse" "clickhouse://127.0.0.1:$((PROXY + 1))/fleet" "does not answer as ClickHouse" \
  "clickhouse://127.0.0.1:$((PROXY + 1))/fleet"
python3 "$here/chproxy.py" $((PROXY + 2)) $A garbage-after 10 >/dev/null & # the tables made, then inserts
pids+=($!)
sleep 0.5
out=$("$bin" capture -q -r "$data/mixed.pcap" --sensor s9 --db "clickhouse://127.0.0.1:$((PROXY + 2))/late" \
  --spool "$tmp/late.spool" 2>&1)
eq "stops being ClickHouse: status" $? 1
has "stops being ClickHouse" "$out" "does not answer as ClickHouse"
[ -s "$tmp/late.spool" ] || fail "stops being ClickHouse: nothing spooled"
"$bin" capture -q -r "$data/hrr.pcap" --sensor s9 --db "clickhouse://127.0.0.1:$A/late" --spool "$tmp/late.spool" 2>/dev/null ||
  fail "delivering what the garbage server was given"
eq "stops being ClickHouse: nothing lost" "$(q $A "SELECT count() FROM late.sessions FINAL")" "$want"

printf "%s s: done\n" "$SECONDS"
echo "$fails failures"
[ "$fails" -eq 0 ]
