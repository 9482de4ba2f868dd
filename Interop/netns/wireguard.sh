#!/usr/bin/env bash
# Real WireGuard across two NATs (topology.sh): wireguard-go in each host namespace, configured
# with keys, addresses and allowed IPs but no endpoints; `warren up` on each host knows only the
# interface name, the signaling URL and the STUN/TURN URLs.
#
#   1. cone NATs: `ping` between the WireGuard addresses, a TCP transfer through the tunnel,
#      `warren status` shows WireGuard's handshake, the path is peer to peer;
#   2. a peer added to the interface while Warren runs gets a session; removed, it loses it;
#   3. both NATs symmetric: the tunnel works through the TURN relay;
#   4. throughput of a TCP transfer through Warren's proxy, next to WireGuard with endpoints set
#      directly on the same topology without NAT, in the same run (reported as a ratio).
#
# Usage: wireguard.sh WARREN_BINARY PYTHON   (root; wireguard-go, wireguard-tools, iputils-ping)
set -uo pipefail
warren=$1
python=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/topology.sh"
work=$(mktemp -d /tmp/warren-wg.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
# Interface names are global (the userspace sockets live in /var/run/wireguard): one per host.
wg_a=wa$topology_id wg_b=wb$topology_id
wg_a=${wg_a:0:15} wg_b=${wg_b:0:15}

cleanup() {
  pkill -f "wireguard-go $wg_a" 2>/dev/null
  pkill -f "wireguard-go $wg_b" 2>/dev/null
  topology_down
  rm -f "/var/run/wireguard/$wg_a.sock" "/var/run/wireguard/$wg_b.sock"
  rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 15 lines)"; tail -n 15 "$log"; done; }

topology_up || { echo "wireguard-e2e: 0 passed, 1 failed (could not build the topology)"; exit 1; }
turn_password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
ip netns exec "$pub" turnserver -n --listening-ip=198.51.100.1 --relay-ip=198.51.100.1 --listening-port=3478 \
  --min-port=49152 --max-port=49999 --lt-cred-mech --user="warren:$turn_password" --realm=warren.test \
  --denied-peer-ip=10.0.0.0-10.255.255.255 --no-tcp-relay --no-tls --no-dtls --no-cli \
  --log-file=stdout --simple-log --pidfile="$work/coturn.pid" --userdb="$work/turndb" >"$work/coturn.log" 2>&1 &
ip netns exec "$pub" "$warren" signal --listen 198.51.100.1:8443 --log-level warning >"$work/signal.log" 2>&1 &

# WireGuard in each host: keys, a tunnel address, the other side's key and allowed IPs, no endpoint.
umask 077
wg genkey >"$work/a.key"
wg genkey >"$work/b.key"
wg_up() { # namespace interface key-file address peer-key-file peer-address
  ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >"$work/wireguard-go-$2.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$2.sock" ] && break; sleep 0.1; done
  ip netns exec "$1" wg set "$2" private-key "$3" listen-port 51820 peer "$(wg pubkey <"$5")" allowed-ips "$6/32"
  ip netns exec "$1" ip addr add "$4/24" dev "$2"
  ip netns exec "$1" ip link set "$2" up
}
wg_up "$host_a" "$wg_a" "$work/a.key" 10.99.0.1 "$work/b.key" 10.99.0.2
wg_up "$host_b" "$wg_b" "$work/b.key" 10.99.0.2 "$work/a.key" 10.99.0.1

write_config() { # side interface
  cat >"$work/$1.yaml" <<EOF
backends: [ "grpc://signal.warren.test:8443?insecure=true" ]
control_socket: $work/$1.sock
ice:
  urls: [ "stun:stun.warren.test:3478", "turn:turn.warren.test:3478" ]
  username: warren
  password: $turn_password
  network_types: [ udp4 ]
wireguard:
  interfaces: [ $2 ]
  poll_interval: 1s
EOF
}
write_config a "$wg_a"
write_config b "$wg_b"
start_up() {
  local ns=$host_a
  [ "$1" = b ] && ns=$host_b
  ip netns exec "$ns" "$warren" up --config "$work/$1.yaml" --log-level info >>"$work/up-$1.log" 2>&1 &
  eval "up_$1=\$!"
}
stop() { kill "$1" 2>/dev/null; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; wait "$1" 2>/dev/null; }
# Pings until one answer comes or $1 seconds pass; prints the seconds it took.
ping_until() {
  local deadline=$(($(now_ms) + $1 * 1000)) started
  started=$(now_ms)
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if ip netns exec "$host_a" ping -c 1 -W 1 10.99.0.2 >/dev/null 2>&1; then echo $(($(now_ms) - started)); return 0; fi
  done
  return 1
}
# TCP through the tunnel: 8 MiB from A to B; prints MiB/s.
transfer() {
  ip netns exec "$host_b" "$python" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.99.0.2", 5201)); s.listen(1)
c, _ = s.accept(); total = 0
while True:
    data = c.recv(1 << 16)
    if not data: break
    total += len(data)
c.sendall(str(total).encode()); c.close()' &
  local server=$!
  sleep 0.3
  ip netns exec "$host_a" "$python" -c '
import socket, time
s = socket.create_connection(("10.99.0.2", 5201), timeout=30); block = b"w" * (1 << 16); start = time.monotonic()
for _ in range(128): s.sendall(block)
s.shutdown(socket.SHUT_WR); got = int(s.recv(64)); elapsed = time.monotonic() - start
assert got == 128 << 16, got
print(f"{8 / elapsed:.1f}")'
  local rc=$?
  wait "$server" 2>/dev/null
  return $rc
}
# The median of three transfers (one is too noisy on a shared machine).
median_transfer() {
  local rates=() rate
  for _ in 1 2 3; do rate=$(transfer) || return 1; rates+=("$rate"); done
  printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p
}
peer_json() { "$warren" status --json --socket "$work/$1.sock" 2>/dev/null; }

# 1. Cone NATs.
start_up a
start_up b
if took=$(ping_until 30); then
  pass "ping 10.99.0.1 -> 10.99.0.2 through WireGuard and Warren across the NATs (first answer after $took ms)"
  if rate=$(median_transfer); then pass "8 MiB over TCP through the tunnel: $rate MiB/s (median of 3)"; warren_rate=$rate; else fail "TCP transfer through the tunnel"; fi
  status=$(peer_json a)
  if echo "$status" | "$python" -c "
import json, sys
p = json.load(sys.stdin)['peers'][0]
assert p['interface'] == '$wg_a' and p['path'] in ('direct', 'srflx'), p
assert p['wireguard']['latest_handshake'] and p['wireguard']['endpoint'] == p['listen'], p
"; then pass "warren status: peer to peer, WireGuard's endpoint is Warren's proxy and it shook hands"; else fail "warren status: $status"; show_logs; fi
  "$warren" status --socket "$work/a.sock"
else
  fail "no ping answer within 30 s"
  show_logs
fi

# 2. A peer added to the interface gets a session within a few seconds; removed, it loses it.
extra=$(wg genkey | wg pubkey)
ip netns exec "$host_a" wg set "$wg_a" peer "$extra" allowed-ips 10.99.0.9/32
count() { peer_json a | "$python" -c 'import json,sys; print(len(json.load(sys.stdin)["peers"]))' 2>/dev/null; }
for _ in $(seq 50); do [ "$(count)" = 2 ] && break; sleep 0.1; done
added=$(count)
ip netns exec "$host_a" wg set "$wg_a" peer "$extra" remove
for _ in $(seq 50); do [ "$(count)" = 1 ] && break; sleep 0.1; done
if [ "$added" = 2 ] && [ "$(count)" = 1 ] && ip netns exec "$host_a" ping -c 1 -W 2 10.99.0.2 >/dev/null; then
  pass "a peer added with wg set got a session, and lost it when removed; the other peer's tunnel kept working"
else
  fail "peer added/removed: counts $added then $(count)"
fi

# 4 (first half). WireGuard with endpoints set directly, no NAT: the routers just route.
stop "$up_a"
stop "$up_b"
for nat in "$nat_a" "$nat_b"; do
  in_ns "$nat" nft flush ruleset
  in_ns "$nat" conntrack -F >/dev/null 2>&1
done
in_ns "$pub" ip route add 10.1.0.0/24 via 198.51.100.2
in_ns "$pub" ip route add 10.2.0.0/24 via 203.0.113.2
ip netns exec "$host_a" wg set "$wg_a" peer "$(wg pubkey <"$work/b.key")" endpoint 10.2.0.2:51820
ip netns exec "$host_b" wg set "$wg_b" peer "$(wg pubkey <"$work/a.key")" endpoint 10.1.0.2:51820
if ping_until 10 >/dev/null && direct_rate=$(median_transfer); then
  echo "WireGuard with direct endpoints, no NAT: $direct_rate MiB/s (median of 3)"
  "$python" -c "print(f'throughput through Warren / direct WireGuard = {${warren_rate:-0} / $direct_rate:.2f} (same run)')"
else
  fail "WireGuard with direct endpoints did not work"
fi
in_ns "$pub" ip route del 10.1.0.0/24
in_ns "$pub" ip route del 10.2.0.0/24

# 3. Symmetric NATs: only the relay carries the tunnel.
for nat in "$nat_a" "$nat_b"; do
  nat_rules "$nat"
  nat_symmetric "$nat"
done
start_up a
start_up b
if took=$(ping_until 40); then
  path=$(peer_json a | "$python" -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["path"])')
  if [ "$path" = relay ]; then pass "symmetric NATs: ping through WireGuard over the TURN relay (first answer after $took ms)"
  else fail "symmetric NATs: ping works but the path is $path"; fi
  transfer >/dev/null && pass "TCP transfer through the tunnel over the relay" || fail "TCP transfer over the relay"
else
  fail "symmetric NATs: no ping answer within 40 s"
  show_logs
fi
stop "$up_a"
stop "$up_b"
echo "wireguard-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
