#!/usr/bin/env bash
# TURN interop on loopback against coturn (Debian). Relayed peers are on loopback, so coturn is
# told to allow them; nothing leaves the machine.
#   1. Warren's TURN client and relay candidates with static long-term credentials, over UDP, TCP
#      and TLS (the Swift interop test: allocation, a relay-only agent connecting through it, data
#      both ways, a wrong password refused);
#   2. TURN REST credentials: `warren signal --relay 'turn:…?secret=…'` hands them out through its
#      RelayRegistry, coturn checks them with the same static-auth-secret, and two relay-only
#      `warren up` daemons that know only the registry's grpc:// URL connect through coturn.
# Usage: run.sh WARREN_BINARY   (turnserver on PATH)
set -uo pipefail
warren=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
passed=0 failed=0
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
coturn() { # log-name args...
  local name=$1; shift
  turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --min-port=49152 --max-port=49999 --realm=warren.test \
    --allow-loopback-peers --no-dtls --no-cli --no-tcp-relay --log-file=stdout --simple-log \
    --pidfile="$work/$name.pid" --userdb="$work/$name.db" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q "listener opened on" "$work/$name.log" 2>/dev/null && break; sleep 0.1; done
}

# 1. Static long-term credentials, over UDP, TCP and TLS (a certificate made for this run).
port=$(free_port)
tls_port=$(free_port)
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=turn.warren.test \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
coturn static --listening-port="$port" --tls-listening-port="$tls_port" --cert="$work/cert.pem" --pkey="$work/key.pem" \
  --lt-cred-mech --user="alice:$password"
for transport in udp tcp tls; do
  server_port=$port
  [ "$transport" = tls ] && server_port=$tls_port
  (cd "$root" && WARREN_TURN_SERVER=127.0.0.1:$server_port WARREN_TURN_USERNAME=alice WARREN_TURN_PASSWORD=$password \
    WARREN_TURN_TRANSPORT=$transport timeout 120 swift test --skip-build --filter TURNServerInterop 2>&1 |
    grep -E "✔|✘|Expectation|turn-relay")
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then passed=$((passed + 1)); echo "PASS: relay candidates over $transport with static credentials"
  else failed=$((failed + 1)); echo "FAIL: relay candidates over $transport with static credentials"; tail -20 "$work/static.log"; fi
done

# 2. TURN REST credentials from warren signal's RelayRegistry.
rest_port=$(free_port)
secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
coturn rest --listening-port="$rest_port" --use-auth-secret --static-auth-secret="$secret"
signal_port=$(free_port)
"$warren" signal --listen "127.0.0.1:$signal_port" --relay "turn:127.0.0.1:$rest_port?secret=$secret&ttl=1h" \
  --log-level warning >"$work/signal.log" 2>&1 &
pids+=($!)
key_a=$("$warren" genkey) key_b=$("$warren" genkey)
public_a=$(echo "$key_a" | "$warren" pubkey) public_b=$(echo "$key_b" | "$warren" pubkey)
for side in a b; do
  if [ $side = a ]; then key=$key_a peer=b theirs=$public_b; else key=$key_b peer=a theirs=$public_a; fi
  cat >"$work/$side.yaml" <<YAML
private_key: $key
backends: [ "grpc://127.0.0.1:$signal_port?insecure=true" ]
control_socket: $work/$side.sock
ice:
  urls: [ "grpc://127.0.0.1:$signal_port?insecure=true" ]
  candidate_types: [ relay ]
  interfaces_include: [ lo ]
  network_types: [ udp4 ]
peers:
  $peer:
    public_key: $theirs
    forward: 127.0.0.1:9
YAML
done
sleep 0.5
"$warren" up --config "$work/a.yaml" >"$work/up-a.log" 2>&1 &
pids+=($!)
"$warren" up --config "$work/b.yaml" >"$work/up-b.log" 2>&1 &
pids+=($!)
path=""
for _ in $(seq 150); do
  path=$("$warren" status --json --socket "$work/a.sock" 2>/dev/null | python3 -c 'import json,sys; p=json.load(sys.stdin)["peers"][0]; print(p["state"], p.get("path"))' 2>/dev/null)
  case $path in connected* | completed*) break ;; esac
  sleep 0.1
done
pings=$("$warren" ping b -c 3 --interval 0.1 --json --socket "$work/a.sock" 2>&1)
if [[ $path == *relay ]] && [ "$(grep -c '"path":"relay"' <<<"$pings")" -eq 3 ]; then
  passed=$((passed + 1)); echo "PASS: relay-only daemons connected through coturn with REST credentials from warren signal ($path)"
else
  failed=$((failed + 1)); echo "FAIL: relay-only daemons with REST credentials: state '$path', pings: $pings"
  tail -20 "$work/up-a.log" "$work/rest.log"
fi
echo "turn-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
