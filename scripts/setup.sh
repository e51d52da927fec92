#!/bin/sh
# Installs what smtptls needs on Debian (as root) and configures the build.
#   scripts/setup.sh          build dependencies only
#   scripts/setup.sh --test   also what the test suite uses
set -eu
cd "$(dirname "$0")/.."

build_pkgs="gcc libc6-dev pkg-config meson ninja-build libpcap-dev libndpi-dev
  libsqlite3-dev libgcrypt20-dev libgpg-error-dev libjemalloc-dev libldns-dev
  libmicrohttpd-dev libcurl4-openssl-dev"
test_pkgs="sqlite3 tcpdump tcpreplay iproute2 valgrind binutils procps util-linux chromium git
  clang libclang-rt-14-dev curl groff-base man-db systemd
  python3-websocket python3-jsonschema clickhouse-server clickhouse-client"

pkgs=$build_pkgs
[ "${1:-}" = "--test" ] && pkgs="$pkgs $test_pkgs"

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages:$missing (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing$missing"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing
fi

[ -f build/build.ninja ] || meson setup build
