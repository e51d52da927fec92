#!/bin/bash
# Concurrent creation: 16 captures started at once on the same new
# database all succeed, and it holds all their sessions and 16 runs; three
# rounds, each on a database that does not exist yet (before the fix, 5-6
# captures in 10 failed with "database is locked" or "table runs already
# exists").
# usage: concurrent.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pcap=$data/mixed.pcap
per=$("$bin" capture -r "$pcap" --db "$tmp/one.db" 2>&1 | sed -n 's/.* \([0-9]*\) sessions written.*/\1/p')
[ -n "$per" ] && [ "$per" -gt 0 ] || { echo "FAIL: mixed.pcap gave no sessions"; exit 1; }
fails=0
for round in 1 2 3; do
  db=$tmp/new-$round.db
  pids=()
  for i in $(seq 1 16); do
    "$bin" capture -q -r "$pcap" --db "$db" 2>"$tmp/err-$round-$i" &
    pids+=($!)
  done
  ok=0
  for i in $(seq 1 16); do
    if wait "${pids[$((i - 1))]}"; then
      ok=$((ok + 1))
    else
      echo "FAIL: round $round, capture $i: $(cat "$tmp/err-$round-$i")"
    fi
  done
  runs=$(sqlite3 "$db" "select count(*) from runs")
  rows=$(sqlite3 "$db" "select count(*) from session_rows")
  check=$(sqlite3 "$db" "pragma integrity_check")
  echo "round $round: $ok of 16 captures succeeded; $runs runs, $rows sessions; integrity $check"
  if [ "$ok" -ne 16 ] || [ "$runs" != 16 ] || [ "$rows" != $((16 * per)) ] || [ "$check" != ok ]; then
    echo "FAIL: round $round: want 16 of 16, 16 runs, $((16 * per)) sessions, integrity ok"
    fails=$((fails + 1))
  fi
done
echo "concurrent: $fails of 3 rounds failed"
[ "$fails" -eq 0 ]
