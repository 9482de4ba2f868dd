#!/usr/bin/env bash
# Load benchmark of `warren signal` on loopback (a load test, not a timed test): for 1,000 and
# 10,000 idle subscribers, server memory per subscriber; then relay throughput and
# publish-to-delivery latency next to a no-op unary gRPC call measured in the same run.
# Usage: Benchmarks/signal-load.sh [SECONDS]; WARREN=path measures that binary instead of this
# tree's release build (another commit's, for a before/after in the same run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-5}
if [ -z "${WARREN:-}" ]; then
  (cd "$here/.." && swift build -c release --product warren >/dev/null)
fi
(cd "$here" && swift build -c release --product SignalLoad >/dev/null)
warren=${WARREN:-"$(cd "$here/.." && swift build -c release --show-bin-path)/warren"}
load="$(cd "$here" && swift build -c release --show-bin-path)/SignalLoad"
ulimit -n 65536 2>/dev/null || true
for subscribers in 1000 10000; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # Rate limits off: this measures the relay's ceiling, not the per-connection limits.
  "$warren" signal --listen "127.0.0.1:$port" --publish-rate 0 --subscribe-rate 0 --log-level warning &
  server=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  echo "== $subscribers subscribers"
  "$load" "$port" "$server" "$subscribers" "$seconds" || true
  kill "$server"; wait "$server" 2>/dev/null || true
done
