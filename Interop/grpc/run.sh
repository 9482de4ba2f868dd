#!/usr/bin/env bash
# gRPC signaling interop with an independent implementation (Interop/grpc/signaling.py: grpcio +
# PyNaCl, written from the wire facts):
#   1. the Python peer and Warren's grpc:// backend exchange sealed credentials through `warren signal`;
#   2. the same two peers exchange through the Python server.
# Usage: run.sh PYTHON WARREN_BINARY   (PYTHON has grpcio, grpcio-tools and PyNaCl)
set -uo pipefail
python=$1
warren=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
passed=0 failed=0
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; }
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

python_private=$("$python" -c 'import base64; from nacl.public import PrivateKey; print(base64.b64encode(bytes(PrivateKey.generate())).decode())')
python_public=$("$python" -c "import base64,sys; from nacl.public import PrivateKey; print(base64.b64encode(bytes(PrivateKey(base64.b64decode('$python_private')).public_key)).decode())")
warren_private=$("$warren" genkey)
warren_public=$(echo "$warren_private" | "$warren" pubkey)

exchange() { # label server-address
  local label=$1 address=$2
  timeout 60 "$python" "$here/signaling.py" peer --server "$address" --key "$python_private" \
    --peer "$warren_public" --name python --expect warren &
  local python_peer=$!
  (cd "$root" && WARREN_INTEROP_SERVER=$address WARREN_INTEROP_KEY=$warren_private WARREN_INTEROP_PEER=$python_public \
    timeout 120 swift test --skip-build --filter GRPCInteropPeer 2>&1 | grep -E "✔|✘|Expectation" )
  local swift_rc=${PIPESTATUS[0]}
  wait "$python_peer"
  local python_rc=$?
  if [ "$swift_rc" -eq 0 ] && [ "$python_rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "PASS: $label"
  else
    failed=$((failed + 1)); echo "FAIL: $label (warren exit $swift_rc, python exit $python_rc)"
  fi
}

port=$(free_port)
"$warren" signal --listen "127.0.0.1:$port" --log-level warning &
pids+=($!)
if wait_port "$port"; then exchange "python peer <-> warren peer through warren signal" "127.0.0.1:$port"
else failed=$((failed + 1)); echo "FAIL: warren signal did not listen on $port"; fi

port=$(free_port)
"$python" "$here/signaling.py" server "$port" &
pids+=($!)
if wait_port "$port"; then exchange "python peer <-> warren grpc:// backend through the python server" "127.0.0.1:$port"
else failed=$((failed + 1)); echo "FAIL: python server did not listen on $port"; fi

echo "grpc-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
