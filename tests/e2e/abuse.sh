#!/bin/bash
# Abuse: a million SYNs to distinct ports, an endless SMTP line, a
# ClientHello claiming 16 MiB, overlapping segments that disagree and a
# stream far out of order, with the six sessions of mixed.pcap spread
# through them. With --max-flows 10000 --max-buffer 8 memory stays under
# 64 MiB, the counters say what was dropped, each attack is flagged, and
# the honest sessions come out as they do alone.
# usage: abuse.sh SMTPTLS CRAFT MEASURE DATA_DIR SANITIZED(true|false)
# (memory is not checked in a sanitizer build: ASan's shadow and quarantine
# are not smtptls's)
set -u
bin=$1
craft=$2
measure=$3
data=$4
sanitized=$5
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$craft" "$tmp/abuse.pcap" "$data/mixed.pcap" 1000000 >/dev/null || exit 1
m=$("$measure" -- "$bin" capture -q -r "$tmp/abuse.pcap" --db "$tmp/a.db" \
      --max-flows 10000 --max-buffer 8 2>&1 | grep '^wall_s=')
rss=$(sed 's/.*maxrss_kib=\([0-9]*\).*/\1/' <<<"$m")
status=$(sed 's/.*status=\([-0-9]*\).*/\1/' <<<"$m")
[ "$status" = 0 ] || fail "capture exited $status"
[ "$sanitized" = true ] || [ "$rss" -le $((64 * 1024)) ] || fail "peak RSS $rss KiB, over 64 MiB"

q() { sqlite3 "$tmp/a.db" "$1"; }
runs=$(q "select flows_without_payload >= 1000000, flows_evicted >= 990000, peak_flows <= 10000,
          peak_buffered <= 8 * 1048576, reassembly_overflows >= 1 from runs")
[ "$runs" = "1|1|1|1|1" ] || fail "runs counters (no-payload, evicted, peak flows, peak buffered, overflows): $runs
  $(q 'select flows_without_payload, flows_evicted, peak_flows, peak_buffered, reassembly_overflows from runs')"

has() { # CLIENT_IP ANOMALY
  [ "$(q "select count(*) from sessions where client_ip = '$1' and ',' || anomalies || ',' like '%,$2,%'")" = 1 ] ||
    fail "$1: no $2 anomaly: $(q "select anomalies from sessions where client_ip = '$1'")"
}
has 10.99.0.1 long_line
has 10.99.0.2 handshake_too_big
has 10.99.0.3 overlap_mismatch
has 10.99.0.4 reassembly_overflow
[ "$(q "select ehlo_name from sessions where client_ip = '10.99.0.3'")" = a.example ] ||
  fail "overlap: the first copy did not win"

"$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/m.db" || fail "capture mixed.pcap"
cols="client_ip, client_port, server_ip, server_port, transport, starttls_offered, starttls_reply,
  tls_version, cipher_suite, sni, plaintext_transactions, server_name, ehlo_name, bytes_c2s,
  bytes_s2c, end_reason, anomalies"
diff <(sqlite3 "$tmp/m.db" "select $cols from sessions order by 2") \
     <(q "select $cols from sessions where client_ip not like '10.99.%' order by 2") ||
  fail "the honest sessions differ from mixed.pcap read alone"
echo "abuse: peak RSS $((rss / 1024)) MiB, $(q 'select flows_evicted from runs') evictions, $fails failed"
[ "$fails" -eq 0 ]
