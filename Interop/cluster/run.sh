#!/usr/bin/env bash
# `warren signal --cluster`: three replicas on loopback sharing a real PostgreSQL (Debian's, started
# here as user postgres on a private port and socket, stopped at the end); docs/cluster.md.
#
#   0. deploy/kubernetes/signal-cluster.yaml is consistent with itself and `warren signal`
#      (Interop/cluster/manifests.py);
#   1. every replica is ready (`/ready` 200, `warren_signal_cluster_connected 1`);
#   2. fan-out: subscribers spread over the replicas, publishers on every replica: every envelope
#      arrives exactly once; p50/p99 of cross-replica delivery next to same-replica delivery;
#      a 40 KiB envelope (larger than a notification) crosses through the spill table;
#   3. two `warren up` on different replicas connect; `warren up` on the third and the Python peer
#      with cunicu's session rules (Interop/grpc/cunicu_peer.py) on the first connect, restart
#      and reconnect, with Warren's messages in order across the bus;
#   4. PostgreSQL restarts under a 100/s cross-replica stream: delivery resumes (the gap and the
#      envelopes lost are reported), no replica exits, all are ready again;
#   5. a client that lists two replicas lands on one at random; `kill -9` of that replica: it
#      subscribes again on the other (the time is reported), its session stays up, and so does a
#      session whose peer used that replica alone; a restart of its peer reaches it through the
#      new replica; a new session between peers on two surviving replicas connects;
#   6. TLS to PostgreSQL with a private CA (`sslrootcert`): replicas relay over TLS; one that
#      trusts only the system's roots is refused, not ready, and its log names the certificate.
#
# Usage: run.sh WARREN_BINARY PYTHON [SUBSCRIBERS RATE]   (root; Debian's postgresql; grpcio)
set -uo pipefail
warren=$1
python=$2
subscribers=${3:-600}
rate=${4:-300}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/warren-cluster.XXXXXX)
chmod 755 "$work"
passed=0 failed=0
pids=()
source "$here/cluster.sh"

cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  postgres_down
  [ -n "${KEEP_LOGS:-}" ] && cp -r "$work" /tmp/cluster-logs
  rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# 0. The Kubernetes manifests agree with themselves and with `warren signal`.
if output=$("$python" "$here/manifests.py" "$here/../../deploy/kubernetes/signal-cluster.yaml" "$warren"); then
  pass "deploy/kubernetes/signal-cluster.yaml: $(echo "$output" | tail -n 1)"
else
  fail "deploy/kubernetes/signal-cluster.yaml:"
  echo "$output" | grep FAIL
fi

postgres_up || { echo "cluster: $passed passed, $((failed + 1)) failed (PostgreSQL)"; exit 1; }

# Three replicas, one server key (clients pin one key for the whole cluster).
for i in 0 1 2; do start_replica "$i"; done
servers="127.0.0.1:${grpc_port[0]},127.0.0.1:${grpc_port[1]},127.0.0.1:${grpc_port[2]}"

# 1. Ready.
ready=0
for i in 0 1 2; do wait_ready "${metrics_port[$i]}" 30 && [ "$(metric "${metrics_port[$i]}" warren_signal_cluster_connected)" = 1.0 ] && ready=$((ready + 1)); done
if [ "$ready" = 3 ]; then pass "three replicas ready, each listening on the bus"
else
  fail "$ready of 3 replicas ready"
  tail -n 20 "$work"/replica-*.log
  echo "cluster: $passed passed, $failed failed"
  exit 1
fi

# 2. Fan-out, exactly once.
if report=$(timeout 300 "$python" "$here/bus_check.py" fanout --servers "$servers" --subscribers "$subscribers" --rate "$rate" --seconds 10); then
  if "$python" -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["missing"] == 0 and r["duplicates"] == 0 and r["misdelivered"] == 0 and r["delivered"] == r["sent"] > 0 else 1)' "$report"; then
    pass "fan-out over 3 replicas, every envelope exactly once: $report"
  else
    fail "fan-out: $report"
  fi
else
  fail "fan-out did not finish: $report"
fi
spilled_before=$(metric "${metrics_port[0]}" warren_signal_cluster_spilled_total)
if report=$(timeout 60 "$python" "$here/bus_check.py" fanout --servers "$servers" --subscribers 3 --rate 6 --seconds 2 --size 40960) &&
  "$python" -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["missing"] == 0 and r["duplicates"] == 0 and r["sent"] == 12 else 1)' "$report"; then
  spilled=$(($(metric "${metrics_port[0]}" warren_signal_cluster_spilled_total) - spilled_before))
  [ "$spilled" -ge 1 ] && pass "40 KiB envelopes cross replicas through the spill table ($spilled spilled by replica 0): $report" ||
    fail "40 KiB envelopes arrived but none was spilled"
else
  fail "40 KiB envelopes across replicas: $report"
fi

# 3. Sessions through the cluster.
key() { "$warren" genkey; }
# The backend URL of replicas $1 (and $2 ...): a list fails over between them.
replicas() { local list="" i; for i in "$@"; do list="$list${list:+,}127.0.0.1:${grpc_port[$i]}"; done; echo "grpc://$list?insecure=true"; }
write_up() { # name private-key backend-url peer-public-key forward listen
  cat >"$work/$1.yaml" <<EOF
private_key: $2
backends: [ "$3" ]
control_socket: $work/$1.sock
ice:
  interfaces_include: [ lo ]
  network_types: [ udp4 ]
peers:
  peer:
    public_key: $4
    forward: 127.0.0.1:$5
    listen: 127.0.0.1:$6
EOF
}
start_up() { "$warren" up --config "$work/$1.yaml" --log-level info >>"$work/up-$1.log" 2>&1 & eval "up_$1=\$!"; pids+=($!); }
state_of() { "$warren" status --json --socket "$work/$1.sock" 2>/dev/null | "$python" -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["state"])' 2>/dev/null; }
wait_connected() { # name seconds
  local deadline=$(($(now_ms) + $2 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do case $(state_of "$1") in connected | completed) return 0 ;; esac; sleep 0.1; done
  return 1
}
key_a=$(key) key_b=$(key) key_c=$(key) key_d=$(key) key_e=$(key) key_f=$(key) key_g=$(key)
pub() { echo "$1" | "$warren" pubkey; }
write_up a "$key_a" "$(replicas 0)" "$(pub "$key_b")" "$(free_port)" "$(free_port)"
write_up b "$key_b" "$(replicas 1)" "$(pub "$key_a")" "$(free_port)" "$(free_port)"
started=$(now_ms)
start_up a
start_up b
if wait_connected a 30 && wait_connected b 30; then
  pass "warren up on replica 0 and warren up on replica 1 connected through the cluster in $(($(now_ms) - started)) ms"
else
  fail "warren up on replicas 0 and 1 did not connect: $(state_of a) / $(state_of b)"
  tail -n 15 "$work/up-a.log" "$work/up-b.log"
fi

python_private=$("$python" -c 'import base64; from nacl.public import PrivateKey; print(base64.b64encode(bytes(PrivateKey.generate())).decode())')
python_public=$("$python" -c "import base64; from nacl.public import PrivateKey; print(base64.b64encode(bytes(PrivateKey(base64.b64decode('$python_private')).public_key)).decode())")
echo_port=$(free_port)
write_up c "$key_c" "$(replicas 2)" "$python_public" "$echo_port" "$(free_port)"
start_up c
timeout 150 "$python" "$here/../grpc/cunicu_peer.py" --server "127.0.0.1:${grpc_port[0]}" --key "$python_private" \
  --peer "$(pub "$key_c")" --echo-port "$echo_port" --ready-file "$work/cunicu.ready" --report "$work/cunicu.json" >"$work/cunicu.log" 2>&1 &
cunicu=$!
for _ in $(seq 1200); do { [ -f "$work/cunicu.ready" ] || ! kill -0 "$cunicu" 2>/dev/null; } && break; sleep 0.1; done
if [ -f "$work/cunicu.ready" ]; then
  # The peer's own restart went through; now Warren's restart must reach it across the bus too.
  kill -TERM "$up_c"; wait "$up_c" 2>/dev/null
  start_up c
fi
if wait "$cunicu"; then
  pass "warren up on replica 2 and the cunicu-rules Python peer on replica 0: connected, restarted both ways, messages in order: $(cat "$work/cunicu.json")"
else
  fail "warren up on replica 2 and the Python peer on replica 0: $(cat "$work/cunicu.json" 2>/dev/null)"
  tail -n 20 "$work/cunicu.log"
fi
kill -TERM "$up_c" 2>/dev/null

# 4. PostgreSQL restarts under a cross-replica stream.
timeout 120 "$python" "$here/bus_check.py" stream --from "127.0.0.1:${grpc_port[0]}" --to "127.0.0.1:${grpc_port[2]}" \
  --rate 100 --seconds 12 >"$work/stream.json" 2>"$work/stream.log" &
stream=$!
sleep 4
restart_started=$(now_ms)
postgres_restart
restarted=$(($(now_ms) - restart_started))
wait "$stream"
alive=0 ready=0
for i in 0 1 2; do
  kill -0 "${replica_pid[$i]}" 2>/dev/null && alive=$((alive + 1))
  wait_ready "${metrics_port[$i]}" 30 && ready=$((ready + 1))
done
report=$(cat "$work/stream.json")
if [ "$alive" = 3 ] && [ "$ready" = 3 ] &&
  "$python" -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["delivered"] > 0 and r["duplicates"] == 0 and r["longest_gap_ms"] < 10000 else 1)' "$report"; then
  pass "PostgreSQL restarted ($restarted ms) under 100 envelopes/s from replica 0 to replica 2: delivery resumed, all replicas alive and ready again (connections: $(metric "${metrics_port[2]}" warren_signal_cluster_connections_total)): $report"
else
  fail "PostgreSQL restart: $alive alive, $ready ready; $report"
  tail -n 10 "$work"/replica-*.log
fi

# 5. A replica dies. F lists replicas 1 and 2 and lands on one of them at random; G is on 0.
subscriptions() { metric "${metrics_port[$1]}" warren_signal_subscriptions | cut -d. -f1; }
before_1=$(subscriptions 1) before_2=$(subscriptions 2)
write_up f "$key_f" "$(replicas 1 2)" "$(pub "$key_g")" "$(free_port)" "$(free_port)"
write_up g "$key_g" "$(replicas 0)" "$(pub "$key_f")" "$(free_port)" "$(free_port)"
start_up f
start_up g
if wait_connected f 30 && wait_connected g 30; then
  if [ "$(subscriptions 1)" -gt "$before_1" ]; then victim=1 survivor=2; else victim=2 survivor=1; fi
  pass "F (grpc://replica1,replica2) connected with G (replica 0); F subscribed on replica $victim"
else
  victim=1 survivor=2
  fail "F and G did not connect within 30 s: $(state_of f) / $(state_of g)"
  tail -n 20 "$work/up-f.log" "$work/up-g.log"
  for i in 0 1 2; do echo "replica $i: $(http_get "${metrics_port[$i]}" /metrics | grep -E '^warren_signal_(cluster|subscriptions|envelopes)' | tr '\n' ' ')"; done
fi
before_survivor=$(subscriptions "$survivor")
kill -9 "${replica_pid[$victim]}"
killed=$(now_ms)
failed_over=""
while [ $(($(now_ms) - killed)) -lt 20000 ]; do
  [ "$(subscriptions "$survivor")" -gt "$before_survivor" ] && { failed_over=$(($(now_ms) - killed)); break; }
  sleep 0.05
done
sleep 1
if [ -n "$failed_over" ] && { [ "$(state_of f)" = connected ] || [ "$(state_of f)" = completed ]; }; then
  pass "replica $victim killed (SIGKILL): F subscribed again on replica $survivor after $failed_over ms; its session with G stayed up ($(state_of f))"
else
  fail "replica $victim killed: F's failover ${failed_over:-did not happen within 20 s}; F is $(state_of f)"
  tail -n 15 "$work/up-f.log"
fi
if [ "$(state_of a)" = connected ] || [ "$(state_of a)" = completed ]; then
  pass "the session between A (replica 0) and B (replica 1) stays up: $(state_of a) / $(state_of b)"
else
  fail "the A-B session is $(state_of a)"
fi
# G restarts: its new credentials reach F through F's new replica, and they reconnect.
kill -TERM "$up_g"; wait "$up_g" 2>/dev/null
restarts_f=$("$warren" status --json --socket "$work/f.sock" | "$python" -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["restarts"])')
started=$(now_ms)
start_up g
reconnected=""
while [ $(($(now_ms) - started)) -lt 30000 ]; do
  now_restarts=$("$warren" status --json --socket "$work/f.sock" 2>/dev/null | "$python" -c 'import json,sys; print(json.load(sys.stdin)["peers"][0]["restarts"])' 2>/dev/null)
  if [ "${now_restarts:-0}" -gt "$restarts_f" ] && wait_connected f 1 && wait_connected g 1; then reconnected=$(($(now_ms) - started)); break; fi
  sleep 0.1
done
if [ -n "$reconnected" ]; then pass "G restarted: F heard it through replica $survivor and they reconnected in $reconnected ms"
else fail "G restarted: F and G did not reconnect through replica $survivor: $(state_of f) / $(state_of g)"; tail -n 15 "$work/up-f.log"; fi
write_up d "$key_d" "$(replicas 0)" "$(pub "$key_e")" "$(free_port)" "$(free_port)"
write_up e "$key_e" "$(replicas "$survivor")" "$(pub "$key_d")" "$(free_port)" "$(free_port)"
started=$(now_ms)
start_up d
start_up e
if wait_connected d 30 && wait_connected e 30; then
  pass "after the loss of replica $victim, a new session between peers on replicas 0 and $survivor connected in $(($(now_ms) - started)) ms"
else
  fail "after the loss of replica $victim, no new session between replicas 0 and $survivor: $(state_of d) / $(state_of e)"
fi

for name in a b d e f g; do eval "kill -TERM \${up_$name}" 2>/dev/null; done

# 6. TLS to PostgreSQL: the server gets a certificate from a private CA and restarts with TLS on.
# Two replicas that trust that CA (sslrootcert) connect over TLS and relay between them; one that
# trusts only the system's roots is refused and says why.
if postgres_tls && [ -n "$tls_url" ]; then
  plain_url=$cluster_url
  cluster_url=$tls_url
  start_replica 3
  start_replica 4
  cluster_url="${tls_url%%&sslrootcert=*}"
  start_replica 5
  cluster_url=$plain_url
  if wait_ready "${metrics_port[3]}" 30 && wait_ready "${metrics_port[4]}" 30; then
    encrypted=$(runuser -u postgres -- "$pg_bin/psql" -h "$pg_socket" -p "$pg_port" -U postgres -qAt \
      -c "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE ssl AND usename = 'warren'")
    report=$(timeout 60 "$python" "$here/bus_check.py" fanout --servers "127.0.0.1:${grpc_port[3]},127.0.0.1:${grpc_port[4]}" \
      --subscribers 4 --rate 20 --seconds 2)
    if [ "${encrypted:-0}" -ge 2 ] && "$python" -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["missing"] == 0 and r["duplicates"] == 0 and r["delivered"] == r["sent"] > 0 else 1)' "$report"; then
      pass "TLS to PostgreSQL (sslmode=require, sslrootcert with a private CA): 2 replicas on the bus over TLS ($encrypted TLS sessions of user warren in pg_stat_ssl), every envelope across once: $report"
    else
      fail "TLS to PostgreSQL: $encrypted TLS sessions; $report"
    fi
  else
    fail "TLS to PostgreSQL: replicas 3 and 4 not ready"
    tail -n 5 "$work/replica-3.log"
  fi
  refusal=$(grep -m 1 "cluster bus down" "$work/replica-5.log")
  if [[ $(http_get "${metrics_port[5]}" /ready) != "200 "* ]] && [[ ${refusal,,} == *certificate* ]]; then
    pass "a replica that trusts only the system's roots is not ready and says why: $(echo "$refusal" | grep -o 'SSL routines:[A-Za-z_:]*' | head -n 1) (\"cluster bus down\", with the TLS error)"
  else
    fail "a replica without the private CA: /ready $(http_get "${metrics_port[5]}" /ready); log: $refusal"
  fi
else
  fail "PostgreSQL could not be given TLS (openssl)"
fi

echo "cluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
