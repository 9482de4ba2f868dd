#!/usr/bin/env bash
# gRPC signaling interop with an independent implementation (Interop/grpc/signaling.py: grpcio +
# PyNaCl, written from the wire facts):
#   1. the Python peer and Warren's grpc:// backend exchange sealed credentials through `warren signal`;
#   2. the same two peers exchange through the Python server;
#   3. through each server, `warren up` and a peer that follows cunicu's session rules
#      (Interop/grpc/cunicu_peer.py: aioice, cunicu's schema without Warren's field 100) connect,
#      and each side's restart costs the other exactly one restart before they reconnect; every
#      message of Warren's carries field 100 with agent_generation and a strictly increasing sent_at;
#   4. `warren signal --require-proof` refuses a cunicu client (no proof) with UNAUTHENTICATED, and
#      serves it without the flag; `--allow-keys` refuses a key not in the file until SIGHUP re-reads
#      it with the key added.
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

# warren up and the cunicu-rules peer, with a restart on each side.
cunicu_restarts() { # label server-address
  local label=$1 address=$2
  local dir echo_port listen
  dir=$(mktemp -d)
  echo_port=$(free_port)
  listen=$(free_port)
  cat >"$dir/warren.yaml" <<EOF
private_key: $warren_private
backends: [ "grpc://$address?insecure=true" ]
control_socket: $dir/warren.sock
ice:
  interfaces_include: [ lo ]
  network_types: [ udp4 ]
peers:
  cunicu:
    public_key: $python_public
    forward: 127.0.0.1:$echo_port
    listen: 127.0.0.1:$listen
EOF
  "$warren" up --config "$dir/warren.yaml" >"$dir/warren-1.log" 2>&1 &
  local up=$!
  timeout 150 "$python" "$here/cunicu_peer.py" --server "$address" --key "$python_private" --peer "$warren_public" \
    --echo-port "$echo_port" --ready-file "$dir/ready" --report "$dir/report.json" &
  local peer=$!
  local problems=""
  for _ in $(seq 1200); do { [ -f "$dir/ready" ] || ! kill -0 "$peer" 2>/dev/null; } && break; sleep 0.1; done
  if [ -f "$dir/ready" ]; then
    # The cunicu peer restarted once: Warren must have answered with exactly one restart of its own.
    local before
    before=$("$warren" status --json --socket "$dir/warren.sock")
    "$python" -c 'import json,sys; p=json.loads(sys.argv[1])["peers"][0]; c=p["restart_causes"]
sys.exit(0 if p["restarts"] == 1 and c["peer_restarted"] == 1 else 1)' "$before" ||
      problems="$problems; warren restarted other than once for the peer's restart: $before"
    kill -TERM "$up"; wait "$up"
    "$warren" up --config "$dir/warren.yaml" >"$dir/warren-2.log" 2>&1 &
    up=$!
  fi
  wait "$peer"
  local peer_rc=$?
  local after
  after=$("$warren" status --json --socket "$dir/warren.sock" 2>&1)
  # The restarted daemon took the peer's new credentials as its first: no restart at all.
  "$python" -c 'import json,sys; p=json.loads(sys.argv[1])["peers"][0]
sys.exit(0 if p["restarts"] == 0 and p["state"] in ("connected", "completed") else 1)' "$after" ||
    problems="$problems; the restarted warren is not connected without restarts: $after"
  kill -TERM "$up"; wait "$up"
  [ "$peer_rc" -eq 0 ] || problems="$problems; the cunicu peer failed ($(cat "$dir/report.json" 2>/dev/null))"
  if [ -z "$problems" ]; then
    passed=$((passed + 1)); echo "PASS: $label: $(cat "$dir/report.json")"
  else
    failed=$((failed + 1)); echo "FAIL: $label${problems}"
    tail -n 20 "$dir"/warren-*.log
  fi
  rm -rf "$dir"
}

port=$(free_port)
"$warren" signal --listen "127.0.0.1:$port" --log-level warning &
pids+=($!)
if wait_port "$port"; then
  exchange "python peer <-> warren peer through warren signal" "127.0.0.1:$port"
  cunicu_restarts "cunicu-rules peer <-> warren up, restarts both ways, through warren signal" "127.0.0.1:$port"
else failed=$((failed + 2)); echo "FAIL: warren signal did not listen on $port"; fi

# --require-proof: a cunicu client (no proofs) is refused with UNAUTHENTICATED, naming why; the
# same client is served by a server without the flag (above, and here).
port=$(free_port)
"$warren" signal --listen "127.0.0.1:$port" --require-proof --log-level warning &
pids+=($!)
if wait_port "$port"; then
  refused=$("$python" "$here/signaling.py" probe-subscribe --server "127.0.0.1:$port" --key "$python_public")
  if [[ "$refused" == "REFUSED UNAUTHENTICATED "*proof_missing* ]]; then
    passed=$((passed + 1)); echo "PASS: --require-proof refuses a cunicu client: $refused"
  else failed=$((failed + 1)); echo "FAIL: --require-proof: the cunicu client got: $refused"; fi
else failed=$((failed + 1)); echo "FAIL: warren signal --require-proof did not listen on $port"; fi
port=$(free_port)
"$warren" signal --listen "127.0.0.1:$port" --log-level warning &
pids+=($!)
if wait_port "$port"; then
  served=$("$python" "$here/signaling.py" probe-subscribe --server "127.0.0.1:$port" --key "$python_public")
  if [ "$served" = "SUBSCRIBED" ]; then passed=$((passed + 1)); echo "PASS: without --require-proof a cunicu client subscribes"
  else failed=$((failed + 1)); echo "FAIL: without --require-proof the cunicu client got: $served"; fi
else failed=$((failed + 1)); echo "FAIL: warren signal did not listen on $port"; fi

# --allow-keys: a key not in the file is refused (PERMISSION_DENIED); SIGHUP re-reads the file.
port=$(free_port)
keys=$(mktemp)
echo "$warren_public" >"$keys"
"$warren" signal --listen "127.0.0.1:$port" --allow-keys "$keys" --log-level warning &
allow_server=$!
pids+=($allow_server)
if wait_port "$port"; then
  before=$("$python" "$here/signaling.py" probe-subscribe --server "127.0.0.1:$port" --key "$python_public")
  echo "$python_public" >>"$keys"
  kill -HUP "$allow_server"
  after=""
  for _ in $(seq 50); do
    after=$("$python" "$here/signaling.py" probe-subscribe --server "127.0.0.1:$port" --key "$python_public")
    [ "$after" = "SUBSCRIBED" ] && break
    sleep 0.1
  done
  if [[ "$before" == "REFUSED PERMISSION_DENIED "*"not among this server's allowed keys"* ]] && [ "$after" = "SUBSCRIBED" ]; then
    passed=$((passed + 1)); echo "PASS: --allow-keys refuses a key not in the file; after SIGHUP with it added, it subscribes"
  else failed=$((failed + 1)); echo "FAIL: --allow-keys: before SIGHUP '$before', after '$after'"; fi
else failed=$((failed + 1)); echo "FAIL: warren signal --allow-keys did not listen on $port"; fi
rm -f "$keys"

port=$(free_port)
"$python" "$here/signaling.py" server "$port" &
pids+=($!)
if wait_port "$port"; then
  exchange "python peer <-> warren grpc:// backend through the python server" "127.0.0.1:$port"
  cunicu_restarts "cunicu-rules peer <-> warren up, restarts both ways, through the python server" "127.0.0.1:$port"
else failed=$((failed + 2)); echo "FAIL: python server did not listen on $port"; fi

echo "grpc-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
