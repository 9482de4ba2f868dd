#!/usr/bin/env bash
# What proofs of key possession cost `warren signal` on loopback (a benchmark, not a timed test):
# Subscribe calls per second and their latency, without and with a proof, in alternating rounds
# against one server in the same run. Rate limits are off: this measures the server, not them.
# Usage: Benchmarks/subscribe-proofs.sh [SUBSCRIBES_PER_ROUND]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
per_round=${1:-4096}
(cd "$here/.." && swift build -c release --product warren >/dev/null)
(cd "$here" && swift build -c release --product SubscribeProofs >/dev/null)
warren="$(cd "$here/.." && swift build -c release --show-bin-path)/warren"
bench="$(cd "$here" && swift build -c release --show-bin-path)/SubscribeProofs"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$warren" signal --listen "127.0.0.1:$port" --publish-rate 0 --subscribe-rate 0 --log-level warning &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$bench" "$port" "$per_round"
