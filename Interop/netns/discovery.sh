#!/usr/bin/env bash
# End to end: a WireGuard mesh from one community passphrase (docs/discovery.md), in network
# namespaces. Four hosts run wireguard-go and `warren up`; each is configured with only its own
# WireGuard key and tunnel address and a passphrase — no peers, no endpoints:
#
#   A 10.1.0.2 (10.99.0.1) and C 10.3.0.2 (10.99.0.3) behind NAT A, B 10.2.0.2 (10.99.0.2) and
#   D 10.4.0.2 (10.99.0.4) behind NAT B; `warren signal` and coturn (STUN) on the public side.
#   A, B and C share the passphrase; D has another one.
#
#   1. A, B and C start one by one, 4 s apart (longer than the signal server keeps anything: it
#      keeps nothing, so the first announcements reach nobody): they still find each other,
#      add each other as WireGuard peers and ping each other's tunnel addresses. The time from the
#      first start, and from the last, to the full mesh is reported.
#   2. D learned nobody, and nobody learned D.
#   3. C leaves cleanly (SIGTERM: REMOVE): A and B drop it.
#   4. B's WireGuard key is rotated (wg set private-key): B announces UPDATE, A follows, and the
#      tunnel between them works again under the new key.
#   5. Three more hosts on one LAN with the multicast backend only (no server): a full mesh too.
# Along the way A's /metrics is read with prometheus_client's parser (Interop/metrics/check.py):
# every documented metric with its type and labels, and every metric the dashboard queries.
#
# Usage: discovery.sh WARREN_BINARY PYTHON   (root; wireguard-go, wireguard-tools, nftables, coturn)
set -uo pipefail
warren=$1
python=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/topology.sh"
work=$(mktemp -d /tmp/warren-pdisc.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
host_c=whostc$topology_id host_d=whostd$topology_id
sides=(a b c d)
declare -A ns=([a]=$host_a [b]=$host_b [c]=$host_c [d]=$host_d)
declare -A address=([a]=10.99.0.1 [b]=10.99.0.2 [c]=10.99.0.3 [d]=10.99.0.4)
declare -A wg up
lan="" lan_hosts=()
for side in "${sides[@]}"; do wg[$side]=p$side$topology_id; wg[$side]=${wg[$side]:0:15}; done

cleanup() {
  for side in "${!wg[@]}"; do
    pkill -f "wireguard-go ${wg[$side]}" 2>/dev/null
    rm -f "/var/run/wireguard/${wg[$side]}.sock"
  done
  for name in "${lan_hosts[@]}" "$lan"; do
    [ -n "$name" ] || continue
    for pid in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$name" 2>/dev/null
  done
  topology_down
  rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 20 lines)"; tail -n 20 "$log"; done; }
finish() { echo "discovery-e2e: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

# wireguard-go on side $1 with a new key, its tunnel address and no peers.
wg_host() { # side
  wg genkey >"$work/$1.key"
  ip netns exec "${ns[$1]}" env WG_PROCESS_FOREGROUND=1 wireguard-go "${wg[$1]}" >"$work/wireguard-go-$1.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/${wg[$1]}.sock" ] && break; sleep 0.1; done
  ip netns exec "${ns[$1]}" wg set "${wg[$1]}" private-key "$work/$1.key" listen-port 51820
  ip netns exec "${ns[$1]}" ip addr add "${address[$1]}/24" dev "${wg[$1]}"
  ip netns exec "${ns[$1]}" ip link set "${wg[$1]}" up
}
start_up() { # side
  ip netns exec "${ns[$1]}" "$warren" up --config "$work/$1.yaml" --log-level info >>"$work/up-$1.log" 2>&1 &
  up[$1]=$!
}
stop() { kill "$1" 2>/dev/null; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; wait "$1" 2>/dev/null; }
key_of() { wg pubkey <"$work/$1.key"; }
# The WireGuard peers (public keys) of side $1's interface, sorted, one line.
wg_peers() { ip netns exec "${ns[$1]}" wg show "${wg[$1]}" peers 2>/dev/null | sort | tr '\n' ' '; }
has_peer() { wg_peers "$1" | grep -qF -- "$2"; }
pings() { ip netns exec "${ns[$1]}" ping -q -c 1 -W 1 "${address[$2]}" >/dev/null 2>&1; }
# Waits up to $1 seconds for the command after it to succeed.
within() { local deadline=$(($(now_ms) + $1 * 1000)); shift; while [ "$(now_ms)" -lt "$deadline" ]; do "$@" && return 0; sleep 0.2; done; return 1; }
mesh_of_three() {
  has_peer a "$(key_of b)" && has_peer a "$(key_of c)" && has_peer b "$(key_of a)" && has_peer b "$(key_of c)" &&
    has_peer c "$(key_of a)" && has_peer c "$(key_of b)" && pings a b && pings a c && pings b c
}

topology_up && topology_add_host "$host_c" "$nat_a" lan2 10.3.0.1/24 10.3.0.2/24 10.3.0.1 &&
  topology_add_host "$host_d" "$nat_b" lan2 10.4.0.1/24 10.4.0.2/24 10.4.0.1 ||
  { fail "could not build the topology"; finish; }
ip netns exec "$pub" turnserver -n --listening-ip=198.51.100.1 --listening-port=3478 --no-tcp-relay --no-tls --no-dtls \
  --no-cli --stun-only --log-file=stdout --simple-log --pidfile="$work/coturn.pid" >"$work/coturn.log" 2>&1 &
ip netns exec "$pub" "$warren" signal --listen 198.51.100.1:8443 --log-level warning >"$work/signal.log" 2>&1 &

umask 077
for side in "${sides[@]}"; do
  wg_host "$side"
  if [ "$side" = d ]; then community="not the mesh's passphrase"; else community="correct horse battery staple"; fi
  cat >"$work/$side.yaml" <<EOF
backends: [ "grpc://signal.warren.test:8443?insecure=true" ]
control_socket: $work/$side.sock
ice:
  urls: [ "stun:stun.warren.test:3478" ]
  network_types: [ udp4 ]
wireguard:
  interfaces: [ ${wg[$side]} ]
  poll_interval: 1s
  discovery:
    ${wg[$side]}:
      community: "$community"
      hostname: host-$side
EOF
  [ "$side" = a ] && echo "metrics: 127.0.0.1:9465" >>"$work/$side.yaml"
done
# 1. One by one, 4 s apart (D, with the other passphrase, right after C); then the full mesh.
started=$(now_ms)
start_up a
sleep 4
start_up b
sleep 4
last_start=$(now_ms)
start_up c
start_up d
if within 60 mesh_of_three; then
  done_at=$(now_ms)
  pass "three hosts from one passphrase: each added the other two and pings them; full mesh $((done_at - started)) ms after the first start, $((done_at - last_start)) ms after the last"
  "$warren" status --socket "$work/a.sock"
else
  fail "no full mesh within 60 s: a has [$(wg_peers a)], b [$(wg_peers b)], c [$(wg_peers c)]"
  show_logs
  finish
fi

# Metrics: A's /metrics, read by prometheus_client's parser, has every documented metric with its
# type and labels, and every metric the Grafana dashboard queries.
if metrics=$(ip netns exec "$host_a" "$python" "$here/../metrics/check.py" http://127.0.0.1:9465/metrics "$here/../../deploy/grafana/warren.json" 2>&1) &&
  [[ "$metrics" == *"metrics-check: "*" passed, 0 failed"* ]]; then
  pass "A's /metrics during the mesh: $(echo "$metrics" | grep '^PASS' | sed 's/^PASS: //' | paste -sd ';' -)"
else
  fail "A's /metrics: $metrics"
fi

# 2. The wrong passphrase: D learns nobody and nobody learns D.
sleep 2
d_learned=$("$warren" status --json --socket "$work/d.sock" | "$python" -c 'import json,sys; print(len(json.load(sys.stdin)["discovery"][0]["learned"]))')
if [ "$d_learned" = 0 ] && [ -z "$(wg_peers d)" ] && ! has_peer a "$(key_of d)" && ! has_peer b "$(key_of d)" && ! has_peer c "$(key_of d)"; then
  pass "another passphrase: D learned nobody and nobody learned D"
else
  fail "D learned $d_learned peers (WireGuard: [$(wg_peers d)]); a has [$(wg_peers a)]"
fi

# 3. C leaves cleanly: A and B drop it.
left_at=$(now_ms)
stop "${up[c]}"
c_dropped() { ! has_peer a "$(key_of c)" && ! has_peer b "$(key_of c)"; }
if within 10 c_dropped; then
  pass "C left (REMOVE): A and B dropped it after $(($(now_ms) - left_at)) ms; A keeps B: $(has_peer a "$(key_of b)" && echo yes || echo no)"
else
  fail "C left, but a still has [$(wg_peers a)], b [$(wg_peers b)]"
fi

# 4. B's key is rotated: UPDATE, A follows, the tunnel comes back.
old_b=$(key_of b)
wg genkey >"$work/b.key"
rotated_at=$(now_ms)
ip netns exec "$host_b" wg set "${wg[b]}" private-key "$work/b.key"
b_followed() { has_peer a "$(key_of b)" && ! has_peer a "$old_b" && pings a b; }
if within 30 b_followed; then
  pass "B rotated its key (UPDATE): A replaced it and pings B again after $(($(now_ms) - rotated_at)) ms"
else
  fail "after B's new key, a has [$(wg_peers a)] (old $old_b, new $(key_of b))"
  show_logs
fi

for side in a b d; do stop "${up[$side]}"; done

# 5. The same mesh on a LAN with the multicast backend only: no server, no STUN, nothing configured
# but each host's key, address and the passphrase.
lan=wdbr$topology_id
lan_hosts=(wdm1$topology_id wdm2$topology_id wdm3$topology_id)
ip netns add "$lan" && ip netns exec "$lan" ip link add br0 type bridge && ip netns exec "$lan" ip link set br0 up
for index in 0 1 2; do
  side=m$index
  ns[$side]=${lan_hosts[$index]}
  address[$side]=10.97.0.$((index + 1))
  wg[$side]=pm$index$topology_id
  wg[$side]=${wg[$side]:0:15}
  ip netns add "${ns[$side]}"
  ip netns exec "${ns[$side]}" ip link set lo up
  ip link add eth0 netns "${ns[$side]}" type veth peer name "port$index" netns "$lan"
  ip netns exec "$lan" ip link set "port$index" master br0 up
  ip netns exec "${ns[$side]}" ip addr add "10.51.0.$((index + 1))/24" dev eth0
  ip netns exec "${ns[$side]}" ip link set eth0 up
  wg_host "$side"
  cat >"$work/$side.yaml" <<EOF
backends: [ "multicast://239.7.7.8:9798?interface=eth0" ]
control_socket: $work/$side.sock
ice:
  network_types: [ udp4 ]
  interfaces_include: [ eth0 ]
wireguard:
  interfaces: [ ${wg[$side]} ]
  poll_interval: 1s
  discovery:
    ${wg[$side]}: { community: "correct horse battery staple" }
EOF
done
lan_mesh() {
  for x in m0 m1 m2; do
    for y in m0 m1 m2; do
      [ "$x" = "$y" ] && continue
      has_peer "$x" "$(key_of "$y")" && pings "$x" "$y" || return 1
    done
  done
}
started=$(now_ms)
for side in m0 m1 m2; do start_up "$side"; done
if within 60 lan_mesh; then
  pass "multicast only, on a LAN: three hosts from one passphrase reached a full mesh (each pings the other two) $(($(now_ms) - started)) ms after they started"
else
  fail "multicast mesh incomplete after 60 s: m0 has [$(wg_peers m0)], m1 [$(wg_peers m1)], m2 [$(wg_peers m2)]"
  show_logs
fi
for side in m0 m1 m2; do stop "${up[$side]}"; done
finish
