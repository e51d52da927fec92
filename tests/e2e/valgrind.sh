#!/bin/bash
# valgrind finds no leak and no memory error on full runs: capture (one
# thread and workers, nDPI classification, anonymisation) and report.
# usage: valgrind.sh SMTPTLS DATA_DIR SANITIZED(true|false)
set -u
bin=$1
data=$2
[ "$3" = false ] || { echo "skipped: sanitizer build (valgrind needs the plain one)"; exit 77; }
command -v valgrind >/dev/null || { echo "skipped: valgrind not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 32 /dev/urandom > "$tmp/key"
fails=0
vg() { # LABEL ARGS...
  local label=$1
  shift
  valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    "$bin" "$@" > "$tmp/out" 2> "$tmp/err"
  local st=$?
  if [ "$st" -ne 0 ]; then
    echo "FAIL: $label: exit $st"
    head -40 "$tmp/err"
    fails=$((fails + 1))
  fi
}
vg "capture" capture -q -r "$data/mixed.pcap" --db "$tmp/a.db"
vg "capture --threads 2 --anonymize" capture -q -r "$data/netem-loss.pcap" --db "$tmp/a.db" \
  --threads 2 --anonymize "$tmp/key"
vg "capture --classify" capture -q -r "$data/multi-message.pcap" --db "$tmp/a.db" --classify \
  --ports =2525
vg "report" report --db "$tmp/a.db"
echo "valgrind: 4 runs, $fails failed"
[ "$fails" -eq 0 ]
