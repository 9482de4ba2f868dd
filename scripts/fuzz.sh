#!/usr/bin/env bash
# Builds warren-fuzz with libFuzzer and AddressSanitizer and runs every fuzz target (or the ones
# named) for SECONDS each (default 60), one after another, FUZZ_JOBS at a time (default 1).
# FUZZ_BUILD_ONLY=1 only builds.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Each target starts from its committed seeds (Fuzz/corpus/TARGET) and what earlier runs found
# (.build-fuzz/corpus/TARGET, kept between runs). Prints one line per target (executions, edges
# covered, crashes) and last `fuzz: N targets, M crashes`; exits non-zero on any crash, leak or
# timeout. A crashing input is left in .build-fuzz/artifacts/: reproduce it without libFuzzer with
# `swift run warren-fuzz TARGET FILE`, fix it, and keep it in Fuzz/regressions/TARGET/.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
scratch=$root/.build-fuzz
jobs=${FUZZ_JOBS:-1}

mkdir -p "$scratch"
echo "fuzz: building warren-fuzz (-sanitize=fuzzer,address) in $scratch"
if ! swift build --product warren-fuzz --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DWARREN_LIBFUZZER >"$scratch/build.log" 2>&1; then
  tail -n 30 "$scratch/build.log"
  echo "fuzz: 0 targets, build failed"
  exit 1
fi
binary=$(swift build --scratch-path "$scratch" --show-bin-path)/warren-fuzz
# FUZZ_BUILD_ONLY=1: build now (ahead of a run, or to check that it builds), fuzz later.
[ -n "${FUZZ_BUILD_ONLY:-}" ] && { echo "fuzz: built $binary"; exit 0; }

# Every target has a seed folder of its name (Tests/WarrenFuzzTests checks both ways).
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(ls Fuzz/corpus); fi

dictionary() {
  case $1 in
    stun | ice-agent | turn) echo "$root/Fuzz/dictionaries/stun.dict" ;;
    *) [ -f "$root/Fuzz/dictionaries/$1.dict" ] && echo "$root/Fuzz/dictionaries/$1.dict" ;;
  esac
}

# One target: libFuzzer's own log in .build-fuzz/logs/TARGET.log, one summary line on stdout.
run_target() {
  local target=$1 log=$scratch/logs/$1.log
  mkdir -p "$scratch/corpus/$target" "$scratch/artifacts" "$scratch/logs"
  local options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$scratch/artifacts/$target-")
  local dict; dict=$(dictionary "$target")
  [ -n "$dict" ] && options+=(-dict="$dict")
  # Swift's own backtracer off: libFuzzer and the sanitizer report (and save the input).
  WARREN_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=1 SWIFT_BACKTRACE=enable=no \
    "$binary" "${options[@]}" "$scratch/corpus/$target" "$root/Fuzz/corpus/$target" >"$log" 2>&1
  local rc=$?
  local executions edges crashes
  executions=$(grep -oE "stat::number_of_executed_units: *[0-9]+" "$log" | grep -oE "[0-9]+$" | tail -n 1)
  edges=$(grep -oE "cov: [0-9]+" "$log" | tail -n 1 | grep -oE "[0-9]+")
  # libFuzzer stops at its first finding (crash, leak, timeout, out of memory) and exits non-zero.
  crashes=$((rc != 0))
  local finding=""
  [ "$rc" -ne 0 ] && finding=" ($(grep -m 1 -oE "((Fatal error|Precondition failed|Assertion failed).*|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)[^(]*|deadly signal)" "$log" | head -c 160); input: $(grep -oE "$scratch/artifacts/[^ ]+" "$log" | tail -n 1))"
  echo "$target: ${executions:-0} executions, ${edges:-0} edges, $crashes crashes in ${seconds} s$finding"
}

results=$(mktemp)
running=0
for target in "${targets[@]}"; do
  run_target "$target" | tee -a "$results" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

total=$(wc -l <"$results")
crashes=$(grep -oE "[0-9]+ crashes" "$results" | awk '{ sum += $1 } END { print sum + 0 }')
rm -f "$results"
echo "fuzz: $total targets, $crashes crashes"
[ "$crashes" -eq 0 ] && [ "$total" -eq "${#targets[@]}" ]
