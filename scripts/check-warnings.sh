#!/usr/bin/env bash
# Fails when a build log shows a compiler warning in Warren's own sources (Sources/, Tests/);
# warnings in other packages' code are not ours to fix. Meant for the log of a clean build, which
# compiles every file: an incremental build shows only the warnings of what it recompiled.
# Usage: scripts/check-warnings.sh BUILD_LOG
set -uo pipefail
log=${1:?usage: check-warnings.sh BUILD_LOG}
root=$(cd "$(dirname "$0")/.." && pwd)
found=$(grep -E "^$root/(Sources|Tests)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" | sort -u)
count=0
[ -n "$found" ] && count=$(printf '%s\n' "$found" | wc -l)
[ -n "$found" ] && printf '%s\n' "$found"
echo "warnings: $count in Warren's targets"
[ "$count" -eq 0 ]
