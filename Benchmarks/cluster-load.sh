#!/usr/bin/env bash
# What the cluster bus costs (a benchmark, not a timed test; docs/cluster.md, "Numbers"): the same
# load against one `warren signal` alone and against three replicas sharing a PostgreSQL bus, in
# one run. SUBSCRIBERS idle subscribers (spread over the replicas), then RATE envelopes/s for
# SECONDS from publishers on every replica, each to a random subscriber. Reports, for each setup:
# delivery (exactly once), p50/p99 latency (same-replica and cross-replica), memory per idle
# subscriber (resident set growth / subscribers), the servers' CPU per envelope, and PostgreSQL's.
# Usage: Benchmarks/cluster-load.sh WARREN_BINARY PYTHON [SUBSCRIBERS RATE SECONDS]
#        (root; Debian's postgresql; PYTHON with grpcio and grpcio-tools)
set -uo pipefail
warren=$1
python=$2
subscribers=${3:-5000}
rate=${4:-1000}
seconds=${5:-20}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/warren-cluster-load.XXXXXX)
chmod 755 "$work"
pids=()
source "$here/../Interop/cluster/cluster.sh"
# One client process opens every subscription over three connections: no per-connection limits.
replica_args=(--subscribe-rate 0 --publish-rate 0)
trap 'for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done; postgres_down; rm -rf "$work"' EXIT
ticks=$(getconf CLK_TCK)

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# CPU seconds (user + system) of the processes named.
cpu_seconds() { local total=0 pid; for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done; awk -v t="$total" -v hz="$ticks" 'BEGIN { print t / hz }'; }

# Runs the load against replicas $@ (indexes); prints one JSON line.
measure() { # label replica-indexes...
  local label=$1; shift
  local servers="" i pid_list=() rss_before=0 rss_idle=0
  for i in "$@"; do servers="$servers${servers:+,}127.0.0.1:${grpc_port[$i]}"; pid_list+=("${replica_pid[$i]}"); rss_before=$((rss_before + $(rss_kib "${replica_pid[$i]}"))); done
  rm -f "$work/subscribed"
  "$python" "$here/../Interop/cluster/bus_check.py" fanout --servers "$servers" --subscribers "$subscribers" --rate "$rate" \
    --seconds "$seconds" --idle 5 --ready-file "$work/subscribed" --drain 5 >"$work/$label.json" 2>"$work/$label.log" &
  local client=$!
  while [ ! -f "$work/subscribed" ] && kill -0 "$client" 2>/dev/null; do sleep 0.2; done
  sleep 3  # Settled: every subscriber idle.
  for pid in "${pid_list[@]}"; do rss_idle=$((rss_idle + $(rss_kib "$pid"))); done
  sleep 2
  local cpu_before pg_before
  cpu_before=$(cpu_seconds "${pid_list[@]}")
  # shellcheck disable=SC2046
  pg_before=$(cpu_seconds $(postgres_pids))
  wait "$client"
  local cpu_after pg_after
  cpu_after=$(cpu_seconds "${pid_list[@]}")
  # shellcheck disable=SC2046
  pg_after=$(cpu_seconds $(postgres_pids))
  "$python" - "$label" "$work/$label.json" "$rss_before" "$rss_idle" "$cpu_before" "$cpu_after" "$pg_before" "$pg_after" "$subscribers" <<'EOF'
import json, sys
label, path = sys.argv[1], sys.argv[2]
rss_before, rss_idle, cpu_before, cpu_after, pg_before, pg_after, n = map(float, sys.argv[3:])
r = json.load(open(path))
sent = max(r["sent"], 1)
r.update(label=label, kib_per_idle_subscriber=round((rss_idle - rss_before) / n, 2),
         server_cpu_us_per_envelope=round((cpu_after - cpu_before) / sent * 1e6, 1),
         postgres_cpu_us_per_envelope=round((pg_after - pg_before) / sent * 1e6, 1))
print(json.dumps(r))
EOF
}

postgres_up || exit 1
start_replica 9 single
for i in 0 1 2; do start_replica "$i"; done
for i in 9 0 1 2; do wait_ready "${metrics_port[$i]}" 30 || { echo "replica $i not ready"; exit 1; }; done
echo "load: $subscribers idle subscribers, then $rate envelopes/s for $seconds s, each to a random subscriber"
single=$(measure single 9)
echo "$single"
cluster=$(measure cluster 0 1 2)
echo "$cluster"
"$python" - "$single" "$cluster" <<'EOF'
import json, sys
s, c = (json.loads(a) for a in sys.argv[1:3])
print(f"exactly once: single {s['missing'] == 0 and s['duplicates'] == 0}, cluster {c['missing'] == 0 and c['duplicates'] == 0 and c['misdelivered'] == 0}")
print(f"latency p50/p99 ms: single {s['same_replica_ms']['p50']}/{s['same_replica_ms']['p99']}; cluster same replica "
      f"{c['same_replica_ms']['p50']}/{c['same_replica_ms']['p99']}, cross replica {c['cross_replica_ms']['p50']}/{c['cross_replica_ms']['p99']}")
print(f"memory per idle subscriber: single {s['kib_per_idle_subscriber']} KiB, cluster {c['kib_per_idle_subscriber']} KiB "
      f"(ratio {c['kib_per_idle_subscriber'] / max(s['kib_per_idle_subscriber'], 0.01):.2f})")
print(f"server CPU per envelope: single {s['server_cpu_us_per_envelope']} us, cluster (3 replicas) {c['server_cpu_us_per_envelope']} us "
      f"(+{c['server_cpu_us_per_envelope'] - s['server_cpu_us_per_envelope']:.1f} us for the bus); PostgreSQL {c['postgres_cpu_us_per_envelope']} us")
EOF
