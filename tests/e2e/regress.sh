#!/bin/bash
# Every capture the fuzzers once broke smtptls with must now be read with an
# ordinary exit (0, or 1 for a damaged file), no crash, no sanitizer report.
# usage: regress.sh SMTPTLS REGRESS_DIR
set -u
bin=$1
dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0
for f in "$dir"/*; do
  case "$f" in *.md) continue ;; esac
  n=$((n + 1))
  "$bin" capture -q -r "$f" --db "$tmp/r.db" > "$tmp/out" 2>&1
  st=$?
  if [ "$st" -gt 1 ] || grep -qE 'Sanitizer|runtime error' "$tmp/out"; then
    echo "FAIL: $(basename "$f"): exit $st"
    head -20 "$tmp/out"
    fails=$((fails + 1))
  fi
  rm -f "$tmp"/r.db*
done
echo "regress: $n captures, $fails failed"
[ "$fails" -eq 0 ]
