#!/usr/bin/env bash
# Time-to-connected on loopback for Warren and aioice on the same candidate sets (one host
# candidate on 127.0.0.1 each), measured in the same run, and Warren's CPU per 1,000 checks.
# Usage: Benchmarks/ice-connect.sh PYTHON [RUNS]   (PYTHON has aioice)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=$1
runs=${2:-20}
(cd "$here" && swift build -c release --product ICEConnect >/dev/null)
bin="$(cd "$here" && swift build -c release --show-bin-path)/ICEConnect"
aioice=$("$python" "$here/aioice_connect.py" "$runs")
warren=$("$bin" "$runs")
echo "$aioice"
echo "$warren"
a=$(echo "$aioice" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')
w=$(echo "$warren" | sed -n 's/.*time-to-connected: median \([0-9.]*\) ms.*/\1/p')
python3 -c "print(f'ratio: Warren / aioice time-to-connected = {float($w) / float($a):.2f}')"
