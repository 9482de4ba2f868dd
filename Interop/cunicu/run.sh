#!/usr/bin/env bash
# Warren against the real cunicu (../shared/interop/cunicu/: the unmodified daemon and CLI, and
# cunicu-sigcheck, built inside cunicu's module):
#   1. signaling, on loopback, through `cunicu signal` and through `warren signal`: envelopes sealed
#      by cunicu opened by Warren and the other way round (credentials, candidates, a peer
#      description), cunicu's client and Warren's gRPC backend exchanging through each server
#      (Tests/WarrenGRPCTests/CunicuSignalingInterop.swift), cunicu's own round trip, the empty
#      subscription marker first; `warren signal --require-proof` refuses cunicu's client with
#      UNAUTHENTICATED, the default serves it; `warren addresses` prints what `cunicu addresses`
#      does for 50 random keys;
#   2. daemons on one LAN (two namespaces and a veth): `cunicu daemon -U` and `warren up` with
#      wireguard-go, one community passphrase and addresses_from_key (the addresses cunicu's
#      autocfg gives), nothing else, through either server, with Warren
#      controlling and controlled: ROUNDS starts each, the time from both starting to the first
#      ping answered through the tunnel (and when Warren learned cunicu), a ping back from cunicu's
#      host, the final path; then each daemon stopped (SIGTERM, SIGKILL) and started again, in both
#      roles, and the time until the tunnel answers again;
#   3. the same behind two cone NATs (coturn for STUN and TURN: cunicu's srflx candidate is a dead
#      duplicate, the path must end direct) and two symmetric NATs (the path is the relay).
# Skipped, with a clear line, when the cunicu binary is not there.
#
# Usage: run.sh WARREN_BINARY PYTHON [ROUNDS] [CUNICU_DIR]   (root for step 2; wireguard-go,
# wireguard-tools, iputils-ping; swift for step 1)
set -uo pipefail
warren=$(realpath "$1")
python=$2
rounds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cunicu_dir=${4:-$(cd "$root/.." && pwd)/shared/interop/cunicu}
cunicu=$cunicu_dir/cunicu
sigcheck=$cunicu_dir/cunicu-sigcheck
if [ ! -x "$cunicu" ] || [ ! -x "$sigcheck" ]; then
  echo "cunicu-interop: 0 passed, 0 failed (skipped: no cunicu binaries in $cunicu_dir)"
  exit 0
fi
source "$here/daemons.sh"
# stats (the figures of several trials)
source "$root/Interop/netns/path-trials.sh"
work=$(mktemp -d /tmp/warren-cunicu.XXXXXX)
chmod 700 "$work"
id=$$
lan_c=wcunc$id lan_w=wcunw$id
wg_cunicu=cc$id wg_warren=cw$id
wg_cunicu=${wg_cunicu:0:15} wg_warren=${wg_warren:0:15}
cunicu_ns=$lan_c warren_ns=$lan_w
passed=0 failed=0
servers=()

cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null; done
  stop_pair KILL 2>/dev/null
  for ns in "$lan_c" "$lan_w"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  if [ -n "${KEEP_LOGS:-}" ]; then rm -rf /tmp/cunicu-interop-logs; cp -r "$work" /tmp/cunicu-interop-logs; fi
  rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 15 lines)"; tail -n 15 "$log"; done; }

# ---- 1. Signaling on loopback ----------------------------------------------------------------

signaling_checks() { # label port
  local label=$1 port=$2 url="grpc://127.0.0.1:$2?insecure=true"
  (cd "$root" && WARREN_CUNICU_SIGCHECK=$sigcheck WARREN_CUNICU_SERVER=127.0.0.1:$port \
    timeout 120 swift test --skip-build --filter CunicuSignalingInterop 2>&1 | grep -E "✘|Expectation|Test run with"
    exit "${PIPESTATUS[0]}")
  if [ $? -eq 0 ]; then pass "$label: sealed by cunicu opened by Warren and back, cunicu's client and Warren's backend exchange"
  else fail "$label: sealing or the exchange between cunicu's client and Warren's backend"; fi
  if timeout 30 "$sigcheck" roundtrip -b "$url" -t 10s | grep -q '"roundtrip":"ok"'; then pass "$label: cunicu's own round trip"
  else fail "$label: cunicu's own round trip"; fi
  local key first
  key=$("$sigcheck" keygen | "$python" -c "import json,sys; print(json.load(sys.stdin)['public'])")
  first=$(timeout 10 "$sigcheck" rawsub -b "$url" -K "$key" -n 1 -t 2s 2>/dev/null | head -n 1)
  if [ "$first" = "{}" ]; then pass "$label: the empty subscription marker comes first"
  else fail "$label: the first envelope on a subscription is '$first', not the empty marker"; fi
}

cunicu_port=$(free_port)
"$cunicu" signal -L "127.0.0.1:$cunicu_port" >"$work/cunicu-signal.log" 2>&1 &
servers+=($!)
warren_port=$(free_port)
"$warren" signal --listen "127.0.0.1:$warren_port" --log-level warning >"$work/warren-signal.log" 2>&1 &
servers+=($!)
proof_port=$(free_port)
"$warren" signal --listen "127.0.0.1:$proof_port" --require-proof --log-level warning >"$work/warren-signal-proof.log" 2>&1 &
servers+=($!)
wait_port "$cunicu_port" && wait_port "$warren_port" && wait_port "$proof_port" ||
  { echo "cunicu-interop: 0 passed, 1 failed (the servers did not start)"; show_logs; exit 1; }

# STEPS=lan, restart or nat runs only that part (for work on it).
steps=${STEPS:-all}
if [ "$steps" = all ]; then
signaling_checks "cunicu signal" "$cunicu_port"
signaling_checks "warren signal" "$warren_port"
# Addresses from keys: `warren addresses` against `cunicu addresses`, IPv4 and IPv6.
same=0 keys=50
for _ in $(seq "$keys"); do
  public=$(wg genkey | wg pubkey)
  if [ "$(echo "$public" | "$cunicu" addresses -m)" = "$(echo "$public" | "$warren" addresses -m)" ]; then same=$((same + 1))
  else echo "the addresses of $public differ: cunicu $(echo "$public" | "$cunicu" addresses -m | tr '\n' ' ')warren $(echo "$public" | "$warren" addresses -m | tr '\n' ' ')"; fi
done
if [ "$same" -eq "$keys" ]; then pass "addresses from the key: Warren's are cunicu's for $same of $keys keys (IPv4 and IPv6)"
else fail "addresses from the key: Warren's are cunicu's for only $same of $keys keys"; fi
key=$("$sigcheck" keygen | "$python" -c "import json,sys; print(json.load(sys.stdin)['public'])")
refusal=$(timeout 15 "$sigcheck" rawsub -b "grpc://127.0.0.1:$proof_port?insecure=true" -K "$key" -n 1 -t 5s 2>&1)
if echo "$refusal" | grep -q "code = Unauthenticated"; then pass "warren signal --require-proof refuses cunicu's client: ${refusal#*desc = }"
else fail "warren signal --require-proof did not refuse cunicu's client with UNAUTHENTICATED: $refusal"; fi
fi

# ---- 2. Daemons on one LAN -------------------------------------------------------------------

if [ "$(id -u)" -ne 0 ] || ! command -v wireguard-go >/dev/null; then
  echo "cunicu-interop: $passed passed, $failed failed (the daemons were skipped: they need root and wireguard-go)"
  [ "$failed" -eq 0 ]; exit
fi
for server in "${servers[@]}"; do kill "$server" 2>/dev/null; done
servers=()

if [ "$steps" != nat ]; then
ip netns add "$lan_c" && ip netns add "$lan_w" &&
  ip link add eth0 netns "$lan_c" type veth peer name eth0 netns "$lan_w" || { echo "cunicu-interop: $passed passed, 1 failed (no LAN)"; exit 1; }
for ns in "$lan_c" "$lan_w"; do ip netns exec "$ns" ip link set lo up; done
ip netns exec "$lan_c" ip addr add 10.78.0.1/24 dev eth0
ip netns exec "$lan_w" ip addr add 10.78.0.2/24 dev eth0
ip netns exec "$lan_c" ip link set eth0 up
ip netns exec "$lan_w" ip link set eth0 up
# Both servers on cunicu's host; each daemon reaches them over the LAN (Warren) or locally (cunicu).
ip netns exec "$lan_c" "$cunicu" signal -L 10.78.0.1:8080 >"$work/cunicu-signal-lan.log" 2>&1 &
servers+=($!)
ip netns exec "$lan_c" "$warren" signal --listen 10.78.0.1:8443 --log-level warning >"$work/warren-signal-lan.log" 2>&1 &
servers+=($!)
sleep 1
umask 077

for server in cunicu warren; do
  case $steps in all | lan) ;; *) break ;; esac
  case $server in cunicu) signal_address=10.78.0.1:8080 ;; warren) signal_address=10.78.0.1:8443 ;; esac
  for controls in warren cunicu; do
    label="LAN, $server signal, $controls controls"
    firsts=() learned=() paths=() problems=0
    for round in $(seq "$rounds"); do
      community=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
      keys_for "$controls"
      : >"$work/warren.log"; : >"$work/cunicu.log"
      prepare_pair
      started=$(now_ms)
      start_cunicu
      start_warren
      first=$(first_ping 30 "$started")
      if [ -z "$first" ]; then
        problems=$((problems + 1)); echo "$label, round $round: no ping answered within 30 s"; show_logs
        stop_pair; continue
      fi
      firsts+=("$first")
      learned+=("$(warren_learned_ms "$started")")
      ping_back 10 || { problems=$((problems + 1)); echo "$label, round $round: cunicu's host gets no answer from Warren's address"; }
      path=$(warren_path)
      paths+=("${path:-unknown}")
      echo "$label, round $round: first ping after $first ms (Warren learned cunicu after ${learned[-1]:-?} ms), path $path"
      stop_pair
    done
    summary="$label: first ping $(stats "${firsts[@]}"); Warren learned cunicu after $(stats "${learned[@]}"); paths: ${paths[*]}"
    # A second or more means an announcement was missed (cunicu answers a newcomer only after 1 s)
    # or a handshake waited for WireGuard's 5 s retry.
    slow=$(printf '%s\n' "${firsts[@]}" | awk '$1 >= 1000' | wc -l)
    if [ "$problems" -eq 0 ] && [ "${#firsts[@]}" -eq "$rounds" ] && [ "$slow" -eq 0 ]; then pass "$summary"
    else fail "$summary ($problems problems, $slow rounds of a second or more)"; fi
  done
done


# Restarts on the LAN (through warren signal): each daemon stopped with SIGTERM (cunicu sends
# REMOVE first, Warren too) or SIGKILL (nothing sent) and started again; the time from the new
# start to a ping answered through the tunnel again, in both roles.
signal_address=10.78.0.1:8443
for controls in warren cunicu; do
  case $steps in all | restart) ;; *) break ;; esac
  for who in cunicu warren; do
    for sig in TERM KILL; do
      label="LAN, $controls controls, $who restarted after SIG$sig"
      community=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
      keys_for "$controls"
      : >"$work/warren.log"; : >"$work/cunicu.log"
      prepare_pair
      start_cunicu
      start_warren
      if [ -z "$(first_ping 30 "$(now_ms)")" ]; then fail "$label: the pair never connected"; show_logs; stop_pair; continue; fi
      sleep 1
      restart_daemon "$who" "$sig"
      restarted=$(now_ms)
      back=$(first_ping 30 "$restarted")
      for _ in $(seq 50); do [ "$(warren_connected)" = yes ] && break; sleep 0.2; done
      connected=$(warren_connected)
      if [ -n "$back" ] && [ "$connected" = yes ] && ping_back 10; then pass "$label: a ping answered $back ms after the new start, both ways"
      else fail "$label: ping after ${back:-never} ms, Warren's session ${connected:-not connected}"; show_logs; fi
      stop_pair
      if [ -n "${KEEP_LOGS:-}" ]; then mkdir -p "$work/$controls-$who-$sig"; cp "$work/warren.log" "$work/cunicu.log" "$work/$controls-$who-$sig/"; fi
    done
  done
done
fi

# ---- 3. Daemons behind two NATs ---------------------------------------------------------------

case $steps in all | nat) ;; *) echo "cunicu-interop: $passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit ;; esac

for server in "${servers[@]}"; do kill "$server" 2>/dev/null; done
servers=()
for ns in "$lan_c" "$lan_w"; do ip netns del "$ns" 2>/dev/null; done
source "$root/Interop/netns/topology.sh"
topology_up || { echo "cunicu-interop: $passed passed, $((failed + 1)) failed (could not build the NAT topology)"; exit 1; }
nat_cleanup() { topology_down; }
trap 'nat_cleanup; cleanup' EXIT
start_public_servers "$warren"
ip netns exec "$pub" "$cunicu" signal -L 198.51.100.1:8080 >"$work/cunicu-signal-pub.log" 2>&1 &
servers+=($!)
sleep 1
cunicu_ns=$host_a warren_ns=$host_b
ice_username=warren ice_password=$turn_password

# One topology: ROUNDS pairs through each server with each side controlling; the first ping and
# the final path on Warren's side (after the tunnel has carried pings for 3 s).
nat_rounds() { # label expected-path (direct|relay)
  local label=$1 expected=$2
  for server in cunicu warren; do
    case $server in cunicu) signal_address=198.51.100.1:8080 ;; warren) signal_address=198.51.100.1:8443 ;; esac
    for controls in warren cunicu; do
      local name="$label, $server signal, $controls controls"
      local firsts=() paths=() problems=0 wrong=0
      for round in $(seq "$rounds"); do
        community=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
        keys_for "$controls"
        : >"$work/warren.log"; : >"$work/cunicu.log"
        in_ns "$nat_a" conntrack -F >/dev/null 2>&1; in_ns "$nat_b" conntrack -F >/dev/null 2>&1
        prepare_pair
        started=$(now_ms)
        start_cunicu
        start_warren
        first=$(first_ping 30 "$started")
        if [ -z "$first" ]; then
          problems=$((problems + 1)); echo "$name, round $round: no ping answered within 30 s"; show_logs
          stop_pair; continue
        fi
        firsts+=("$first")
        ip netns exec "$warren_ns" ping -q -n -c 150 -i 0.02 "$cunicu_address" >/dev/null 2>&1
        path=$(warren_path)
        paths+=("${path:-unknown}")
        case $expected:$path in direct:direct | direct:srflx | relay:relay) ;; *) wrong=$((wrong + 1)) ;; esac
        echo "$name, round $round: first ping after $first ms, path $path"
        stop_pair
      done
      local summary="$name: first ping $(stats "${firsts[@]}"); paths: ${paths[*]}"
      if [ "$problems" -eq 0 ] && [ "$wrong" -eq 0 ] && [ "${#firsts[@]}" -eq "$rounds" ]; then pass "$summary"
      else fail "$summary ($problems without a ping, $wrong not $expected)"; fi
    done
  done
}

ice_urls='[ "stun:198.51.100.1:3478", "turn:198.51.100.1:3478" ]'
nat_rounds "cone NATs" direct
nat_symmetric "$nat_a"
nat_symmetric "$nat_b"
nat_rounds "symmetric NATs" relay

echo "cunicu-interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
