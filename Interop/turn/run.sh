#!/usr/bin/env bash
# TURN interop on loopback: Warren's TURN client and relay candidates against coturn (Debian),
# with static long-term credentials. Relayed peers are on loopback, so coturn is told to allow
# them; nothing leaves the machine.
# Usage: run.sh   (turnserver on PATH)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
port=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$port" --min-port=49152 --max-port=49999 \
  --lt-cred-mech --user="alice:$password" --realm=warren.test --allow-loopback-peers --no-tls --no-dtls --no-cli \
  --no-tcp-relay --log-file=stdout --simple-log --pidfile="$log.pid" --userdb="$log.db" >"$log" 2>&1 &
coturn=$!
trap 'kill $coturn 2>/dev/null; wait $coturn 2>/dev/null; rm -f "$log" "$log.pid" "$log.db"' EXIT
for _ in $(seq 50); do grep -q "listener opened on" "$log" 2>/dev/null && break; sleep 0.1; done
(cd "$root" && WARREN_TURN_SERVER=127.0.0.1:$port WARREN_TURN_USERNAME=alice WARREN_TURN_PASSWORD=$password \
  timeout 120 swift test --skip-build --filter TURNServerInterop 2>&1 | grep -E "✔|✘|Expectation|turn-relay")
rc=$?
if [ "$rc" -eq 0 ]; then echo "turn-interop: 2 passed, 0 failed"; else tail -30 "$log"; echo "turn-interop: failed (exit $rc)"; fi
exit "$rc"
