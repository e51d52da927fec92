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

expect 0 'usage: smtptls capture' -- --help
expect 0 'usage: smtptls capture' -- capture --help
expect 0 '^smtptls [0-9]+\.[0-9]+\.[0-9]+$' -- --version
expect 2 'usage' --
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 'exactly one of -r FILE or -i IFACE' -- capture --db "$tmp/a.db"
expect 2 'exactly one of -r FILE or -i IFACE' -- capture -r x -i y
expect 2 "invalid port entry '70000'" -- capture -r x --ports 70000
expect 2 "invalid port entry '25/imap'" -- capture -r x --ports 25/imap
expect 2 "invalid number 'lots'" -- capture -r x --max-flows lots
expect 2 'unrecognized option' -- capture -r x --no-such-option
expect 1 "cannot read '$tmp/missing.pcap': .*No such file" -- capture -r "$tmp/missing.pcap" --db "$tmp/a.db"
expect 1 "cannot read '$tmp': it is a directory" -- capture -r "$tmp" --db "$tmp/a.db"
printf 'not a capture file at all' > "$tmp/junk.pcap"
expect 1 "cannot read '$tmp/junk.pcap'" -- capture -r "$tmp/junk.pcap" --db "$tmp/a.db"
: > "$tmp/empty.pcap"
expect 1 "cannot read '$tmp/empty.pcap'" -- capture -r "$tmp/empty.pcap" --db "$tmp/a.db"
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
expect 1 "database '$tmp/missing.db'" -- report --db "$tmp/missing.db"
expect 2 "unexpected argument 'extra'" -- report --db "$tmp/a.db" extra

# the summary on standard error: what was written, then where the CPU time
# went (the database's threads apart); -q prints nothing
cpu='CPU seconds: [0-9]+\.[0-9]{3} capture and dissection, [0-9]+\.[0-9]{3} database writer, [0-9]+\.[0-9]{3} checkpoints'
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
  printf 'SQLite format 3\0garbage' > "$tmp/bad.db"
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
