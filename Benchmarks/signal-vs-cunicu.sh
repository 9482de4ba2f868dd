#!/usr/bin/env bash
# `warren signal` against the real `cunicu signal` (../shared/interop/cunicu), measured by one
# independent load client (Benchmarks/signal_load.py, Python grpcio) in one run, in the order
# Warren, cunicu, cunicu, Warren (so that a drift of the machine hits both alike), and printed as
# Warren's medians over cunicu's. A load test, not a timed test.
#
#   Benchmarks/signal-vs-cunicu.sh [SUBSCRIBERS] [PER_CONNECTION] [SECONDS]   (3000 1 10)
#
# WARREN=path measures that binary (default: this tree's release build); CUNICU=path another
# cunicu; PYTHON=path a Python with grpcio and grpcio-tools (default: .build-ci/venv's);
# WARREN_ARGS more options for `warren signal` (say `--engine grpc-swift`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
subscribers=${1:-3000}
per_connection=${2:-1}
seconds=${3:-10}
rate=${RATE:-1000}
python=${PYTHON:-$root/.build-ci/venv/bin/python}
cunicu=${CUNICU:-$(cd "$root/../shared/interop/cunicu" && pwd)/cunicu}
if [ -z "${WARREN:-}" ]; then
  (cd "$root" && swift build -c release --product warren >/dev/null)
fi
warren=${WARREN:-"$(cd "$root" && swift build -c release --show-bin-path)/warren"}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# One measurement: start the server, wait for its port, run the client, stop the server.
measure() { # name
  local name=$1 port server
  port=$(free_port)
  case $name in
    # Rate limits off: this measures the relay's ceiling, not the per-connection limits.
    warren) "$warren" signal --listen "127.0.0.1:$port" --publish-rate 0 --subscribe-rate 0 --log-level warning ${WARREN_ARGS:-} & ;;
    cunicu) "$cunicu" signal -L "127.0.0.1:$port" >/dev/null 2>&1 & ;;
  esac
  server=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  local line
  if line=$("$python" "$here/signal_load.py" --port "$port" --pid "$server" --subscribers "$subscribers" \
      --per-connection "$per_connection" --rate "$rate" --seconds "$seconds"); then :; else
    echo "$name: the load client failed (lost, duplicated or failed publishes): $line" >&2
  fi
  kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true
  echo "$name $line" | tee -a "$results"
}

echo "signal-vs-cunicu: $subscribers subscribers, $per_connection per connection, $rate envelopes/s for $seconds s"
for name in warren cunicu cunicu warren; do measure "$name"; done

"$python" - "$results" "$per_connection" <<'EOF'
import json, statistics, sys
runs = {"warren": [], "cunicu": []}
for line in open(sys.argv[1]):
    name, _, payload = line.partition(" ")
    if payload.strip().startswith("{"):
        runs[name].append(json.loads(payload))
per = "subscription" if sys.argv[2] != "1" else "subscriber"
rows = [("server CPU, % of a core", "cpu_percent"), ("delivery p50, ms", "p50_ms"),
        ("delivery p99, ms", "p99_ms"), (f"memory per {per}, KiB", "rss_per_subscriber_kib"),
        ("setup of every subscription, s", "setup_s")]
print(f"{'':34} {'warren':>10} {'cunicu':>10} {'ratio':>7}")
for label, field in rows:
    w = statistics.median(r[field] for r in runs["warren"]) if runs["warren"] else float("nan")
    c = statistics.median(r[field] for r in runs["cunicu"]) if runs["cunicu"] else float("nan")
    print(f"{label:34} {w:10.3f} {c:10.3f} {w / c if c else float('nan'):7.2f}")
lost = sum(r["lost"] + r["duplicated"] for rs in runs.values() for r in rs)
print(f"signal-vs-cunicu: {len(runs['warren'])} warren runs, {len(runs['cunicu'])} cunicu runs, "
      f"{lost} envelopes lost or duplicated")
EOF
