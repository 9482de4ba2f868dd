#!/usr/bin/env bash
# What an idle daemon costs: one `warren up` (the hub) with PEERS connected peers and no traffic,
# each peer a `warren up` of its own, all through `warren signal` on loopback. Over SECONDS, the
# hub's CPU time and its context switches (each a wakeup: a timer, a datagram, a thread handoff)
# from /proc. Give several binaries to compare them in the same run.
# Usage: Benchmarks/idle-daemon.sh [PEERS] [SECONDS] WARREN...
set -uo pipefail
peers=${1:-20}
seconds=${2:-60}
shift 2
[ $# -ge 1 ] || { echo "usage: $0 PEERS SECONDS WARREN..." >&2; exit 2; }
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# utime + stime (clock ticks) and voluntary + involuntary context switches of a process, summed
# over its threads (those of threads that ended are lost: an idle daemon keeps its threads).
sample() {
  local stat ticks switches
  stat=$(cut -d' ' -f14,15 "/proc/$1/stat")
  ticks=$(( ${stat% *} + ${stat#* } ))
  switches=$(cat "/proc/$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }')
  echo "$ticks $switches"
}

measure() { # warren
  local warren=$1 dir port hub_key
  dir=$(mktemp -d)
  port=$(free_port)
  "$warren" signal --listen "127.0.0.1:$port" --log-level warning & pids+=($!)
  hub_key=$("$warren" genkey)
  local hub_public
  hub_public=$(echo "$hub_key" | "$warren" pubkey)
  {
    echo "private_key: $hub_key"
    echo "backends: [ \"grpc://127.0.0.1:$port?insecure=true\" ]"
    echo "control_socket: $dir/hub.sock"
    echo "ice: { interfaces_include: [ lo ], network_types: [ udp4 ] }"
    echo "peers:"
  } >"$dir/hub.yaml"
  for i in $(seq "$peers"); do
    local key
    key=$("$warren" genkey)
    printf '  p%s:\n    public_key: %s\n    forward: 127.0.0.1:9\n' "$i" "$(echo "$key" | "$warren" pubkey)" >>"$dir/hub.yaml"
    cat >"$dir/p$i.yaml" <<EOF
private_key: $key
backends: [ "grpc://127.0.0.1:$port?insecure=true" ]
control_socket: $dir/p$i.sock
ice: { interfaces_include: [ lo ], network_types: [ udp4 ] }
peers:
  hub:
    public_key: $hub_public
    forward: 127.0.0.1:9
EOF
    "$warren" up --config "$dir/p$i.yaml" --log-level warning & pids+=($!)
  done
  "$warren" up --config "$dir/hub.yaml" --log-level warning & local hub=$!; pids+=($hub)
  local connected=0
  for _ in $(seq 600); do
    connected=$("$warren" status --json --socket "$dir/hub.sock" 2>/dev/null |
      python3 -c 'import json,sys; print(sum(p["state"] in ("connected","completed") for p in json.load(sys.stdin)["peers"]))' 2>/dev/null || echo 0)
    [ "$connected" = "$peers" ] && break
    sleep 0.1
  done
  sleep 2
  local before after
  before=$(sample "$hub")
  sleep "$seconds"
  after=$(sample "$hub")
  set -- $before $after
  local hz ms switches
  hz=$(getconf CLK_TCK)
  ms=$(( ($3 - $1) * 1000 / hz ))
  switches=$(( $4 - $2 ))
  echo "$(basename "$warren"): $connected/$peers peers connected; over $seconds s: CPU $ms ms ($(python3 -c "print(f'{$ms / 10 / $seconds:.2f}')") % of a core), $switches context switches ($(( switches / seconds ))/s)"
  cleanup; pids=()
  rm -rf "$dir"
}

for warren in "$@"; do measure "$warren"; done
