#!/usr/bin/env bash
# Warren's crypto_box seal+open throughput next to libsodium's, measured in the same run, as ratios.
# libsodium runs before and after Warren's benchmark and the better of its two figures counts, so a
# noisy neighbour hurts Warren's ratio rather than flattering it.
# Needs Debian's libsodium-dev and gcc. Usage: Benchmarks/crypto-vs-libsodium.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gcc -O2 -Wall -Wextra -o "$work/box_bench" "$here/libsodium/box_bench.c" -lsodium
"$work/box_bench" 2 > "$work/libsodium-before.txt"
(cd "$here" && swift package --disable-sandbox benchmark --target CryptoBenchmarks --no-progress) > "$work/warren.txt" 2>&1 ||
  { cat "$work/warren.txt"; exit 1; }
"$work/box_bench" 2 > "$work/libsodium-after.txt"

python3 - "$work" <<'PY'
import re, sys
work = sys.argv[1]
unit = {"ns": 1e-9, "μs": 1e-6, "ms": 1e-3}

def libsodium(path):
    out = {}
    for line in open(path):
        name, value = line.rsplit(" ", 1)
        out[name] = float(value)
    return out

before, after = libsodium(f"{work}/libsodium-before.txt"), libsodium(f"{work}/libsodium-after.txt")
warren, current = {}, None
for line in open(f"{work}/warren.txt"):
    line = line.strip()
    if line.startswith("seal+open"):
        current = line
    # The p50 wall-clock time of one seal+open, which has more digits than the throughput row.
    m = re.match(r"│ Time \(wall clock\) \((ns|μs|ms)\) \*?\s*│(.*)", line)
    if m and current:
        cells = [c.strip() for c in m.group(2).split("│")]
        warren[current] = 1 / (float(cells[2]) * unit[m.group(1)])

print(f"{'benchmark':28} {'Warren/s':>12} {'libsodium/s':>12} {'ratio':>7}")
for name in sorted(warren):
    base = max(before.get(name, 0), after.get(name, 0))
    print(f"{name:28} {warren[name]:12.0f} {base:12.0f} {warren[name] / base:7.2f}")
print("(cold = crypto_box_easy + crypto_box_open_easy; cached = the _afternm variants)")
PY
