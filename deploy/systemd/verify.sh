#!/usr/bin/env bash
# Checks the service units with `systemd-analyze verify` (syntax, directives, the binary they
# start). The units name /usr/bin/warren, where the package installs it; here a copy of each unit
# names the binary under test instead, which is the only change.
# Usage: verify.sh WARREN_BINARY
set -uo pipefail
warren=$1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
for unit in "$here"/*.service; do
  name=$(basename "$unit")
  sed "s|/usr/bin/warren|$warren|g" "$unit" >"$work/$name"
  if output=$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$work/$name" 2>&1) && [ -z "$output" ]; then
    passed=$((passed + 1)); echo "PASS: $name"
  else
    failed=$((failed + 1)); echo "FAIL: $name"; echo "$output"
  fi
done
echo "systemd-units: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq 2 ]
