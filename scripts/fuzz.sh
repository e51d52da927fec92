#!/bin/bash
# Builds the libFuzzer targets with ASan+UBSan (clang), seeds their corpora
# from the recorded captures, and runs one or all of them.
#   scripts/fuzz.sh TARGET [SECONDS]   seed, then run TARGET (or all) SECONDS each (600)
#   scripts/fuzz.sh --seed TARGET      only seed TARGET's corpus (or all)
# Corpora are fuzz/corpus-TARGET. Every run seeds them again, which adds
# only what is missing (a seed's file is named by its content). Crashes
# are written as fuzz/crash-TARGET-*; keep each as a regression capture
# under tests/data/regress/ (pcap) with a note of what it broke.
set -eu
cd "$(dirname "$0")/.."

# The targets, one a line (adding one is adding its line here and its name
# in fuzz/meson.build): the name (fuzz/fuzz_NAME.c), libFuzzer's -max_len,
# and what seeds its corpus, one or more of
#   seeds:KIND  what fuzz/seeds writes of KIND from each recorded capture
#   pcap        the recorded captures themselves (up to -max_len)
#   dnsvec      the DNS messages of the unit tests (tests/unit/dns_vectors.h)
targets='
smtp     16384   seeds:smtp
tls      16384   seeds:tls
session  16384   seeds:session
pcap     262144  pcap
x509     16384   seeds:x509
dns      16384   seeds:dns dnsvec
decode   65536   seeds:decode
'
names=$(awk 'NF {print $1}' <<<"$targets")
usage() {
  echo "usage: scripts/fuzz.sh $(echo $names | tr ' ' '|')|all [SECONDS]" >&2
  echo "       scripts/fuzz.sh --seed TARGET|all" >&2
  exit 2
}
seed_only=0
if [ "${1:-}" = --seed ]; then seed_only=1; shift; fi
target=${1:-}
seconds=${2:-600}
[ -n "$target" ] || usage
[ "$target" = all ] || grep -qx -- "$target" <<<"$names" || usage
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || usage
[ "$target" = all ] && run_names=$names || run_names=$target

max_len() { awk -v t="$1" '$1 == t {print $2}' <<<"$targets"; }
sources() { awk -v t="$1" '$1 == t {for (i = 3; i <= NF; i++) print $i}' <<<"$targets"; }

# ---- tools and build ---------------------------------------------------------
if ! command -v clang >/dev/null || ! dpkg-query -W libclang-rt-14-dev >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "fuzz: needs clang and libclang-rt-14-dev" >&2; exit 1; }
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang libclang-rt-14-dev
fi
scripts/setup.sh
[ -f build-fuzz/build.ninja ] ||
  CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-fuzz fuzz/seeds $(for t in $names; do echo "fuzz/fuzz_$t"; done)

# ---- seeding -----------------------------------------------------------------
captures() { find tests/data -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort; }

# the DNS vectors, one message a file and all of them as one exchange, in
# fuzz_dns.c's records [ctl][len16][bytes]
seed_dnsvec() { # DIR
  perl -e '
    my ($dir, @recs, $ctl, $hex) = shift;
    sub flush { return unless defined $hex; my $b = pack("H*", $hex);
      push @recs, pack("Cn", $ctl, length $b) . $b; undef $hex }
    while (<>) {
      if (/^\t\{"(\w+) .*, (\d)\s*,\s*$/) { flush(); $ctl = ($1 eq "resp") | ($2 << 1); $hex = "" }
      elsif (defined $hex && /^\t "([0-9a-f]+)"/) { $hex .= $1 }
    }
    flush();
    my %out = (exchange => join("", @recs));
    $out{sprintf("vector-%02d", $_)} = $recs[$_] for 0 .. $#recs;
    for my $name (keys %out) {
      next if -e "$dir/$name";
      open my $f, ">", "$dir/$name" or die "$dir/$name: $!"; print $f $out{$name}; close $f }
  ' "$1" tests/unit/dns_vectors.h
}

seed_pcap() { # DIR MAX_LEN
  local f
  captures | while read -r f; do
    if [ "$(stat -c %s "$f")" -gt "$2" ]; then
      seed_slices "$1" "$2" "$f"
      continue
    fi
    local to="$1/seed-$(md5sum <"$f" | cut -c1-16)"
    [ -e "$to" ] || cp "$f" "$to"
  done
}

# A capture longer than the target takes (the DNS world: DNS on UDP and TCP,
# HTTPS hellos, SMTP to policy domains) in slices of 300 frames that fit.
seed_slices() { # DIR MAX_LEN CAPTURE
  local tmp s
  command -v editcap >/dev/null || return 0
  tmp=$(mktemp -d)
  editcap -c 300 "$3" "$tmp/slice.pcap" 2>/dev/null || true
  for s in "$tmp"/slice*; do
    [ -f "$s" ] && [ "$(stat -c %s "$s")" -le "$2" ] || continue
    local to="$1/seed-$(md5sum <"$s" | cut -c1-16)"
    [ -e "$to" ] || cp "$s" "$to"
  done
  rm -rf "$tmp"
}

seed() {
  local t how kinds=()
  for t in $run_names; do
    mkdir -p "fuzz/corpus-$t"
    for how in $(sources "$t"); do
      case $how in
        seeds:*) kinds+=("${how#seeds:}=fuzz/corpus-$t") ;;
        pcap) seed_pcap "fuzz/corpus-$t" "$(max_len "$t")" ;;
        dnsvec) seed_dnsvec "fuzz/corpus-$t" ;;
        *) echo "fuzz: $t: unknown seed source '$how'" >&2; exit 1 ;;
      esac
    done
  done
  [ ${#kinds[@]} -gt 0 ] || return 0
  captures | while read -r f; do # one pass over the captures for every kind
    build-fuzz/fuzz/seeds "$f" "${kinds[@]}" || echo "fuzz: no seeds from $f" >&2
  done
}

run() { # TARGET
  local n
  n=$(find "fuzz/corpus-$1" -type f | wc -l)
  echo "fuzz: $1: $n inputs in fuzz/corpus-$1; running $seconds s"
  [ "$n" -gt 0 ] || { echo "fuzz: $1: the corpus is empty" >&2; return 1; }
  build-fuzz/fuzz/fuzz_$1 -max_total_time="$seconds" -max_len="$(max_len "$1")" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="fuzz/crash-$1-" "fuzz/corpus-$1"
}

seed
for t in $run_names; do
  echo "fuzz: $t: $(find "fuzz/corpus-$t" -type f | wc -l) inputs in fuzz/corpus-$t after seeding"
done
[ "$seed_only" -eq 1 ] && exit 0
status=0
for t in $run_names; do
  run "$t" || { status=1; echo "fuzz: $t failed (see fuzz/crash-$t-*)" >&2; }
done
exit $status
