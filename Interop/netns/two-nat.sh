#!/usr/bin/env bash
# End to end across two NATs in network namespaces (topology.sh): `warren signal` and coturn
# (STUN and TURN) on the public side, `warren up` and a UDP echo application behind each NAT.
#
# Checks, each a PASS/FAIL line:
#   1. both sessions reach Connected over a peer-to-peer (not relayed) pair through the NATs;
#   2. echo traffic crosses with zero loss; `warren status --json` and `warren ping` report the path;
#   3. `warren signal` stopped: the session and traffic stay up;
#   4. `warren signal` back and one peer restarted: the session reconnects;
#   5. one NAT reboots under traffic (conntrack flushed, mappings on new ports): at most 1 s of a
#      200/s echo is lost (the relayed standby takes over), and traffic crosses again with zero
#      loss; whether and when the path is direct again on the new mapping is reported;
#   6. cold starts of both daemons (RUNS, median): time to Connected and to the first echoed
#      datagram from process start, relay first (the default) next to the old 1 s grace period;
#      the settled path is direct in every run;
#   7. both NATs made symmetric: direct paths cannot work, the sessions connect through coturn's
#      TURN relay at once and echo traffic crosses with zero loss (TURN is configured throughout,
#      and the checks above assert that it is not used while a direct path works); the cold-start
#      times, and echo throughput through the relay next to the direct path's (reported);
#   8. the same cold starts with the 1 s grace period, for comparison;
#   9. the ICE race across the symmetric NATs (race/): one harness for Warren's agent, libnice and
#      aioice, timed from the peer's credentials to Connected and to the first echoed datagram:
#      Warren controlling against Warren, libnice and aioice, next to libnice against libnice
#      (regular and aggressive nomination);
#  10. relay to direct: cone NATs with every direct datagram between them dropped by the public
#      router: the sessions connect over the relay, a 200/s echo stream starts, the drop rule
#      goes, and the traffic moves to the direct path (rechecks of the failed direct pairs) with
#      zero loss; `warren status` counts the switch;
#  11. the same renomination in the race harness, Warren controlling against Warren, libnice and
#      aioice as the controlled agent: Warren and libnice follow it (their echoes arrive over the
#      new pair), aioice keeps its first pair (reported), and no probe is lost.
#
# Usage: two-nat.sh WARREN_BINARY PYTHON [RUNS]   (root; iproute2, nftables, conntrack, coturn;
# gcc, pkg-config and libnice-dev, and `swift build --build-tests`, for the race)
set -uo pipefail
warren=$1
python=$2
runs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/topology.sh"
source "$here/race/race.sh"
work=$(mktemp -d /tmp/warren-netns.XXXXXX)
chmod 700 "$work"
passed=0 failed=0

cleanup() {
  topology_down
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_LOGS:-}" ] && trap "cp -r \"$work\" /tmp/netns-logs; cleanup" EXIT

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 15 lines)"; tail -n 15 "$log"; done; }

# Reads one field of a peer from `warren status --json`: peer_field SOCKET FIELD.
peer_field() {
  "$warren" status --json --socket "$1" 2>/dev/null |
    "$python" -c "import json,sys; p=json.load(sys.stdin)['peers'][0]; v=p.get('$2'); print('-' if v is None else v)" 2>/dev/null
}
connected() { case $(peer_field "$1" state) in connected | completed) return 0 ;; *) return 1 ;; esac; }
# Waits up to $2 seconds for the session behind socket $1 to be connected.
wait_connected() {
  local deadline=$(($(now_ms) + $2 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    connected "$1" && return 0
    sleep 0.05
  done
  return 1
}
# Waits up to $1 seconds for both sessions to leave the relay; false if either stays on it.
wait_direct() {
  local deadline=$(($(now_ms) + $1 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    [ "$(peer_field "$sock_a" path)" != relay ] && [ "$(peer_field "$sock_b" path)" != relay ] && return 0
    sleep 0.05
  done
  return 1
}

# Keys, configurations, and the processes.
key_a=$("$warren" genkey) key_b=$("$warren" genkey)
turn_password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
public_a=$(echo "$key_a" | "$warren" pubkey) public_b=$(echo "$key_b" | "$warren" pubkey)
write_config() { # file private-key peer-name peer-public-key socket [relay-nomination-delay]
  cat >"$1" <<EOF
private_key: $2
backends: [ "grpc://signal.warren.test:8443?insecure=true" ]
control_socket: $5
ice:
  urls: [ "stun:stun.warren.test:3478", "turn:turn.warren.test:3478" ]
  username: warren
  password: $turn_password
  interfaces_include: [ eth0 ]
  network_types: [ udp4 ]
  relay_nomination_delay: ${6:-0s}
peers:
  $3:
    public_key: $4
    forward: 127.0.0.1:5000
    listen: 127.0.0.1:6000
EOF
}
sock_a=$work/a.sock sock_b=$work/b.sock
write_config "$work/a.yaml" "$key_a" b "$public_b" "$sock_a"
write_config "$work/b.yaml" "$key_b" a "$public_a" "$sock_b"

start_signal() {
  ip netns exec "$pub" "$warren" signal --listen 198.51.100.1:8443 --log-level notice >>"$work/signal.log" 2>&1 &
  signal_pid=$!
}
start_up() { # a|b
  local ns=$host_a
  [ "$1" = b ] && ns=$host_b
  ip netns exec "$ns" "$warren" up --config "$work/$1.yaml" --log-level "${WARREN_LOG_LEVEL:-info}" --log-format json >>"$work/up-$1.log" 2>&1 &
  eval "up_$1=\$!"
}
# SIGTERM, then up to 10 s for a graceful exit; a process that needs SIGKILL is a failure.
stop() { # pid name
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }; sleep 0.1; done
  fail "$2 did not exit within 10 s of SIGTERM"
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
throughput() { # prints echoed datagrams per second, 1200-byte datagrams, 32 in flight, 3 s
  in_ns "$host_a" "$python" "$here/udp_echo.py" client --bind 127.0.0.1:5000 --to 127.0.0.1:6000 --window 32 --seconds 3 --size 1200 |
    "$python" -c 'import json,sys; print(json.load(sys.stdin)["datagrams_per_second"])'
}
echo_traffic() { # count rate
  in_ns "$host_a" "$python" "$here/udp_echo.py" client --bind 127.0.0.1:5000 --to 127.0.0.1:6000 --count "$1" --rate "$2"
}

echo "topology: hostA 10.1.0.2 -> NAT 198.51.100.2 | public 198.51.100.1 (signal :8443, STUN :3478; named signal.warren.test and stun.warren.test in the hosts) | NAT 203.0.113.2 <- hostB 10.2.0.2"
topology_up || { echo "netns-e2e: 0 passed, 1 failed (could not build the topology)"; exit 1; }

# coturn: STUN and TURN (long-term credentials). Relaying to the private ranges is denied: those
# peers are unreachable from the public side, and trying would only tear allocations down.
ip netns exec "$pub" turnserver -n --listening-ip=198.51.100.1 --relay-ip=198.51.100.1 --listening-port=3478 \
  --min-port=49152 --max-port=49999 --lt-cred-mech --user="warren:$turn_password" --realm=warren.test \
  --denied-peer-ip=10.0.0.0-10.255.255.255 --no-tcp-relay --no-tls --no-dtls --no-cli \
  --log-file=stdout --simple-log --pidfile="$work/coturn.pid" --userdb="$work/turndb" >"$work/coturn.log" 2>&1 &
start_signal
ip netns exec "$host_b" "$python" "$here/udp_echo.py" server --bind 127.0.0.1:5000 &
for _ in $(seq 50); do grep -q "listener opened on" "$work/coturn.log" 2>/dev/null && break; sleep 0.1; done

# 1. Connected through both NATs, peer to peer.
start_up a
start_up b
if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30; then
  # Relay first: a relayed pair may carry the first datagrams; the direct one must take over.
  wait_direct 5
  path_a=$(peer_field "$sock_a" path) path_b=$(peer_field "$sock_b" path)
  remote_a=$(peer_field "$sock_a" remote) remote_b=$(peer_field "$sock_b" remote)
  echo "A: $path_a via $remote_a; B: $path_b via $remote_b"
  if [ "$path_a" != relay ] && [ "$path_b" != relay ] && [[ $remote_a == *203.0.113.2* ]] && [[ $remote_b == *198.51.100.2* ]]; then
    pass "both sessions connected through the NATs over a peer-to-peer pair"
  else
    fail "connected, but not over the NATs' public addresses peer to peer"
  fi
else
  fail "the sessions did not connect within 30 s"
  show_logs
  echo "netns-e2e: $passed passed, $((failed + 5)) failed"
  exit 1
fi

# 2. Traffic, status and ping.
result=$(echo_traffic 1000 200) && pass "1000 echoes at 200/s across the NATs, zero loss: $result" ||
  fail "echo traffic lost datagrams: $result"
status_json=$("$warren" status --json --socket "$sock_a")
if echo "$status_json" | "$python" -c "
import json, sys
p = json.load(sys.stdin)['peers'][0]
assert p['state'] in ('connected', 'completed') and p['path'] in ('direct', 'srflx'), p
assert p['packets_sent'] >= 1000 and p['packets_received'] >= 1000 and p['rtt_ms'] is not None, p
"; then pass "warren status --json reports the session, its path and its traffic"; else fail "warren status --json: $status_json"; fi
pings=$("$warren" ping b -c 3 --interval 0.1 --json --socket "$sock_a")
if [ "$(echo "$pings" | grep -c '"result":"answered"')" -eq 3 ] && ! echo "$pings" | grep -q '"path":"relay"'; then
  pass "warren ping: 3 of 3 answered peer to peer ($(echo "$pings" | head -n1))"
else
  fail "warren ping: $pings"
fi

direct_rate=$(throughput)
echo "echo throughput over the direct path: $direct_rate datagrams/s"

# 3. Signaling down: the session needs no signaling once connected.
restarts_a=$(peer_field "$sock_a" restarts)
stop "$signal_pid" "warren signal"
result=$(echo_traffic 600 200)
rc=$?
if [ $rc -eq 0 ] && connected "$sock_a" && connected "$sock_b" && [ "$(peer_field "$sock_a" restarts)" = "$restarts_a" ]; then
  pass "warren signal stopped: the session stays up and traffic crosses with zero loss: $result"
else
  fail "after stopping warren signal: $result, state $(peer_field "$sock_a" state), restarts $(peer_field "$sock_a" restarts)"
fi

# 4. Signaling back; B restarts and the session reconnects.
start_signal
stop "$up_b" "warren up (B)"
restarted_at=$(now_ms)
start_up b
sleep 0.2
if wait_connected "$sock_b" 30 && wait_connected "$sock_a" 30; then
  # A must have noticed the new credentials rather than kept a stale session.
  for _ in $(seq 100); do [ "$(peer_field "$sock_a" restarts)" -gt "$restarts_a" ] && connected "$sock_a" && break; sleep 0.1; done
  took=$(($(now_ms) - restarted_at))
  result=$(echo_traffic 400 200) && pass "B restarted: reconnected in $took ms (A restarts $(peer_field "$sock_a" restarts)), echo zero loss" ||
    fail "B restarted and reconnected, but echo traffic lost datagrams: $result"
else
  fail "after B restarted, the session did not reconnect within 30 s"
  show_logs
fi

# 5. NAT A reboots under traffic: its conntrack state is flushed and its mappings come back on
# other ports (20000-29999, outside the hosts' ephemeral ports, so no mapping can keep its old
# port), so the selected pair's old public address is gone. Path survival moves the traffic to the
# relayed standby at once, and the direct path usually comes back on the new mapping (the peer
# learns it as a peer-reflexive candidate) without an ICE restart; an idle session would restart.
restarts_a=$(peer_field "$sock_a" restarts)
restarts_b=$(peer_field "$sock_b" restarts)
echo_traffic 1600 200 >"$work/reboot-echo.json" &
echo_pid=$!
sleep 1
in_ns "$nat_a" nft flush chain ip nat postrouting
in_ns "$nat_a" nft add rule ip nat postrouting oifname wan meta l4proto "{ tcp, udp }" masquerade to :20000-29999
in_ns "$nat_a" nft add rule ip nat postrouting oifname wan masquerade
in_ns "$nat_a" conntrack -F >/dev/null 2>&1
flushed_at=$(now_ms)
direct_after=""
while [ $(($(now_ms) - flushed_at)) -lt 15000 ]; do
  remote_b=$(peer_field "$sock_b" remote)
  if connected "$sock_a" && connected "$sock_b" && [ "$(peer_field "$sock_a" path)" != relay ] &&
    [ "$(peer_field "$sock_b" path)" != relay ] && [[ $remote_b =~ 198\.51\.100\.2:2[0-9]{4}[^0-9] ]]; then
    direct_after=$(($(now_ms) - flushed_at))
    break
  fi
  sleep 0.05
done
wait "$echo_pid"
during=$(cat "$work/reboot-echo.json")
lost=$(echo "$during" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["lost"])' 2>/dev/null)
restarts="restarts A $(($(peer_field "$sock_a" restarts) - restarts_a)) B $(($(peer_field "$sock_b" restarts) - restarts_b))"
# Survived: at most 1 s of the 200/s echo lost, both sessions up, nothing lost afterwards. Direct
# again on the new mapping is reported; a controlled side can stay on the peer's relay (docs/ice.md).
path="direct again on the new mapping after ${direct_after} ms"
[ -z "$direct_after" ] && path="not direct again within 15 s (A $(peer_field "$sock_a" path), B $(peer_field "$sock_b" path) via $remote_b)"
if [ -n "$lost" ] && [ "$lost" -le 200 ] && connected "$sock_a" && connected "$sock_b" && result=$(echo_traffic 400 200); then
  pass "NAT A rebooted under traffic (conntrack flushed, new ports): $lost of 1600 echoes lost (200/s), $path ($restarts); afterwards zero loss"
else
  fail "NAT A's conntrack flushed: echo meanwhile $during, afterwards ${result:-not run}; $path ($restarts)"
  show_logs
fi

# Epoch milliseconds of the first transition to connected (or completed) that LOG records after
# byte OFFSET (the daemons log JSON with millisecond timestamps), or nothing.
connected_at() { # log offset
  tail -c +$(($2 + 1)) "$1" | "$python" -c '
import datetime, json, sys
for line in sys.stdin:
    try:
        entry = json.loads(line)
    except ValueError:
        continue
    if entry.get("to") in ("connected", "completed"):
        at = datetime.datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        print(round(at.timestamp() * 1000))
        break'
}

# Cold starts: both daemons and A's echo client start together; each run records the time to
# Connected (the later of the two daemons' logged transitions), to the first echoed datagram (one
# sent every 5 ms) and the path once settled (a relay that carried the first datagrams must give
# way to a direct pair within 5 s). Fills starts_connected, starts_echo and starts_paths.
cold_starts() { # runs
  starts_connected=() starts_echo=() starts_paths=()
  local run started offset_a offset_b at_a at_b
  for run in $(seq "$1"); do
    stop "$up_a" "warren up (A)"
    stop "$up_b" "warren up (B)"
    offset_a=$(stat -c %s "$work/up-a.log") offset_b=$(stat -c %s "$work/up-b.log")
    started=$(now_ms)
    in_ns "$host_a" "$python" "$here/udp_echo.py" client --bind 127.0.0.1:5000 --to 127.0.0.1:6000 --first --seconds 30 >"$work/first.json" &
    local prober=$!
    start_up a
    start_up b
    if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30; then
      at_a=$(connected_at "$work/up-a.log" "$offset_a") at_b=$(connected_at "$work/up-b.log" "$offset_b")
      [ -n "$at_a" ] && [ -n "$at_b" ] && starts_connected+=($(( (at_a > at_b ? at_a : at_b) - started)))
    fi
    wait "$prober" && starts_echo+=($(($("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["at_unix_ms"])' "$work/first.json") - started)))
    wait_direct 5
    starts_paths+=("$(peer_field "$sock_a" path)/$(peer_field "$sock_b" path)")
  done
}
cold_starts_report() { # what
  echo "$1: Connected median $(median "${starts_connected[@]}") ms (${starts_connected[*]}), first echo median $(median "${starts_echo[@]}") ms (${starts_echo[*]}), paths ${starts_paths[*]}"
}

# 6. Cold starts on cone NATs: relay first (the default) against the old 1 s grace period, same
# run, interleaved run by run (and which goes first alternates) so that the machine's noise falls
# on both alike.
cone_configs() { # [relay-nomination-delay]
  write_config "$work/a.yaml" "$key_a" b "$public_b" "$sock_a" "${1:-}"
  write_config "$work/b.yaml" "$key_b" a "$public_a" "$sock_b" "${1:-}"
}
graced_connected=() graced_echo_runs=() graced_paths=() first_connected=() first_echo=() first_paths=()
for run in $(seq "$runs"); do
  for mode in $([ $((run % 2)) = 1 ] && echo "grace first" || echo "first grace"); do
    if [ "$mode" = grace ]; then
      cone_configs 1s
      cold_starts 1
      graced_connected+=("${starts_connected[@]}") graced_echo_runs+=("${starts_echo[@]}") graced_paths+=("${starts_paths[@]}")
    else
      cone_configs
      cold_starts 1
      first_connected+=("${starts_connected[@]}") first_echo+=("${starts_echo[@]}") first_paths+=("${starts_paths[@]}")
    fi
  done
done
cone_configs  # What follows runs relay first.
starts_connected=("${graced_connected[@]}") starts_echo=("${graced_echo_runs[@]}") starts_paths=("${graced_paths[@]}")
graced=$(cold_starts_report "with the 1 s grace period")
graced_echo=$(median "${starts_echo[@]}")
starts_connected=("${first_connected[@]}") starts_echo=("${first_echo[@]}") starts_paths=("${first_paths[@]}")
direct_paths=$(printf '%s\n' "${starts_paths[@]}" | grep -cv relay)
if [ ${#starts_connected[@]} -eq "$runs" ] && [ ${#starts_echo[@]} -eq "$runs" ] && [ "$direct_paths" -eq "$runs" ]; then
  pass "cold starts across two cone NATs, $runs runs from process start: $(cold_starts_report "relay first"); $graced"
else
  fail "cold starts across cone NATs: ${#starts_connected[@]} of $runs connected, ${#starts_echo[@]} echoed, $direct_paths direct: $(cold_starts_report "relay first")"
  show_logs
fi
paired=""
if [ ${#first_echo[@]} -eq "$runs" ] && [ ${#graced_echo_runs[@]} -eq "$runs" ]; then
  differences=()
  for i in $(seq 0 $((runs - 1))); do differences+=($((first_echo[i] - graced_echo_runs[i]))); done
  paired="; paired difference (relay first - grace period) median $(median "${differences[@]}") ms (${differences[*]})"
fi
echo "first echo on cone NATs: relay first $(median "${starts_echo[@]}") ms against $graced_echo ms with the grace period (same run, interleaved, from process start)$paired"

# 7. Symmetric NATs on both sides: only the relay can carry the session; it does at once.
nat_symmetric "$nat_a"
nat_symmetric "$nat_b"
cold_starts "$runs"
path_a=$(peer_field "$sock_a" path) path_b=$(peer_field "$sock_b" path)
if [ ${#starts_connected[@]} -eq "$runs" ] && [ ${#starts_echo[@]} -eq "$runs" ] && [ "$path_a" = relay ] && [ "$path_b" = relay ]; then
  pass "symmetric NATs: connected through the TURN relay (A via $(peer_field "$sock_a" local), B via $(peer_field "$sock_b" remote)); $(cold_starts_report "from process start")"
  result=$(echo_traffic 1000 200) && pass "1000 echoes at 200/s through the relay, zero loss: $result" ||
    fail "echo traffic through the relay lost datagrams: $result"
  relay_rate=$(throughput)
  echo "echo throughput through the relay: $relay_rate datagrams/s; over the direct path: $direct_rate datagrams/s"
  "$python" -c "print(f'relayed / direct echo throughput = {$relay_rate / max($direct_rate, 1):.2f} (debug build, same run)')"
else
  fail "symmetric NATs: ${#starts_connected[@]} of $runs starts connected, ${#starts_echo[@]} echoed; paths A $path_a, B $path_b"
  show_logs
fi

# 8. The same with the old 1 s grace period, for comparison.
write_config "$work/a.yaml" "$key_a" b "$public_b" "$sock_a" 1s
write_config "$work/b.yaml" "$key_b" a "$public_a" "$sock_b" 1s
relay_first=$(median "${starts_connected[@]}")
cold_starts 3
if [ ${#starts_connected[@]} -eq 3 ]; then
  pass "symmetric NATs with the 1 s grace period: $(cold_starts_report "from process start") (relay first: $relay_first ms)"
else
  fail "symmetric NATs with the 1 s grace period: ${#starts_connected[@]} of 3 starts connected"
fi
stop "$up_a" "warren up (A)"
stop "$up_b" "warren up (B)"
write_config "$work/a.yaml" "$key_a" b "$public_b" "$sock_a"
write_config "$work/b.yaml" "$key_b" a "$public_a" "$sock_b"

# 9. The ICE race across the symmetric NATs: the same harness (race/race.sh) for every agent,
# timed from reading the peer's credentials and candidates; Warren controlling against Warren,
# libnice and aioice, next to libnice against libnice. A pairing with Warren in it must finish
# every run; libnice against itself is the reference, whose median needs 3 runs (libnice alone
# fails a run now and then on this loaded machine: 1 of 5 once in CI; said, not counted).
if race_build; then
  for pairing in libnice:libnice libnice-aggressive:libnice-aggressive warren:warren warren:libnice warren:aioice; do
    read -r race_connected race_echo race_ok race_runs race_lists <<<"$(race_pairing "${pairing%:*}" "${pairing#*:}" "$runs")"
    required=$race_runs
    [[ "$pairing" == *warren* ]] || required=$((race_runs < 3 ? race_runs : 3))
    if [ "$race_ok" -ge "$required" ]; then
      unfinished=""
      [ "$race_ok" -eq "$race_runs" ] || unfinished="; $((race_runs - race_ok)) of $race_runs runs failed in ${pairing%:*} itself (reference only)"
      pass "race across symmetric NATs, ${pairing%:*} controlling, ${pairing#*:} controlled: Connected median $race_connected ms, first echo median $race_echo ms ($race_lists)$unfinished"
      [ -z "$unfinished" ] || tail -n 5 "$work/race-failures.log" 2>/dev/null
    else
      fail "race across symmetric NATs, ${pairing%:*} controlling, ${pairing#*:} controlled: $race_ok of $race_runs runs finished"
      cat "$work/race-failures.log" 2>/dev/null | tail -n 20
    fi
  done
else
  fail "the race harness could not be built (gcc, pkg-config, libnice-dev, swift build --build-tests)"
fi

# 10. Relay to direct under traffic.
# The NATs become cone NATs again, but the public router drops every datagram between them.
for ns in "$nat_a" "$nat_b"; do
  in_ns "$ns" nft flush chain ip nat postrouting
  in_ns "$ns" nft add rule ip nat postrouting oifname wan masquerade
  in_ns "$ns" conntrack -F >/dev/null 2>&1
done
block_direct() {
  in_ns "$pub" nft add table ip blocker
  in_ns "$pub" nft add chain ip blocker forward "{ type filter hook forward priority 0; }"
  in_ns "$pub" nft add rule ip blocker forward ip saddr 198.51.100.2 ip daddr 203.0.113.2 drop
  in_ns "$pub" nft add rule ip blocker forward ip saddr 203.0.113.2 ip daddr 198.51.100.2 drop
}
open_direct() { in_ns "$pub" nft delete table ip blocker; }
block_direct
start_up a
start_up b
if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30 && [ "$(peer_field "$sock_a" path)" = relay ]; then
  # 200 datagrams/s for 20 s; the direct path opens after 3 s.
  in_ns "$host_a" "$python" "$here/udp_echo.py" client --bind 127.0.0.1:5000 --to 127.0.0.1:6000 --count 4000 --rate 200 >"$work/upgrade-echo.json" &
  echo_pid=$!
  sleep 3
  opened=$(now_ms)
  open_direct
  upgraded=""
  while [ $(($(now_ms) - opened)) -lt 15000 ]; do
    if [ "$(peer_field "$sock_a" path)" != relay ] && [ "$(peer_field "$sock_b" path)" != relay ]; then upgraded=$(($(now_ms) - opened)); break; fi
    sleep 0.1
  done
  wait "$echo_pid"
  result=$(cat "$work/upgrade-echo.json")
  lost=$("$python" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["sent"] - r["received"])' "$work/upgrade-echo.json" 2>/dev/null || echo "?")
  switches_a=$(peer_field "$sock_a" path_switches) switches_b=$(peer_field "$sock_b" path_switches)
  if [ -n "$upgraded" ] && [ "$lost" = 0 ] && [ "$switches_a" -ge 1 ] && [ "$switches_b" -ge 1 ]; then
    pass "relay to direct: moved to the $(peer_field "$sock_a" path) path $upgraded ms after it opened, under 200 datagrams/s with zero loss ($result); switches A $switches_a, B $switches_b"
  else
    fail "relay to direct: upgraded after ${upgraded:-never} ms; lost $lost ($result); switches A $switches_a, B $switches_b; paths A $(peer_field "$sock_a" path), B $(peer_field "$sock_b" path)"
    show_logs
  fi
else
  fail "relay first with the direct path blocked: no relayed connection (paths A $(peer_field "$sock_a" path), B $(peer_field "$sock_b" path))"
  show_logs
fi

stop "$up_a" "warren up (A)"
stop "$up_b" "warren up (B)"

# 11. The same renomination with the race harness, Warren controlling, against each controlled
# agent: connected over the relay, the direct path opens 1 s later, Warren's direct rechecks find
# it and nominate it in the relay's place. The peer followed when its echoes of the last second
# all arrive over the new pair, and Warren's agent must conclude the same on its own; zero
# probes may be lost.
if [ -n "$race_tests" ]; then
  for agent in warren libnice aioice; do
    for ns in "$nat_a" "$nat_b"; do in_ns "$ns" conntrack -F >/dev/null 2>&1; done
    block_direct
    report=$(race_upgrade "$agent" open_direct)
    line=$(echo "$report" | grep "^race: warren")
    probes=$(echo "$line" | sed -n 's/.* probes=\([0-9]*\).*/\1/p') echoes=$(echo "$line" | sed -n 's/.* echoes=\([0-9]*\).*/\1/p')
    # aioice (0.13) keeps sending on the pair it saw nominated first: recorded, not a failure, as
    # long as nothing is lost (Warren accepts its datagrams over the still valid relayed pair).
    # Warren's agent must tell the same on its own (agent_detected: ICEEvent.renominationIgnored).
    followed=no
    [[ $line == *peer_followed=yes* ]] && followed=yes
    if [[ $line != *final=relay* ]] && [[ $line != *switches=0* ]] && [ -n "$probes" ] && [ "$probes" = "$echoes" ] &&
      [[ $line == *agent_detected=$followed* ]] && { [ "$followed" = yes ] || [ "$agent" = aioice ]; }; then
      pass "renomination, Warren controlling, $agent controlled: Warren moved from the relay to direct, $agent followed: $followed, $echoes of $probes probes echoed (${line#race: }; $(echo "$report" | sed -n 2p))"
    else
      fail "renomination, Warren controlling, $agent controlled: $report"
      cat "$work/race-failures.log" 2>/dev/null | tail -n 20
    fi
    in_ns "$pub" nft delete table ip blocker 2>/dev/null
  done
fi

stop "$signal_pid" "warren signal"
echo "netns-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
