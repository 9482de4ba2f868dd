#!/usr/bin/env bash
# ICE interop on loopback: Warren's agent against two independent agents, each in both roles:
# aioice (PyPI) and libnice (Debian's libnice-dev, through Interop/ice/nice_peer.c).
# Usage: run.sh PYTHON   (PYTHON has aioice; gcc, pkg-config and libnice-dev for libnice)
set -uo pipefail
python=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0 failed=0

nice_peer=$root/.build-ci/nice_peer
mkdir -p "$root/.build-ci"
if ! gcc -O2 -Wall -I "$here" $(pkg-config --cflags nice) "$here/nice_peer.c" $(pkg-config --libs nice) -o "$nice_peer"; then
  echo "FAIL: building the libnice harness (gcc, pkg-config, libnice-dev)"
  failed=$((failed + 2))
  nice_peer=""
fi

# libnice reads Warren's half from standard input: wait for DIR/warren.json and convert it.
warren_lines() { # dir
  for _ in $(seq 300); do [ -f "$1/warren.json" ] && break; sleep 0.1; done
  "$python" -c '
import json, sys
w = json.load(open(sys.argv[1]))
print("credentials", w["ufrag"], w["pwd"])
for c in w["candidates"]:
    print("candidate", c["ip"], c["port"], c["priority"], c["foundation"])
print("end")' "$1/warren.json"
}

check() { # agent warren-role
  local agent=$1 warren_role=$2
  local other_role=$([ "$warren_role" = controlling ] && echo controlled || echo controlling)
  local dir greeting
  dir=$(mktemp -d)
  if [ "$agent" = aioice ]; then
    greeting=aioice-hello
    timeout 60 "$python" "$here/aioice_peer.py" "$dir" "--$other_role" &
  else
    greeting=nice-hello
    warren_lines "$dir" | timeout 60 "$nice_peer" "$dir" "$other_role" &
  fi
  local peer=$!
  (cd "$root" && WARREN_ICE_EXCHANGE_DIR=$dir WARREN_ICE_ROLE=$warren_role WARREN_ICE_PEER_GREETING=$greeting \
    timeout 90 swift test --skip-build --filter ICEInteropPeer 2>&1 | grep -E "✔|✘|Expectation|connected")
  local swift_rc=$?
  wait "$peer"
  local peer_rc=$?
  rm -rf "$dir"
  if [ "$swift_rc" -eq 0 ] && [ "$peer_rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS: warren $warren_role <-> $agent $other_role"
  else
    failed=$((failed + 1)); echo "FAIL: warren $warren_role <-> $agent $other_role (warren exit $swift_rc, $agent exit $peer_rc)"
  fi
}

for role in controlling controlled; do check aioice "$role"; done
if [ -n "$nice_peer" ]; then
  for role in controlling controlled; do check libnice "$role"; done
fi
echo "ice-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
