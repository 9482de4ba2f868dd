# Helpers for `warren signal` clusters on loopback, sourced by Interop/cluster/run.sh,
# Benchmarks/cluster-load.sh and Benchmarks/cluster-failover.sh: a private PostgreSQL (Debian's,
# run as user postgres on a free port and its own socket folder), replicas, and their HTTP
# endpoints. Needs root, $python and $work (a folder the caller removes).
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
pg_data=$work/pgdata pg_socket=$work/pgsocket
declare -a grpc_port metrics_port replica_pid
# More options for every replica (a benchmark turns the rate limits off).
replica_args=()

now_ms() { echo $(($(date +%s%N) / 1000000)); }
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts PostgreSQL with a role `warren` (password in $work/pg.password) owning database `signal`;
# sets pg_port and cluster_url. Prints why and fails if it cannot.
postgres_up() {
  [ -n "$pg_bin" ] || { echo "no PostgreSQL server (apt-get install postgresql)"; return 1; }
  pg_port=$(free_port)
  local password
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -m 700 "$pg_data" "$pg_socket" && chown postgres: "$pg_data" "$pg_socket" || return 1
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >"$work/initdb.log" 2>&1 ||
    { cat "$work/initdb.log"; echo "initdb failed"; return 1; }
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_socket/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_socket" start >/dev/null ||
    { cat "$pg_socket/postgres.log"; echo "PostgreSQL did not start"; return 1; }
  runuser -u postgres -- "$pg_bin/psql" -h "$pg_socket" -p "$pg_port" -U postgres -qAt \
    -c "CREATE ROLE warren LOGIN PASSWORD '$password'" -c "CREATE DATABASE signal OWNER warren" || return 1
  (umask 077 && printf '%s\n' "$password" >"$work/pg.password")
  cluster_url="postgres://warren@127.0.0.1:$pg_port/signal?sslmode=disable"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
}
# Gives the running PostgreSQL a server certificate for 127.0.0.1 from a private CA (openssl,
# ECDSA P-256, two days) and restarts it with TLS on; sets tls_url (cluster_url with
# sslmode=require and sslrootcert=the CA).
postgres_tls() {
  local dir=$work/tls
  mkdir -p "$dir" && (
    cd "$dir" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=Warren test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
      printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >server.ext &&
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
  ) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; return 1; }
  install -o postgres -m 600 "$dir/server.key" "$pg_data/server.key" && install -o postgres -m 644 "$dir/server.pem" "$pg_data/server.pem" &&
    runuser -u postgres -- "$pg_bin/psql" -h "$pg_socket" -p "$pg_port" -U postgres -qAt -c "ALTER SYSTEM SET ssl = on" \
      -c "ALTER SYSTEM SET ssl_cert_file = 'server.pem'" -c "ALTER SYSTEM SET ssl_key_file = 'server.key'" >/dev/null &&
    postgres_restart || return 1
  tls_url="${cluster_url%%\?*}?sslmode=require&sslrootcert=$dir/ca.pem"
}
postgres_restart() { runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m fast -w restart -l "$pg_socket/postgres.log" >/dev/null; }
postgres_down() { [ -n "$pg_bin" ] && runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1; }
# The PostgreSQL server's processes.
postgres_pids() {
  local main
  main=$(head -n 1 "$pg_data/postmaster.pid")
  echo "$main $(pgrep -P "$main" | tr '\n' ' ')"
}

# Starts replica $1 on free ports (kept across restarts), sharing $work/server.key; with
# `single` as $2, a process of its own without --cluster.
start_replica() { # index [single]
  local i=$1
  [ -n "${grpc_port[$i]:-}" ] || { grpc_port[$i]=$(free_port); metrics_port[$i]=$(free_port); }
  [ -f "$work/server.key" ] || (umask 077 && "$warren" genkey >"$work/server.key")
  local cluster=(--cluster "$cluster_url" --cluster-password-file "$work/pg.password")
  [ "${2:-}" = single ] && cluster=()
  "$warren" signal --listen "127.0.0.1:${grpc_port[$i]}" --metrics "127.0.0.1:${metrics_port[$i]}" \
    --key-file "$work/server.key" "${cluster[@]}" "${replica_args[@]}" --log-level notice >>"$work/replica-$i.log" 2>&1 &
  replica_pid[$i]=$!
  pids+=($!)
}

# Prints "STATUS BODY" of GET http://127.0.0.1:PORT/PATH.
http_get() {
  "$python" - "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=5) as r:
        print(r.status, r.read().decode().strip())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode().strip())
except Exception as e:
    print("000", e)
PY
}
wait_ready() { # metrics-port seconds
  local deadline=$(($(now_ms) + $2 * 1000))
  while [ "$(now_ms)" -lt "$deadline" ]; do [[ $(http_get "$1" /ready) == "200 "* ]] && return 0; sleep 0.1; done
  return 1
}
metric() { http_get "$1" /metrics | grep -E "^$2 " | awk '{print $2}'; }
