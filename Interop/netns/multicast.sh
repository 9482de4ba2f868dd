#!/usr/bin/env bash
# The multicast signaling backend on a real LAN in network namespaces: hosts on one bridge
# (10.50.0.0/24), each running `warren up` with its own backend and no signaling server.
#
#   1. three hosts, each configured with the other two: all three sessions of each reach Connected
#      through multicast signaling alone;
#   2. a fourth host on the same bridge with a socket on the group's port but not joined to the
#      group receives nothing;
#   3. a multi-backend of gRPC (no server there: down) and multicast still connects two hosts.
#
# Usage: multicast.sh WARREN_BINARY PYTHON   (root; iproute2)
set -uo pipefail
warren=$1
python=$2
id=$$
bridge=wmbr$id
hosts=(wm1$id wm2$id wm3$id wm4$id)
work=$(mktemp -d /tmp/warren-mcast.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
pids=()

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for ns in "${hosts[@]}" "$bridge"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# The LAN: a bridge in a namespace of its own, one veth per host.
ip netns add "$bridge"
ip netns exec "$bridge" ip link add br0 type bridge
ip netns exec "$bridge" ip link set br0 up
for index in 0 1 2 3; do
  ns=${hosts[$index]}
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  ip link add eth0 netns "$ns" type veth peer name "port$index" netns "$bridge"
  ip netns exec "$bridge" ip link set "port$index" master br0 up
  ip netns exec "$ns" ip addr add "10.50.0.$((index + 1))/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
done

keys=() publics=()
for index in 0 1 2; do
  keys+=("$("$warren" genkey)")
  publics+=("$(echo "${keys[$index]}" | "$warren" pubkey)")
done
group="multicast://239.7.7.7:9797?interface=eth0"
write_config() { # index backends others...
  local index=$1 backends=$2; shift 2
  {
    echo "private_key: ${keys[$index]}"
    echo "backends: $backends"
    echo "control_socket: $work/$index.sock"
    echo "ice:"
    echo "  interfaces_include: [ eth0 ]"
    echo "  network_types: [ udp4 ]"
    echo "peers:"
    for other in "$@"; do
      echo "  host$other:"
      echo "    public_key: ${publics[$other]}"
      echo "    forward: 127.0.0.1:9"
    done
  } >"$work/$index.yaml"
}
start() { # index
  ip netns exec "${hosts[$1]}" "$warren" up --config "$work/$1.yaml" >>"$work/up-$1.log" 2>&1 &
  pids+=($!)
}
connected_count() { # index: how many of its sessions are connected
  "$warren" status --json --socket "$work/$1.sock" 2>/dev/null |
    "$python" -c 'import json,sys; print(sum(p["state"] in ("connected","completed") for p in json.load(sys.stdin)["peers"]))' 2>/dev/null || echo 0
}
# Polls until the hosts' connected-session counts read `want` (e.g. "2 2 2") or `tries` tenths of
# a second pass; prints the last reading.
wait_counts() { # want tries host-index...
  local want=$1 tries=$2 reading=""; shift 2
  for _ in $(seq "$tries"); do
    reading=$(for index in "$@"; do connected_count "$index"; done | paste -sd ' ')
    [ "$reading" = "$want" ] && break
    sleep 0.1
  done
  echo "$reading"
}

# 1. Three hosts, multicast only.
write_config 0 "[ \"$group\" ]" 1 2
write_config 1 "[ \"$group\" ]" 0 2
write_config 2 "[ \"$group\" ]" 0 1
# 2 (listener first): a socket on the group's port that never joins the group.
ip netns exec "${hosts[3]}" "$python" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9797)); s.settimeout(15)
try:
    data, source = s.recvfrom(65536); print(f"received {len(data)} bytes from {source}")
except socket.timeout:
    print("nothing received")' >"$work/outsider.txt" 2>&1 &
outsider=$!
for index in 0 1 2; do start "$index"; done
all=$(wait_counts "2 2 2" 150 0 1 2)
if [ "$all" = "2 2 2" ]; then
  pass "three hosts on one LAN: every session connected through multicast signaling alone"
else
  fail "multicast signaling: connected sessions per host '$all' (want 2 2 2)"
  tail -n 20 "$work"/up-*.log
fi
wait "$outsider"
if grep -q "nothing received" "$work/outsider.txt"; then
  pass "a host on the same bridge that did not join the group received nothing"
else
  fail "the outsider saw traffic: $(cat "$work/outsider.txt")"
fi
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
pids=()

# 3. gRPC (nothing listens at 10.50.0.250) and multicast together: multicast carries it.
write_config 0 "[ \"grpc://10.50.0.250:8443?insecure=true\", \"$group\" ]" 1
write_config 1 "[ \"grpc://10.50.0.250:8443?insecure=true\", \"$group\" ]" 0
rm -f "$work"/*.sock
start 0
start 1
both=$(wait_counts "1 1" 200 0 1)
if [ "$both" = "1 1" ]; then pass "multi-backend with gRPC down and multicast up: connected"
else fail "multi-backend with gRPC down: connected sessions '$both'"; tail -n 20 "$work"/up-*.log; fi

echo "multicast-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
