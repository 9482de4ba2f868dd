#!/usr/bin/env bash
# The path-survival trial against the real cunicu (../shared/interop/cunicu/, the unmodified
# daemon: pion/ice v4): host A runs `cunicu daemon -U`, host B wireguard-go and `warren up`, each
# behind its own cone NAT (topology.sh), one community passphrase (peer discovery), `warren signal`
# and coturn (STUN, TURN) on the public side. Warren's tunnel address is the one cunicu derives from
# Warren's key (`cunicu addresses`), so that each routes to the other.
#
# For each role (keys chosen so that Warren controls, then so that cunicu does), TRIALS times: a ping
# from B to A's tunnel address every 20 ms; the public router drops everything between the two
# NATs (the TURN server stays reachable); the longest gap until the pings are answered again (cunicu's
# own timers bound what Warren can do: pion/ice follows no renomination to a relayed pair, so Warren
# restarts the session at once on a dead path toward it, and cunicu follows the restart), then the
# path heals. Skipped, with a clear line, when the cunicu binary is not there.
#
# Usage: cunicu-path.sh WARREN_BINARY PYTHON [TRIALS] [CUNICU_DIR]   (root; wireguard-go, wireguard-tools,
# coturn, nftables, iputils-ping)
set -uo pipefail
warren=$1
python=$2
trials=${3:-3}
cunicu_dir=${4:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/interop/cunicu}
cunicu=$cunicu_dir/cunicu
if [ ! -x "$cunicu" ]; then
  echo "cunicu-path: 0 passed, 0 failed (skipped: no cunicu binary at $cunicu)"
  exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
source "$here/topology.sh"
source "$here/path-trials.sh"
work=$(mktemp -d /tmp/warren-cunicu-path.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
wg_a=ca$topology_id wg_b=cb$topology_id
wg_a=${wg_a:0:15} wg_b=${wg_b:0:15}

cleanup() {
  pkill -f "cunicu daemon.* -s $work/cunicu.sock" 2>/dev/null
  pkill -f "wireguard-go $wg_b" 2>/dev/null
  rm -f "/var/run/wireguard/$wg_a.sock" "/var/run/wireguard/$wg_b.sock"
  topology_down
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_LOGS:-}" ] && trap 'rm -rf /tmp/cunicu-path-logs; cp -r "$work" /tmp/cunicu-path-logs; cleanup' EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 20 lines)"; tail -n 20 "$log"; done; }

topology_up || { echo "cunicu-path: 0 passed, 1 failed (could not build the topology)"; exit 1; }
start_public_servers "$warren"
community=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
umask 077

# Keys for one round: Warren controls when its public key is the smaller one (session.md).
keys_for() { # warren|cunicu: which side controls
  while true; do
    wg genkey >"$work/a.key"; wg genkey >"$work/b.key"
    local a b
    a=$(wg pubkey <"$work/a.key"); b=$(wg pubkey <"$work/b.key")
    # Compared as bytes, as the session does.
    smaller=$("$python" -c "import base64,sys; print('b' if base64.b64decode(sys.argv[2]) < base64.b64decode(sys.argv[1]) else 'a')" "$a" "$b")
    if { [ "$1" = warren ] && [ "$smaller" = b ]; } || { [ "$1" = cunicu ] && [ "$smaller" = a ]; }; then return; fi
  done
}

start_pair() {
  # A: cunicu, its interface made and addressed by itself.
  cat >"$work/cunicu.yaml" <<EOF
private_key: $(cat "$work/a.key")
ice:
  urls: [ "stun:198.51.100.1:3478", "turn:198.51.100.1:3478" ]
  username: warren
  password: $turn_password
  network_types: [ udp4 ]
EOF
  chmod 600 "$work/cunicu.yaml"
  ip netns exec "$host_a" env CUNICU_EXPERIMENTAL=1 "$cunicu" daemon -U -d info -x "$community" -n host-a \
    -b "grpc://198.51.100.1:8443?insecure=true" -H=false -C=false -F=false \
    -c "$work/cunicu.yaml" -s "$work/cunicu.sock" "$wg_a" >>"$work/cunicu.log" 2>&1 &
  cunicu_pid=$!
  # B: wireguard-go with the address cunicu derives from B's key, and warren up with the passphrase.
  ip netns exec "$host_b" env WG_PROCESS_FOREGROUND=1 wireguard-go "$wg_b" >"$work/wireguard-go.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$wg_b.sock" ] && break; sleep 0.1; done
  ip netns exec "$host_b" wg set "$wg_b" private-key "$work/b.key" listen-port 51820
  address_b=$(wg pubkey <"$work/b.key" | "$cunicu" addresses -m | grep -m1 '^10\.')
  address_a=$(wg pubkey <"$work/a.key" | "$cunicu" addresses | grep -m1 '^10\.')
  ip netns exec "$host_b" ip addr add "$address_b" dev "$wg_b"
  ip netns exec "$host_b" ip link set "$wg_b" up
  cat >"$work/b.yaml" <<EOF
backends: [ "grpc://198.51.100.1:8443?insecure=true" ]
control_socket: $work/b.sock
ice:
  urls: [ "stun:198.51.100.1:3478", "turn:198.51.100.1:3478" ]
  username: warren
  password: $turn_password
  network_types: [ udp4 ]
wireguard:
  interfaces: [ $wg_b ]
  poll_interval: 1s
  discovery:
    $wg_b: { community: "$community" }
EOF
  ip netns exec "$host_b" "$warren" up --config "$work/b.yaml" --log-level info --log-format json >>"$work/up-b.log" 2>&1 &
  warren_pid=$!
}
# The selected pair's kind on Warren's side (direct through the NATs: srflx).
peer_path() {
  "$warren" status --json --socket "$work/b.sock" 2>/dev/null | "$python" -c "import json,sys; print(json.load(sys.stdin)['peers'][0]['path'])" 2>/dev/null
}
stop_pair() {
  kill "$warren_pid" "$cunicu_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$warren_pid" 2>/dev/null || kill -0 "$cunicu_pid" 2>/dev/null || break; sleep 0.1; done
  wait "$warren_pid" "$cunicu_pid" 2>/dev/null
  pkill -f "wireguard-go $wg_b" 2>/dev/null
  sleep 0.5
}

for controls in warren cunicu; do
  keys_for "$controls"
  start_pair
  started=$(now_ms)
  if ! ip netns exec "$host_b" ping -q -c 1 -i 0.02 -w 30 "$address_a" >/dev/null 2>&1; then
    fail "$controls controls: no ping from Warren's host to cunicu's $address_a within 30 s"; show_logs; stop_pair; continue
  fi
  echo "$controls controls: first ping answered $(($(now_ms) - started)) ms after both started"
  outages=()
  for trial in $(seq "$trials"); do
    # Each trial starts on a direct path. After a failover Warren moves back to it when it heals
    # (it renominates, or cunicu's restart finds it); pion/ice as the controlling agent does not
    # renominate, so a pair that stayed relayed is started afresh.
    path=$(peer_path)
    if [ "$path" != srflx ]; then
      echo "$controls controls, trial $trial: the path is ${path:-unknown}, not direct; both daemons start again"
      stop_pair; start_pair
      ip netns exec "$host_b" ping -q -c 1 -i 0.02 -w 30 "$address_a" >/dev/null 2>&1
      for _ in $(seq 50); do [ "$(peer_path)" = srflx ] && break; sleep 0.2; done
    fi
    echo "$controls controls, trial $trial: cutting the direct path while the tunnel is on a $(peer_path) pair"
    ip netns exec "$host_b" ping -D -i 0.02 -W 1 "$address_a" >"$work/ping.txt" 2>&1 &
    pinger=$!
    sleep 2
    cut=$(now_ms)
    cut_direct
    # Until the pings come back (over the relay), at most 40 s; then the path heals.
    for _ in $(seq 400); do
      sleep 0.1
      [ "$(grep -c 'bytes from' "$work/ping.txt")" -gt 0 ] && [ -n "$("$python" -c "
import re, sys
t = [float(x) * 1000 for x in re.findall(r'^\[(\d+\.\d+)\] \d+ bytes from', open('$work/ping.txt').read(), re.M)]
print('yes' if t and t[-1] > $cut + 200 and len([x for x in t if x > $cut]) > 10 else '')")" ] && break
    done
    healed=$(now_ms)
    heal_direct
    sleep 5
    stopped=$(now_ms)
    kill -INT "$pinger"; wait "$pinger" 2>/dev/null
    outage=$(gap_after "$work/ping.txt" "$cut" "$healed")
    heal_gap=$(gap_after "$work/ping.txt" "$healed" "$stopped")
    echo "$controls controls, trial $trial: direct path dropped: longest gap $outage ms; healed: longest gap $heal_gap ms"
    outages+=("$outage")
    sleep 3
  done
  worst=$(printf '%s\n' "${outages[@]}" | sort -n | tail -n 1)
  summary="Warren and cunicu ($controls controls), the direct path dropped under a 20 ms ping: longest gap $(stats "${outages[@]}")"
  # Recovery is the bound here: cunicu's own timers (pion: 5 s Disconnected) are not Warren's to shorten.
  if [ "${#outages[@]}" -eq "$trials" ] && [ "${worst%.*}" -lt 30000 ]; then pass "$summary"; else fail "$summary"; show_logs; fi
  stop_pair
done

echo "cunicu-path: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
