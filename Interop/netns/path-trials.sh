# Helpers of the path-survival trials (path-survival.sh, cunicu-path.sh), sourced after
# topology.sh: the public servers, cutting and healing the path between the two NATs, and the
# figures of a ping through the tunnel. Needs $work and $python.

# coturn (STUN and TURN, long-term credentials warren:$turn_password) and `warren signal` on the
# public router's 198.51.100.1.
start_public_servers() { # warren-binary
  turn_password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  ip netns exec "$pub" turnserver -n --listening-ip=198.51.100.1 --relay-ip=198.51.100.1 --listening-port=3478 \
    --min-port=49152 --max-port=49999 --lt-cred-mech --user="warren:$turn_password" --realm=warren.test \
    --denied-peer-ip=10.0.0.0-10.255.255.255 --no-tcp-relay --no-tls --no-dtls --no-cli \
    --log-file=stdout --simple-log --pidfile="$work/coturn.pid" --userdb="$work/turndb" >"$work/coturn.log" 2>&1 &
  ip netns exec "$pub" "$1" signal --listen 198.51.100.1:8443 --log-level warning >"$work/signal.log" 2>&1 &
}

# The public router drops (or forwards again) everything between the two NATs' public addresses;
# the servers on the router itself stay reachable.
cut_direct() {
  in_ns "$pub" nft -f - <<'NFT'
table ip cut {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    ip saddr 198.51.100.2 ip daddr 203.0.113.2 drop
    ip saddr 203.0.113.2 ip daddr 198.51.100.2 drop
  }
}
NFT
}
heal_direct() { in_ns "$pub" nft delete table ip cut 2>/dev/null; }

# The longest time without a ping answer (ping -D output) from the last answer before START (or
# START itself, if the ping was not being answered then) to END (ms since the epoch): gaps
# between answers, and from the last answer to END (a ping never answered again is an outage to
# the end).
gap_after() { # ping-output start-ms end-ms
  "$python" - "$@" <<'PY'
import re, sys
times = [float(t) * 1000 for t in re.findall(r"^\[(\d+\.\d+)\] \d+ bytes from", open(sys.argv[1]).read(), re.M)]
start, end = float(sys.argv[2]), float(sys.argv[3])
before = [t for t in times if t <= start]
points = [before[-1] if before and start - before[-1] < 1000 else start] + [t for t in times if start < t <= end] + [end]
print(f"{max(b - a for a, b in zip(points, points[1:])):.0f}")
PY
}

# "N trials: median …, max … (all: …)" of its arguments (milliseconds).
stats() {
  "$python" -c "
import statistics, sys
v = [float(x) for x in sys.argv[1:] if x not in ('', 'nan')]
print(f'{len(v)} trials: median {statistics.median(v):.0f} ms, max {max(v):.0f} ms (all: {\" \".join(str(int(x)) for x in v)})' if v else 'no trials')
" "$@"
}
