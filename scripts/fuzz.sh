#!/bin/bash
# Builds the libFuzzer targets with ASan+UBSan (clang), seeds their corpora
# from the recorded captures, and runs one or all of them.
#   scripts/fuzz.sh TARGET [SECONDS]    TARGET: smtp, tls, session, pcap, x509, dns, decode or all
# Crashes are written as fuzz/crash-TARGET-*; keep each as a regression
# capture under tests/data/regress/ (pcap) with a note of what it broke.
set -eu
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh smtp|tls|session|pcap|x509|dns|decode|all [SECONDS]}
seconds=${2:-600}
if ! command -v clang >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "fuzz: needs clang and libclang-rt-14-dev" >&2; exit 1; }
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev
fi
scripts/setup.sh
[ -f build-fuzz/build.ninja ] ||
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-fuzz fuzz/fuzz_smtp fuzz/fuzz_tls fuzz/fuzz_session fuzz/fuzz_pcap fuzz/fuzz_x509 \
  fuzz/fuzz_dns fuzz/fuzz_decode fuzz/seeds

seed() { # the corpora, once
  [ -d fuzz/corpus-decode ] && return
  mkdir -p fuzz/corpus-pcap fuzz/corpus-session fuzz/corpus-smtp fuzz/corpus-tls \
    fuzz/corpus-x509 fuzz/corpus-decode
  for f in tests/data/*.pcap tests/data/*.pcapng tests/data/derived/*.pcap tests/data/regress/*; do
    [ -f "$f" ] || continue
    case "$f" in *.md) continue ;; esac # the folder's README
    [ "$(stat -c %s "$f")" -lt 300000 ] && cp "$f" fuzz/corpus-pcap/
    build-fuzz/fuzz/seeds "$f" fuzz/corpus-session "$(basename "$f")" fuzz/corpus-decode
  done
  # the DNS world (DNS on UDP and TCP, HTTPS hellos, SMTP to policy domains), in slices
  # that fit the pcap target's max_len
  for f in tests/data/dns/*.pcap; do
    command -v editcap >/dev/null && editcap -c 300 "$f" "fuzz/corpus-pcap/$(basename "$f")"
  done
  # the parsers alone take the same chunks without the session's first byte
  for f in fuzz/corpus-session/*; do
    tail -c +2 "$f" > "fuzz/corpus-smtp/$(basename "$f")"
    cp "fuzz/corpus-smtp/$(basename "$f")" "fuzz/corpus-tls/$(basename "$f")"
  done
}
seed
# certificates and hellos as tshark sees them in the recorded captures
if [ ! -d fuzz/corpus-x509 ] || [ -z "$(ls fuzz/corpus-x509)" ] && command -v tshark >/dev/null; then
  mkdir -p fuzz/corpus-x509
  for f in tests/data/*.pcap; do
    tshark -r "$f" -d tcp.port==25,tls -d tcp.port==587,tls -Y 'tls.handshake.certificate' \
      -T fields -e tls.handshake.certificate 2>/dev/null | tr ',' '\n' | while read -r hex; do
      [ -n "$hex" ] && perl -e 'print pack("H*", $ARGV[0])' "$hex" \
        > "fuzz/corpus-x509/$(echo "$hex" | md5sum | cut -c1-16)"
    done
  done
fi
# DNS: the recorded nsd/unbound messages of the unit tests, one per file
# and all of them as one exchange, in fuzz_dns.c's [ctl][len16][bytes] records
if [ ! -d fuzz/corpus-dns ] || [ -z "$(ls fuzz/corpus-dns)" ]; then
  mkdir -p fuzz/corpus-dns
  perl -e '
    my (@recs, $ctl, $hex);
    sub flush { return unless defined $hex; my $b = pack("H*", $hex);
      push @recs, pack("Cn", $ctl, length $b) . $b; undef $hex }
    while (<>) {
      if (/^\t\{"(\w+) .*, (\d)\s*,\s*$/) { flush(); $ctl = ($1 eq "resp") | ($2 << 1); $hex = "" }
      elsif (defined $hex && /^\t "([0-9a-f]+)"/) { $hex .= $1 }
    }
    flush();
    for my $i (0 .. $#recs) {
      open my $f, ">", sprintf("fuzz/corpus-dns/vector-%02d", $i); print $f $recs[$i]; close $f }
    open my $all, ">", "fuzz/corpus-dns/exchange"; print $all join("", @recs); close $all;
  ' tests/unit/dns_vectors.h
fi

run() {
  local max_len=16384
  [ "$1" = pcap ] && max_len=262144
  [ "$1" = decode ] && max_len=65536
  echo "fuzz: $1 for $seconds s"
  build-fuzz/fuzz/fuzz_$1 -max_total_time="$seconds" -max_len=$max_len -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="fuzz/crash-$1-" "fuzz/corpus-$1"
}
if [ "$target" = all ]; then
  for t in smtp tls session pcap x509 dns decode; do run $t; done
else
  run "$target"
fi
