#!/usr/bin/env bash
# ICE interop on loopback: Warren's agent against aioice (PyPI) in both roles.
# Usage: run.sh PYTHON   (PYTHON has aioice)
set -uo pipefail
python=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0 failed=0
for warren_role in controlling controlled; do
  aioice_role=$([ "$warren_role" = controlling ] && echo controlled || echo controlling)
  dir=$(mktemp -d)
  timeout 60 "$python" "$here/aioice_peer.py" "$dir" "--$aioice_role" &
  peer=$!
  (cd "$root" && WARREN_ICE_EXCHANGE_DIR=$dir WARREN_ICE_ROLE=$warren_role \
    timeout 90 swift test --skip-build --filter ICEInteropPeer 2>&1 | grep -E "✔|✘|Expectation|connected")
  swift_rc=$?
  wait "$peer"
  python_rc=$?
  rm -rf "$dir"
  if [ "$swift_rc" -eq 0 ] && [ "$python_rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS: warren $warren_role <-> aioice $aioice_role"
  else
    failed=$((failed + 1)); echo "FAIL: warren $warren_role <-> aioice $aioice_role (warren exit $swift_rc, aioice exit $python_rc)"
  fi
done
echo "ice-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
