#!/bin/bash
# Live capture: replays recorded captures with tcpreplay onto a veth pair
# inside a network namespace made for the test, while `smtptls capture -i`
# listens on the other end.
#  1. One thread: the rows are committed while the capture runs (at least
#     every second), SIGINT ends it with status 0, -Z drops root, and the
#     rows equal those of reading the file.
#  2. --threads 2: two sockets in one PACKET_FANOUT group. A generated
#     capture of 300 sessions (bench/gen) is replayed; each of the two
#     threads must get part of the flows (the -v summary), no frame may be
#     read twice (their packets add up to what tcpreplay sent), and the
#     rows must equal those of one thread reading the file.
# usage: live.sh SMTPTLS CAPTURE.pcap GEN DATA_DIR
set -u
bin=$1
pcap=$2
gen=$3
data=$4
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace"
for tool in ip tcpreplay sqlite3; do
  command -v $tool >/dev/null || skip "$tool not installed"
done
ns=engine-live-$$
tmp=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
# no IPv6 neighbour discovery of the namespace's own on the wire: only what is replayed
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
ip -n "$ns" link add engine-v0 type veth peer name engine-v1 || skip "cannot create veth"
ip -n "$ns" link set engine-v0 up && ip -n "$ns" link set engine-v1 up

fail() { echo "FAIL: $*"; exit 1; }
chmod 755 "$tmp" # -Z: the unprivileged user opens nothing new, but reads the tree

# start_capture DB [OPTIONS...]: capture -i in the background, once its run is recorded
start_capture() {
  local db=$1
  shift
  ip netns exec "$ns" "$bin" capture -i engine-v0 --db "$db" "$@" 2> "$tmp/stderr" &
  pid=$!
  for _ in $(seq 50); do # the run is recorded once the interface is open
    [ "$(sqlite3 "$db" 'select count(*) from runs' 2>/dev/null)" = 1 ] && break
    sleep 0.1
  done
  sleep 0.5
}

stop_capture() {
  kill -INT "$pid"
  wait "$pid"
  status=$?
  pid=
  [ "$status" -eq 0 ] || fail "capture -i $* exited $status after SIGINT: $(cat "$tmp/stderr")"
}

replay() { # FILE
  ip netns exec "$ns" tcpreplay -q -i engine-v1 --pps 2000 "$1" >/dev/null 2>&1 ||
    fail "tcpreplay failed"
}

cols="client_ip, client_port, server_ip, server_port, transport, starttls_offered,
  starttls_reply, tls_version, cipher_suite, sni, plaintext_transactions, cleartext_auth,
  server_name, ehlo_name, bytes_c2s, bytes_s2c, anomalies, ja3, ja4, ja3s"
same_rows() { # FILE_DB LIVE_DB LABEL
  local q="select $cols from sessions order by client_ip, client_port, server_ip"
  sqlite3 "$1" "$q" > "$tmp/file.rows"
  sqlite3 "$2" "$q" > "$tmp/live.rows"
  [ "$(wc -l < "$tmp/file.rows")" -gt 0 ] || fail "$3: no rows from the file"
  diff -u "$tmp/file.rows" "$tmp/live.rows" | head -20
  cmp -s "$tmp/file.rows" "$tmp/live.rows" || fail "$3: live rows differ from the file's"
}

# 1. one thread
start_capture "$tmp/live.db" -q -Z nobody
uid=$(awk '/^Uid:/ {print $2}' /proc/$pid/status 2>/dev/null)
[ "$uid" = "$(id -u nobody)" ] || fail "-Z nobody: running as uid $uid"
replay "$pcap"
sleep 2 # the writer commits at least every second
during=$(sqlite3 "$tmp/live.db" 'select count(*) from sessions' 2>/dev/null)
stop_capture "(one thread)"
"$bin" capture -q -r "$pcap" --db "$tmp/file.db" || fail "capture -r failed"
same_rows "$tmp/file.db" "$tmp/live.db" "one thread"
rows=$(sqlite3 "$tmp/file.db" "select count(*) from sessions")
# sessions that ended with FIN or RST were committed before the capture stopped
ended=$(sqlite3 "$tmp/file.db" "select count(*) from sessions where end_reason in ('fin','rst')")
[ "${during:-0}" -ge "$ended" ] || fail "only $during rows committed during the run, $ended had ended"
run=$(sqlite3 "$tmp/live.db" "select source_kind, source, packets > 0, dropped_kernel, dropped_iface from runs")
[ "$run" = "interface|engine-v0|1|0|0" ] || fail "runs row: $run"

# 2. two fanout threads
"$gen" -o "$tmp/gen.pcap" -n 300 -c 30 -s 1 "$data/starttls-tls13.pcap" \
  "$data/offered-not-used.pcap" "$data/cleartext-auth.pcap" "$data/implicit-465.pcap" \
  "$data/starttls-tls12.pcap" >/dev/null || fail "gen"
sent=$("$bin" capture -r "$tmp/gen.pcap" --db "$tmp/gen.db" 2>&1 | sed -n 's/.*: \([0-9]*\) packets.*/\1/p')
start_capture "$tmp/fanout.db" -v --threads 2
replay "$tmp/gen.pcap"
sleep 1
stop_capture "--threads 2"
same_rows "$tmp/gen.db" "$tmp/fanout.db" "--threads 2"
grep -q '^smtptls: thread 3' "$tmp/stderr" && fail "more than two threads: $(cat "$tmp/stderr")"
got=0
for t in 1 2; do
  p=$(sed -n "s/^smtptls: thread $t: \([0-9]*\) packets, \([0-9]*\) sessions.*/\1 \2/p" "$tmp/stderr")
  read -r tp ts <<<"$p"
  [ "${tp:-0}" -gt 0 ] && [ "${ts:-0}" -gt 0 ] ||
    fail "fanout thread $t got no flows: $(cat "$tmp/stderr")"
  got=$((got + tp))
  echo "fanout thread $t: $tp packets, $ts sessions"
done
[ "$got" -eq "$sent" ] || fail "the fanout threads read $got packets, $sent were sent"
run=$(sqlite3 "$tmp/fanout.db" "select packets, dropped_kernel, dropped_iface from runs")
[ "$run" = "$sent|0|0" ] || fail "fanout runs row: $run (want $sent|0|0)"
fanout_rows=$(sqlite3 "$tmp/fanout.db" "select count(*) from sessions")
echo "live: $rows sessions as from the file, $during committed during the run;" \
  "--threads 2: $fanout_rows sessions as from the file"
