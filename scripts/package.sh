#!/usr/bin/env bash
# Builds Warren's Debian package: the `warren` binary with the Swift runtime linked in statically
# (it runs on a Debian or Ubuntu host without a Swift toolchain), the systemd units, a default
# /etc/warren/warren.yaml, and the man page and shell completions that swift-argument-parser
# generates from the commands themselves.
#
# Usage: scripts/package.sh [--debug] [--output DIR]
#   default: a release build in .build-static-release (about 10 minutes on two cores from
#            nothing);
#   --debug: a debug build in .build-static-debug (about 5 minutes from nothing; quicker
#            for trying the package itself).
# Prints the path of the .deb last. Needs dpkg-deb, strip, gzip.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
configuration=release
out=$root/.build-package
while [ $# -gt 0 ]; do
  case $1 in
    --debug) configuration=debug ;;
    --output) out=$2; shift ;;
    *) echo "usage: $0 [--debug] [--output DIR]" >&2; exit 2 ;;
  esac
  shift
done
cd "$root"

# A scratch path of its own: modules compiled for a static runtime name its libraries, and must
# not meet the ordinary build's.
# (WARREN_PACKAGE_SCRATCH names another.)
if [ "$configuration" = release ]; then
  scratch=${WARREN_PACKAGE_SCRATCH:-$root/.build-static-release}
  build=(swift build -c release --static-swift-stdlib --product warren --scratch-path "$scratch")
else
  scratch=${WARREN_PACKAGE_SCRATCH:-$root/.build-static-debug}
  build=(swift build --static-swift-stdlib --product warren --scratch-path "$scratch")
fi
"${build[@]}"
binary=$("${build[@]}" --show-bin-path)/warren

if ldd "$binary" | grep -q "libswift\|libFoundation\|libdispatch\|libBlocksRuntime"; then
  echo "package: $binary links the Swift runtime dynamically:" >&2
  ldd "$binary" >&2
  exit 1
fi
version=$("$binary" version | awk '{print $2}')
arch=$(dpkg --print-architecture)
stage=$out/warren_${version}_$arch
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

install -D -m 0755 "$binary" "$stage/usr/bin/warren"
strip --strip-unneeded "$stage/usr/bin/warren"
install -D -m 0644 deploy/systemd/warren.service "$stage/usr/lib/systemd/system/warren.service"
install -D -m 0644 deploy/systemd/warren-signal.service "$stage/usr/lib/systemd/system/warren-signal.service"
install -D -m 0644 deploy/debian/warren.yaml "$stage/etc/warren/warren.yaml"
install -D -m 0644 README.md "$stage/usr/share/doc/warren/README.md"
install -D -m 0644 deploy/grafana/warren.json "$stage/usr/share/doc/warren/grafana-dashboard.json"

# The man page, from swift-argument-parser's own generator (built from the checkout SwiftPM made
# for the build above), dated by the last commit so that the same source gives the same page.
parser=$scratch/checkouts/swift-argument-parser
swift build --package-path "$parser" --scratch-path "$scratch/generate-manual" --product generate-manual >/dev/null
man_dir=$(mktemp -d)
trap 'rm -rf "$man_dir"' EXIT
"$scratch/generate-manual/debug/generate-manual" "$binary" --date "$(git log -1 --format=%cs 2>/dev/null || date +%F)" \
  --output-directory "$man_dir"
install -d "$stage/usr/share/man/man1"
gzip -9n <"$man_dir/warren.1" >"$stage/usr/share/man/man1/warren.1.gz"
chmod 0644 "$stage/usr/share/man/man1/warren.1.gz"

# Shell completions, from the same command definitions.
"$binary" --generate-completion-script bash | install -D -m 0644 /dev/stdin "$stage/usr/share/bash-completion/completions/warren"
"$binary" --generate-completion-script zsh | install -D -m 0644 /dev/stdin "$stage/usr/share/zsh/vendor-completions/_warren"
"$binary" --generate-completion-script fish | install -D -m 0644 /dev/stdin "$stage/usr/share/fish/vendor_completions.d/warren.fish"

# What the binary needs from the system, read off its dynamic section: the C and C++ runtimes
# and zlib, all in every Debian and Ubuntu base system.
depends=()
for library in $(objdump -p "$stage/usr/bin/warren" | awk '/NEEDED/ {print $2}'); do
  case $library in
    libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*) depends+=("libc6") ;;
    libstdc++.so.*) depends+=("libstdc++6") ;;
    libgcc_s.so.*) depends+=("libgcc-s1") ;;
    libz.so.*) depends+=("zlib1g") ;;
    *) echo "package: no Debian package known for $library, which the binary needs" >&2; exit 1 ;;
  esac
done
# And the CA certificates TLS to a signaling server is checked against (grpc:// is TLS unless
# ?insecure=true).
depends+=("ca-certificates")
depends_line=$(printf '%s\n' "${depends[@]}" | sort -u | paste -sd, | sed 's/,/, /g')

cat >"$stage/DEBIAN/control" <<EOF
Package: warren
Version: $version
Architecture: $arch
Maintainer: Warren developers <warren@example.net>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends_line
Recommends: wireguard-tools, nftables
Suggests: libargon2-1, wireguard-go
Section: net
Priority: optional
Homepage: https://cunicu.li
Description: peer-to-peer connection broker for WireGuard meshes
 Warren finds endpoints for WireGuard peers behind NATs with ICE (STUN, TURN), signaling
 through a gRPC server it also ships, the Kubernetes API or UDP multicast, byte-compatible with
 cunicu. It sets WireGuard's endpoints, keeps direct paths in the kernel (nftables) and relays
 the rest; with a shared passphrase it also discovers the peers of a mesh.
 .
 Units: warren.service (warren up, /etc/warren/warren.yaml) and warren-signal.service (the
 signaling server); neither is enabled on installation.
EOF
echo /etc/warren/warren.yaml >"$stage/DEBIAN/conffiles"
# The units are new or changed: systemd reads them again (nothing is enabled or started).
for script in postinst postrm; do
  cat >"$stage/DEBIAN/$script" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
EOF
  chmod 0755 "$stage/DEBIAN/$script"
done

deb=$out/warren_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$stage"
echo "package: $deb ($(du -h "$deb" | cut -f1), $configuration build; binary $(ldd "$binary" | awk '/=>/ {print $1}' | paste -sd' '))"
echo "$deb"
