#!/bin/bash
# A user who may read the database but not write its folder (nobody)
# reports and exports, while the sensor runs and after it stopped:
#  1. running: a capture reads a generated capture through a pipe, a part
#     at a time, and stays open; after each part nobody's report succeeds
#     and counts no fewer sessions than the one before, and nobody's export
#     has as many rows as the report counts;
#  2. stopped: the capture ended, no -wal or -shm is left; nobody reports
#     and exports every session, and the database and its folder are as
#     they were (nothing created, nothing written);
#  3. an older database, which nobody cannot migrate: the reason, once.
# usage: readers.sh SMTPTLS GEN DATA_DIR
set -u
bin=$1
gen=$2
data=$3
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root to run as nobody"
for tool in setpriv sqlite3; do
  command -v $tool >/dev/null || skip "$tool not installed"
done
tmp=$(mktemp -d)
cleanup() {
  exec 7>&- 2>/dev/null
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# the folder and the program: readable and runnable by nobody, the folder
# not writable by it
chmod 755 "$tmp"
cp "$bin" "$tmp/smtptls" && chmod 755 "$tmp/smtptls"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$tmp/smtptls" "$@"; }
sessions() { sed -n 's/^Sessions *\([0-9,]*\) .*/\1/p' <<<"$1" | tr -d ,; }

"$gen" -o "$tmp/g.pcap" -n 3000 -c 100 "$data/starttls-tls13.pcap" "$data/refused-454.pcap" \
  "$data/no-starttls.pcap" >/dev/null || { echo "cannot generate a capture"; exit 1; }
size=$(stat -c %s "$tmp/g.pcap")
parts=6

# 1. the sensor runs
mkfifo "$tmp/in"
"$tmp/smtptls" capture -q -r - --db "$tmp/s.db" <"$tmp/in" &
pid=$!
exec 7>"$tmp/in"
last=0
for i in $(seq 1 $parts); do
  from=$(( (i - 1) * size / parts )) to=$(( i * size / parts ))
  tail -c +$((from + 1)) "$tmp/g.pcap" | head -c $((to - from)) >&7
  sleep 1.5 # the writer commits at least once a second
  [ -e "$tmp/s.db-shm" ] && [ -e "$tmp/s.db-wal" ] || fail "part $i: the writer's -wal and -shm are not there"
  out=$(as_nobody report --db "$tmp/s.db" 2>&1)
  st=$?
  n=$(sessions "$out")
  if [ "$st" -ne 0 ] || [ -z "$n" ]; then
    fail "part $i: nobody's report on the running sensor's database: exit $st: $(head -3 <<<"$out")"
    continue
  fi
  [ "$n" -ge "$last" ] || fail "part $i: $n sessions, fewer than the $last before"
  rows=$(as_nobody export --db "$tmp/s.db" | wc -l)
  [ "$rows" -ge "$n" ] || fail "part $i: nobody's export has $rows rows, the report counted $n"
  echo "part $i of $parts: nobody's report counts $n sessions, its export $rows rows"
  last=$n
done
[ "$last" -gt 0 ] || fail "the running sensor's database never showed a session"
exec 7>&-
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] || fail "the capture exited $st"
total=$(sqlite3 "$tmp/s.db" "select count(*) from session_rows")
[ "$total" -ge "$last" ] || fail "$total sessions in the end, $last seen while running"

# 2. the sensor stopped
[ ! -e "$tmp/s.db-wal" ] && [ ! -e "$tmp/s.db-shm" ] || fail "the stopped capture left its -wal or -shm"
before=$(ls -l --time-style=full-iso "$tmp"; md5sum <"$tmp/s.db")
out=$(as_nobody report --db "$tmp/s.db" 2>&1)
st=$?
[ "$st" -eq 0 ] || fail "nobody's report on the stopped sensor's database: exit $st: $(head -3 <<<"$out")"
[ "$(sessions "$out")" = "$total" ] || fail "nobody's report counts $(sessions "$out") sessions, not $total"
out=$(as_nobody report --db "$tmp/s.db" --format json 2>&1) || fail "nobody's JSON report: $out"
rows=$(as_nobody export --db "$tmp/s.db" --format csv | tail -n +2 | wc -l)
[ "$rows" = "$total" ] || fail "nobody's export: $rows rows, not $total"
after=$(ls -l --time-style=full-iso "$tmp"; md5sum <"$tmp/s.db")
[ "$before" = "$after" ] || fail "reading as nobody changed the folder or the database"

# an older database cannot be migrated by nobody: said once, nothing changed
cp "$data/db/release-0.1.0.db" "$tmp/old.db" && chmod 644 "$tmp/old.db"
sum=$(md5sum <"$tmp/old.db")
out=$(as_nobody report --db "$tmp/old.db" 2>&1)
st=$?
[ "$st" -eq 1 ] || fail "nobody's report on an older database: exit $st, want 1"
grep -q "^smtptls: database '$tmp/old.db' has schema version 1 and must be migrated to version [0-9]*, which needs write access: Permission denied$" <<<"$out" ||
  fail "nobody's report on an older database says: $out"
[ "$(grep -o "$tmp/old.db" <<<"$out" | wc -l)" -eq 1 ] || fail "the older database is named more than once: $out"
[ "$(md5sum <"$tmp/old.db")" = "$sum" ] || fail "nobody's report changed the older database"

echo "readers: $last sessions seen by nobody while the sensor ran, $total after; $fails failed"
[ "$fails" -eq 0 ]
