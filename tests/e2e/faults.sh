#!/bin/bash
# Faults: kill -9 in the middle of a capture leaves a database that passes
# integrity_check and holds every session committed before the kill
# (commits happen at least once a second); a full disk and a read-only
# database give a clear error naming the database, exit status 1, and no
# corruption.
# usage: faults.sh SMTPTLS GEN DATA_DIR
set -u
bin=$1
gen=$2
data=$3
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check_db() { # DB LABEL
  local r
  r=$(sqlite3 "$1" "pragma integrity_check" 2>&1)
  [ "$r" = ok ] || fail "$2: integrity_check says: $r"
}

"$gen" -o "$tmp/g.pcap" -n 20000 -c 200 "$data/starttls-tls13.pcap" \
  "$data/offered-not-used.pcap" "$data/refused-454.pcap" >/dev/null || exit 1
size=$(stat -c %s "$tmp/g.pcap")

# kill -9: the first half arrives, the reader then waits on its pipe
{ head -c $((size / 2)) "$tmp/g.pcap"; sleep 30; } | "$bin" capture -q -r - --db "$tmp/k.db" &
pid=$!
sleep 3 # half the file read, its ended sessions committed within a second
before=$(sqlite3 "$tmp/k.db" "select count(*) from sessions" 2>/dev/null || echo 0)
pkill -9 -f "capture -q -r - --db $tmp/k.db"
wait $pid 2>/dev/null
check_db "$tmp/k.db" "after kill -9"
after=$(sqlite3 "$tmp/k.db" "select count(*) from sessions")
[ "$before" -gt 1000 ] || fail "only $before sessions committed 3 s into the capture"
[ "$after" -ge "$before" ] || fail "$before sessions seen committed before kill -9, $after after"

# a full disk: file size limited, SIGXFSZ ignored so writes fail with EFBIG
out=$( (ulimit -f 40; trap '' XFSZ; "$bin" capture -q -r "$tmp/g.pcap" --db "$tmp/full.db") 2>&1)
st=$?
[ "$st" -eq 1 ] || fail "disk full: exit $st, want 1"
grep -q "database '$tmp/full.db'" <<<"$out" || fail "disk full: message does not name the database: $out"
check_db "$tmp/full.db" "after the disk filled up"

# a read-only database, for a user who cannot write it
"$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/ro.db" || fail "capture mixed.pcap"
chmod 755 "$tmp"
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
  out=$(runuser -u nobody -- "$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/ro.db" 2>&1)
  st=$?
  [ "$st" -eq 1 ] || fail "read-only database: exit $st, want 1"
  grep -q "database '$tmp/ro.db'" <<<"$out" || fail "read-only: message does not name the database: $out"
  check_db "$tmp/ro.db" "read-only"
  rows=$(sqlite3 "$tmp/ro.db" "select count(*) from sessions")
  [ "$rows" = 6 ] || fail "read-only: $rows rows, want the 6 written before"
else
  echo "read-only check skipped: needs root and runuser"
fi
echo "faults: kill -9 after $before committed sessions kept $after; $fails failed"
[ "$fails" -eq 0 ]
