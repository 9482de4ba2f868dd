# The ICE race across two NATs (two-nat.sh, step 9): the same harness for Warren's agent, libnice
# and aioice. Each side gathers host, server-reflexive and relayed candidates (coturn), writes its
# credentials and candidates to a shared directory, and starts its checks the moment it reads the
# other's; the controlling side (behind NAT A) reports the time from reading the peer's
# description to its first selected pair, and to the first datagram the peer echoed over it.
#
# Sourced by two-nat.sh; uses its host_a, host_b, work, python, root and turn_password, and
# coturn listening on 198.51.100.1:3478, and topology.sh's `median`.

race_nice="" race_tests=""

# Builds the libnice side (gcc, pkg-config, libnice-dev) and finds Warren's (the test bundle,
# run directly: two `swift test` at once would wait for each other's lock on the build folder);
# returns 1 when it cannot.
race_build() {
  race_nice=$work/nice_race
  race_tests=$(cd "$root" && swift build --show-bin-path)/warrenPackageTests.xctest
  [ -x "$race_tests" ] || { echo "no test bundle at $race_tests (swift build --build-tests)"; return 1; }
  gcc -O2 -Wall -I "$root/Interop/ice" $(pkg-config --cflags nice) "$root/Interop/netns/race/nice_race.c" $(pkg-config --libs nice) -o "$race_nice"
}

# Starts one agent in the background: race_agent AGENT NAMESPACE DIR SELF PEER ROLE LOCAL_IP OUTPUT
race_agent() {
  local agent=$1 ns=$2 output=$8
  local arguments=("$3" "$4" "$5" "$6" "$7" 198.51.100.1 3478 198.51.100.1 3478 warren "$turn_password")
  case $agent in
  libnice) ip netns exec "$ns" timeout 30 "$race_nice" "${arguments[@]}" >"$output" 2>&1 & ;;
  libnice-aggressive) ip netns exec "$ns" env NICE_RACE_NOMINATION=aggressive timeout 30 "$race_nice" "${arguments[@]}" >"$output" 2>&1 & ;;
  aioice) ip netns exec "$ns" timeout 30 "$python" "$root/Interop/netns/race/aioice_race.py" "${arguments[@]}" >"$output" 2>&1 & ;;
  warren)
    ip netns exec "$ns" env WARREN_RACE="${arguments[*]}" WARREN_RACE_RELAY_DELAY_MS="${race_relay_delay_ms:-}" WARREN_RACE_HOLD_MS="${race_hold_ms:-}" \
      timeout 30 "$race_tests" --testing-library swift-testing --filter ICERacePeer >"$output" 2>&1 &
    ;;
  esac
}

# One race: prints the controlling side's "connected_ms echo_ms", or nothing when it failed.
race_once() { # controlling-agent controlled-agent
  local dir
  dir=$(mktemp -d "$work/race.XXXXXX")
  race_agent "$1" "$host_a" "$dir" a b controlling 10.1.0.2 "$dir/a.out"
  local first=$!
  race_agent "$2" "$host_b" "$dir" b a controlled 10.2.0.2 "$dir/b.out"
  local second=$!
  wait "$first"
  wait "$second"
  sed -n 's/^race: [a-z]* controlling connected_ms=\([0-9.]*\) echo_ms=\([0-9.]*\).*/\1 \2/p' "$dir/a.out"
  if ! grep -q "^race: .* controlling" "$dir/a.out"; then
    { echo "--- $1 (controlling)"; tail -n 5 "$dir/a.out"; echo "--- $2 (controlled)"; tail -n 5 "$dir/b.out"; } >>"$work/race-failures.log"
  fi
}

# Runs a pairing RUNS times; prints "MEDIAN_CONNECTED MEDIAN_ECHO OK RUNS connected-list echo-list".
race_pairing() { # controlling-agent controlled-agent runs
  local connected=() echoed=() line
  for _ in $(seq "$3"); do
    line=$(race_once "$1" "$2")
    [ -n "$line" ] || continue
    connected+=("${line% *}")
    echoed+=("${line#* }")
  done
  echo "$(median "${connected[@]}") $(median "${echoed[@]}") ${#connected[@]} $3 ${connected[*]} / ${echoed[*]}"
}

# A renomination: Warren controlling against AGENT while the direct path is blocked; OPEN (a
# command) unblocks it 1 s after Warren selected its first pair. Warren probes at 200/s for 8 s
# after its first echo; prints its report (probes, echoes, switches, final pair, whether the
# peer's echoes came over it) followed by what the controlled agent says it selected.
race_upgrade() { # agent open-command...
  local agent=$1 dir
  shift
  dir=$(mktemp -d "$work/race.XXXXXX")
  race_hold_ms=8000 race_agent warren "$host_a" "$dir" a b controlling 10.1.0.2 "$dir/a.out"
  local first=$!
  race_agent "$agent" "$host_b" "$dir" b a controlled 10.2.0.2 "$dir/b.out"
  local second=$!
  for _ in $(seq 300); do [ -f "$dir/a.selected" ] && break; sleep 0.05; done
  sleep 1
  "$@"
  wait "$first"
  wait "$second"
  grep -h "^race: warren controlling" "$dir/a.out"
  grep -h "selected" "$dir/b.out" | grep -v "^warren" | tail -n 1
  grep -h "^warren (controlled): selected" "$dir/b.out" | tail -n 1
}
