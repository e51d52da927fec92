#!/bin/bash
# The same capture must give the same rows however it is read:
#  - on 1 thread and on several (--threads: workers own disjoint flows);
#  - from a file (memory-mapped reader) and from standard input (libpcap);
#  - with a BPF filter applied by the mapped reader and by libpcap.
# usage: equivalence.sh SMTPTLS GEN DATA_DIR
set -u
bin=$1
gen=$2
data=$3
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0

rows() { # DB -> every column but the row and run ids, sorted
  sqlite3 "$1" "select * from sessions" >/dev/null || return 1
  local cols
  cols=$(sqlite3 "$1" "select group_concat(name, ',') from pragma_table_info('sessions')
                       where name not in ('id', 'run_id')")
  sqlite3 "$1" "select $cols from sessions order by 1, 2, 3, 4, 5"
}

same() { # LABEL DB_A DB_B
  n=$((n + 1))
  if ! diff <(rows "$2") <(rows "$3") > "$tmp/diff"; then
    echo "FAIL: $1"
    head -20 "$tmp/diff"
    fails=$((fails + 1))
  fi
}

"$gen" -o "$tmp/gen.pcap" -n 3000 -c 500 -s 20 "$data/starttls-tls13.pcap" \
  "$data/offered-not-used.pcap" "$data/refused-454.pcap" "$data/cleartext-auth.pcap" \
  "$data/implicit-465.pcap" "$data/ipv6.pcap" "$data/netem-loss.pcap" >/dev/null ||
  { echo "FAIL: gen"; exit 1; }
for f in "$data/mixed.pcap" "$data/netem-loss.pcap" "$tmp/gen.pcap"; do
  b=$(basename "$f")
  "$bin" capture -q -r "$f" --db "$tmp/$b.1.db"
  "$bin" capture -q -r "$f" --db "$tmp/$b.4.db" --threads 4
  same "$b: --threads 4 differs from 1 thread" "$tmp/$b.1.db" "$tmp/$b.4.db"
  "$bin" capture -q -r - --db "$tmp/$b.stdin.db" < "$f"
  same "$b: standard input (libpcap) differs from the mapped file" "$tmp/$b.1.db" "$tmp/$b.stdin.db"
  "$bin" capture -q -r "$f" --db "$tmp/$b.f1.db" 'not port 465'
  "$bin" capture -q -r - --db "$tmp/$b.f2.db" 'not port 465' < "$f"
  same "$b: BPF filter, mapped file differs from libpcap" "$tmp/$b.f1.db" "$tmp/$b.f2.db"
done
# the filter did filter: no port-465 rows
n=$((n + 1))
c=$(sqlite3 "$tmp/mixed.pcap.f1.db" "select count(*) from sessions where server_port = 465")
[ "$c" = 0 ] || { echo "FAIL: filter 'not port 465' kept $c rows"; fails=$((fails + 1)); }
g=$(sqlite3 "$tmp/gen.pcap.1.db" "select count(*) from sessions")
echo "equivalence: $n checks, $fails failed ($g sessions in the generated capture)"
[ "$fails" -eq 0 ]
