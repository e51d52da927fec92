#!/bin/bash
# The same capture must give the same rows however it is read:
#  - on 1 thread and on several (--threads: one reader decodes, workers
#    own disjoint flows), from a file (segments point into the reader's
#    buffers, reused once every worker passed them: the generated capture
#    needs several times more buffers than there are) and from standard
#    input (libpcap's frames, copied for the workers), with a filter,
#    --classify and --anonymize;
#  - from a file (smtptls's own reader of classic pcap, whose 1 MiB buffer
#    the generated capture crosses many times) and from standard input
#    (libpcap);
#  - with a BPF filter applied by smtptls's reader and by libpcap;
#  - from the same capture with nanosecond timestamps, and written on a
#    host of the other byte order.
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
  "$bin" capture -q -r "$f" --db "$tmp/$b.2.db" --threads 2
  same "$b: --threads 2 differs from 1 thread" "$tmp/$b.1.db" "$tmp/$b.2.db"
  "$bin" capture -q -r - --db "$tmp/$b.stdin.db" < "$f"
  same "$b: standard input (libpcap) differs from the file" "$tmp/$b.1.db" "$tmp/$b.stdin.db"
  "$bin" capture -q -r - --db "$tmp/$b.stdin3.db" --threads 3 < "$f"
  same "$b: standard input, --threads 3 differs from 1 thread" "$tmp/$b.1.db" "$tmp/$b.stdin3.db"
  "$bin" capture -q -r "$f" --db "$tmp/$b.f1.db" 'not port 465'
  "$bin" capture -q -r - --db "$tmp/$b.f2.db" 'not port 465' < "$f"
  same "$b: BPF filter, smtptls's reader differs from libpcap" "$tmp/$b.f1.db" "$tmp/$b.f2.db"
  "$bin" capture -q -r "$f" --db "$tmp/$b.f3.db" --threads 3 'not port 465'
  same "$b: BPF filter, --threads 3 differs from 1 thread" "$tmp/$b.f1.db" "$tmp/$b.f3.db"
done
# pcapng (libpcap) on several threads
"$bin" capture -q -r "$data/starttls-tls13.pcapng" --db "$tmp/ng.1.db"
"$bin" capture -q -r "$data/starttls-tls13.pcapng" --db "$tmp/ng.2.db" --threads 2
same "pcapng: --threads 2 differs from 1 thread" "$tmp/ng.1.db" "$tmp/ng.2.db"
# --classify and --anonymize on several threads
head -c 32 /dev/zero | tr '\0' k > "$tmp/key"
for opt in --classify "--anonymize $tmp/key"; do
  o=$(echo "$opt" | cut -c3-6)
  "$bin" capture -q -r "$tmp/gen.pcap" --db "$tmp/gen.$o.1.db" $opt
  "$bin" capture -q -r "$tmp/gen.pcap" --db "$tmp/gen.$o.3.db" --threads 3 $opt
  same "gen.pcap: $opt --threads 3 differs from 1 thread" "$tmp/gen.$o.1.db" "$tmp/gen.$o.3.db"
done
# the anonymised rows are not the plain ones
n=$((n + 1))
if diff -q <(rows "$tmp/gen.pcap.1.db") <(rows "$tmp/gen.anon.1.db") >/dev/null; then
  echo "FAIL: --anonymize changed nothing"
  fails=$((fails + 1))
fi

# the generated capture rewritten big-endian, and with nanosecond stamps
# (perl is part of every Debian): the same rows as libpcap read
rewrite() { # MODE (be|ns) < IN > OUT
  perl -e '
    my $mode = shift; binmode STDIN; binmode STDOUT; local $/ = \24;
    my ($m, $maj, $min, $tz, $sig, $snap, $lt) = unpack("V v v l V V V", <STDIN>);
    if ($mode eq "be") { print pack("N n n l> N N N", $m, $maj, $min, $tz, $sig, $snap, $lt) }
    else { print pack("V v v l V V V", 0xa1b23c4d, $maj, $min, $tz, $sig, $snap, $lt) }
    while (1) {
      $/ = \16; my $r = <STDIN>; last unless defined $r && length $r == 16;
      my ($s, $u, $cl, $wl) = unpack("V V V V", $r);
      print $mode eq "be" ? pack("N N N N", $s, $u, $cl, $wl) : pack("V V V V", $s, $u * 1000, $cl, $wl);
      $/ = \$cl; print scalar <STDIN>;
    }' "$1"
}
for mode in be ns; do
  rewrite $mode < "$tmp/gen.pcap" > "$tmp/gen.$mode.pcap"
  "$bin" capture -q -r "$tmp/gen.$mode.pcap" --db "$tmp/gen.$mode.db"
  same "gen.pcap rewritten ($mode) differs" "$tmp/gen.pcap.stdin.db" "$tmp/gen.$mode.db"
done
# the rewriting did rewrite
n=$((n + 1))
magic=$(od -A n -t x1 -N 4 "$tmp/gen.be.pcap" | tr -d ' ')$(od -A n -t x1 -N 4 "$tmp/gen.ns.pcap" | tr -d ' ')
[ "$magic" = a1b2c3d44d3cb2a1 ] || { echo "FAIL: rewritten magics $magic"; fails=$((fails + 1)); }
# the filter did filter: no port-465 rows
n=$((n + 1))
c=$(sqlite3 "$tmp/mixed.pcap.f1.db" "select count(*) from sessions where server_port = 465")
[ "$c" = 0 ] || { echo "FAIL: filter 'not port 465' kept $c rows"; fails=$((fails + 1)); }
g=$(sqlite3 "$tmp/gen.pcap.1.db" "select count(*) from sessions")
echo "equivalence: $n checks, $fails failed ($g sessions in the generated capture)"
[ "$fails" -eq 0 ]
