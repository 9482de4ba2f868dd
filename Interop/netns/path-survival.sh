#!/usr/bin/env bash
# Path survival (docs/ice.md, "Path survival"): real WireGuard (wireguard-go) behind two cone NATs
# (topology.sh), `warren up` on each host naming only the interface, `warren signal` and coturn
# (STUN and TURN) on the public side. A ping runs through the tunnel every 20 ms while the network
# changes under it; every trial reports the longest time without an answer.
#
#   1. the direct path dies: the public router drops everything between the two NATs (the TURN
#      server stays reachable); the tunnel must move to the relay with a gap of at most 1 s; then
#      the path heals, and the tunnel must be back on the direct path within 2 s with a gap of
#      at most 100 ms;
#   2. host A moves between two networks (a second link behind a third NAT): break before make
#      (median 1 s, max 2 s), make before break (300 ms) and its address replaced on the same
#      link (1 s);
#   3. host A suspended (SIGSTOP of `warren up` and wireguard-go) for SUSPEND seconds while NAT A
#      changes its public address and both NATs forget their flows: traffic back within 2 s of
#      SIGCONT (SUSPENSIONS times);
#   4. a STUN and a TURN server that never answer, listed beside coturn: cold starts must not be
#      slower by more than 50 ms (median of paired differences).
#
# Steps 1-3 run TRIALS times on the kernel data path and TRIALS times on the userspace one. Each
# trial's figures are printed as they come, then the median and the maximum of each. STEPS and
# MODES choose a subset; CONTROLLING=a|b picks the controlling side; KEEP_LOGS=1 keeps the logs in /tmp/survival-logs; CAPTURE=1 (STACKS=1)
# and DIAGNOSE=1 record more in step 2.
#
# Usage: path-survival.sh WARREN_BINARY PYTHON [TRIALS]   (root; wireguard-go, wireguard-tools,
# coturn, nftables, conntrack, iputils-ping)
set -uo pipefail
warren=$1
python=$2
trials=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/topology.sh"
source "$here/path-trials.sh"
work=$(mktemp -d /tmp/warren-survival.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
wg_a=sa$topology_id wg_b=sb$topology_id
wg_a=${wg_a:0:15} wg_b=${wg_b:0:15}

cleanup() {
  for interface in "$wg_a" "$wg_b"; do
    pkill -f "wireguard-go $interface" 2>/dev/null
    rm -f "/var/run/wireguard/$interface.sock"
  done
  topology_down
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_LOGS:-}" ] && trap 'rm -rf /tmp/survival-logs; cp -r "$work" /tmp/survival-logs; cleanup' EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 20 lines)"; tail -n 20 "$log"; done; }

topology_up || { echo "path-survival: 0 passed, 1 failed (could not build the topology)"; exit 1; }
start_public_servers "$warren"

umask 077
wg genkey >"$work/a.key"
wg genkey >"$work/b.key"
# CONTROLLING=a|b: new keys for B until that side controls (the smaller public key, byte-wise).
smaller_key() { "$python" -c 'import base64, sys; a, b = (base64.b64decode(open(f).read().strip()) for f in sys.argv[1:]); print("a" if a < b else "b")' "$@"; }
while [ -n "${CONTROLLING:-}" ] && [ "$(smaller_key <(wg pubkey <"$work/a.key") <(wg pubkey <"$work/b.key"))" != "$CONTROLLING" ]; do
  wg genkey >"$work/b.key"
done
wg_up() { # namespace interface key-file address peer-key-file peer-address
  ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >"$work/wireguard-go-$2.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$2.sock" ] && break; sleep 0.1; done
  ip netns exec "$1" wg set "$2" private-key "$3" listen-port 51820 peer "$(wg pubkey <"$5")" allowed-ips "$6/32"
  ip netns exec "$1" ip addr add "$4/24" dev "$2"
  ip netns exec "$1" ip link set "$2" up
}
wg_up "$host_a" "$wg_a" "$work/a.key" 10.99.0.1 "$work/b.key" 10.99.0.2
wg_up "$host_b" "$wg_b" "$work/b.key" 10.99.0.2 "$work/a.key" 10.99.0.1

write_config() { # side interface data_path
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
  data_path: $3
EOF
}
ns_of() { if [ "$1" = b ]; then echo "$host_b"; else echo "$host_a"; fi; }
start_up() { # side
  ip netns exec "$(ns_of "$1")" "$warren" up --config "$work/$1.yaml" --log-level "${LOG_LEVEL:-info}" --log-format json >>"$work/up-$1.log" 2>&1 &
  eval "up_$1=\$!"
}
stop() { kill "$1" 2>/dev/null; for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done; wait "$1" 2>/dev/null; }
peer_field() { "$warren" status --json --socket "$work/$1.sock" 2>/dev/null | "$python" -c "import json,sys; p = json.load(sys.stdin)['peers'][0]; print($2)" 2>/dev/null; }
# Waits up to $3 seconds until peer_field $1 "$2" prints $4.
wait_field() {
  local deadline=$(($(now_ms) + $3 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do [ "$(peer_field "$1" "$2")" = "$4" ] && return 0; sleep 0.05; done
  return 1
}
ping_until() { # seconds
  local started
  started=$(now_ms)
  ip netns exec "$host_a" ping -q -c 1 -i 0.02 -w "$1" 10.99.0.2 >/dev/null 2>&1 || return 1
  echo $(($(now_ms) - started))
}
# The time (ms since the epoch) of the first JSON log line of side $1 after $2 whose message
# contains $3.
logged_after() { # side after-ms text
  "$python" - "$work/up-$1.log" "$2" "$3" <<'EOF'
import json, sys, datetime
after, text = float(sys.argv[2]), sys.argv[3]
for line in open(sys.argv[1]):
    try: entry = json.loads(line)
    except ValueError: continue
    t = datetime.datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
    if t > after and text in entry["message"]:
        print(f"{t:.0f}"); break
EOF
}
# 1. The direct path dies and heals, under a 20 ms ping, on each data path.
for mode in ${MODES:-kernel userspace}; do
  [[ " ${STEPS:-1 2 3 4} " == *" 1 "* ]] || continue
  write_config a "$wg_a" "$mode"
  write_config b "$wg_b" "$mode"
  start_up a
  start_up b
  if ! ping_until 20 >/dev/null || ! wait_field a "p['path']" 10 srflx; then
    fail "$mode: the tunnel did not come up on a direct path: $(peer_field a "p['path']")"; show_logs
    stop "$up_a"; stop "$up_b"; continue
  fi
  wait_field a "p['data_path']" 5 "$mode"
  outages=() heals=() heal_gaps=()
  for trial in $(seq "$trials"); do
    ip netns exec "$host_a" ping -D -i 0.02 -W 1 10.99.0.2 >"$work/ping.txt" 2>&1 &
    pinger=$!
    sleep 1.5
    cut=$(now_ms)
    cut_direct
    if ! wait_field a "p['path']" 10 relay; then
      fail "$mode trial $trial: no move to the relay within 10 s of the cut"; heal_direct; kill "$pinger"; show_logs; break
    fi
    sleep 2
    healed=$(now_ms)
    heal_direct
    if ! wait_field a "p['path'] + ' ' + p['data_path']" 10 "srflx $mode"; then
      fail "$mode trial $trial: not back on the direct path within 10 s of the heal"; kill "$pinger"; show_logs; break
    fi
    sleep 1
    stopped=$(now_ms)
    kill -INT "$pinger"; wait "$pinger" 2>/dev/null
    outage=$(gap_after "$work/ping.txt" "$cut" "$healed")
    heal_gap=$(gap_after "$work/ping.txt" "$healed" "$stopped")
    back=$(logged_after a "$healed" "traffic moved to another path")
    back_b=$(logged_after b "$healed" "traffic moved to another path")
    [ -n "$back_b" ] && { [ -z "$back" ] || [ "$back_b" -gt "$back" ]; } && back=$back_b
    back_ms=$(( ${back:-$healed} - healed ))
    echo "$mode trial $trial: path died: longest gap $outage ms; healed: back on the direct path after $back_ms ms, longest gap $heal_gap ms"
    outages+=("$outage") heals+=("$back_ms") heal_gaps+=("$heal_gap")
  done
  worst=$(printf '%s\n' "${outages[@]}" | sort -n | tail -n 1)
  worst_back=$(printf '%s\n' "${heals[@]}" | sort -n | tail -n 1)
  worst_heal=$(printf '%s\n' "${heal_gaps[@]}" | sort -n | tail -n 1)
  summary="$mode data path, direct path dropped under a 20 ms ping: longest gap $(stats "${outages[@]}"); healed: back on the direct path $(stats "${heals[@]}"), longest gap $(stats "${heal_gaps[@]}")"
  if [ "${#outages[@]}" -eq "$trials" ] && [ "${worst%.*}" -le 1000 ] && [ "$worst_back" -le 2000 ] && [ "${worst_heal%.*}" -le 100 ]; then
    pass "$summary"
  else
    fail "$summary (bounds: gap 1000 ms, back within 2000 ms with a gap of 100 ms)"
  fi
  "$warren" status --socket "$work/a.sock"
  stop "$up_a"
  stop "$up_b"
done

# 2. Host A moves between two networks: its first link (eth0, behind NAT A) and a second one (eth1,
#    behind NAT C, a third NAT on the public side). Break before make (the old link goes down and
#    the new address appears at once), make before break (the new network 2 s before the old
#    one goes), and the address replaced on the same link.
#
#   hostA eth1 10.3.0.2 --lan-- 10.3.0.1 natC 198.51.100.3 --wan-- pub
nat_c=wnatc$topology_id
extra_hosts+=("$nat_c")
ip netns add "$nat_c"
in_ns "$nat_c" ip link set lo up
ip link add wan netns "$nat_c" type veth peer name to-c netns "$pub"
ip link add lan netns "$nat_c" type veth peer name eth1 netns "$host_a"
in_ns "$pub" ip link set to-c up
in_ns "$pub" ip route add 198.51.100.3/32 dev to-c
in_ns "$nat_c" ip addr add 198.51.100.3/32 dev wan
in_ns "$nat_c" ip addr add 10.3.0.1/24 dev lan
in_ns "$nat_c" ip link set wan up
in_ns "$nat_c" ip link set lan up
in_ns "$nat_c" ip route add 198.51.100.1/32 dev wan
in_ns "$nat_c" ip route add default via 198.51.100.1 dev wan
in_ns "$nat_c" sysctl -qw net.ipv4.ip_forward=1
nat_rules "$nat_c"
in_ns "$host_a" ip link set eth1 up
# A multi-homed host routes what leaves from an address through that address's own link (source
# routing, as NetworkManager and systemd-networkd set up for each link): a socket bound to the
# second network's address must not leave through the first network's router.
in_ns "$host_a" ip rule add from 10.1.0.0/24 lookup 101
in_ns "$host_a" ip rule add from 10.3.0.0/24 lookup 103
in_ns "$host_a" ip route add default via 10.1.0.1 dev eth0 table 101

# Host A's networks: on_network A|C moves it at once (the other link down, this one's address
# and default route up); both_networks C|A brings the other network up as a second, less
# preferred route first.
c_up='ip link set eth1 up; ip addr add 10.3.0.2/24 dev eth1 2>/dev/null; ip route replace default via 10.3.0.1 dev eth1 table 103'
c_down='ip link set eth1 down; ip addr del 10.3.0.2/24 dev eth1 2>/dev/null'
a_up='ip link set eth0 up; ip route replace default via 10.1.0.1 dev eth0 table 101'
a_down='ip link set eth0 down'
on_network() { # A|C
  if [ "$1" = C ]; then
    in_ns "$host_a" sh -c "$a_down; $c_up; ip route replace default via 10.3.0.1"
  else
    in_ns "$host_a" sh -c "$c_down; $a_up; ip route replace default via 10.1.0.1"
  fi
}
second_network() { # C|A: the other network's address, and a default route of lower preference
  if [ "$1" = C ]; then
    in_ns "$host_a" sh -c "$c_up; ip route add default via 10.3.0.1 metric 100"
  else
    in_ns "$host_a" sh -c "$a_up; ip route add default via 10.1.0.1 metric 100"
  fi
}
leave_network() { # A|C: its link goes down; the other network's route is the default then
  if [ "$1" = A ]; then
    in_ns "$host_a" sh -c "$a_down; ip route replace default via 10.3.0.1; ip route del default via 10.3.0.1 metric 100 2>/dev/null"
  else
    in_ns "$host_a" sh -c "$c_down; ip route replace default via 10.1.0.1; ip route del default via 10.1.0.1 metric 100 2>/dev/null"
  fi
}
replace_address() { # the address of eth0 changes (10.1.0.2 <-> 10.1.0.3) as a new DHCP lease does; the link stays up
  in_ns "$host_a" sh -c "ip addr del $1/24 dev eth0; ip addr add $2/24 dev eth0; ip route replace default via 10.1.0.1; ip route replace default via 10.1.0.1 dev eth0 table 101"
}

# The longest gap of a ping that ran across one network change at $2, until $3.
move_trial() { # label change-command...
  local label=$1; shift
  ip netns exec "$host_a" ping -D -i 0.02 -W 1 10.99.0.2 >"$work/ping.txt" 2>&1 &
  pinger=$!
  if [ -n "${CAPTURE:-}" ]; then
    ip netns exec "$host_a" tcpdump -n -i any -w "$work/capture-$(echo "$label" | tr -c 'a-z0-9' _).pcap" udp and not port 51820 >/dev/null 2>&1 &
    capture=$!
  fi
  sleep 1.5
  local changed
  changed=$(now_ms)
  "$@"
  if [ -n "${CAPTURE:-}" ]; then sleep 1.5; capture_state "$label"; sleep 2.5; else sleep 4; fi
  local stopped
  stopped=$(now_ms)
  kill -INT "$pinger"; wait "$pinger" 2>/dev/null
  [ -n "${CAPTURE:-}" ] && { kill -INT "$capture"; wait "$capture" 2>/dev/null; }
  gap=$(gap_after "$work/ping.txt" "$changed" "$stopped")
  echo "$label: longest gap $gap ms"
  [ -n "${DIAGNOSE:-}" ] && [ "${gap%.*}" -gt 2000 ] && diagnose
}
# Host A's sockets (with their receive queues), the descriptors each event loop's epoll watches,
# and (STACKS=1) every thread's stack, in the middle of a trial (CAPTURE=1): a socket whose queue
# grows while nothing reads it shows a stalled event loop.
capture_state() { # label
  [ -n "${STACKS:-}" ] && gdb -p "$up_a" -batch -ex "thread apply all bt 25" >"$work/stacks-$(echo "$1" | tr -c 'a-z0-9' _).txt" 2>&1
  echo "--- sockets of host A 1.5 s after: $1"
  in_ns "$host_a" ss -uanp
  local f
  for f in /proc/$up_a/fd/*; do
    [ "$(readlink "$f")" = "anon_inode:[eventpoll]" ] &&
      echo "epoll $(basename "$f"): $(grep -o 'tfd: *[0-9]* events: *[0-9a-f]*' "/proc/$up_a/fdinfo/$(basename "$f")" | tr -s ' ' | tr '\n' ';')"
  done
}
# What the kernel and WireGuard hold when a trial fails (DIAGNOSE=1).
diagnose() {
  echo "--- host A: addresses, routes, rules, nftables"; in_ns "$host_a" ip -br addr; in_ns "$host_a" ip route; in_ns "$host_a" nft list table inet warren
  echo "--- WireGuard A and B"; in_ns "$host_a" wg show "$wg_a"; in_ns "$host_b" wg show "$wg_b"
  echo "--- conntrack NAT A"; in_ns "$nat_a" conntrack -L -p udp 2>/dev/null
  echo "--- conntrack NAT C"; in_ns "$nat_c" conntrack -L -p udp 2>/dev/null
  echo "--- conntrack NAT B"; in_ns "$nat_b" conntrack -L -p udp 2>/dev/null
  echo "--- conntrack host A"; in_ns "$host_a" conntrack -L -p udp 2>/dev/null
}

for mode in ${MODES:-kernel userspace}; do
  [[ " ${STEPS:-1 2 3 4} " == *" 2 "* ]] || continue
  write_config a "$wg_a" "$mode"
  write_config b "$wg_b" "$mode"
  start_up a
  start_up b
  if ! ping_until 20 >/dev/null; then
    fail "$mode: the tunnel did not come up before the moves"; show_logs; stop "$up_a"; stop "$up_b"; continue
  fi
  moves=() makes=() replaces=()
  where=A
  for trial in $(seq "$trials"); do
    to=$([ "$where" = A ] && echo C || echo A)
    move_trial "$mode move $trial ($where to $to, break before make)" on_network "$to"
    moves+=("$gap"); where=$to
  done
  for trial in $(seq "$trials"); do
    to=$([ "$where" = A ] && echo C || echo A)
    make_then_break() { second_network "$to"; sleep 2; leave_network "$where"; }
    move_trial "$mode move $trial ($where to $to, make before break)" make_then_break
    makes+=("$gap"); where=$to
  done
  [ "$where" = C ] && on_network A && where=A && sleep 3
  address=10.1.0.2
  for trial in $(seq "$trials"); do
    next=$([ "$address" = 10.1.0.2 ] && echo 10.1.0.3 || echo 10.1.0.2)
    move_trial "$mode address $trial ($address to $next on the same link)" replace_address "$address" "$next"
    replaces+=("$gap"); address=$next
  done
  [ "$address" = 10.1.0.3 ] && replace_address 10.1.0.3 10.1.0.2
  max_of() { printf '%s\n' "$@" | sort -n | tail -n 1; }
  summary="$mode data path, host A moves under a 20 ms ping: break before make $(stats "${moves[@]}"); make before break $(stats "${makes[@]}"); address replaced $(stats "${replaces[@]}")"
  if [ "${#moves[@]}" -eq "$trials" ] && [ "$(median "${moves[@]}" | cut -d. -f1)" -le 1000 ] && [ "$(max_of "${moves[@]}" | cut -d. -f1)" -le 2000 ] &&
    [ "$(max_of "${makes[@]}" | cut -d. -f1)" -le 300 ] && [ "$(max_of "${replaces[@]}" | cut -d. -f1)" -le 1000 ]; then
    pass "$summary"
  else
    fail "$summary (bounds: break before make 1000 ms median and 2000 ms max, make before break 300 ms, address replaced 1000 ms)"
    [ -n "${KEEP_LOGS:-}" ] || show_logs
  fi
  "$warren" status --socket "$work/a.sock"
  stop "$up_a"
  stop "$up_b"
done

# 4. Servers that never answer: a STUN and a TURN server whose address the public router drops,
#    listed beside coturn. Cold starts of both daemons, alternating with and without them; the
#    time from process start to Connected (the later of the two sides) must not grow by more
#    than 50 ms (median of the paired differences): gathering never holds anything up.
write_deaf_config() { # side interface
  write_config "$1" "$2" kernel
  sed -i 's|urls: \[ "stun:stun.warren.test:3478", "turn:turn.warren.test:3478" \]|urls: [ "stun:198.51.100.9:3478", "stun:stun.warren.test:3478", "turn:198.51.100.9:3478", "turn:turn.warren.test:3478" ]|' "$work/$1.yaml"
}
# Milliseconds from `warren up` to the session's first Connected/Completed in side $1's log since line $2.
connected_after() { # side first-line
  tail -n +"$2" "$work/up-$1.log" | "$python" -c '
import json, sys, datetime
start = None
for line in sys.stdin:
    try: e = json.loads(line)
    except ValueError: continue
    t = datetime.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() * 1000
    if e["message"] == "warren up": start = t
    elif start and (e["message"].endswith("-> connected: a candidate pair was selected") or e["message"].endswith("-> completed: a candidate pair was selected")):
        print(f"{t - start:.0f}"); break'
}
if [[ " ${STEPS:-1 2 3 4} " == *" 4 "* ]]; then
  in_ns "$pub" ip addr add 198.51.100.9/24 dev to-a
  in_ns "$pub" nft add table ip deaf
  in_ns "$pub" nft add chain ip deaf input '{ type filter hook input priority filter - 10; policy accept; }'
  in_ns "$pub" nft add rule ip deaf input ip daddr 198.51.100.9 drop
  with=() without=() differences=()
  for trial in $(seq "$trials"); do
    for variant in without with; do
      if [ "$variant" = with ]; then write_deaf_config a "$wg_a"; write_deaf_config b "$wg_b"
      else write_config a "$wg_a" kernel; write_config b "$wg_b" kernel; fi
      line_a=$(($(wc -l <"$work/up-a.log" 2>/dev/null || echo 0) + 1)); line_b=$(($(wc -l <"$work/up-b.log" 2>/dev/null || echo 0) + 1))
      start_up a
      start_up b
      ping_until 20 >/dev/null
      a=$(connected_after a "$line_a"); b=$(connected_after b "$line_b")
      stop "$up_a"; stop "$up_b"
      took=$(( ${a:-99999} > ${b:-99999} ? ${a:-99999} : ${b:-99999} ))
      if [ "$variant" = with ]; then with+=("$took"); else without+=("$took"); fi
    done
    differences+=("$(( with[-1] - without[-1] ))")
    echo "cold start $trial: Connected after ${without[-1]} ms with coturn alone, ${with[-1]} ms beside a STUN and a TURN server that never answer"
  done
  difference=$(median "${differences[@]}")
  summary="servers that never answer: Connected after $(stats "${with[@]}") beside them, $(stats "${without[@]}") without; median paired difference $difference ms"
  if [ "$difference" -le 50 ] && [ "$(printf '%s\n' "${with[@]}" | sort -n | tail -n 1)" -lt 99999 ]; then pass "$summary"; else fail "$summary (bound: 50 ms)"; fi
fi

# 3. Suspend: host A's `warren up` and wireguard-go stopped (SIGSTOP) for SUSPEND seconds, a
#    laptop asleep, while NAT A's public address changes and both NATs forget their flows; then
#    continued. The time from SIGCONT to the first ping answer through the tunnel.
nat_a_address=198.51.100.2
readdress_nat_a() { # new public address of NAT A
  in_ns "$nat_a" sh -c "ip addr del $nat_a_address/24 dev wan; ip addr add $1/24 dev wan; ip route replace default via 198.51.100.1"
  nat_a_address=$1
}
for mode in ${MODES:-kernel userspace}; do
  [[ " ${STEPS:-1 2 3 4} " == *" 3 "* ]] || continue
  write_config a "$wg_a" "$mode"
  write_config b "$wg_b" "$mode"
  start_up a
  start_up b
  if ! ping_until 20 >/dev/null; then
    fail "$mode: the tunnel did not come up before the suspensions"; show_logs; stop "$up_a"; stop "$up_b"; continue
  fi
  wireguard_a=$(pgrep -f "wireguard-go $wg_a" | head -n 1)
  resumes=()
  for trial in $(seq "${SUSPENSIONS:-2}"); do
    ip netns exec "$host_a" ping -D -i 0.02 -W 1 10.99.0.2 >"$work/ping.txt" 2>&1 &
    pinger=$!
    sleep 1
    kill -STOP "$up_a" "$wireguard_a"
    readdress_nat_a "$([ "$nat_a_address" = 198.51.100.2 ] && echo 198.51.100.4 || echo 198.51.100.2)"
    in_ns "$nat_a" conntrack -F >/dev/null 2>&1
    in_ns "$nat_b" conntrack -F >/dev/null 2>&1
    sleep "${SUSPEND:-60}"
    continued=$(now_ms)
    kill -CONT "$up_a" "$wireguard_a"
    sleep 8
    kill -INT "$pinger"; wait "$pinger" 2>/dev/null
    back=$("$python" - "$work/ping.txt" "$continued" <<'PY'
import re, sys
times = [float(t) * 1000 for t in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", open(sys.argv[1]).read(), re.M)]
after = [t for t in times if t > float(sys.argv[2])]
print(f"{after[0] - float(sys.argv[2]):.0f}" if after else "nan")
PY
)
    echo "$mode suspension $trial (${SUSPEND:-60} s, NAT A now at $nat_a_address, both NATs' flows forgotten): first answer $back ms after SIGCONT"
    resumes+=("${back/nan/99999}")
  done
  worst=$(printf '%s\n' "${resumes[@]}" | sort -n | tail -n 1)
  summary="$mode data path, suspended ${SUSPEND:-60} s while the NATs changed: traffic back after $(stats "${resumes[@]}")"
  if [ "${worst%.*}" -le 2000 ]; then pass "$summary"; else fail "$summary (bound: 2000 ms)"; [ -n "${KEEP_LOGS:-}" ] || show_logs; fi
  stop "$up_a"
  stop "$up_b"
done

echo "path-survival: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
