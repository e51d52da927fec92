#!/bin/bash
# scripts/fuzz.sh on a fresh clone (of what is committed): it builds the
# targets, seeds every corpus from the recorded captures, and runs each
# target for a few seconds on a non-empty seed corpus. Seeding twice adds
# nothing the second time, and a seed removed comes back. Runs in the
# normal build's pass only (the fuzz build is sanitized itself).
# usage: fuzzing.sh SOURCE_ROOT SANITIZED
set -u
src=$1
sanitized=$2
seconds=3
skip() { echo "skipped: $*"; exit 77; }
[ "$sanitized" = true ] && skip "runs in the normal build's pass"
command -v clang >/dev/null || skip "clang not installed"
dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1 || skip "libclang-rt-14-dev not installed"
for tool in git perl; do command -v $tool >/dev/null || skip "$tool not installed"; done
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || skip "$src is not a git repository"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
git clone -q "$src" "$tmp/c" || { echo "cannot clone $src"; exit 1; }
cd "$tmp/c" || exit 1
targets=$(sed -n "/^targets='/,/^'/p" scripts/fuzz.sh | awk 'NF >= 3 {print $1}')
[ -n "$targets" ] || { echo "FAIL: no targets in scripts/fuzz.sh"; exit 1; }

# seeding, again, and after losing seeds
listing() { find fuzz -path 'fuzz/corpus-*' -type f | sort; }
scripts/fuzz.sh --seed all >"$tmp/seed1.log" 2>&1 || { tail -20 "$tmp/seed1.log"; exit 1; }
first=$(listing)
for t in $targets; do
  n=$(grep -c "^fuzz/corpus-$t/" <<<"$first")
  echo "seeded $t: $n inputs"
  [ "$n" -gt 0 ] || fail "$t: no seeds on a fresh clone"
done
scripts/fuzz.sh --seed all >"$tmp/seed2.log" 2>&1 || fail "seeding again: $(tail -3 "$tmp/seed2.log")"
[ "$(listing)" = "$first" ] || fail "seeding again changed the corpora"
rm -f $(head -3 <<<"$first")
scripts/fuzz.sh --seed all >"$tmp/seed3.log" 2>&1 || fail "seeding after a loss: $(tail -3 "$tmp/seed3.log")"
[ "$(listing)" = "$first" ] || fail "seeding again did not bring back the seeds removed"

# each target runs on its seeds
for t in $targets; do
  log=$tmp/run-$t.log
  scripts/fuzz.sh "$t" "$seconds" >"$log" 2>&1
  st=$?
  files=$(sed -n 's/^INFO: seed corpus: files: \([0-9]*\) .*/\1/p' "$log")
  runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log")
  echo "fuzz $t: exit $st, seed corpus of ${files:-no} files, ${runs:-no} runs in $seconds s"
  if [ "$st" -ne 0 ] || [ -z "$files" ] || [ "$files" -eq 0 ] || [ -z "$runs" ]; then
    fail "$t did not run on a seed corpus:"
    tail -15 "$log"
  fi
done
echo "fuzzing: $(wc -w <<<"$targets") targets; $fails failed"
[ "$fails" -eq 0 ]
