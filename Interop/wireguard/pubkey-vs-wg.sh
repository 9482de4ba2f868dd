#!/usr/bin/env bash
# `warren genkey | warren pubkey` against `wg pubkey` (Debian wireguard-tools): the same public
# key for generated keys and for unclamped random keys, and the same exit status for bad input.
# Usage: pubkey-vs-wg.sh WARREN_BINARY [COUNT]
set -euo pipefail
warren=$1
count=${2:-100}
passed=0 failed=0

check() { # label private-key-text
  local ours theirs
  ours=$(printf '%s' "$2" | "$warren" pubkey 2>/dev/null; echo "status=$?")
  theirs=$(printf '%s' "$2" | wg pubkey 2>/dev/null; echo "status=$?")
  if [ "$ours" = "$theirs" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "MISMATCH ($1) for input '$2': warren '$ours' vs wg '$theirs'"
  fi
}

for _ in $(seq "$count"); do check generated "$("$warren" genkey)"; done
# Unclamped keys: any 32 random bytes (X25519 clamps when multiplying).
for _ in $(seq "$count"); do check unclamped "$(head -c 32 /dev/urandom | base64 -w0)"; done
# Bad input: both must refuse with status 1.
for bad in "" "short" "$(head -c 32 /dev/urandom | base64 -w0)junk" "$(head -c 31 /dev/urandom | base64 -w0)"; do
  check bad-input "$bad"
done
echo "wg-pubkey: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
