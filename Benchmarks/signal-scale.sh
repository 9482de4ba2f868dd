#!/usr/bin/env bash
# One `warren signal` replica with many connected subscribers (a load test, not a timed test):
# HOLDERS processes of Benchmarks/signal_load.py --hold, one after another, each open PER_HOLDER
# idle subscribers (one connection each, in waves of BATCH=500); then a measuring client adds
# 3,000 more and publishes 1,000 envelopes/s to those for SECONDS. Prints each holder's setup
# time, the server's resident memory per subscriber and the measuring client's line (delivery
# p50/p99, lost, duplicated).
#
#   Benchmarks/signal-scale.sh [HOLDERS] [PER_HOLDER] [SECONDS]   (2 8000 10)
#
# Every connection is a file descriptor of the server's: the subscribers it can hold are bounded by
# its limit of open files (`ulimit -n`; 20,000 on the machine these figures come from). WARREN=path
# measures that binary; SERVER=cunicu measures `cunicu signal` (CUNICU=path) instead.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
holders=${1:-2}
per_holder=${2:-8000}
seconds=${3:-10}
python=${PYTHON:-$root/.build-ci/venv/bin/python}
server_kind=${SERVER:-warren}
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$server_kind" = warren ] && [ -z "${WARREN:-}" ]; then
  (cd "$root" && swift build -c release --product warren >/dev/null)
fi
warren=${WARREN:-"$(cd "$root" && swift build -c release --show-bin-path)/warren"}
cunicu=${CUNICU:-$(cd "$root/../shared/interop/cunicu" && pwd)/cunicu}
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

case $server_kind in
  warren) "$warren" signal --listen "127.0.0.1:$port" --publish-rate 0 --subscribe-rate 0 --log-level warning & ;;
  cunicu) "$cunicu" signal -L "127.0.0.1:$port" >/dev/null 2>&1 & ;;
esac
server=$!
pids+=("$server")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$server/status"; }
rss_before=$(rss)

echo "signal-scale: $server_kind, $holders x $per_holder idle subscribers + 3000 measured, 1000 envelopes/s for $seconds s"
# One holder after another, each subscribing in waves of BATCH (500): a server's listen backlog
# holds only so many connections not yet accepted (swift-nio's default is 128, which grpc-swift
# keeps), and a refused SYN costs a client seconds of retransmission.
batch=${BATCH:-500}
started=$(date +%s.%N)
for index in $(seq "$holders"); do
  "$python" "$here/signal_load.py" --port "$port" --pid "$server" --subscribers "$per_holder" --hold \
    --batch "$batch" --setup-timeout 600 >"$work/holder-$index" 2>&1 &
  pids+=("$!")
  until grep -q '"held"' "$work/holder-$index" 2>/dev/null; do
    kill -0 "${pids[$index]}" 2>/dev/null || { echo "holder $index failed: $(tail -n 3 "$work/holder-$index")"; exit 1; }
    sleep 0.2
  done
  echo "holder $index: $(grep '"held"' "$work/holder-$index")"
done
held=$((holders * per_holder))
elapsed=$(awk -v now="$(date +%s.%N)" -v then="$started" 'BEGIN { printf "%.1f", now - then }')
echo "$held idle subscribers up after $elapsed s; server RSS $(( $(rss) / 1024 )) MiB"
line=$("$python" "$here/signal_load.py" --port "$port" --pid "$server" --subscribers 3000 --seconds "$seconds") || true
echo "measured: $line"
total=$((held + 3000))
echo "signal-scale: $total subscribers, $(( ($(rss) - rss_before) / total )) KiB of server RSS each"
