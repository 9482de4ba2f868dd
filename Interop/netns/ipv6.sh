#!/usr/bin/env bash
# IPv6 end to end: the two-NAT topology (topology.sh) made dual-stack (topology_ipv6_up): global
# IPv6 addresses from 2001:db8::/32 behind routers that forward IPv6 without NAT but drop what the
# inside did not start; `warren signal` on [::]:8443, coturn (STUN and TURN) on both families.
#
#   1. IPv4 only (network_types [udp4]): time to Connected over RUNS cold starts, the baseline;
#   2. dual stack (udp4, udp6): the IPv6 host pair is selected (RFC 8421: IPv6 host candidates
#      rank first, and with no NAT in the way they are also the reflexive ones), echo traffic
#      crosses with zero loss and `warren ping` answers over it; time to Connected next to 1's;
#   3. IPv6 blocked between the sites (the public router drops forwarded IPv6): the sessions fall
#      back to IPv4 through the NATs; time to Connected next to 1's;
#   4. WireGuard over IPv6: wireguard-go on both hosts, Warren sets an IPv6 endpoint (kernel data
#      path), a ping and a 32 MiB TCP transfer through the tunnel.
#
# Usage: ipv6.sh WARREN_BINARY PYTHON [RUNS]   (root; iproute2, nftables, coturn, wireguard-go, wireguard-tools)
set -uo pipefail
warren=$1
python=$2
runs=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/topology.sh"
work=$(mktemp -d /tmp/warren-ipv6.XXXXXX)
chmod 700 "$work"
passed=0 failed=0
wg_a=wa$topology_id wg_b=wb$topology_id
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
[ -n "${KEEP_LOGS:-}" ] && trap "cp -r \"$work\" /tmp/ipv6-logs; cleanup" EXIT

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
show_logs() { for log in "$work"/*.log; do echo "--- $(basename "$log") (last 15 lines)"; tail -n 15 "$log"; done; }

# A field of side $1's first peer: peer_field a "p['remote']['address']".
peer_field() {
  "$warren" status --json --socket "$work/$1.sock" 2>/dev/null |
    "$python" -c "import json,sys; p = json.load(sys.stdin)['peers'][0]; print($2)" 2>/dev/null
}
connected() { case $(peer_field "$1" "p['state']") in connected | completed) return 0 ;; *) return 1 ;; esac; }
wait_connected() { # side seconds
  local deadline=$(($(now_ms) + $2 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do connected "$1" && return 0; sleep 0.05; done
  return 1
}

key_a=$("$warren" genkey) key_b=$("$warren" genkey)
public_a=$(echo "$key_a" | "$warren" pubkey) public_b=$(echo "$key_b" | "$warren" pubkey)
turn_password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The ICE settings both kinds of configuration share: network types $1 ("udp4" or "udp4, udp6").
ice_settings() {
  cat <<EOF
ice:
  urls: [ "stun:stun.warren.test:3478", "turn:turn.warren.test:3478" ]
  username: warren
  password: $turn_password
  interfaces_include: [ eth0 ]
  network_types: [ $1 ]
EOF
}
write_config() { # side private-key peer-name peer-public-key network-types
  {
    printf 'private_key: %s\nbackends: [ "grpc://signal.warren.test:8443?insecure=true" ]\ncontrol_socket: %s\n' "$2" "$work/$1.sock"
    ice_settings "$5"
    printf 'peers:\n  %s:\n    public_key: %s\n    forward: 127.0.0.1:5000\n    listen: 127.0.0.1:6000\n' "$3" "$4"
  } >"$work/$1.yaml"
}
configure() { # network-types
  write_config a "$key_a" b "$public_b" "$1"
  write_config b "$key_b" a "$public_a" "$1"
}
ns_of() { if [ "$1" = b ]; then echo "$host_b"; else echo "$host_a"; fi; }
start_up() { # side
  ip netns exec "$(ns_of "$1")" "$warren" up --config "$work/$1.yaml" --log-level info >>"$work/up-$1.log" 2>&1 &
  eval "up_$1=\$!"
}
stop() { # pid
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }; sleep 0.1; done
  fail "a process did not exit within 10 s of SIGTERM"
  kill -9 "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
# Starts both daemons RUNS times; collects each time to Connected in $times and leaves the last
# run's daemons up.
cold_starts() {
  times=()
  local run started
  for run in $(seq "$runs"); do
    started=$(now_ms)
    start_up a
    start_up b
    if wait_connected a 30 && wait_connected b 30; then times+=($(($(now_ms) - started))); fi
    [ "$run" -lt "$runs" ] && { stop "$up_a"; stop "$up_b"; }
  done
  [ ${#times[@]} -eq "$runs" ]
}
echo_traffic() { # count rate
  in_ns "$host_a" "$python" "$here/udp_echo.py" client --bind 127.0.0.1:5000 --to 127.0.0.1:6000 --count "$1" --rate "$2"
}

echo "topology: dual stack; hostA 10.1.0.2 + 2001:db8:1::2 -> natA (NAT44; IPv6 routed, stateful firewall) | pub 198.51.100.1 + 2001:db8:a::1 (signal, STUN, TURN) | natB <- hostB 10.2.0.2 + 2001:db8:2::2"
topology_up && topology_ipv6_up || { echo "ipv6-e2e: 0 passed, 1 failed (could not build the topology)"; exit 1; }
# The links' own link-local addresses finish duplicate address detection first (about a second).
reachable=""
for _ in $(seq 20); do in_ns "$host_a" ping -6 -q -c 1 -W 1 2001:db8:a::1 >/dev/null 2>&1 && { reachable=1; break; }; sleep 0.25; done
if [ -n "$reachable" ]; then
  pass "hostA reaches the public side over IPv6"
else
  fail "hostA cannot reach 2001:db8:a::1 over IPv6"
  echo "ipv6-e2e: $passed passed, $failed failed"
  exit 1
fi

# Denied peers: the private IPv4 ranges (unreachable from the public side).
ip netns exec "$pub" turnserver -n --listening-ip=198.51.100.1 --listening-ip=2001:db8:a::1 \
  --relay-ip=198.51.100.1 --relay-ip=2001:db8:a::1 --listening-port=3478 \
  --min-port=49152 --max-port=49999 --lt-cred-mech --user="warren:$turn_password" --realm=warren.test \
  --denied-peer-ip=10.0.0.0-10.255.255.255 --no-tcp-relay --no-tls --no-dtls --no-cli \
  --log-file=stdout --simple-log --pidfile="$work/coturn.pid" --userdb="$work/turndb" >"$work/coturn.log" 2>&1 &
ip netns exec "$pub" "$warren" signal --listen "[::]:8443" --log-level warning >"$work/signal.log" 2>&1 &
signal_pid=$!
ip netns exec "$host_b" "$python" "$here/udp_echo.py" server --bind 127.0.0.1:5000 &
for _ in $(seq 50); do grep -q "listener opened on" "$work/coturn.log" 2>/dev/null && break; sleep 0.1; done

# 1. IPv4 only: the baseline.
configure udp4
if cold_starts; then
  ipv4_median=$(median "${times[@]}") ipv4_times=${times[*]}
  remote=$(peer_field a "p['remote']['address']")
  if [[ $remote == 203.0.113.2:* ]]; then
    pass "IPv4 only: connected through the NATs via $remote; time to Connected median $ipv4_median ms (runs: $ipv4_times ms)"
  else
    fail "IPv4 only: connected via $remote, not the NAT's public address"
  fi
else
  fail "IPv4 only: ${#times[@]} of $runs cold starts connected"
  show_logs
fi
stop "$up_a"
stop "$up_b"

# 2. Dual stack: the IPv6 host pair wins.
configure "udp4, udp6"
if cold_starts; then
  local_a=$(peer_field a "p['local']['address']") remote_a=$(peer_field a "p['remote']['address']")
  remote_b=$(peer_field b "p['remote']['address']") path_a=$(peer_field a "p['path']")
  echo "dual stack: A $local_a -> $remote_a ($path_a), B -> $remote_b"
  if [[ $remote_a == "[2001:db8:2::2]:"* ]] && [[ $remote_b == "[2001:db8:1::2]:"* ]] && [ "$path_a" = direct ]; then
    pass "dual stack: the IPv6 host pair is selected ($local_a -> $remote_a); time to Connected median $(median "${times[@]}") ms (runs: ${times[*]} ms) against IPv4 only's ${ipv4_median:-?} ms"
  else
    fail "dual stack: selected $local_a -> $remote_a ($path_a), B -> $remote_b; expected the IPv6 host pair"
    show_logs
  fi
  result=$(echo_traffic 1000 200) && pass "1000 echoes at 200/s over IPv6, zero loss: $result" || fail "echo over IPv6 lost datagrams: $result"
  pings=$("$warren" ping b -c 3 --interval 0.1 --json --socket "$work/a.sock")
  if [ "$(echo "$pings" | grep -c '"result":"answered"')" -eq 3 ]; then pass "warren ping over IPv6: 3 of 3 answered"; else fail "warren ping over IPv6: $pings"; fi
else
  fail "dual stack: ${#times[@]} of $runs cold starts connected"
  show_logs
fi
stop "$up_a"
stop "$up_b"

# 3. IPv6 broken between the sites: every IPv6 pair fails, IPv4 through the NATs carries the session.
in_ns "$pub" nft add table ip6 blocker
in_ns "$pub" nft add chain ip6 blocker forward "{ type filter hook forward priority 0; policy drop; }"
if cold_starts; then
  remote_a=$(peer_field a "p['remote']['address']")
  if [[ $remote_a == 203.0.113.2:* ]]; then
    pass "IPv6 blocked: fell back to IPv4 through the NATs ($remote_a); time to Connected median $(median "${times[@]}") ms (runs: ${times[*]} ms) against IPv4 only's ${ipv4_median:-?} ms"
  else
    fail "IPv6 blocked: connected via $remote_a, expected the NAT's IPv4 address"
  fi
  result=$(echo_traffic 400 200) && pass "400 echoes at 200/s over the IPv4 fallback, zero loss" || fail "echo over the IPv4 fallback lost datagrams: $result"
else
  fail "IPv6 blocked: ${#times[@]} of $runs cold starts connected"
  show_logs
fi
stop "$up_a"
stop "$up_b"
in_ns "$pub" nft delete table ip6 blocker

# 4. WireGuard over IPv6: interfaces with keys and allowed IPs but no endpoint; Warren finds one.
umask 077
wg genkey >"$work/wa.key"
wg genkey >"$work/wb.key"
wg_up() { # namespace interface key-file address peer-key-file peer-address
  ip netns exec "$1" env WG_PROCESS_FOREGROUND=1 wireguard-go "$2" >"$work/wireguard-go-$2.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$2.sock" ] && break; sleep 0.1; done
  ip netns exec "$1" wg set "$2" private-key "$3" listen-port 51820 peer "$(wg pubkey <"$5")" allowed-ips "$6/32"
  ip netns exec "$1" ip addr add "$4/24" dev "$2"
  ip netns exec "$1" ip link set "$2" up
}
wg_up "$host_a" "$wg_a" "$work/wa.key" 10.99.0.1 "$work/wb.key" 10.99.0.2
wg_up "$host_b" "$wg_b" "$work/wb.key" 10.99.0.2 "$work/wa.key" 10.99.0.1
write_wireguard_config() { # side interface
  {
    printf 'backends: [ "grpc://signal.warren.test:8443?insecure=true" ]\ncontrol_socket: %s\n' "$work/$1.sock"
    ice_settings "udp4, udp6"
    printf 'wireguard:\n  interfaces: [ %s ]\n  poll_interval: 1s\n' "$2"
  } >"$work/$1.yaml"
}
write_wireguard_config a "$wg_a"
write_wireguard_config b "$wg_b"
start_up a
start_up b
started=$(now_ms)
if ip netns exec "$host_a" ping -q -c 1 -i 0.02 -w 20 10.99.0.2 >/dev/null 2>&1; then
  took=$(($(now_ms) - started))
  endpoint=$(ip netns exec "$host_a" wg show "$wg_a" endpoints | awk '{print $2}')
  data_path=$(peer_field a "p['data_path']")
  if [[ $endpoint == "[2001:db8:2::2]:"* ]]; then
    pass "WireGuard over IPv6: first ping through the tunnel after $took ms, endpoint $endpoint, data path $data_path"
  else
    fail "WireGuard: the tunnel works, but its endpoint is $endpoint, not hostB's IPv6 address"
  fi
  ip netns exec "$host_b" "$python" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.99.0.2", 5201)); s.listen(1)
c, _ = s.accept(); total = 0
while True:
    data = c.recv(1 << 16)
    if not data: break
    total += len(data)
c.sendall(str(total).encode()); c.close()' &
  server=$!
  sleep 0.3
  if rate=$(ip netns exec "$host_a" "$python" -c '
import socket, time
s = socket.create_connection(("10.99.0.2", 5201), timeout=60); block = b"w" * (1 << 16); start = time.monotonic()
for _ in range(512): s.sendall(block)
s.shutdown(socket.SHUT_WR); got = int(s.recv(64)); elapsed = time.monotonic() - start
assert got == 512 << 16, got
print(f"{32 / elapsed:.1f}")'); then
    pass "WireGuard over IPv6: 32 MiB TCP transfer through the tunnel, all bytes arrived, $rate MiB/s"
  else
    fail "WireGuard over IPv6: the TCP transfer failed"
  fi
  wait "$server" 2>/dev/null
else
  fail "WireGuard over IPv6: no ping answered through the tunnel within 20 s"
  show_logs
fi
stop "$up_a"
stop "$up_b"
stop "$signal_pid"
echo "ipv6-e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
