#!/usr/bin/env bash
# Installs Warren's .deb (scripts/package.sh) into a clean Debian root made by debootstrap
# (minbase: no Swift toolchain, no compiler, nothing Warren's build left behind) and runs it
# there, in a network namespace of its own with only loopback:
#
#   1. the root has no Swift runtime anywhere, and `apt-get install ./warren.deb` installs the
#      package and what it depends on (from the mirror: ca-certificates, the rest is in the base);
#   2. `ldd /usr/bin/warren` in the root names no Swift runtime library;
#   3. `warren version`; `warren genkey | warren pubkey` (checked against wg(8) outside);
#   4. `warren up --check` accepts the shipped /etc/warren/warren.yaml, and without the CA
#      certificates it says that TLS cannot be set up and what to install;
#   5. `warren demo`: the whole system on loopback, exit 0;
#   6. the man page, completions and units are where the package says; `dpkg --purge` leaves
#      none of its files behind.
#
# Usage: clean-root.sh WARREN_DEB   (root; debootstrap, iproute2, wireguard-tools; reaches
#        the Debian mirror, WARREN_DEBIAN_MIRROR, default http://deb.debian.org/debian)
set -uo pipefail
deb=$1
mirror=${WARREN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${WARREN_DEBIAN_SUITE:-bookworm}
work=$(mktemp -d /tmp/warren-root.XXXXXX)
root=$work/root
ns=wroot$$
passed=0 failed=0

cleanup() {
  umount "$root/proc" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# Runs a command in the root, in the namespace (loopback only), with a time bound.
in_root() { timeout 180 ip netns exec "$ns" chroot "$root" "$@"; }

echo "package: $deb, $(du -h "$deb" | cut -f1) ($(stat -c %s "$deb") bytes)"
started=$(date +%s)
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log"
  echo "package-install: 0 passed, 1 failed (debootstrap $suite from $mirror failed)"
  exit 1
fi
echo "a clean $suite root (minbase) in $(($(date +%s) - started)) s"
ip netns add "$ns" && ip netns exec "$ns" ip link set lo up
mount -t proc proc "$root/proc"

# 1. Nothing of Swift in the root; the package installs with what the base system has.
swift_files=$(find "$root" -xdev \( -name 'libswift*' -o -name 'swift*' -o -name 'libFoundation*' \) -not -path "$root/proc/*" 2>/dev/null | head -n 3)
if [ -z "$swift_files" ]; then pass "the clean root holds no Swift toolchain or runtime"; else fail "the root has Swift files: $swift_files"; fi
cp "$deb" "$root/tmp/warren.deb"
# apt reaches the mirror: this one step runs outside the loopback-only namespace.
if output=$(timeout 300 chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
  'apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/warren.deb' 2>&1); then
  pass "apt-get install: $(in_root dpkg-query -W -f '${Package} ${Version} ${Architecture}, ${Installed-Size} KiB installed, depends: ${Depends}' warren)"
else
  fail "apt-get install ./warren.deb failed: $output"
  echo "package-install: $passed passed, $failed failed"
  exit 1
fi

# 2. The binary's libraries, as the root's own loader resolves them.
libraries=$(in_root ldd /usr/bin/warren 2>&1)
if echo "$libraries" | grep -q "not found\|libswift\|libFoundation\|libdispatch"; then
  fail "ldd /usr/bin/warren: $libraries"
else
  pass "ldd /usr/bin/warren: $(echo "$libraries" | awk '{print $1}' | paste -sd' ') (no Swift runtime library)"
fi

# 3. version, genkey | pubkey.
if version=$(in_root warren version) && [[ $version == "warren "* ]]; then pass "warren version: $version"; else fail "warren version: $version"; fi
private=$(in_root warren genkey)
public=$(echo "$private" | in_root warren pubkey)
if [ -n "$public" ] && [ "$public" = "$(echo "$private" | wg pubkey)" ]; then
  pass "warren genkey | warren pubkey: $public (the same as wg pubkey's)"
else
  fail "warren genkey | warren pubkey: '$private' -> '$public'"
fi

# 4. The shipped configuration passes the daemon's own check.
if output=$(in_root warren up --check --config /etc/warren/warren.yaml 2>&1); then pass "warren up --check: $output"; else fail "warren up --check on the shipped configuration: $output"; fi
mv "$root/etc/ssl/certs" "$root/etc/ssl/certs.away"
output=$(in_root warren up --check --config /etc/warren/warren.yaml 2>&1)
rc=$?
mv "$root/etc/ssl/certs.away" "$root/etc/ssl/certs"
if [ $rc -ne 0 ] && [[ $output == *"cannot set up TLS"*"ca-certificates"* ]]; then
  pass "without CA certificates: exit $rc, $output"
else
  fail "without CA certificates: exit $rc, $output"
fi

# 5. The demo: signaling server, two peers, ICE and traffic, all on loopback.
if in_root warren demo --datagrams 500 >"$work/demo.log" 2>&1; then
  pass "warren demo in the clean root: exit 0; $(grep -i "throughput\|datagrams/s" "$work/demo.log" | head -n 1 | sed 's/^ *//')"
else
  fail "warren demo failed:"
  tail -n 20 "$work/demo.log"
fi

# 6. Where the files are, and a purge that takes them all.
files=$(in_root dpkg -L warren)
missing=""
for file in /usr/bin/warren /usr/share/man/man1/warren.1.gz /usr/share/bash-completion/completions/warren \
  /usr/share/zsh/vendor-completions/_warren /usr/share/fish/vendor_completions.d/warren.fish \
  /usr/lib/systemd/system/warren.service /usr/lib/systemd/system/warren-signal.service /etc/warren/warren.yaml; do
  echo "$files" | grep -qx "$file" && [ -s "$root$file" ] || missing="$missing $file"
done
if [ -z "$missing" ] && zcat "$root/usr/share/man/man1/warren.1.gz" | grep -q '^\.Sh SYNOPSIS'; then
  pass "man page (mdoc), bash/zsh/fish completions, both units and the configuration are installed"
else
  fail "missing or empty:$missing"
fi
in_root dpkg --purge warren >/dev/null 2>&1
left=""
for file in $files; do [ -f "$root$file" ] && left="$left $file"; done
if [ -z "$left" ] && [ ! -e "$root/etc/warren" ]; then pass "dpkg --purge removes every file of the package"; else fail "left after purge:$left"; fi

echo "package-install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
