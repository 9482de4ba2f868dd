#!/usr/bin/env bash
# A replica of a three-replica `warren signal --cluster` killed under load (a benchmark, not a
# timed test; docs/cluster.md, "Failover under load"):
#
#   - CLIENTS Warren clients (Benchmarks' FailoverClients: one `grpc://` backend each, as many
#     daemons would have, listing the three replicas, each on its random one) hold a
#     subscription each;
#   - a measuring client (signal_load.py, Python grpcio) keeps 1,000 envelopes/s flowing between
#     1,000 subscribers of its own on replica 1 for SECONDS: once as the baseline, once while
#     replica 0 is killed with SIGKILL three seconds into the window;
#   - the survivors' `warren_signal_subscriptions` is read every 50 ms from /metrics.
#
# Prints how many clients moved, the subscribe rate the survivors saw (the peak over 100 ms and
# over 1 s, per survivor and together), how long until every moved client was subscribed again,
# and the measuring client's delivery p50/p99 in the window with the kill next to the baseline.
# SPREAD_MS=0 runs the clients without the hand-over spread (every moved client at once), for
# comparison; FAILOVER_CLIENTS=path uses that build of FailoverClients.
#
# Usage: Benchmarks/cluster-failover.sh WARREN_BINARY PYTHON [CLIENTS SECONDS]   (3000 10)
#        (root; Debian's postgresql; PYTHON with grpcio and grpcio-tools)
set -uo pipefail
warren=$1
python=$2
clients=${3:-3000}
seconds=${4:-10}
spread_ms=${SPREAD_MS:-2000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/warren-cluster-failover.XXXXXX)
chmod 755 "$work"
pids=()
source "$here/../Interop/cluster/cluster.sh"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
trap 'exec 3>&- 2>/dev/null; for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done; postgres_down; rm -rf "$work"' EXIT

failover_clients=${FAILOVER_CLIENTS:-}
if [ -z "$failover_clients" ]; then
  (cd "$here" && swift build -c release --product FailoverClients >"$work/build.log" 2>&1) || { tail -n 20 "$work/build.log"; exit 1; }
  failover_clients="$(cd "$here" && swift build -c release --show-bin-path)/FailoverClients"
fi

postgres_up || exit 1
for i in 0 1 2; do start_replica "$i"; done
for i in 0 1 2; do wait_ready "${metrics_port[$i]}" 30 || { echo "replica $i not ready"; exit 1; }; done
# The machine's cores split as a network would split machines: the servers (replicas and
# PostgreSQL) on the first, the clients on the last. On one core, the measuring client runs at
# normal priority and the Warren clients niced, so that their reconnection work (a grpc-swift
# client's connection setup costs milliseconds of CPU) does not delay the measurement.
cores=$(nproc)
server_core=0 client_core=$((cores - 1))
for pid in "${replica_pid[@]}" $(postgres_pids); do taskset -a -cp "$server_core" "$pid" >/dev/null; done
subscriptions() { metric "${metrics_port[$1]}" warren_signal_subscriptions | cut -d. -f1; }

# The clients hold their subscriptions while file descriptor 3 (a pipe to their standard input)
# stays open.
mkfifo "$work/hold"
taskset -c "$client_core" nice -n 19 "$failover_clients" "grpc://127.0.0.1:${grpc_port[0]},127.0.0.1:${grpc_port[1]},127.0.0.1:${grpc_port[2]}?insecure=true" \
  "$clients" "$spread_ms" <"$work/hold" >"$work/clients.out" 2>"$work/clients.err" &
pids+=($!)
exec 3>"$work/hold"
started=$(now_ms)
until grep -q "^ready" "$work/clients.out" 2>/dev/null; do
  if [ $(($(now_ms) - started)) -gt 180000 ]; then echo "the clients did not subscribe within 180 s"; tail -n 5 "$work/clients.err"; exit 1; fi
  sleep 0.2
done
echo "cluster-failover: $clients Warren clients subscribed in $(($(now_ms) - started)) ms, hand-over spread $spread_ms ms;" \
  "on the replicas: $(subscriptions 0) $(subscriptions 1) $(subscriptions 2)"

load() { taskset -c "$client_core" "$python" "$here/signal_load.py" --port "${grpc_port[1]}" --pid "${replica_pid[1]}" --subscribers 1000 --rate 1000 --seconds "$seconds"; }
baseline=$(load)
echo "baseline (no kill): $baseline"

before=("$(subscriptions 0)" "$(subscriptions 1)" "$(subscriptions 2)")
load >"$work/failover.json" &
loader=$!
sleep 3
# The survivors' subscriptions, every 50 ms, from a second before the kill until well after it.
"$python" - "${metrics_port[1]}" "${metrics_port[2]}" $((seconds - 4)) >"$work/samples" <<'PY' &
import sys, time, urllib.request
ports, duration = sys.argv[1:3], float(sys.argv[3])
end = time.monotonic() + duration
while time.monotonic() < end:
    t = time.monotonic()
    counts = []
    for port in ports:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
            counts.append(next(int(float(l.split()[1])) for l in text.splitlines() if l.startswith("warren_signal_subscriptions ")))
        except Exception:
            counts.append(-1)
    print(f"{t:.4f} {counts[0]} {counts[1]}", flush=True)
    time.sleep(max(0, 0.05 - (time.monotonic() - t)))
PY
sampler=$!
sleep 1
# CPU seconds of each process over the 4 s after the kill: where the machine's two cores went.
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
clients_pid=${pids[-1]}
watched=("${replica_pid[1]}" "${replica_pid[2]}" "$clients_pid")
cpu_before=(); for pid in "${watched[@]}"; do cpu_before+=("$(cpu "$pid")"); done
kill -9 "${replica_pid[0]}"
killed=$("$python" -c 'import time; print(f"{time.monotonic():.4f}")')
sleep 4
cpu_used=(); for i in "${!watched[@]}"; do cpu_used+=("$(( $(cpu "${watched[$i]}") - cpu_before[i] ))"); done
echo "CPU over the 4 s after the kill, % of a core: replica 1 $((cpu_used[0] * 100 / ticks / 4)), replica 2 $((cpu_used[1] * 100 / ticks / 4)), the $clients clients $((cpu_used[2] * 100 / ticks / 4))"
wait "$loader"
wait "$sampler"
echo "with replica 0 killed (SIGKILL) 3 s into the window: $(cat "$work/failover.json")"

"$python" - "$work/samples" "$killed" "${before[@]}" "$baseline" "$(cat "$work/failover.json")" <<'PY'
import json, sys
samples = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
killed = float(sys.argv[2])
before = list(map(int, sys.argv[3:6]))
baseline, failover = json.loads(sys.argv[6]), json.loads(sys.argv[7])
moved = before[0]
samples = [s for s in samples if s[1] >= 0 and s[2] >= 0]
start = [s for s in samples if s[0] <= killed][-1]
def peak(index, window):
    best = 0.0
    for i, (t, *_) in enumerate(samples):
        j = i
        while j + 1 < len(samples) and samples[j + 1][0] - t <= window + 1e-9: j += 1
        if j > i:
            grown = sum(samples[j][k] - samples[i][k] for k in index)
            best = max(best, grown / window)
    return best
done = next((t - killed for t, a, b in samples if t >= killed and (a - start[1]) + (b - start[2]) >= moved), None)
last = [s for s in samples if done is None or s[0] - killed <= done][-1]
grew = (last[1] - start[1], last[2] - start[2])
print(f"moved: {moved} clients of replica 0; replica 1 took {grew[0]}, replica 2 took {grew[1]}; "
      f"every one subscribed again {f'{done:.2f} s' if done is not None else 'not within the sampling'} after the kill")
for label, index in (("replica 1", (1,)), ("replica 2", (2,)), ("both survivors", (1, 2))):
    print(f"peak subscribe rate, {label}: {peak(index, 0.1):.0f}/s over 100 ms, {peak(index, 1.0):.0f}/s over 1 s")
print(f"delivery on replica 1, p50/p99 ms: baseline {baseline['p50_ms']}/{baseline['p99_ms']}, "
      f"with the failover {failover['p50_ms']}/{failover['p99_ms']}; lost {failover['lost']}, duplicated {failover['duplicated']}")
PY
exec 3>&-
