#!/bin/bash
# The benchmark: builds large captures from the recorded sessions in
# tests/data (bench/gen), then times, on the same file, smtptls capture -r
# (one thread, the same confined to one CPU with taskset, and --threads 2),
# the floor (an empty pcap_loop), ndpiReader and tshark (on a slice), and
# checks smtptls's rows (session and encrypted counts from the recorded
# truth times the copies made). smtptls and the floor are timed RUNS times
# (default 3) and the best run is shown; ndpiReader and tshark once. On
# big.pcap it also counts the capture's instructions with one thread and
# with two (callgrind on a 100,000-packet slice; INSTR=0 skips it). The
# CPU seconds (smtptls's own account: capture and dissection, and the whole
# process with the database writer, while it reads; then at the end,
# promoting the rollups and hashing the file) are the median of the runs,
# for one thread and --threads 2, with their ratio; the peak RSS the largest.
#
#   bench/run.sh [OUT_DIR]      (default bench/out; needs build/ and sqlite3)
#
# Captures: big.pcap (about 3 M packets, 108 k sessions, 2,000 open at a
# time), open.pcap (60 k sessions, nearly all open at once) and
# open50k.pcap (100 k sessions replayed round robin, 50,000 open at any
# time, each one packet further per round: every open session is
# mid-dialogue or mid-handshake; the memory target is 128 MiB).
set -u
cd "$(dirname "$0")/.."
out=${1:-bench/out}
mkdir -p "$out"
b=build
smtptls=${SMTPTLS:-$b/smtptls}
measure=$b/bench/measure
for f in "$smtptls" "$measure" "$b/bench/gen" "$b/bench/floor"; do
  [ -x "$f" ] || { echo "run: $f missing: meson compile -C build first" >&2; exit 1; }
done
d=tests/data
# templates: short sessions of every kind; a file listed twice is used twice as often
big_t="$d/starttls-tls13.pcap $d/starttls-tls13.pcap $d/offered-not-used.pcap
  $d/no-starttls.pcap $d/refused-454.pcap $d/bdat.pcap $d/cleartext-auth.pcap
  $d/cleartext-auth.pcap $d/implicit-465.pcap $d/starttls-tls10.pcap
  $d/starttls-tls12.pcap $d/ipv6.pcap $d/submission-587.pcap"
open_t="$d/starttls-tls13.pcap $d/offered-not-used.pcap $d/refused-454.pcap
  $d/implicit-465.pcap $d/starttls-tls12.pcap"

# expected NAME.gen -> "sessions encrypted" from the truth and the copies made
expected() {
  local sessions=0 encrypted=0 t c r e
  while read -r _ t c; do
    t=$(basename "$t")
    r=$(sqlite3 :memory: "select json_extract(readfile('$d/truth.json'), '\$.captures.\"$t\".rows')")
    e=$(sqlite3 :memory: "select count(*) from json_each(readfile('$d/truth.json'),
         '\$.captures.\"$t\".sessions') where json_extract(value, '\$.tls_version') is not null")
    sessions=$((sessions + c * r))
    encrypted=$((encrypted + c * e))
  done < <(grep '^template' "$1")
  echo "$sessions $encrypted"
}

generate() { # NAME COPIES CONCURRENT STRETCH|-R TEMPLATES...
  local name=$1 n=$2 c=$3 s=$4 shape
  shift 4
  if [ "$s" = -R ]; then shape=-R; else shape="-s $s"; fi
  if [ ! -f "$out/$name.pcap" ] || [ ! -f "$out/$name.gen" ]; then
    echo "generating $out/$name.pcap ..."
    $b/bench/gen -o "$out/$name.pcap" -n "$n" -c "$c" $shape "$@" > "$out/$name.gen" || exit 1
  fi
}

generate big 94000 2000 1 $big_t
generate open 60000 60000 100 $open_t
generate open50k 100000 50000 -R $big_t

# run LABEL [--db DB] -- COMMAND...: runs the command $RUNS times (default
# 3; a given database is removed before each run) and prints the best
# "wall_s maxrss_kib". The capture ($warm) is read through just before each
# run: the machine this was written on drops cached file pages within
# seconds, and a run that reads part of its input from disk measures the
# disk.
runs=${RUNS:-3}
median() { sort -n | awk '{v[NR] = $1} END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
run() {
  local label=$1 db= best= rss_max=0 i err line wall rss status cpu cpus=
  shift
  if [ "$1" = --db ]; then db=$2; shift 2; fi
  shift
  for ((i = 0; i < runs; i++)); do
    [ -z "$db" ] || rm -f "$db" "$db-wal" "$db-shm"
    cat "$warm" > /dev/null
    err=$("$measure" -- "$@" 2>&1 >/dev/null)
    line=$(grep '^wall_s=' <<<"$err" | tail -1)
    wall=$(sed 's/.*wall_s=\([0-9.]*\).*/\1/' <<<"$line")
    rss=$(sed 's/.*maxrss_kib=\([0-9]*\).*/\1/' <<<"$line")
    status=$(sed 's/.*status=\([-0-9]*\).*/\1/' <<<"$line")
    # smtptls's own account: "CPU seconds: A capture and dissection, B
    # database writer, C checkpoints, D promoting the rollups, E hashing
    # the file" -> "A B C D E"
    cpu=$(grep 'CPU seconds:' <<<"$err" | grep -oE '[0-9]+\.[0-9]{3}' | tr '\n' ' ')
    [ -z "$cpu" ] || cpus+="$cpu"$'\n'
    [ "$status" = 0 ] || echo "run: $label exited $status" >&2
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall
    fi
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  # median CPU: the capture's, the whole process's while it reads (capture
  # + writer + checkpoints), and at the end, promoting the rollups and
  # hashing the file
  local cap=- all=- promote=- hash=-
  if [ -n "$cpus" ]; then
    cap=$(awk 'NF {print $1}' <<<"$cpus" | median)
    all=$(awk 'NF {print $1 + $2 + $3}' <<<"$cpus" | median)
    promote=$(awk 'NF {print $4 + 0}' <<<"$cpus" | median)
    hash=$(awk 'NF {print $5 + 0}' <<<"$cpus" | median)
  fi
  echo "$best $rss_max $cap $all $promote $hash"
}

printf '%s\n' "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%s\n' "smtptls $($smtptls --version | cut -d' ' -f2), $(ndpiReader -h 2>&1 | grep -m1 -o 'nDPI [0-9.]*' || echo 'ndpiReader absent'), $(tshark -v 2>/dev/null | head -1)"
fails=0
for name in big open open50k; do
  f=$out/$name.pcap
  packets=$(grep '^packets' "$out/$name.gen" | cut -d' ' -f2)
  read -r want_s want_e < <(expected "$out/$name.gen")
  echo
  echo "== $f: $packets packets, $want_s sessions expected ($want_e encrypted)"
  warm=$f
  read -r floor_w floor_r _ < <(run floor -- $b/bench/floor "$f")
  pin_w=- pin_r=- ndpi_w=- ndpi_r=-
  if [ "$name" != open50k ]; then
    read -r pin_w pin_r _ < <(run pinned --db "$out/$name.db" -- taskset -c 0 "$smtptls" capture -q -r "$f" --db "$out/$name.db")
  fi
  # without -q: on a pipe that is the summary, with the CPU account, and no progress bar
  read -r one_w one_r one_cap one_all one_promote one_hash < <(run smtptls --db "$out/$name.db" -- "$smtptls" capture -r "$f" --db "$out/$name.db")
  got=$(sqlite3 "$out/$name.db" "select count(*) || ' ' || total(tls_version is not null) from sessions")
  bytes=$(sqlite3 "$out/$name.db" "select bytes from runs order by id desc limit 1")
  read -r two_w two_r two_cap two_all _ < <(run threads --db "$out/$name.t2.db" -- "$smtptls" capture --threads 2 -r "$f" --db "$out/$name.t2.db")
  got2=$(sqlite3 "$out/$name.t2.db" "select count(*) || ' ' || total(tls_version is not null) from sessions")
  if command -v ndpiReader >/dev/null && [ "$name" != open50k ]; then
    read -r ndpi_w ndpi_r _ < <(runs=1 run ndpi -- ndpiReader -q -i "$f")
  fi
  printf '%-26s %8s %10s %8s %9s %8s\n' tool wall_s Mpkt/s Gbit/s RSS_MiB x_floor
  line() { # LABEL WALL RSS [PACKETS]
    local p=${4:-$packets}
    awk -v l="$1" -v w="$2" -v r="$3" -v p="$p" -v by="$bytes" -v fl="$floor_w" -v tot="$packets" \
      'BEGIN { if (w == "-") { printf "%-26s %8s\n", l, "-"; exit }
               printf "%-26s %8.3f %10.2f %8.2f %9.1f %8.2f\n", l, w, p / w / 1e6,
                      by * (p / tot) * 8 / w / 1e9, r / 1024, (w * tot / p) / fl }'
  }
  line "floor (empty pcap_loop)" "$floor_w" "$floor_r"
  line "smtptls, 1 thread" "$one_w" "$one_r"
  line "  the same, on one CPU" "$pin_w" "$pin_r"
  line "smtptls --threads 2" "$two_w" "$two_r"
  line "ndpiReader" "$ndpi_w" "$ndpi_r"
  if command -v tshark >/dev/null && [ "$name" = big ]; then
    editcap -F pcap -r "$f" "$out/slice.pcap" 1-100000 2>/dev/null
    read -r ts_w ts_r _ < <(warm=$out/slice.pcap runs=1 run tshark -- tshark -n -r "$out/slice.pcap" -Y 'smtp or tls.handshake' -T fields -e frame.number)
    line "tshark (100k-packet slice)" "$ts_w" "$ts_r" 100000
  fi
  # the work of --threads 2 against one thread in instructions (callgrind on
  # the slice, counting inside engine_run and the workers' threads): unlike
  # CPU seconds on a machine with fewer CPUs than busy threads, it does not
  # move with the load nor with threads taking turns; INSTR=0 skips it
  if [ "$name" = big ] && [ "${INSTR:-1}" != 0 ] && command -v valgrind >/dev/null && [ -f "$out/slice.pcap" ]; then
    instr() {
      rm -f "$out/instr.db" "$out/instr.db-wal" "$out/instr.db-shm"
      valgrind --tool=callgrind --toggle-collect=engine_run --toggle-collect=worker_main \
        --callgrind-out-file=/dev/null "$smtptls" capture -q --threads "$1" -r "$out/slice.pcap" \
        --db "$out/instr.db" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
    }
    i1=$(instr 1)
    i2=$(instr 2)
    awk -v a="$i1" -v b="$i2" 'BEGIN { if (a > 0 && b > 0)
      printf "capture instructions (callgrind, 100k-packet slice): 1 thread %.1f M, --threads 2 %.1f M; ratio %.2f\n", a / 1e6, b / 1e6, b / a }'
  fi
  for g in "$got" "$got2"; do
    if [ "$g" != "$want_s $want_e" ] && [ "$g" != "$want_s $want_e.0" ]; then
      echo "ROWS WRONG: got sessions/encrypted $g, want $want_s $want_e"
      fails=$((fails + 1))
    fi
  done
  echo "rows: $got (1 thread), $got2 (2 threads): sessions, encrypted"
  # CPU seconds per worker count (medians): what --threads costs in
  # hand-offs, whatever the wall clock of a shared machine says (target:
  # --threads 2 at most 1.15 times one thread)
  awk -v c1="$one_cap" -v a1="$one_all" -v c2="$two_cap" -v a2="$two_all" -v n="$runs" 'BEGIN {
    if (c1 == "-" || c2 == "-") { print "CPU s: no account from smtptls"; exit }
    printf "CPU s (median of %d): 1 thread %.3f capture, %.3f process;", n, c1, a1
    printf " --threads 2 %.3f capture, %.3f process; ratio %.2f capture, %.2f process\n",
      c2, a2, c2 / c1, a2 / a1 }'
  echo "CPU s at the end (1 thread, median): $one_promote promoting the rollups, $one_hash hashing the file (beside the promotion)"
  if [ "$name" = open50k ]; then
    awk -v r1="$one_r" -v r2="$two_r" 'BEGIN {
      printf "peak RSS with 50,000 sessions open: %.1f MiB (1 thread), %.1f MiB (--threads 2);", r1 / 1024, r2 / 1024
      printf " target 128 MiB\n" }'
  fi
  sqlite3 "$out/$name.db" "select 'peak: ' || peak_flows || ' flows open at once, ' ||
    round(peak_buffered / 1048576.0, 2) || ' MiB held for reassembly; evicted ' || flows_evicted
    from runs order by id desc limit 1"
done
exit $((fails > 0))
