#!/bin/bash
# Report-level truth of the real-link captures (tests/data/links): the
# headline of `smtptls report --format json` must be the share that
# truth.json's "headline" gives for the capture:
#   sessions.known      sessions whose outcome is known (unknown ones apart)
#   sessions.unknown    the rest
#   sessions.encrypted  TLS completed (tls_outcome established): the headline
#   sessions.encrypted_pct  completed / known, one decimal
#   sessions.tls_attempted  TLS attempted (a TLS outcome of any kind)
# usage: links_headline.sh SMTPTLS TRUTH.json CAPTURE_DIR NAME [capture options...]
set -u
bin=$1 truth=$2 dir=$3 name=$4
shift 4
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 missing"; exit 77; }
[ -f "$dir/$name" ] || { echo "skipped: $dir/$name missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$bin" capture -q -r "$dir/$name" --db "$tmp/s.db" "$@"; then
  echo "FAIL: smtptls capture -r $name exited $?"
  exit 1
fi
if ! "$bin" report --db "$tmp/s.db" --format json > "$tmp/r.json"; then
  echo "FAIL: smtptls report --format json exited $?"
  exit 1
fi
q() { sqlite3 -batch -noheader :memory: "SELECT json_extract(readfile('$1'), '$2');"; }
h="\$.captures.\"$name\".headline"
known=$(q "$truth" "$h.known")
total=$(q "$truth" "$h.sessions")
completed=$(q "$truth" "$h.tls_completed")
attempted=$(q "$truth" "$h.tls_attempted")
[ -n "$known" ] || { echo "FAIL: no headline for $name in $truth"; exit 1; }
pct=$(awk -v c="$completed" -v k="$known" 'BEGIN { if (k > 0) printf "%.1f", 100 * c / k; }')
fails=0
check() { # WHAT JSON-PATH WANT
  local got
  got=$(q "$tmp/r.json" "$2")
  if [ "$got" != "$3" ]; then
    echo "FAIL: $1 ($2): got '${got:-missing}', want '$3'"
    fails=$((fails + 1))
  fi
}
check "sessions with a known outcome" '$.sessions.known' "$known"
check "sessions shown apart as unknown" '$.sessions.unknown' "$((total - known))"
check "TLS completed (the headline)" '$.sessions.encrypted' "$completed"
[ -n "$pct" ] && check "TLS completed, % of known" '$.sessions.encrypted_pct' "$pct"
check "TLS attempted" '$.sessions.tls_attempted' "$attempted"
echo "$name: truth: $completed of $known known sessions completed TLS ($pct%), $attempted attempted; $fails mismatches"
[ "$fails" -eq 0 ]
