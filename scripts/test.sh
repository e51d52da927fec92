#!/bin/sh
# Builds (installing what is missing, as root) and runs the whole test suite
# twice: in the normal build, then in a build with AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan). Extra arguments go to both
# `meson test` runs (e.g. --suite unit). SMTPTLS_NO_ASAN=1 skips the second.
set -u
cd "$(dirname "$0")/.."
scripts/setup.sh --test || exit 1
meson compile -C build || exit 1
meson test -C build --print-errorlogs "$@"
status=$?
if [ "${SMTPTLS_NO_ASAN:-0}" != 1 ]; then
  [ -f build-asan/build.ninja ] ||
    meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false || exit 1
  meson compile -C build-asan || exit 1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs "$@" || status=1
fi
exit $status
