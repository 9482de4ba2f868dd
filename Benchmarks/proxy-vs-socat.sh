#!/usr/bin/env bash
# Datagram throughput through Warren's proxies over the selected pair, next to a plain UDP relay
# (socat) on the same two-NAT topology (Interop/netns/topology.sh), measured in the same run.
#
#   Warren: app A -> proxy A -> NAT A -> NAT B -> proxy B -> echo B, and back
#   socat:  app A -> socat A -> NAT A -> NAT B (port forward) -> socat B -> echo B, and back
#
# Both paths cross the same namespaces and NATs and end at the same echo server; the client keeps
# WINDOW datagrams in flight for SECONDS and counts echoes per second. Rounds alternate so that
# noise on a shared machine hits both alike; the report is the ratio of the medians.
#
# Usage: Benchmarks/proxy-vs-socat.sh PYTHON [ROUNDS] [SIZE] [WINDOW]   (root; socat, nftables)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
python=$1
rounds=${2:-5}
size=${3:-1200}
window=${4:-32}
seconds=3
(cd "$root" && swift build -c release --product warren >/dev/null) || { echo "release build failed"; exit 1; }
warren="$(cd "$root" && swift build -c release --show-bin-path)/warren"
source "$root/Interop/netns/topology.sh"
work=$(mktemp -d /tmp/warren-bench.XXXXXX)
trap 'topology_down; rm -rf "$work"' EXIT
echo_py=$root/Interop/netns/udp_echo.py

topology_up || { echo "could not build the topology"; exit 1; }
# socat's path needs a port forward on NAT B (Warren's needs none).
in_ns "$nat_b" nft add table ip portfwd
in_ns "$nat_b" nft add chain ip portfwd prerouting "{ type nat hook prerouting priority dstnat; }"
in_ns "$nat_b" nft add rule ip portfwd prerouting iifname wan udp dport 7001 dnat to 10.2.0.2:7001
in_ns "$nat_b" nft insert rule ip filter forward ip daddr 10.2.0.2 udp dport 7001 accept

ip netns exec "$pub" "$warren" signal --listen 198.51.100.1:8443 --log-level error >"$work/signal.log" 2>&1 &
ip netns exec "$pub" turnserver -n --listening-ip=198.51.100.1 --listening-port=3478 --stun-only --no-tls --no-dtls \
  --no-cli --log-file=stdout --simple-log --pidfile="$work/coturn.pid" >"$work/coturn.log" 2>&1 &
ip netns exec "$host_b" "$python" "$echo_py" server --bind 127.0.0.1:5000 &
ip netns exec "$host_b" socat UDP4-LISTEN:7001,fork,reuseaddr UDP4:127.0.0.1:5000 &
ip netns exec "$host_a" socat UDP4-LISTEN:7000,bind=127.0.0.1,fork,reuseaddr UDP4:203.0.113.2:7001 &

key_a=$("$warren" genkey) key_b=$("$warren" genkey)
for side in a b; do
  if [ $side = a ]; then key=$key_a peer=b theirs=$(echo "$key_b" | "$warren" pubkey); else key=$key_b peer=a theirs=$(echo "$key_a" | "$warren" pubkey); fi
  cat >"$work/$side.yaml" <<EOF
private_key: $key
backends: [ "grpc://198.51.100.1:8443?insecure=true" ]
control_socket: $work/$side.sock
ice:
  urls: [ "stun:198.51.100.1:3478" ]
  interfaces_include: [ eth0 ]
  network_types: [ udp4 ]
peers:
  $peer:
    public_key: $theirs
    forward: 127.0.0.1:5000
    listen: 127.0.0.1:6000
EOF
done
sleep 0.5
ip netns exec "$host_a" "$warren" up --config "$work/a.yaml" --log-level warning >"$work/a.log" 2>&1 &
ip netns exec "$host_b" "$warren" up --config "$work/b.yaml" --log-level warning >"$work/b.log" 2>&1 &
for _ in $(seq 300); do
  state=$("$warren" status --json --socket "$work/a.sock" 2>/dev/null | "$python" -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["state"])' 2>/dev/null)
  [ "$state" = connected ] || [ "$state" = completed ] && break
  sleep 0.1
done
"$warren" status --socket "$work/a.sock" || { cat "$work/a.log"; exit 1; }

measure() { # bind to
  in_ns "$host_a" "$python" "$echo_py" client --bind "$1" --to "$2" --window "$window" --seconds "$seconds" --size "$size" |
    "$python" -c 'import json,sys; print(json.load(sys.stdin)["datagrams_per_second"])'
}
warren_rates=() socat_rates=()
for round in $(seq "$rounds"); do
  warren_rates+=("$(measure 127.0.0.1:5000 127.0.0.1:6000)")
  socat_rates+=("$(measure 127.0.0.1:5001 127.0.0.1:7000)")
  echo "round $round: warren ${warren_rates[-1]}/s, socat ${socat_rates[-1]}/s"
done
w=$(median "${warren_rates[@]}") s=$(median "${socat_rates[@]}")
echo "echoed datagrams per second ($size bytes, window $window, median of $rounds): warren $w, socat $s"
"$python" -c "print(f'ratio: warren / socat = {$w / $s:.2f}')"
