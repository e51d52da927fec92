#!/bin/bash
# Live capture: replays a recorded capture with tcpreplay onto a veth pair
# inside a network namespace made for the test, while `smtptls capture -i`
# listens on the other end; checks that the rows are committed while the
# capture runs (at least every second), that SIGINT ends it with status 0,
# and that the rows equal those of reading the file.
# usage: live.sh SMTPTLS CAPTURE.pcap
set -u
bin=$1
pcap=$2
skip() { echo "skipped: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root for a network namespace"
for tool in ip tcpreplay sqlite3; do
  command -v $tool >/dev/null || skip "$tool not installed"
done
ns=smtptls-live-$$
tmp=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns" 2>/dev/null || skip "cannot create a network namespace"
ip -n "$ns" link add veth0 type veth peer name veth1 || skip "cannot create veth"
ip -n "$ns" link set veth0 up && ip -n "$ns" link set veth1 up

fail() { echo "FAIL: $*"; exit 1; }
chmod 755 "$tmp" # -Z: the unprivileged user opens nothing new, but reads the tree
ip netns exec "$ns" "$bin" capture -q -i veth0 -Z nobody --db "$tmp/live.db" &
pid=$!
for _ in $(seq 50); do # the run is recorded once the interface is open
  [ "$(sqlite3 "$tmp/live.db" 'select count(*) from runs' 2>/dev/null)" = 1 ] && break
  sleep 0.1
done
sleep 0.5
uid=$(awk '/^Uid:/ {print $2}' /proc/$pid/status 2>/dev/null)
[ "$uid" = "$(id -u nobody)" ] || fail "-Z nobody: running as uid $uid"
ip netns exec "$ns" tcpreplay -q -i veth1 --pps 2000 "$pcap" >/dev/null 2>&1 ||
  fail "tcpreplay failed"
sleep 2 # the writer commits at least every second
during=$(sqlite3 "$tmp/live.db" 'select count(*) from sessions' 2>/dev/null)
kill -INT "$pid"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "capture -i exited $status after SIGINT"

"$bin" capture -q -r "$pcap" --db "$tmp/file.db" || fail "capture -r failed"
cols="client_ip, client_port, server_ip, server_port, transport, starttls_offered,
  starttls_reply, tls_version, cipher_suite, sni, plaintext_transactions, cleartext_auth,
  server_name, ehlo_name, bytes_c2s, bytes_s2c, anomalies"
q="select $cols from sessions order by client_port, server_ip"
sqlite3 "$tmp/live.db" "$q" > "$tmp/live.rows"
sqlite3 "$tmp/file.db" "$q" > "$tmp/file.rows"
rows=$(wc -l < "$tmp/file.rows")
[ "$rows" -gt 0 ] || fail "no rows from the file"
diff -u "$tmp/file.rows" "$tmp/live.rows" || fail "live rows differ from the file's"
# sessions that ended with FIN or RST were committed before the capture stopped
ended=$(sqlite3 "$tmp/file.db" "select count(*) from sessions where end_reason in ('fin','rst')")
[ "${during:-0}" -ge "$ended" ] || fail "only $during rows committed during the run, $ended had ended"
run=$(sqlite3 "$tmp/live.db" "select source_kind, source, packets > 0, dropped_kernel, dropped_iface from runs")
[ "$run" = "interface|veth0|1|0|0" ] || fail "runs row: $run"
echo "live: $rows sessions as from the file, $during committed during the run"
