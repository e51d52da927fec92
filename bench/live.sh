#!/bin/bash
# The live load test of issue 16: smtptls capture -i on a veth pair in a
# network namespace made here, fed by tcpreplay at PPS packets/s (default
# 150,000) from a capture of distinct sessions (bench/gen), into a database
# that already holds BASE_RUNS x 108,462 sessions (default 9: 976,158),
# while full `smtptls report` runs go back to back on that database the
# whole time. /metrics is scraped during the run (kept as metrics.txt).
# It prints and keeps (OUT_DIR/summary.txt): the rate tcpreplay reached, the
# kernel's and the interface's drops, the sessions written against those
# the replayed capture holds (reading the file gives the truth), the
# reports completed and their times, the WAL's largest size, the write
# queue's peak and the spool, and the CPU seconds of each part.
#
#   bench/live.sh [OUT_DIR]     (default bench/out-live; root; needs build/)
#
# PPS, BASE_RUNS, REPLAY_COPIES (default 400,000 copies: ~12.8 M packets,
# ~85 s at 150 k/s; the WAL of an older smtptls reached its 64 MiB limit
# after ~37 s), REPORTS=0 (no reports: the control), REPORT_NICE (a
# nice value for the reports, default none), SMTPTLS (another binary, to
# measure an older smtptls the same way; its reports too).
set -u
cd "$(dirname "$0")/.."
out=${1:-bench/out-live}
pps=${PPS:-150000}
base_runs=${BASE_RUNS:-9}
replay_copies=${REPLAY_COPIES:-400000}
reports=${REPORTS:-1}
bin=${SMTPTLS:-build/smtptls}
gen=build/bench/gen
[ "$(id -u)" -eq 0 ] || { echo "live: needs root (a network namespace)" >&2; exit 1; }
for f in "$bin" "$gen"; do
  [ -x "$f" ] || { echo "live: $f missing: meson compile -C build first" >&2; exit 1; }
done
for t in ip tcpreplay sqlite3 curl; do
  command -v $t >/dev/null || { echo "live: $t missing" >&2; exit 1; }
done
mkdir -p "$out"
d=tests/data
big_t="$d/starttls-tls13.pcap $d/starttls-tls13.pcap $d/offered-not-used.pcap
  $d/no-starttls.pcap $d/refused-454.pcap $d/bdat.pcap $d/cleartext-auth.pcap
  $d/cleartext-auth.pcap $d/implicit-465.pcap $d/starttls-tls10.pcap
  $d/starttls-tls12.pcap $d/ipv6.pcap $d/submission-587.pcap"
ns=daemon-live
v0=daemon-v0
v1=daemon-v1
cap_pid=
rep_pid=
smp_pid=
cleanup() {
  [ -n "$cap_pid" ] && kill -INT "$cap_pid" 2>/dev/null
  [ -n "$rep_pid" ] && kill "$rep_pid" 2>/dev/null
  [ -n "$smp_pid" ] && kill "$smp_pid" 2>/dev/null
  rm -f "$out/stop"
  ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT

# ---- the captures and the database of ~1 M sessions --------------------------
# shellcheck disable=SC2086
[ -f "$out/base.pcap" ] || $gen -o "$out/base.pcap" -n 94000 -c 2000 $big_t > "$out/base.gen" || exit 1
# shellcheck disable=SC2086
replay=$out/replay-$replay_copies.pcap
ref=$out/ref-$replay_copies.db
[ -f "$replay" ] || $gen -o "$replay" -n "$replay_copies" -c 2000 $big_t > "$replay.gen" || exit 1
if [ ! -f "$ref" ]; then
  build/smtptls capture -q -r "$replay" --db "$ref" || exit 1
fi
want=$(sqlite3 "$ref" "select count(*) from sessions")
want_packets=$(sqlite3 "$ref" "select packets from runs")
have=$(sqlite3 "$out/base.db" "select count(*) from sessions" 2>/dev/null || echo 0)
again=
{ "$bin" --help; "$bin" capture --help; } 2>&1 | grep -q -- --again && again=--again
if [ "$have" -lt $((base_runs * 100000)) ]; then # written by $bin: an older one reads no newer schema
  rm -f "$out/base.db"*
  for ((i = 0; i < base_runs; i++)); do
    "$bin" capture -q $again -r "$out/base.pcap" --db "$out/base.db" || exit 1
  done
  have=$(sqlite3 "$out/base.db" "select count(*) from sessions")
fi
db=$out/live.db
rm -f "$db" "$db-wal" "$db-shm" "$db-spool"
cp "$out/base.db" "$db"
"$bin" report --db "$db" > /dev/null 2>&1 # an older smtptls migrates it once, now, not during the run

# ---- the link ---------------------------------------------------------------
ip netns del "$ns" 2>/dev/null
ip netns add "$ns" || exit 1
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$ns" link set lo up
ip -n "$ns" link add "$v0" mtu 65535 type veth peer name "$v1" mtu 65535 || exit 1 # gen keeps segments bigger than 1500
ip -n "$ns" link set "$v0" up
ip -n "$ns" link set "$v1" up

# ---- the capture, the reports, the samples ------------------------------------
port=9464
metrics=""
if { "$bin" --help; "$bin" capture --help; } 2>&1 | grep -q metrics-listen; then
  metrics="--metrics-listen 127.0.0.1:$port"
fi
# shellcheck disable=SC2086
ip netns exec "$ns" "$bin" capture -i "$v0" --db "$db" -v $metrics 2> "$out/capture.err" &
cap_pid=$!
for _ in $(seq 100); do
  [ "$(sqlite3 "$db" "select count(*) from runs where source = '$v0'" 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
run_id=$(sqlite3 "$db" "select max(id) from runs")
sleep 1

report_loop() { # back to back until $out/stop, one line each: start elapsed status
  local nice_cmd=()
  [ -n "${REPORT_NICE:-}" ] && nice_cmd=(nice -n "$REPORT_NICE")
  while [ ! -f "$out/stop" ]; do
    local t0 t1 st
    t0=$(date +%s.%N)
    "${nice_cmd[@]}" "$bin" report --db "$db" > /dev/null 2> "$out/report.err"
    st=$?
    t1=$(date +%s.%N)
    echo "$t0 $(echo "$t1 - $t0" | awk '{print $1 - $3}') $st"
  done
}
sample_loop() { # every second: time, WAL bytes, queue rows, spooled rows
  while [ ! -f "$out/stop" ]; do
    local wal q s
    wal=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
    if [ -n "$metrics" ]; then
      ip netns exec "$ns" curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics.last"
      q=$(sed -n 's/^smtptls_write_queue_rows{[^}]*} //p' "$out/metrics.last")
      s=$(sed -n 's/^smtptls_spooled_rows{[^}]*} //p' "$out/metrics.last")
    fi
    echo "$(date +%s.%N) $wal ${q:--} ${s:--}"
    sleep 1
  done
}
rm -f "$out/stop"
if [ "$reports" != 0 ]; then
  report_loop > "$out/reports.txt" &
  rep_pid=$!
else
  : > "$out/reports.txt"
fi
sample_loop > "$out/samples.txt" &
smp_pid=$!
sleep 2 # the first report is under way

secs=$(awk -v p="$want_packets" -v r="$pps" 'BEGIN {printf "%d", p / r}')
( sleep $((secs / 2)); [ -n "$metrics" ] &&
  ip netns exec "$ns" curl -s "http://127.0.0.1:$port/metrics" > "$out/metrics.txt" ) &
t0=$(date +%s.%N)
ip netns exec "$ns" tcpreplay -i "$v1" --pps "$pps" "$replay" > "$out/tcpreplay.txt" 2>&1
t1=$(date +%s.%N)
sleep 3 # the last sessions end (FIN) and are committed within a second
touch "$out/stop"
wait "$rep_pid" 2>/dev/null
rep_pid=
wait "$smp_pid" 2>/dev/null
smp_pid=
kill -INT "$cap_pid"
wait "$cap_pid"
status=$?
cap_pid=
ip netns del "$ns"

# ---- figures ------------------------------------------------------------------
row=$(sqlite3 -separator ' ' "$db" "select packets, coalesce(dropped_kernel, '-'),
  coalesce(dropped_iface, '-'), sessions from runs where id = $run_id")
read -r packets dk di sessions <<<"$row"
rows=$(sqlite3 "$db" "select count(*) from session_rows where run_id = $run_id")
rate=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$out/tcpreplay.txt" | head -1)
sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$out/tcpreplay.txt" | head -1)
nrep=$(awk '$3 == 0' "$out/reports.txt" | wc -l)
rep_times=$(awk '$3 == 0 {print $2}' "$out/reports.txt" | sort -n | awk '{v[NR] = $1} END {
  if (NR) printf "%.1f-%.1f s, median %.1f s", v[1], v[NR], v[int((NR + 1) / 2)]; else print "-"}')
walmax=$(awk '{if ($2 > m) m = $2} END {printf "%.1f MB", m / 1e6}' "$out/samples.txt")
qmax=$(awk '$3 != "-" {if ($3 > m) m = $3} END {print m + 0}' "$out/samples.txt")
smax=$(awk '$4 != "-" {if ($4 > m) m = $4} END {print m + 0}' "$out/samples.txt")
counters=$(sqlite3 -separator '=' "$db" "select name, value from run_counters where run_id = $run_id" |
  paste -sd' ')
{
  echo "live load test, $(date -u +%FT%TZ), $("$bin" --version 2>/dev/null | head -1) ($bin)"
  echo "database before: $have sessions; replayed: $want_packets packets, $want sessions"
  echo "tcpreplay: --pps $pps, $sent packets sent in $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') s, rated $rate pps"
  echo "capture: exit $status; $packets packets read; dropped: $dk by the kernel, $di by the interface"
  echo "sessions: $rows rows of the run (runs.sessions $sessions), $want in the capture"
  echo "reports during the run: $nrep completed ($rep_times)$( [ -n "${REPORT_NICE:-}" ] && echo ", nice $REPORT_NICE")"
  echo "WAL at most $walmax; write queue at most $qmax rows; spool at most $smax rows (sampled each second)"
  echo "run counters: ${counters:-none}"
  grep -E "CPU seconds|thread|reader" "$out/capture.err"
} | tee "$out/summary.txt"
[ "$rows" -eq "$want" ] && [ "$dk" = 0 ]
