#!/bin/bash
# Command-line contract: exit statuses (0 ok, 1 runtime error, 2 usage
# error) and error messages that name the file, interface or database.
# usage: cli.sh SMTPTLS CORPUS_DIR DATA_DIR
set -u
bin=$1
corpus=$2
data=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
n=0

# expect STATUS PATTERN -- ARGS...: runs smtptls ARGS, checks the exit status
# and that stdout+stderr match the extended regular expression PATTERN.
expect() {
  local want=$1 pattern=$2
  shift 3
  n=$((n + 1))
  out=$("$bin" "$@" 2>&1)
  got=$?
  if [ "$got" -ne "$want" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: smtptls $*: exit $got (want $want), output:"
    sed 's/^/    /' <<<"$out"
    fails=$((fails + 1))
  fi
}

# help: the global one lists the commands; each command's is its own
expect 0 '^  capture +follow SMTP sessions' -- --help
expect 0 "Run 'smtptls COMMAND --help'" -- --help
expect 0 '^smtptls [0-9]+\.[0-9]+\.[0-9]+$' -- --version
expect 2 'usage: smtptls COMMAND' --
expect 2 "^smtptls: unknown command 'frobnicate'$" -- frobnicate
expect 2 "^Try 'smtptls --help' for more information.$" -- frobnicate
expect 2 "^smtptls: unknown option '--frobnicate'$" -- --frobnicate
for c in capture report export merge; do
  n=$((n + 1))
  h=$("$bin" "$c" --help 2>&1); st=$?
  others=$(grep -c '^usage: smtptls ' <<<"$h")
  if [ "$st" -ne 0 ] || ! grep -q "^usage: smtptls $c " <<<"$h" || [ "$others" -ne 1 ] ||
     ! grep -q '^Options:$' <<<"$h" || ! grep -q '^Examples:$' <<<"$h" ||
     ! grep -q '^  -h, --help ' <<<"$h"; then
    echo "FAIL: smtptls $c --help is not $c's own help (exit $st):"; sed 's/^/    /' <<<"$h"
    fails=$((fails + 1))
  fi
  n=$((n + 1))
  if [ "$("$bin" "$c" -h 2>&1)" != "$h" ] || [ "$("$bin" help "$c" 2>&1)" != "$h" ]; then
    echo "FAIL: smtptls $c -h and smtptls help $c differ from smtptls $c --help"
    fails=$((fails + 1))
  fi
  n=$((n + 1))
  long=$(awk 'length > 79' <<<"$h")
  [ -z "$long" ] || { echo "FAIL: $c --help has lines over 79 columns:"; echo "$long"; fails=$((fails + 1)); }
  # every option the help names is one the parser takes: given without its
  # argument, the message is never "unknown option"
  for o in $(grep -oE '^  (-[a-zA-Z], )?--[a-z-]+|^  -[a-zA-Z]' <<<"$h" | grep -oE -- '--?[a-z-]+$'); do
    [ "$o" = --help ] || [ "$o" = -h ] && continue
    n=$((n + 1))
    out=$("$bin" "$c" "$o" 2>&1)
    if grep -q 'unknown option\|ambiguous' <<<"$out"; then
      echo "FAIL: smtptls $c --help names $o, which the parser refuses: $out"
      fails=$((fails + 1))
    fi
    # and the README tells of it
    readme=$(dirname "$data")/../README.md
    if [ -f "$readme" ] && ! grep -qE -- "(\`| )$o(\`| |,)" "$readme"; then
      echo "FAIL: README.md does not mention $c's option $o"
      fails=$((fails + 1))
    fi
  done
  # the README's usage section shows each command's usage lines as --help
  # prints them (leading blanks aside)
  readme=$(dirname "$data")/../README.md
  if [ -f "$readme" ]; then
    while IFS= read -r line; do
      n=$((n + 1))
      if ! sed 's/^ *//' "$readme" | grep -qxF -- "$line"; then
        echo "FAIL: README.md does not show the usage line: $line"
        fails=$((fails + 1))
      fi
    done < <(sed -n '/^usage: smtptls /,/^$/p' <<<"$h" | sed -e 's/^usage: //' -e 's/^ *//' -e '/^$/d')
  fi
done
expect 2 "help: unknown command 'frob'" -- help frob

# usage errors: the command, the option as typed, a hint, exit status 2
try="^Try 'smtptls capture --help' for more information.$"
expect 2 "^smtptls: capture: unknown option '--x'$" -- capture --x
expect 2 "$try" -- capture --x
expect 2 "^smtptls: capture: unknown option '-x'$" -- capture -qx
expect 2 "^smtptls: report: unknown option '--no-such-option'$" -- report --no-such-option
expect 2 "^Try 'smtptls report --help' for more information.$" -- report --no-such-option
expect 2 "^smtptls: capture: option '-r' needs an argument \(FILE\)$" -- capture -r
expect 2 "^smtptls: export: option '--db' needs an argument \(PATH\)$" -- export --db
expect 2 "^smtptls: capture: option '--quiet' takes no argument$" -- capture --quiet=yes -r x
expect 2 "^smtptls: capture: ambiguous option '--max' \(--max-flows, --max-buffer\)$" -- capture --max 5
expect 2 '^smtptls: capture: needs -r FILE or -i IFACE$' -- capture --db "$tmp/a.db"
expect 2 '^smtptls: capture: -r and -i exclude each other$' -- capture -r x -i y
expect 2 "^smtptls: capture: --ports: invalid port entry '70000'" -- capture -r x --ports 70000
expect 2 "^smtptls: capture: --ports: invalid port entry '25/imap'" -- capture -r x --ports 25/imap
expect 2 "^smtptls: capture: --max-flows: invalid number 'lots' \(1-100000000\)$" -- capture -r x --max-flows lots
expect 2 "^smtptls: capture: --threads: invalid number '0' \(1-64\)$" -- capture -r x --threads 0
expect 2 "^smtptls: capture: --threads: invalid number '2x'" -- capture -r x --threads 2x
expect 2 "$try" -- capture -r x --threads 0
expect 2 "^smtptls: report: --top: invalid number '-1' \(0-1000000\)$" -- report --top -1
expect 2 "^smtptls: report: --format: invalid format 'xml' \(text, csv, json, html or tlsrpt\)$" -- report --format xml
expect 2 "^smtptls: report: --since: invalid time 'yesterday'" -- report --since yesterday
expect 2 "^smtptls: report: --by: invalid unit 'year'" -- report --by year
expect 2 "^smtptls: export: --port: invalid port list '0'" -- export --port 0
expect 2 "^smtptls: export: --format: invalid format 'xml' \(jsonl or csv\)$" -- export --format xml
expect 2 "^smtptls: merge: --tolerance: invalid number '-1' \(0-3600\)$" -- merge --tolerance -1 a.db b.db
expect 2 '^smtptls: merge: needs OUT.db and IN.db$' -- merge
expect 2 '^smtptls: merge: needs at least one IN.db$' -- merge "$tmp/o.db"
expect 2 "^smtptls: report: unexpected argument 'extra'$" -- report --db "$tmp/a.db" extra

# runtime errors name the file once, with the reason; exit status 1
once() { # STATUS PATH ARGS...: the message names PATH exactly once
  local want=$1 path=$2 out got
  shift 2
  n=$((n + 1))
  out=$("$bin" "$@" 2>&1); got=$?
  if [ "$got" -ne "$want" ] || [ "$(grep -o -F -- "$path" <<<"$out" | wc -l)" -ne 1 ]; then
    echo "FAIL: smtptls $*: exit $got (want $want), '$path' not named exactly once:"
    sed 's/^/    /' <<<"$out"
    fails=$((fails + 1))
  fi
}
expect 1 "^smtptls: cannot read '$tmp/missing.pcap': No such file or directory$" -- capture -r "$tmp/missing.pcap" --db "$tmp/a.db"
once 1 "$tmp/missing.pcap" capture -r "$tmp/missing.pcap" --db "$tmp/a.db"
expect 1 "cannot read '$tmp': it is a directory" -- capture -r "$tmp" --db "$tmp/a.db"
printf 'not a capture file at all' > "$tmp/junk.pcap"
expect 1 "cannot read '$tmp/junk.pcap'" -- capture -r "$tmp/junk.pcap" --db "$tmp/a.db"
once 1 "$tmp/junk.pcap" capture -r "$tmp/junk.pcap" --db "$tmp/a.db"
: > "$tmp/empty.pcap"
expect 1 "cannot read '$tmp/empty.pcap'" -- capture -r "$tmp/empty.pcap" --db "$tmp/a.db"
expect 1 "^smtptls: cannot read key file '$tmp/nokey': No such file or directory$" -- capture -r "$data/mixed.pcap" --anonymize "$tmp/nokey" --db "$tmp/a.db"
# a header announcing an absurd snapshot length, then a record claiming
# 2 GiB: the record is refused with a message naming the file
pcap_header() { # LINKTYPE SNAPLEN (little-endian pcap header)
  printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00'
  printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($2 & 255)) $(($2 >> 8 & 255)) $(($2 >> 16 & 255)) $(($2 >> 24 & 255)))"
  printf "$(printf '\\x%02x\\x%02x\\x00\\x00' $(($1 & 255)) $(($1 >> 8 & 255)))"
}
{ pcap_header 1 4294967295; printf '\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\x7f\xff\xff\xff\x7f'; } > "$tmp/absurd.pcap"
expect 1 "$tmp/absurd.pcap: .*(invalid packet capture length|bigger than)" -- capture -r "$tmp/absurd.pcap" --db "$tmp/a.db"
{ pcap_header 147 65535; } > "$tmp/user0.pcap"
expect 1 "$tmp/user0.pcap: unsupported link type 147" -- capture -r "$tmp/user0.pcap" --db "$tmp/a.db"
expect 1 "interface 'no-such-if0'" -- capture -i no-such-if0 --db "$tmp/a.db"
expect 1 "^smtptls: database '$tmp/missing.db': No such file or directory$" -- report --db "$tmp/missing.db"
expect 1 "^smtptls: database '$tmp/missing.db': No such file or directory$" -- export --db "$tmp/missing.db"
expect 1 "^smtptls: database '$tmp' is a directory, not a database file$" -- report --db "$tmp"
expect 1 "^smtptls: database '$tmp' is a directory, not a database file$" -- capture -r "$data/mixed.pcap" --db "$tmp"
expect 1 "^smtptls: database '$tmp/no/such/x.db' cannot be created: folder '$tmp/no/such': No such file or directory$" -- capture -r "$data/mixed.pcap" --db "$tmp/no/such/x.db"
printf 'SQLite format 3\0garbage' > "$tmp/bad.db"
expect 1 "^smtptls: database '$tmp/bad.db': .*not a database" -- report --db "$tmp/bad.db"
once 1 "$tmp/bad.db" report --db "$tmp/bad.db"
# a failed merge leaves no output behind, and an existing one as it was
expect 1 "database '$tmp/missing.db'" -- merge "$tmp/out.db" "$tmp/missing.db"
n=$((n + 1))
ls "$tmp" | grep -q '^out\.db' && { echo "FAIL: a failed merge left $(ls "$tmp" | grep '^out\.db')"; fails=$((fails + 1)); }

# the summary on standard error: what was written, then where the CPU time
# went (the database's threads apart, and for a file, promoting its hours
# and hashing it); -q prints nothing
cpu='CPU seconds: [0-9]+\.[0-9]{3} capture and dissection, [0-9]+\.[0-9]{3} database writer, [0-9]+\.[0-9]{3} checkpoints, [0-9]+\.[0-9]{3} promoting the rollups, [0-9]+\.[0-9]{3} hashing the file$'
expect 0 "mixed.pcap: 172 packets, 6 sessions written to $tmp/m.db" -- capture -r "$data/mixed.pcap" --db "$tmp/m.db"
expect 0 "$cpu" -- capture -r "$data/mixed.pcap" --db "$tmp/m.db" --again
expect 0 "$cpu" -- capture --threads 2 -r "$data/mixed.pcap" --db "$tmp/m.db" --again
expect 0 '^$' -- capture -q -r "$data/mixed.pcap" --db "$tmp/m.db" --again

if [ -d "$corpus" ]; then
  pcap=$corpus/ndpi/smtp.pcap
  expect 2 "invalid filter expression 'tcp port banana'" -- capture -r "$pcap" --db "$tmp/b.db" tcp port banana
  expect 0 '1 sessions written' -- capture -r "$pcap" --db "$tmp/b.db" tcp port 25
  expect 0 '0 sessions written' -- capture -r "$pcap" --db "$tmp/c.db" tcp port 26
  expect 0 '0 sessions written' -- capture -r "$pcap" --db "$tmp/d.db" --ports =2525
  expect 0 'Sessions +1' -- report --db "$tmp/b.db"
  # a capture cut in the middle of a record: the error names the file, and the
  # sessions read before the damage are kept
  head -c 12000 "$pcap" > "$tmp/cut.pcap"
  expect 1 "$tmp/cut.pcap: truncated" -- capture -r "$tmp/cut.pcap" --db "$tmp/e.db"
  expect 0 'Sessions +1' -- report --db "$tmp/e.db"
  # captures append to the database
  expect 0 '1 sessions written' -- capture -r "$pcap" --db "$tmp/b.db" --again
  expect 0 'Sessions +2' -- report --db "$tmp/b.db"
  expect 1 "database '$tmp/bad.db'" -- capture -r "$pcap" --db "$tmp/bad.db"
  # --classify: nDPI finds SMTP on port 2525 and nothing in IMAP, POP3, TLS on 443
  expect 0 '4 sessions written' -- capture --classify -r "$corpus/arkime/smtp-decrypted.pcap" --db "$tmp/f.db"
  expect 0 '1 sessions written' -- capture --classify -r "$corpus/ndpi/emotet.pcap" --db "$tmp/g.db"
  for f in ndpi/imap-starttls.pcap ndpi/pop3_stls.pcap ndpi/imaps.pcap; do
    expect 0 '0 sessions written' -- capture --classify -r "$corpus/$f" --db "$tmp/h.db"
  done
else
  echo "corpus checks skipped: $corpus not found"
fi

echo "cli: $n checks, $fails failed"
[ "$fails" -eq 0 ]
