#!/bin/sh
# Installs, builds, runs smtptls on the bundled sample capture and prints
# the report. Run as root on a fresh Debian machine from a clean clone.
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh
meson compile -C build
rm -f demo.db demo.db-wal demo.db-shm
./build/smtptls capture -r tests/data/mixed.pcap --db demo.db
./build/smtptls report --db demo.db
