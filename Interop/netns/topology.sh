# Two hosts behind two NAT routers, and a "public" network between them, in network namespaces.
# Sourced by two-nat.sh and Benchmarks/proxy-vs-socat.sh; needs root, iproute2 and nftables.
#
#   hostA 10.1.0.2 --lan-- natA 10.1.0.1 | 198.51.100.2 --wan-- 198.51.100.1  pub  203.0.113.1 --wan-- 203.0.113.2 | 10.2.0.1 natB --lan-- 10.2.0.2 hostB
#
# The NAT routers masquerade (endpoint-independent mapping, as Linux keeps the source port when it
# can) and forward only what the inside started (address-and-port-dependent filtering): a
# "port-restricted cone" NAT, the common home router. Only the
# documentation ranges and 10.x are used; nothing here can reach beyond the machine.
#
# Sets: pub nat_a nat_b host_a host_b (namespace names). Call topology_up, then topology_down.

topology_id=${topology_id:-$$}
pub=wpub$topology_id nat_a=wnata$topology_id nat_b=wnatb$topology_id
host_a=whosta$topology_id host_b=whostb$topology_id

# The median of its arguments (numbers), or "-" without any.
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "-")}'; }

# Runs a command in a namespace. (Background jobs call `ip netns exec` directly, so that $! is
# the process itself and not a subshell.)
in_ns() { ip netns exec "$@"; }

# Makes a NAT router symmetric: a new random public port for every new flow (RFC 4787's
# address-and-port-dependent mapping), and forgets its current mappings.
nat_symmetric() { # namespace
  in_ns "$1" nft flush chain ip nat postrouting
  in_ns "$1" nft add rule ip nat postrouting oifname wan masquerade random
  in_ns "$1" conntrack -F >/dev/null 2>&1
}

nat_router() { # namespace wan-cidr gateway lan-cidr
  local ns=$1
  in_ns "$ns" ip addr add "$2" dev wan
  in_ns "$ns" ip addr add "$4" dev lan
  in_ns "$ns" ip link set wan up
  in_ns "$ns" ip link set lan up
  in_ns "$ns" ip route add default via "$3"
  in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1
  nat_rules "$ns"
}

# The home-router rules: masquerade out of the WAN, forward only what the inside started, drop
# unsolicited datagrams to the router. Replaces whatever rules the namespace had, in one
# transaction: a datagram forwarded while the rules were flushed and not yet back would leave a
# conntrack entry without NAT, which keeps that flow broken for as long as it keeps sending.
nat_rules() { # namespace
  local ns=$1
  in_ns "$ns" nft -f - <<'EOF'
flush ruleset
table ip nat {
  chain postrouting { type nat hook postrouting priority srcnat; oifname "wan" masquerade; }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan*" oifname "wan" accept
    # Between the router's own LANs (topology_add_host): routed, as a home router does.
    iifname "lan*" oifname "lan*" accept
  }
  # Like a home router's firewall: unsolicited datagrams to the router itself are dropped. (Left to
  # the kernel, each would be answered with an ICMP error and leave a conntrack entry that takes
  # the port the next outgoing mapping wants, which breaks hole punching.)
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }
}
EOF
}

private_host() { # namespace cidr gateway
  in_ns "$1" ip addr add "$2" dev eth0
  in_ns "$1" ip link set eth0 up
  in_ns "$1" ip route add default via "$3"
}

topology_up() {
  local ns
  for ns in "$pub" "$nat_a" "$nat_b" "$host_a" "$host_b"; do
    ip netns add "$ns" || return 1
    in_ns "$ns" ip link set lo up
  done
  ip link add wan netns "$nat_a" type veth peer name to-a netns "$pub" &&
    ip link add wan netns "$nat_b" type veth peer name to-b netns "$pub" &&
    ip link add lan netns "$nat_a" type veth peer name eth0 netns "$host_a" &&
    ip link add lan netns "$nat_b" type veth peer name eth0 netns "$host_b" || return 1
  in_ns "$pub" ip addr add 198.51.100.1/24 dev to-a
  in_ns "$pub" ip addr add 203.0.113.1/24 dev to-b
  in_ns "$pub" ip link set to-a up
  in_ns "$pub" ip link set to-b up
  in_ns "$pub" sysctl -qw net.ipv4.ip_forward=1
  nat_router "$nat_a" 198.51.100.2/24 198.51.100.1 10.1.0.1/24 || return 1
  nat_router "$nat_b" 203.0.113.2/24 203.0.113.1 10.2.0.1/24 || return 1
  private_host "$host_a" 10.1.0.2/24 10.1.0.1
  private_host "$host_b" 10.2.0.2/24 10.2.0.1
  # Names for the public servers, seen only inside the hosts' namespaces (`ip netns exec` mounts
  # /etc/netns/NAME/hosts over /etc/hosts): name resolution is exercised and no query leaves.
  for ns in "$host_a" "$host_b"; do
    mkdir -p "/etc/netns/$ns"
    printf '127.0.0.1 localhost\n::1 localhost\n198.51.100.1 signal.warren.test stun.warren.test turn.warren.test\n' >"/etc/netns/$ns/hosts"
  done
}

# Dual stack: global IPv6 addresses from the documentation prefix on every link, routed without
# NAT, behind routers whose stateful firewall drops what the inside did not start (as a home
# router's IPv6 firewall does: RFC 6092's recommended default). Call after topology_up.
#
#   hostA 2001:db8:1::2 | natA 2001:db8:1::1, 2001:db8:a::2 | 2001:db8:a::1 pub 2001:db8:b::1 | 2001:db8:b::2, 2001:db8:2::1 natB | 2001:db8:2::2 hostB
#
# The public servers' names also resolve to pub's 2001:db8:a::1 in the hosts.
topology_ipv6_up() {
  # nodad: the addresses are usable at once (duplicate address detection would hold them back
  # for about a second; nothing else uses these prefixes).
  in_ns "$pub" ip -6 addr add 2001:db8:a::1/64 dev to-a nodad
  in_ns "$pub" ip -6 addr add 2001:db8:b::1/64 dev to-b nodad
  in_ns "$pub" sysctl -qw net.ipv6.conf.all.forwarding=1
  in_ns "$pub" ip -6 route add 2001:db8:1::/64 via 2001:db8:a::2
  in_ns "$pub" ip -6 route add 2001:db8:2::/64 via 2001:db8:b::2
  ipv6_router "$nat_a" 2001:db8:a::2 2001:db8:a::1 2001:db8:1::1 || return 1
  ipv6_router "$nat_b" 2001:db8:b::2 2001:db8:b::1 2001:db8:2::1 || return 1
  in_ns "$host_a" ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
  in_ns "$host_a" ip -6 route add default via 2001:db8:1::1
  in_ns "$host_b" ip -6 addr add 2001:db8:2::2/64 dev eth0 nodad
  in_ns "$host_b" ip -6 route add default via 2001:db8:2::1
  local ns
  for ns in "$host_a" "$host_b"; do
    printf '2001:db8:a::1 signal.warren.test stun.warren.test turn.warren.test\n' >>"/etc/netns/$ns/hosts"
  done
}

ipv6_router() { # namespace wan-address gateway lan-address
  local ns=$1
  in_ns "$ns" ip -6 addr add "$2/64" dev wan nodad
  in_ns "$ns" ip -6 addr add "$4/64" dev lan nodad
  in_ns "$ns" ip -6 route add default via "$3"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
  in_ns "$ns" nft -f - <<'EOF'
table ip6 filter6 {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan*" oifname "wan" accept
    # Path MTU discovery needs these from anywhere (RFC 4890 §4.3.1).
    icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, packet-too-big } accept
    iifname "wan" drop
  }
}
EOF
}

# Another host behind an existing NAT router, on a LAN of its own (the router's interface $3).
extra_hosts=()
topology_add_host() { # host-namespace nat-namespace lan-interface router-cidr host-cidr gateway
  ip netns add "$1" || return 1
  extra_hosts+=("$1")
  in_ns "$1" ip link set lo up
  ip link add "$3" netns "$2" type veth peer name eth0 netns "$1" || return 1
  in_ns "$2" ip addr add "$4" dev "$3"
  in_ns "$2" ip link set "$3" up
  private_host "$1" "$5" "$6"
  mkdir -p "/etc/netns/$1"
  printf '127.0.0.1 localhost\n::1 localhost\n198.51.100.1 signal.warren.test stun.warren.test turn.warren.test\n' >"/etc/netns/$1/hosts"
}

topology_down() {
  local ns
  for ns in "${extra_hosts[@]}" "$host_a" "$host_b" "$nat_a" "$nat_b" "$pub"; do
    # Any process left in the namespace goes with it.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
  done
  rmdir /etc/netns 2>/dev/null || true
}
