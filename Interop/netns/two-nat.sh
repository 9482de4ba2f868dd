#!/usr/bin/env bash
# End to end across two NATs in network namespaces (topology.sh): `warren signal` and coturn
# (STUN only) on the public side, `warren up` and a UDP echo application behind each NAT.
#
# Checks, each a PASS/FAIL line:
#   1. both sessions reach Connected over a peer-to-peer (not relayed) pair through the NATs;
#   2. echo traffic crosses with zero loss; `warren status --json` and `warren ping` report the path;
#   3. `warren signal` stopped: the session and traffic stay up;
#   4. `warren signal` back and one peer restarted: the session reconnects;
#   5. one NAT reboots (conntrack flushed, mappings on new ports): consent fails, the session
#      restarts and reconnects within 15 s, and traffic crosses again;
#   6. time from both daemons started to Connected, median of RUNS fresh starts (reported);
#   7. both NATs made symmetric: direct paths cannot work, the sessions connect through coturn's
#      TURN relay and echo traffic crosses with zero loss (TURN is configured throughout, and the
#      checks above assert that it is not used while a direct path works); time to Connected and
#      echo throughput through the relay next to the direct path's (reported);
#   8. relay first (`relay_nomination_delay: 0`): across the symmetric NATs, time to Connected
#      without the grace period (reported next to 7's); then cone NATs with every direct datagram
#      between them dropped by the public router: the sessions connect over the relay, a 200/s
#      echo stream starts, the drop rule goes, and the traffic moves to the direct path (rechecks
#      of the failed direct pairs) with zero loss; `warren status` counts the switch.
#
# Usage: two-nat.sh WARREN_BINARY PYTHON [RUNS]   (root; iproute2, nftables, conntrack, coturn)
set -uo pipefail
warren=$1
python=$2
runs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/topology.sh"
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
  relay_nomination_delay: ${6:-1s}
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
  ip netns exec "$ns" "$warren" up --config "$work/$1.yaml" --log-level "${WARREN_LOG_LEVEL:-info}" >>"$work/up-$1.log" 2>&1 &
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

# 5. NAT A reboots: its conntrack state is flushed and its mappings come back on other ports
# (20000-29999, outside the hosts' ephemeral ports, so no mapping can keep its old port), so the
# selected pair's old public address is gone. Consent on it fails and
# the session restarts and reconnects on its own.
restarts_a=$(peer_field "$sock_a" restarts)
restarts_b=$(peer_field "$sock_b" restarts)
in_ns "$nat_a" nft flush chain ip nat postrouting
in_ns "$nat_a" nft add rule ip nat postrouting oifname wan meta l4proto "{ tcp, udp }" masquerade to :20000-29999
in_ns "$nat_a" nft add rule ip nat postrouting oifname wan masquerade
in_ns "$nat_a" conntrack -F >/dev/null 2>&1
flushed_at=$(now_ms)
recovered=""
while [ $(($(now_ms) - flushed_at)) -lt 20000 ]; do
  if [ "$(peer_field "$sock_b" restarts)" -gt "$restarts_b" ] || [ "$(peer_field "$sock_a" restarts)" -gt "$restarts_a" ]; then
    if connected "$sock_a" && connected "$sock_b"; then recovered=$(($(now_ms) - flushed_at)); break; fi
  fi
  sleep 0.1
done
if [ -n "$recovered" ] && [ "$recovered" -le 15000 ]; then
  result=$(echo_traffic 400 200) &&
    pass "NAT A rebooted (conntrack flushed, new ports): session restarted and reconnected after $recovered ms; echo zero loss" ||
    fail "NAT A's conntrack flushed: reconnected after $recovered ms, but echo lost datagrams: $result"
else
  fail "NAT A's conntrack flushed: no restart and reconnection within 15 s (${recovered:-none} ms; restarts A $(peer_field "$sock_a" restarts) B $(peer_field "$sock_b" restarts))"
  show_logs
fi

# 6. Time to Connected from a cold start of both daemons, several runs.
times=()
for run in $(seq "$runs"); do
  stop "$up_a" "warren up (A)"
  stop "$up_b" "warren up (B)"
  started=$(now_ms)
  start_up a
  start_up b
  if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30; then times+=($(($(now_ms) - started))); fi
done
if [ ${#times[@]} -eq "$runs" ]; then
  median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  pass "time to Connected across two NATs over $runs runs: median $median ms (runs: ${times[*]} ms; includes process start and 50 ms status polling)"
else
  fail "only ${#times[@]} of $runs cold starts connected"
fi

# 7. Symmetric NATs on both sides: only the relay can carry the session.
stop "$up_a" "warren up (A)"
stop "$up_b" "warren up (B)"
nat_symmetric "$nat_a"
nat_symmetric "$nat_b"
relay_times=()
for run in $(seq 3); do
  started=$(now_ms)
  start_up a
  start_up b
  if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30; then relay_times+=($(($(now_ms) - started))); fi
  [ "$run" -lt 3 ] && { stop "$up_a" "warren up (A)"; stop "$up_b" "warren up (B)"; }
done
path_a=$(peer_field "$sock_a" path) path_b=$(peer_field "$sock_b" path)
if [ ${#relay_times[@]} -eq 3 ] && [ "$path_a" = relay ] && [ "$path_b" = relay ]; then
  median=$(printf '%s\n' "${relay_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  pass "symmetric NATs: connected through the TURN relay (A via $(peer_field "$sock_a" local), B via $(peer_field "$sock_b" remote)); time to Connected median $median ms (runs: ${relay_times[*]} ms)"
  result=$(echo_traffic 1000 200) && pass "1000 echoes at 200/s through the relay, zero loss: $result" ||
    fail "echo traffic through the relay lost datagrams: $result"
  relay_rate=$(throughput)
  echo "echo throughput through the relay: $relay_rate datagrams/s; over the direct path: $direct_rate datagrams/s"
  "$python" -c "print(f'relayed / direct echo throughput = {$relay_rate / max($direct_rate, 1):.2f} (debug build, same run)')"
else
  fail "symmetric NATs: ${#relay_times[@]} of 3 starts connected; paths A $path_a, B $path_b"
  show_logs
fi

stop "$up_a" "warren up (A)"
stop "$up_b" "warren up (B)"

# 8. Relay first: no grace period for a direct pair that cannot work.
write_config "$work/a.yaml" "$key_a" b "$public_b" "$sock_a" 0s
write_config "$work/b.yaml" "$key_b" a "$public_a" "$sock_b" 0s
first_times=()
for run in $(seq 3); do
  started=$(now_ms)
  start_up a
  start_up b
  if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30; then first_times+=($(($(now_ms) - started))); fi
  stop "$up_a" "warren up (A)"
  stop "$up_b" "warren up (B)"
done
if [ ${#first_times[@]} -eq 3 ]; then
  median=$(printf '%s\n' "${first_times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  pass "relay first across symmetric NATs: time to Connected median $median ms (runs: ${first_times[*]} ms; with the 1 s grace period: ${relay_times[*]} ms)"
else
  fail "relay first across symmetric NATs: ${#first_times[@]} of 3 starts connected"
fi

# The NATs become cone NATs again, but the public router drops every datagram between them.
for ns in "$nat_a" "$nat_b"; do
  in_ns "$ns" nft flush chain ip nat postrouting
  in_ns "$ns" nft add rule ip nat postrouting oifname wan masquerade
  in_ns "$ns" conntrack -F >/dev/null 2>&1
done
in_ns "$pub" nft add table ip blocker
in_ns "$pub" nft add chain ip blocker forward "{ type filter hook forward priority 0; }"
in_ns "$pub" nft add rule ip blocker forward ip saddr 198.51.100.2 ip daddr 203.0.113.2 drop
in_ns "$pub" nft add rule ip blocker forward ip saddr 203.0.113.2 ip daddr 198.51.100.2 drop
start_up a
start_up b
if wait_connected "$sock_a" 30 && wait_connected "$sock_b" 30 && [ "$(peer_field "$sock_a" path)" = relay ]; then
  # 200 datagrams/s for 20 s; the direct path opens after 3 s.
  in_ns "$host_a" "$python" "$here/udp_echo.py" client --bind 127.0.0.1:5000 --to 127.0.0.1:6000 --count 4000 --rate 200 >"$work/upgrade-echo.json" &
  echo_pid=$!
  sleep 3
  opened=$(now_ms)
  in_ns "$pub" nft delete table ip blocker
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
stop "$signal_pid" "warren signal"
echo "netns-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
