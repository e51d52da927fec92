# Shared by the report tests: checks that count and report, captures, and
# reading JSON (report output, truth.json) with the sqlite3 shell.
# The caller sets: bin (smtptls), data (tests/data), tmp (a fresh folder).

fails=0
n=0

# eq WHAT GOT WANT
eq() {
  n=$((n + 1))
  if [ "$2" != "$3" ]; then
    echo "FAIL: $1: got '$2', want '$3'"
    fails=$((fails + 1))
  fi
}

# has WHAT TEXT ERE: TEXT matches the extended regular expression.
has() {
  n=$((n + 1))
  if ! grep -qE -- "$3" <<<"$2"; then
    echo "FAIL: $1: no line matches /$3/ in:"
    sed 's/^/    /' <<<"$2" | head -40
    fails=$((fails + 1))
  fi
}

# hasnt WHAT TEXT ERE
hasnt() {
  n=$((n + 1))
  if grep -qE -- "$3" <<<"$2"; then
    echo "FAIL: $1: a line matches /$3/:"
    grep -E -- "$3" <<<"$2" | head -5 | sed 's/^/    /'
    fails=$((fails + 1))
  fi
}

# status WHAT WANT CMD...: the exit status of CMD.
status() {
  local what=$1 want=$2
  shift 2
  "$@" >"$tmp/status.out" 2>&1
  eq "$what (exit status)" "$?" "$want"
}

# cap DB CAPTURE...: captures each file (tests/data names or paths) into DB.
cap() {
  local db=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] || f=$data/$f
    if ! "$bin" capture -q -r "$f" --db "$db" --again; then # a file may come twice
      echo "FAIL: capture of $f into $db"
      fails=$((fails + 1))
    fi
  done
}

# edited DB: session rows were changed by hand (strings no capture has):
# the rollups are emptied, so that reports count from the session rows (as
# they do for rows another program wrote) until a capture folds them again.
edited() {
  sqlite3 -batch "$1" "SELECT 'DELETE FROM ' || name || ';' FROM sqlite_master
    WHERE type = 'table' AND name GLOB 'rollup_*_*'" | sqlite3 -batch "$1"
  sqlite3 -batch "$1" "UPDATE rollup_state SET folded = 0, promoted = 0;"
}

# shifted CAPTURE SECONDS OUT: a classic pcap (tests/data name or path)
# with every packet SECONDS later.
shifted() {
  local f=$1
  [ -f "$f" ] || f=$data/$f
  perl -e 'binmode STDIN; binmode STDOUT; local $/; my $d = <STDIN>;
    my $m = unpack("V", substr($d, 0, 4));
    my $f = ($m == 0xa1b2c3d4 || $m == 0xa1b23c4d) ? "V" : "N";
    for (my $o = 24; $o + 16 <= length $d; $o += 16 + unpack($f, substr($d, $o + 8, 4))) {
      substr($d, $o, 4) = pack($f, unpack($f, substr($d, $o, 4)) + $ARGV[0]);
    }
    print $d' "$2" <"$f" >"$3"
}

# same_as_scan WHAT DB [REPORT OPTIONS]: the JSON report counted from the
# rollups equals the one computed from the session rows.
same_as_scan() {
  local what=$1 db=$2
  shift 2
  "$bin" report --db "$db" --format json "$@" >"$tmp/rollups.json"
  SMTPTLS_REPORT_SCAN=1 "$bin" report --db "$db" --format json "$@" >"$tmp/scan.json"
  n=$((n + 1))
  if ! cmp -s "$tmp/rollups.json" "$tmp/scan.json" || [ ! -s "$tmp/scan.json" ]; then
    echo "FAIL: $what: the report from the rollups is not the one from the sessions:"
    diff "$tmp/scan.json" "$tmp/rollups.json" | head -20 | sed 's/^/    /'
    fails=$((fails + 1))
  fi
}

# sql DB QUERY: one value (or lines) from a database.
sql() {
  sqlite3 -batch -noheader "$1" "$2"
}

# js FILE PATH: a value of a JSON file ('' for null).
js() {
  sqlite3 -batch :memory: "SELECT json_extract(readfile('$1'), '$2');"
}

# row FILE SECTION KEYCOL KEY COL: column COL of the row of a report
# section whose KEYCOL is KEY.
row() {
  sqlite3 -batch :memory: "SELECT json_extract(r.value, '\$.$5')
    FROM json_each(readfile('$1'), '\$.sections.$2.rows') r
    WHERE CAST(json_extract(r.value, '\$.$3') AS TEXT) = '$4';"
}

# rows FILE SECTION: the number of rows of a report section.
rows() {
  sqlite3 -batch :memory: "SELECT json_array_length(readfile('$1'), '\$.sections.$2.rows');"
}

# truth_table DB CAPTURE...: table t(capture, v) of the truth's sessions
# of these captures, one row each (as many times as the capture is listed).
truth_table() {
  local db=$1 c
  shift
  sqlite3 -batch "$db" "CREATE TABLE IF NOT EXISTS t (capture TEXT, v TEXT);"
  for c in "$@"; do
    sqlite3 -batch "$db" "INSERT INTO t SELECT c.key, s.value
      FROM json_each(readfile('$data/truth.json'), '\$.captures') c,
           json_each(c.value, '\$.sessions') s WHERE c.key = '$c';"
  done
}

# pct PART WHOLE: the percentage as the report prints it.
pct() {
  sqlite3 -batch :memory: "SELECT printf('%.1f', 100.0 * $1 / $2);"
}

finish() {
  echo "$1: $n checks, $fails failed"
  [ "$fails" -eq 0 ]
}
