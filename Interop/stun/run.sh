#!/usr/bin/env bash
# Server-reflexive gathering against coturn (Debian) on loopback.
# Usage: run.sh   (turnserver on PATH)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
turnserver -n --listening-ip=127.0.0.1 --listening-port="$port" --no-tls --no-dtls --no-cli \
  --log-file=stdout --simple-log --pidfile="$log.pid" >"$log" 2>&1 &
coturn=$!
trap 'kill $coturn 2>/dev/null; wait $coturn 2>/dev/null; rm -f "$log" "$log.pid"' EXIT
for _ in $(seq 50); do grep -q "listener opened on" "$log" 2>/dev/null && break; sleep 0.1; done
(cd "$root" && WARREN_STUN_SERVER=127.0.0.1:$port timeout 120 swift test --skip-build --filter STUNServerInterop 2>&1 |
  grep -E "✔|✘|Expectation|stun-gathering")
rc=$?
if [ "$rc" -eq 0 ]; then echo "stun-interop: 1 passed, 0 failed"; else tail -20 "$log"; echo "stun-interop: 0 passed, 1 failed"; fi
exit "$rc"
