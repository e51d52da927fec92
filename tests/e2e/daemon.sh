#!/bin/bash
# The sensor as a daemon (issue 16), on a capture fed slowly through a
# FIFO (`capture -r -`), so that signals, locks and scrapes happen while it
# runs:
#  1. a file captured before into the same database (same size and
#     SHA-256, whatever its name) is refused with status 1 naming the file
#     and the earlier run; --again captures it all the same; another file
#     of the same size is captured; a file of the size of a run that never
#     recorded its SHA-256 (killed before its end) is refused as possibly
#     the same;
#  2. kill -9 leaves the run 'running'; the next capture marks it
#     'unfinished' (saying so) and the report lists it;
#  3. the runs row is refreshed within 10 s while the capture runs;
#     SIGUSR1 prints the counters and refreshes it at once;
#  4. SIGHUP after the database was moved away: a new file at the path,
#     and the two files hold every session of the capture exactly once;
#  5. another program holds the write lock (BEGIN EXCLUSIVE) for 7 s while
#     the whole file is read: the capture reads on (rows go to the spool),
#     and every row arrives once the lock is gone; no spool file is left;
#  6. --metrics-listen: /metrics scraped with curl during the capture has
#     every metric, and its packets and bytes are those of the runs row;
#  7. a regular file (-r FILE) can wait: with a queue of 16 rows, the
#     reading waits for the writer instead of spooling (every row, none
#     through the spool), where the same bytes through a pipe spool.
# usage: daemon.sh SMTPTLS GEN DATA_DIR
set -u
bin=$1
gen=$2
data=$3
tmp=$(mktemp -d)
pid=
fails=0
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "${lockpid:-}" ] && kill "$lockpid" 2>/dev/null
  exec 3>&- 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for tool in sqlite3 curl python3; do
  command -v $tool >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done

"$gen" -o "$tmp/g.pcap" -n 3000 -c 100 "$data/starttls-tls13.pcap" \
  "$data/offered-not-used.pcap" "$data/refused-454.pcap" >/dev/null || exit 1
size=$(stat -c %s "$tmp/g.pcap")
"$bin" capture -q -r "$tmp/g.pcap" --db "$tmp/ref.db" || exit 1
all=$(sqlite3 "$tmp/ref.db" "select count(*) from sessions")
packets=$(sqlite3 "$tmp/ref.db" "select packets from runs")
key="client_ip, client_port, server_ip, server_port, ts_start"

# start DB [OPTIONS...]: capture -r - from a FIFO (fd 3), once its run is recorded
start() {
  local db=$1
  shift
  rm -f "$tmp/fifo"
  mkfifo "$tmp/fifo"
  "$bin" capture -r - --db "$db" "$@" < "$tmp/fifo" 2> "$tmp/stderr" &
  pid=$!
  exec 3> "$tmp/fifo"
  head -c 24 "$tmp/g.pcap" >&3 # the file header: the source opens, then the store
  for _ in $(seq 100); do
    [ "$(sqlite3 "$db" "select count(*) from runs where status = 'running'" 2>/dev/null)" -ge 1 ] \
      2>/dev/null && return 0
    sleep 0.1
  done
  fail "the capture into $db did not begin its run: $(cat "$tmp/stderr")"
}
feed() { tail -c +$(($1 + 1)) "$tmp/g.pcap" | head -c $(($2 - $1)) >&3; } # FROM TO (bytes)
finish() { # LABEL: the rest of the file, end of input, exit 0
  feed "$1" "$size"
  exec 3>&-
  wait "$pid"
  local st=$?
  pid=
  [ "$st" -eq 0 ] || fail "$2: exit $st: $(cat "$tmp/stderr")"
}
half=$((size / 2))

# 1. the same file again
# refused WHAT FILE DB PATTERN: capturing FILE into DB exits 1 with a
# message matching PATTERN that says how to capture it all the same
refused() {
  local out st
  out=$("$bin" capture -q -r "$2" --db "$3" 2>&1)
  st=$?
  [ "$st" -eq 1 ] || fail "$1: exit $st, want 1"
  grep -q "$4" <<<"$out" || fail "$1: the refusal does not name the file and the run: $out"
  grep -q -- "--again" <<<"$out" || fail "$1: the refusal does not say how to capture it again: $out"
}
"$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/r.db" || fail "first capture"
cp "$data/mixed.pcap" "$tmp/renamed.pcap"
refused "the same file again" "$tmp/renamed.pcap" "$tmp/r.db" \
  "$tmp/renamed.pcap was already captured into $tmp/r.db as run 1 (of '$data/mixed.pcap', started .* UTC, complete) (same size and SHA-256)"
[ "$(sqlite3 "$tmp/r.db" "select count(*) from runs")" = 1 ] || fail "a refused capture left a run"
sha=$(sha256sum "$data/mixed.pcap" | cut -d' ' -f1)
[ "$(sqlite3 "$tmp/r.db" "select file_sha256 || ' ' || file_size from runs")" = \
  "$sha $(stat -c %s "$data/mixed.pcap")" ] || fail "runs.file_sha256/file_size"
"$bin" capture -q --again -r "$tmp/renamed.pcap" --db "$tmp/r.db" || fail "--again"
[ "$(sqlite3 "$tmp/r.db" "select count(*) from sessions")" = 12 ] || fail "--again: not 12 rows"

# a file capture stopped by SIGINT ends 'interrupted' and does not wait for
# its file's hash: the run keeps no SHA-256, the file again is refused as
# possibly the same, and the report counts the run (the signal comes while
# the run waits for another program's write lock)
"$bin" capture -q -r "$data/starttls-tls13.pcap" --db "$tmp/i.db" || fail "capture into i.db"
( echo "BEGIN EXCLUSIVE;"; echo "select 'locked';"; sleep 3; echo "COMMIT;" ) |
  sqlite3 "$tmp/i.db" > "$tmp/ilock.out" &
ilock=$!
for _ in $(seq 50); do grep -q locked "$tmp/ilock.out" && break; sleep 0.1; done
"$bin" capture -q -r "$tmp/g.pcap" --db "$tmp/i.db" &
icap=$!
sleep 1
kill -INT "$icap"
wait "$icap" || fail "a capture stopped by SIGINT: exit $?"
wait "$ilock"
[ "$(sqlite3 "$tmp/i.db" "select file_size || ' ' || coalesce(file_sha256, 'NULL') from runs where source = '$tmp/g.pcap'")" = \
  "$(stat -c %s "$tmp/g.pcap") NULL" ] || fail "a capture stopped by SIGINT: the run's file"
refused "a file whose capture was stopped" "$tmp/g.pcap" "$tmp/i.db" \
  "$tmp/g.pcap may have been captured into $tmp/i.db already: run 2 (of '$tmp/g.pcap', started .* UTC, interrupted) read a file of the same size and never recorded its SHA-256 (it was stopped or killed"
grep -qE "interrupted runs \(stopped mid-file\) +1" <<<"$("$bin" report --db "$tmp/i.db")" ||
  fail "the report does not count the interrupted run"

# four at once into a new database: one is captured, three refused (the
# check and the new run are one transaction)
cps=()
for i in 1 2 3 4; do
  "$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/c4.db" 2>/dev/null &
  cps+=($!)
done
ok=0
for p in "${cps[@]}"; do wait "$p" && ok=$((ok + 1)); done
[ "$ok" = 1 ] && [ "$(sqlite3 "$tmp/c4.db" "select count(*) || ' ' || (select count(*) from sessions) from runs")" = "1 6" ] ||
  fail "four captures of one file at once: $ok succeeded, $(sqlite3 "$tmp/c4.db" "select count(*) from runs") runs"

# the same size, other bytes (the header's sigfigs, which readers ignore)
cp "$data/mixed.pcap" "$tmp/other.pcap"
printf '\001' | dd of="$tmp/other.pcap" bs=1 seek=12 conv=notrunc status=none
"$bin" capture -q -r "$tmp/other.pcap" --db "$tmp/r.db" || fail "another file of the same size was refused"
[ "$(sqlite3 "$tmp/r.db" "select file_sha256 from runs order by id desc limit 1")" = \
  "$(sha256sum "$tmp/other.pcap" | cut -d' ' -f1)" ] || fail "the other file's SHA-256"
# a file only root can read, captured by root that then runs as nobody
# (-Z): the file is hashed after the privileges went, through what root opened
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  mkdir "$tmp/z" && chmod 777 "$tmp/z" && cp "$data/mixed.pcap" "$tmp/z/root.pcap" && chmod 600 "$tmp/z/root.pcap"
  chmod 755 "$tmp"
  "$bin" capture -q -Z nobody -r "$tmp/z/root.pcap" --db "$tmp/z/z.db" || fail "-Z nobody on a root-only file"
  [ "$(sqlite3 "$tmp/z/z.db" "select file_sha256 from runs")" = "$sha" ] || fail "-Z nobody: the SHA-256 not recorded"
fi
# a run that never recorded its SHA-256 (a capture killed before its end)
"$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/kf.db" || fail "capture into kf.db"
sqlite3 "$tmp/kf.db" "update runs set file_sha256 = null, status = 'unfinished'"
refused "a file the size of an unhashed run" "$tmp/renamed.pcap" "$tmp/kf.db" \
  "$tmp/renamed.pcap may have been captured into $tmp/kf.db already: run 1 (of '$data/mixed.pcap', started .* UTC, unfinished) read a file of the same size and never recorded its SHA-256"
"$bin" capture -q --again -r "$tmp/renamed.pcap" --db "$tmp/kf.db" || fail "--again after an unhashed run"
[ "$(sqlite3 "$tmp/kf.db" "select count(*) from runs where file_sha256 = '$sha'")" = 1 ] ||
  fail "--again: the SHA-256 not recorded"

# 2. kill -9, then the next capture marks the run unfinished
start "$tmp/k.db" -q
feed 24 "$half"
sleep 1.5
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
exec 3>&-
[ "$(sqlite3 "$tmp/k.db" "select status from runs where id = 1")" = running ] || fail "killed: status"
out=$("$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/k.db" 2>&1) || fail "capture after kill -9"
grep -q "run 1 (-, started .* UTC) did not end cleanly (killed or crashed): marked unfinished" <<<"$out" ||
  fail "no word of the unfinished run: $out"
[ "$(sqlite3 "$tmp/k.db" "select group_concat(status) from runs")" = "unfinished,complete" ] ||
  fail "statuses: $(sqlite3 "$tmp/k.db" "select group_concat(status) from runs")"
rep=$("$bin" report --db "$tmp/k.db")
grep -q "^Unfinished capture runs" <<<"$rep" || fail "the report does not list the unfinished run"
grep -Eq "unfinished runs \(killed, crashed\) +1" <<<"$rep" || fail "the report's count of unfinished runs"
"$bin" report --db "$tmp/k.db" --format json > "$tmp/k.json"
[ "$(sqlite3 :memory: "select json_extract(readfile('$tmp/k.json'), '\$.sections.unfinished_runs.rows[0].run')")" = 1 ] ||
  fail "JSON: unfinished_runs"

# 3. the runs row refreshed every 10 s without being asked, then SIGUSR1
start "$tmp/p.db" -q
feed 24 "$half"
sleep 11.5
p=$(sqlite3 "$tmp/p.db" "select packets || ' ' || sessions || ' ' || status from runs")
read -r pp ps pst <<<"$p"
[ "${pp:-0}" -gt 0 ] && [ "${ps:-0}" -gt 0 ] && [ "$pst" = running ] ||
  fail "the runs row was not refreshed within 10 s: '$p'"
finish "$half" "refresh"
start "$tmp/u.db"
feed 24 "$half"
sleep 1
kill -USR1 "$pid"
sleep 1
grep -Eq "^smtptls: -: [1-9][0-9]* packets, [0-9]+ bytes, 0 dropped by the kernel.*sessions \([0-9]+ encrypted\).*write queue [0-9]+ rows, spool 0 rows, 0 rows lost" "$tmp/stderr" ||
  fail "SIGUSR1: no counters on standard error: $(cat "$tmp/stderr")"
p=$(sqlite3 "$tmp/u.db" "select packets from runs")
[ "${p:-0}" -gt 0 ] || fail "SIGUSR1: the runs row was not refreshed (packets '$p')"
finish "$half" "SIGUSR1"
[ "$(sqlite3 "$tmp/u.db" "select count(*) || ' ' || (select packets from runs) from sessions")" = "$all $packets" ] ||
  fail "SIGUSR1: rows or packets differ from reading the file"

# 4. SIGHUP after the database was moved away
start "$tmp/h.db"
feed 24 "$half"
for _ in $(seq 50); do
  [ "$(sqlite3 "$tmp/h.db" "select count(*) from sessions")" -gt 0 ] && break
  sleep 0.1
done
mv "$tmp/h.db" "$tmp/h-old.db"
kill -HUP "$pid"
for _ in $(seq 50); do [ -f "$tmp/h.db" ] && break; sleep 0.1; done
[ -f "$tmp/h.db" ] || fail "SIGHUP: no new database at the path: $(cat "$tmp/stderr")"
finish "$half" "SIGHUP"
old=$(sqlite3 "$tmp/h-old.db" "select count(*) from sessions")
new=$(sqlite3 "$tmp/h.db" "select count(*) from sessions")
[ "$old" -gt 0 ] && [ "$new" -gt 0 ] || fail "SIGHUP: rows $old before, $new after: both should have some"
[ $((old + new)) -eq "$all" ] || fail "SIGHUP: $old + $new rows, want $all"
both=$(sqlite3 "$tmp/h-old.db" "attach '$tmp/h.db' as n; attach '$tmp/ref.db' as r;
  select count(*) from (select $key from main.sessions union select $key from n.sessions
  except select $key from r.sessions)")
[ "$both" = 0 ] || fail "SIGHUP: $both rows that reading the file does not give"
for f in h-old.db h.db; do
  [ "$(sqlite3 "$tmp/$f" "pragma integrity_check")" = ok ] || fail "SIGHUP: $f damaged"
done
[ "$(sqlite3 "$tmp/h-old.db" "select status || ' ' || sessions from runs")" = "reopened $old" ] ||
  fail "SIGHUP: the old run: $(sqlite3 "$tmp/h-old.db" "select status, sessions from runs")"
[ "$(sqlite3 "$tmp/h.db" "select status || ' ' || sessions from runs")" = "complete $new" ] ||
  fail "SIGHUP: the new run: $(sqlite3 "$tmp/h.db" "select status, sessions from runs")"
grep -q "SIGHUP: database reopened" "$tmp/stderr" || fail "SIGHUP: not said"

# 5. the write lock held by another program while the file is read
start "$tmp/s.db" -q --write-queue 16
( echo "BEGIN EXCLUSIVE;"; echo "select 'locked';"; sleep 7; echo "COMMIT;" ) |
  sqlite3 "$tmp/s.db" > "$tmp/lock.out" &
lockpid=$!
for _ in $(seq 50); do grep -q locked "$tmp/lock.out" && break; sleep 0.1; done
feed 24 "$size"
kill -0 "$lockpid" 2>/dev/null || fail "spool: the capture waited for the lock to read the file"
spooled=$(sqlite3 "$tmp/s.db" "select count(*) from sessions")
finish "$size" "spool"
wait "$lockpid"
lockpid=
[ "$(sqlite3 "$tmp/s.db" "select count(*) from sessions")" = "$all" ] || fail "spool: rows missing"
[ "$(sqlite3 "$tmp/s.db" "select count(*) from (select $key from sessions group by $key having count(*) > 1)")" = 0 ] ||
  fail "spool: rows written twice"
sp=$(sqlite3 "$tmp/s.db" "select value from run_counters where name = 'spooled_rows'")
[ "${sp:-0}" -gt 0 ] || fail "spool: no row went through the spool"
bz=$(sqlite3 "$tmp/s.db" "select value from run_counters where name = 'writer_busy_retries'")
[ "${bz:-0}" -gt 0 ] || fail "spool: the writer never found the database locked"
[ -e "$tmp/s.db-spool" ] && fail "spool: the spool file is left behind"
lost=$(sqlite3 "$tmp/s.db" "select count(*) from run_counters where name = 'rows_lost'")
[ "$lost" = 0 ] || fail "spool: rows lost"

# 7. a regular file waits for the writer rather than spooling; the same
# bytes through a pipe, with the same queue of 16 rows, spool (the control)
"$bin" capture -q -r "$tmp/g.pcap" --db "$tmp/w.db" --write-queue 16 2> "$tmp/w.err" ||
  fail "file waits: status $?: $(cat "$tmp/w.err")"
"$bin" capture -q -r - --db "$tmp/wp.db" --write-queue 16 < "$tmp/g.pcap" 2> "$tmp/wp.err" ||
  fail "pipe spools: status $?: $(cat "$tmp/wp.err")"
for f in w wp; do
  [ "$(sqlite3 "$tmp/$f.db" "select count(*) from sessions")" = "$all" ] || fail "$f.db: rows missing"
done
wsp=$(sqlite3 "$tmp/w.db" "select value from run_counters where name = 'spooled_rows'")
[ "${wsp:-0}" = 0 ] || fail "file waits: $wsp rows went through the spool"
wpsp=$(sqlite3 "$tmp/wp.db" "select value from run_counters where name = 'spooled_rows'")
[ "${wpsp:-0}" -gt 0 ] || fail "pipe spools: no row went through the spool"

# 6. metrics
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start "$tmp/m.db" --metrics-listen "127.0.0.1:$port"
feed 24 "$size"
# the counters are published every 4096 packets by the reading thread (a
# live capture also every 100 ms): scraped until they stand still
prev=
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/metrics" > "$tmp/metrics" || fail "metrics: curl failed"
  now=$(grep '^smtptls_packets_total' "$tmp/metrics")
  [ -n "$now" ] && [ "$now" = "$prev" ] && break
  prev=$now
  sleep 0.2
done
for m in smtptls_packets_total smtptls_bytes_total smtptls_kernel_drops_total \
  'smtptls_sessions_total{source="-",transport="starttls"}' smtptls_encrypted_sessions_total \
  smtptls_open_flows smtptls_write_queue_rows smtptls_spooled_rows; do
  grep -qF "$m" "$tmp/metrics" || fail "metrics: $m missing"
done
grep -q '^# TYPE smtptls_packets_total counter$' "$tmp/metrics" || fail "metrics: no TYPE line"
grep -q '^# HELP smtptls_open_flows ' "$tmp/metrics" || fail "metrics: no HELP line"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing")
[ "$code" = 404 ] || fail "metrics: /nothing answered $code"
finish "$size" "metrics"
val() { sed -n "s/^$1{source=\"-\"} //p" "$tmp/metrics"; }
run() { sqlite3 "$tmp/m.db" "select $1 from runs"; }
sp_=$(val smtptls_packets_total)
[ "$sp_" -gt 0 ] && [ "$sp_" -le "$(run packets)" ] && [ $(($(run packets) - sp_)) -lt 4096 ] ||
  fail "metrics: packets $sp_ scraped, $(run packets) in the runs row at the end"
[ "$(val smtptls_bytes_total)" -le "$(run bytes)" ] || fail "metrics: bytes"
s=$(sed -n 's/^smtptls_sessions_total{[^}]*} //p' "$tmp/metrics" | awk '{s += $1} END {print s + 0}')
rows=$(sqlite3 "$tmp/m.db" "select sessions from runs")
[ "$s" -le "$rows" ] && [ "$s" -gt 0 ] || fail "metrics: $s sessions scraped, $rows in the runs row at the end"
echo "daemon: $all sessions; SIGHUP split them $old + $new; $sp rows through the spool," \
  "$bz busy retries; a file spooled ${wsp:-0} rows, a pipe ${wpsp:-0}; metrics scraped $s sessions of $rows; $fails failed"
[ "$fails" -eq 0 ]
