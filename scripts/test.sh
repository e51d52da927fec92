#!/bin/sh
# Builds (installing what is missing, as root) and runs the whole test suite.
# Extra arguments go to `meson test` (e.g. --suite unit).
set -eu
cd "$(dirname "$0")/.."
scripts/setup.sh --test
meson compile -C build
meson test -C build --print-errorlogs "$@"
