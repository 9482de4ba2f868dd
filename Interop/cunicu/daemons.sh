# Helpers for running `cunicu daemon` and `warren up` side by side in network namespaces, sourced
# by Interop/cunicu/run.sh after it has set $work, $python, $warren, $cunicu and the namespaces
# $cunicu_ns and $warren_ns (where each daemon runs) and $signal_address (HOST:PORT of the server).
#
# Each pair: fresh keys (chosen so that the named side controls the ICE session: the smaller
# public key, byte-wise, session.md), cunicu with its own userspace WireGuard (-U) and its
# addresses from its key (autocfg), Warren with wireguard-go, the addresses cunicu derives from
# Warren's key (addresses_from_key), and one community passphrase: each learns the other through
# peer discovery.

# Keys for one pair: cunicu's in $work/cunicu.key, Warren's in $work/warren.key.
keys_for() { # warren|cunicu: which side controls
  while true; do
    wg genkey >"$work/cunicu.key"
    wg genkey >"$work/warren.key"
    local smaller
    smaller=$("$python" -c "import base64,sys; print('warren' if base64.b64decode(sys.argv[2]) < base64.b64decode(sys.argv[1]) else 'cunicu')" \
      "$(wg pubkey <"$work/cunicu.key")" "$(wg pubkey <"$work/warren.key")")
    [ "$smaller" = "$1" ] && return
  done
}

# Prepares Warren's interface (before the clock starts: `warren up` reads an existing interface)
# and both configurations. ICE servers from $ice_urls (YAML list), $ice_username, $ice_password.
prepare_pair() {
  ip netns exec "$warren_ns" env WG_PROCESS_FOREGROUND=1 wireguard-go "$wg_warren" >"$work/wireguard-go.log" 2>&1 &
  for _ in $(seq 50); do [ -S "/var/run/wireguard/$wg_warren.sock" ] && break; sleep 0.1; done
  ip netns exec "$warren_ns" wg set "$wg_warren" private-key "$work/warren.key" listen-port 51820
  # Warren gives its interface the addresses cunicu would (addresses_from_key); the ping back
  # goes to the one cunicu computes for Warren's key.
  warren_address=$(wg pubkey <"$work/warren.key" | "$cunicu" addresses | grep -m1 '^10\.')
  cunicu_address=$(wg pubkey <"$work/cunicu.key" | "$cunicu" addresses | grep -m1 '^10\.')
  ip netns exec "$warren_ns" ip link set "$wg_warren" up
  cat >"$work/cunicu.yaml" <<EOF
private_key: $(cat "$work/cunicu.key")
ice:
  urls: ${ice_urls:-[]}
  username: ${ice_username:-none}
  password: ${ice_password:-none}
  network_types: [ udp4 ]
EOF
  chmod 600 "$work/cunicu.yaml"
  cat >"$work/warren.yaml" <<EOF
backends: [ "grpc://$signal_address?insecure=true" ]
control_socket: $work/warren.sock
ice:
  urls: ${ice_urls:-[]}
  username: ${ice_username:-none}
  password: ${ice_password:-none}
  network_types: [ udp4 ]
wireguard:
  interfaces: [ $wg_warren ]
  addresses_from_key: [ 10.237.0.0/16, "fc2f:9a4d::/32" ]
  poll_interval: 1s
  discovery:
    $wg_warren: { community: "$community", hostname: warren-host }
EOF
}

# A pair from scratch: a new community, keys for the side that controls, empty logs, both
# daemons started at once; $started is when (ms since the epoch).
start_fresh_pair() { # warren|cunicu: which side controls
  community=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  keys_for "$1"
  : >"$work/warren.log"; : >"$work/cunicu.log"
  prepare_pair
  started=$(now_ms)
  start_cunicu
  start_warren
}

start_cunicu() {
  ip netns exec "$cunicu_ns" env CUNICU_EXPERIMENTAL=1 "$cunicu" daemon -U -d debug -x "$community" -n cunicu-host \
    -b "grpc://$signal_address?insecure=true" -H=false -C=false -F=false \
    -c "$work/cunicu.yaml" -s "$work/cunicu.sock" "$wg_cunicu" >>"$work/cunicu.log" 2>&1 &
  cunicu_pid=$!
}
start_warren() {
  ip netns exec "$warren_ns" "$warren" up --config "$work/warren.yaml" --log-level debug --log-format json >>"$work/warren.log" 2>&1 &
  warren_pid=$!
}

# Milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Pings from Warren's host to cunicu's address every 10 ms until one is answered (at most $1
# seconds); prints the milliseconds from $2 (ms since the epoch) to the answer, or nothing.
# (Until Warren has given its interface its address, there is no route and ping gives up at once:
# it is started again.)
first_ping() { # limit-seconds since-ms
  local deadline=$(($(now_ms) + $1 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if ip netns exec "$warren_ns" ping -q -n -c 1 -i 0.01 -w $(((deadline - $(now_ms)) / 1000 + 1)) "$cunicu_address" >/dev/null 2>&1; then
      echo $(($(now_ms) - $2))
      return
    fi
    sleep 0.01
  done
}

# The same from cunicu's host to Warren's address (discovery and the tunnel both ways).
ping_back() { ip netns exec "$cunicu_ns" ping -q -n -c 1 -i 0.05 -w "$1" "$warren_address" >/dev/null 2>&1; }

# The selected pair's kind on Warren's side (host, srflx, prflx, relay), from `warren status`.
warren_path() {
  "$warren" status --json --socket "$work/warren.sock" 2>/dev/null |
    "$python" -c "import json,sys; print(json.load(sys.stdin)['peers'][0]['path'])" 2>/dev/null
}

# When Warren learned cunicu's key (its "joined" log line), in ms after $1.
warren_learned_ms() { # since-ms
  "$python" - "$work/warren.log" "$1" <<'PY'
import datetime, json, sys
for line in open(sys.argv[1]):
    try: entry = json.loads(line)
    except ValueError: continue
    if "joined" in entry.get("message", ""):
        t = datetime.datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp() * 1000
        print(int(t - float(sys.argv[2]))); break
PY
}

stop_pair() { # signal (TERM or KILL)
  kill "-${1:-TERM}" "$warren_pid" "$cunicu_pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$warren_pid" 2>/dev/null || kill -0 "$cunicu_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$warren_pid" "$cunicu_pid" 2>/dev/null
  wait "$warren_pid" "$cunicu_pid" 2>/dev/null
  pkill -f "wireguard-go $wg_warren" 2>/dev/null
  for _ in $(seq 30); do [ -S "/var/run/wireguard/$wg_warren.sock" ] || [ -S "/var/run/wireguard/$wg_cunicu.sock" ] || break; sleep 0.1; done
  rm -f "/var/run/wireguard/$wg_warren.sock" "/var/run/wireguard/$wg_cunicu.sock" "$work/cunicu.sock" "$work/warren.sock"
}

# Stops one daemon with SIGTERM or SIGKILL and starts it again with the same key and settings.
restart_daemon() { # cunicu|warren TERM|KILL
  case $1 in
    warren)
      kill "-$2" "$warren_pid" 2>/dev/null; wait "$warren_pid" 2>/dev/null
      start_warren ;;
    cunicu)
      kill "-$2" "$cunicu_pid" 2>/dev/null; wait "$cunicu_pid" 2>/dev/null
      # A killed cunicu leaves its sockets behind.
      rm -f "/var/run/wireguard/$wg_cunicu.sock" "$work/cunicu.sock"
      start_cunicu ;;
  esac
}

# Whether Warren's session with cunicu is connected (`warren status`).
warren_connected() {
  "$warren" status --json --socket "$work/warren.sock" 2>/dev/null |
    "$python" -c "import json,sys; p=json.load(sys.stdin)['peers']; print('yes' if p and p[0]['state'] in ('connected', 'completed') else '')" 2>/dev/null
}
