#!/bin/bash
# meson install into a temporary DESTDIR: the binary, the manual page
# smtptls(8), the unit smtptls@.service and the example of its options.
#  - the manual renders without a warning (groff -man -ww) and names every
#    subcommand and every option `smtptls --help` lists;
#  - systemd-analyze verify accepts the unit (its ExecStart pointed at the
#    installed binary, its man: page found in the DESTDIR);
#  - the unit runs unprivileged: a dynamic user, CAP_NET_RAW and
#    CAP_NET_ADMIN only, a read-only system but for its state directory.
# usage: install.sh BUILD_DIR
set -u
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
command -v groff >/dev/null || { echo "skipped: groff not installed"; exit 77; }

DESTDIR=$tmp/root meson install -C "$build" --no-rebuild --quiet > "$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install"; exit 1; }
bin=$(find "$tmp/root" -path '*/bin/smtptls' -type f)
man=$(find "$tmp/root" -path '*/man8/smtptls.8')
unit=$(find "$tmp/root" -name 'smtptls@.service')
conf=$(find "$tmp/root" -path '*/smtptls/example.conf')
for f in bin man unit conf; do
  [ -n "${!f}" ] || fail "not installed: $f"
done
[ "$fails" -eq 0 ] || exit 1

# the manual page
groff -man -Tutf8 -ww "$man" > "$tmp/man.txt" 2> "$tmp/groff.err" || fail "groff failed"
[ -s "$tmp/groff.err" ] && fail "groff warns: $(cat "$tmp/groff.err")"
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$man" > "$tmp/man-l.txt" 2> "$tmp/man.err" || fail "man -l failed"
  [ -s "$tmp/man.err" ] && fail "man -l warns: $(cat "$tmp/man.err")"
fi
plain=$(sed 's/.\x08//g' "$tmp/man.txt")
for s in NAME SYNOPSIS DESCRIPTION SIGNALS METRICS "EXIT STATUS" FILES EXAMPLES; do
  grep -q "^$s" <<<"$plain" || fail "manual: no section $s"
done
for c in capture report export merge SIGHUP SIGUSR1 SIGTERM smtptls@.service; do
  grep -q -- "$c" <<<"$plain" || fail "manual: $c not described"
done
for o in $(for c in capture report export merge; do "$bin" "$c" --help; done |
  grep -o -- '--[a-z][a-z-]*' | sort -u) -r -i -Z -q -v; do
  grep -q -- "$o" <<<"$plain" || fail "manual: option $o not described"
done

# the unit
for line in 'DynamicUser=yes' 'StateDirectory=smtptls' 'ProtectSystem=strict' \
  'NoNewPrivileges=yes' 'CapabilityBoundingSet=CAP_NET_RAW CAP_NET_ADMIN' \
  'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN' 'ExecReload=/bin/kill -HUP $MAINPID'; do
  grep -qxF "$line" "$unit" || fail "unit: no '$line'"
done
grep -q '^ExecStart=/.*/smtptls capture -q -i %i --db /var/lib/smtptls/%i.db \$SMTPTLS_OPTS$' "$unit" ||
  fail "unit: ExecStart"
grep -q '^SMTPTLS_OPTS=' "$conf" || fail "example.conf: no SMTPTLS_OPTS"
if command -v systemd-analyze >/dev/null; then
  prefix_bin=$(sed -n 's|^ExecStart=\([^ ]*\) .*|\1|p' "$unit")
  sed "s|$prefix_bin|$bin|" "$unit" > "$tmp/smtptls@lo.service"
  (cd "$tmp" && MANPATH=$(dirname "$(dirname "$man")") systemd-analyze verify ./smtptls@lo.service) \
    > "$tmp/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$tmp/verify.out")"
  [ -s "$tmp/verify.out" ] && fail "systemd-analyze verify says: $(cat "$tmp/verify.out")"
else
  echo "systemd-analyze not installed: the unit is not verified"
fi
echo "install: $(find "$tmp/root" -type f | wc -l) files installed; $fails failed"
[ "$fails" -eq 0 ]
