#!/bin/bash
# The decoder end to end: the captures in tests/data/derived (made from
# recorded sessions by tests/data/record/derive.py: inside GRE, ERSPAN II
# and III, VXLAN, Geneve, GTP-U, IP in IP, Ethernet over MPLS with and
# without a control word; IP fragmented in random order, also inside VXLAN
# and around GRE; the two directions merged from two taps with an 80 ms
# clock offset) must give the rows the original captures give, column for
# column but the row ids and times (and, for the merged taps, the packet
# count: a last ACK after both FINs is counted or not by where it lands),
# with no frame left undecoded.
#
#   derived.sh SMTPTLS DATA_DIR
set -u
smtptls=$(realpath "$1")
data=$2
originals="starttls-tls12.pcap offered-not-used.pcap ipv6.pcap"
command -v sqlite3 >/dev/null || { echo "derived: sqlite3 missing"; exit 77; }
[ -d "$data/derived" ] || { echo "derived: $data/derived missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

capture() { # DB FILE...
  local db=$1
  shift
  for f in "$@"; do
    "$smtptls" capture -q -r "$f" --db "$db" || { echo "derived: capture of $f failed"; return 1; }
  done
}

# ROWS DB EXCLUDED...: every column but the excluded ones, one row a line
rows() {
  local db=$1 cols
  shift
  local skip="id run_id ts_start ts_end $*"
  cols=$(sqlite3 "$db" "select name from pragma_table_info('sessions')" |
    grep -vxF -f <(tr ' ' '\n' <<<"$skip" | grep .) | paste -sd,)
  sqlite3 -header -csv "$db" "select $cols from sessions order by client_ip, client_port"
}

(cd "$data" && capture "$tmp/orig.db" $originals) || exit 1
[ "$(sqlite3 "$tmp/orig.db" 'select count(*) from sessions')" = 3 ] || {
  echo "derived: the originals do not give 3 rows"; exit 1; }

n=0
for f in "$data"/derived/*.pcap; do
  name=$(basename "$f" .pcap)
  db=$tmp/$name.db
  capture "$db" "$f" || { fail=1; continue; }
  extra=
  case $name in skew-*) extra=packets ;; esac
  if ! diff <(rows "$tmp/orig.db" $extra) <(rows "$db" $extra) > "$tmp/diff"; then
    echo "FAIL $name: rows differ from the originals'"
    cat "$tmp/diff"
    fail=1
  fi
  # every frame decoded: nothing left as not TCP, cut or malformed
  bad=$(sqlite3 "$db" "select decode_errors + truncated_packets + non_tcp_packets from runs")
  if [ "$bad" != 0 ]; then
    echo "FAIL $name: $bad frames not decoded"
    fail=1
  fi
  n=$((n + 1))
done
[ "$n" -ge 14 ] || { echo "FAIL: only $n derived captures"; fail=1; }
[ "$fail" = 0 ] && echo "derived: $n captures, rows as the originals'"
exit $fail
