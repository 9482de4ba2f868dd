#!/usr/bin/env bash
# Runs the unit tests under a sanitizer, in a build folder of its own:
#
#   scripts/sanitize.sh thread|address [swift test arguments, e.g. --filter X]
#
# thread: ThreadSanitizer, with scripts/tsan-suppressions.txt (each entry one frame, and why it is
# false). address: AddressSanitizer, and LeakSanitizer at each process's exit with
# scripts/lsan-suppressions.txt (references Swift encodes, which LeakSanitizer cannot follow).
# Time limits and real-time waits in the tests are multiplied by WARREN_TEST_TIME_SCALE (default
# 5 here; a sanitized run is 3 to 15 times slower). The build takes 12 to 17 minutes here the
# first time (SANITIZE_SCRATCH names another folder than .build-tsan or .build-asan). Prints the
# test summary and last `sanitize-KIND: N tests, M reports`; exits non-zero on a failed test or
# any report.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kind=${1:-}
case $kind in
  thread) short=tsan ;;
  address) short=asan ;;
  *) echo "usage: scripts/sanitize.sh thread|address [swift test arguments]" >&2; exit 2 ;;
esac
shift
scratch=${SANITIZE_SCRATCH:-$root/.build-$short}
log=$scratch/test.log
mkdir -p "$scratch"

echo "sanitize-$kind: building the tests with -sanitize=$kind in $scratch"
if ! swift build --build-tests --sanitize="$kind" --scratch-path "$scratch" >"$scratch/build.log" 2>&1; then
  tail -n 30 "$scratch/build.log"
  echo "sanitize-$kind: 0 tests, build failed"
  exit 1
fi

export WARREN_TEST_TIME_SCALE=${WARREN_TEST_TIME_SCALE:-5}
# Reports go to files, one per process (log_path): the tests start sanitized `warren` processes
# too, whose standard error a test reads but need not show. halt_on_error=0: every report of a
# run, not only the first; the count below fails the run.
reports_dir=$scratch/reports
rm -rf "$reports_dir" && mkdir -p "$reports_dir"
export TSAN_OPTIONS="suppressions=$root/scripts/tsan-suppressions.txt halt_on_error=0 print_suppressions=1 log_path=$reports_dir/tsan ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="halt_on_error=0 log_path=$reports_dir/asan ${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan-suppressions.txt print_suppressions=1 ${LSAN_OPTIONS:-}"
swift test --skip-build --sanitize="$kind" --scratch-path "$scratch" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

tests=$(grep -oE "Test run with [0-9]+ tests" "$log" | tail -n 1 | grep -oE "[0-9]+")
reports=$(cat "$reports_dir"/* 2>/dev/null | grep -cE "^WARNING: ThreadSanitizer|^==[0-9]+==ERROR: (Address|Leak)Sanitizer")
for file in "$reports_dir"/*; do [ -f "$file" ] && echo "--- $file" && grep -E "^(WARNING|SUMMARY|==[0-9]+==ERROR)" "$file"; done
echo "sanitize-$kind: ${tests:-0} tests, $reports reports (in $reports_dir)"
[ "$rc" -eq 0 ] && [ "$reports" -eq 0 ]
