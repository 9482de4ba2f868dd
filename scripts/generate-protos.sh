#!/usr/bin/env bash
# Regenerates Sources/WarrenWire/Generated (messages) and Sources/WarrenWireGRPC/Generated (gRPC
# service stubs) from Protos/.
#
# Needs Debian's protobuf-compiler (protoc). The two plugins are built in release mode from the
# package mirror at the versions Package.swift uses, in .build-protoc/ (ignored by git), so running
# this twice gives byte-identical output.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.build-protoc"
protobuf_version=1.39.0
grpc_protobuf_version=2.4.1

command -v protoc >/dev/null || { echo "generate-protos: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }

build_plugin() { # repository version product
  local dir="$tools/$(basename "$1")"
  if [ ! -d "$dir" ]; then
    git clone --quiet --depth 1 --branch "$2" "https://github.com/$1.git" "$dir" 2>/dev/null ||
      git -c advice.detachedHead=false clone --quiet --branch "$2" "https://github.com/$1.git" "$dir"
  fi
  (cd "$dir" && swift build -c release --product "$3" >&2)
  echo "$dir/.build/release/$3"
}

protoc_gen_swift=$(build_plugin apple/swift-protobuf "$protobuf_version" protoc-gen-swift)
protoc_gen_grpc=$(build_plugin grpc/grpc-swift-protobuf "$grpc_protobuf_version" protoc-gen-grpc-swift-2)

# Messages go to WarrenWire (SwiftProtobuf only), service stubs to WarrenWireGRPC (which links
# gRPC and imports the messages from WarrenWire), so that the pure modules built on the
# messages never link gRPC.
out="$root/Sources/WarrenWire/Generated"
grpc_out="$root/Sources/WarrenWireGRPC/Generated"
rm -rf "$out" "$grpc_out"
mkdir -p "$out" "$grpc_out"
cd "$root/Protos"
protos=$(find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)

# shellcheck disable=SC2086
protoc \
  --plugin=protoc-gen-swift="$protoc_gen_swift" \
  --swift_out="$out" \
  --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=PathToUnderscores \
  --swift_opt=UseAccessLevelOnImports=true \
  $protos

services=$(grep -l '^service ' $protos)
# shellcheck disable=SC2086
protoc \
  --plugin=protoc-gen-grpc-swift-2="$protoc_gen_grpc" \
  --grpc-swift-2_out="$grpc_out" \
  --grpc-swift-2_opt=Visibility=Public \
  --grpc-swift-2_opt=ExtraModuleImports=WarrenWire \
  --grpc-swift-2_opt=FileNaming=PathToUnderscores \
  --grpc-swift-2_opt=UseAccessLevelOnImports=true \
  $services

echo "generated $(ls "$out" | wc -l) files in ${out#"$root"/} and $(ls "$grpc_out" | wc -l) in ${grpc_out#"$root"/}"
