# Helpers for the shell system tests. Sourced from the workspace root (as
# Bazel runs tests), after RSPD (and RSPCTL) are set.

dir="${TEST_TMPDIR:-$(mktemp -d)}"

# Stops the test with a message.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Polls a condition (a command) until it holds or AWAIT_SECONDS (20) pass:
# waiting for an observable event, not for a fixed time.
await() {
  local what="$1"
  shift
  for _ in $(seq $((${AWAIT_SECONDS:-20} * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "timed out waiting for: $what"
}

# await_within SECONDS WHAT COMMAND...: like await, with a deadline of
# SECONDS, polling every 20 ms (fine enough to time what it waits for).
await_within() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$(($(date +%s%N) + seconds * 1000000000))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s%N)" -lt "$deadline" ] || fail "not within ${seconds}s: $what"
    sleep 0.02
  done
}

# Background processes to kill when the test ends (append with pids+=("$!")).
pids=()
kill_spawned() {
  for p in "${pids[@]}"; do
    kill -CONT "$p" 2>/dev/null || true
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap kill_spawned EXIT

# start_rspd NAME [rspd flags...]: rspd on 127.0.0.1 with a free UDP port and
# no announces, output in $dir/NAME.out. Waits until it is ready and sets
# NAME_pid and NAME_port.
start_rspd() {
  local name="$1"
  shift
  "$RSPD" --bind_address=127.0.0.1 --udp_port=0 --announce_group= --enrp_multicast_group= "$@" >"$dir/$name.out" 2>&1 &
  pids+=("$!")
  printf -v "${name}_pid" '%s' "$!"
  await "rspd $name ready" grep -q '^ready' "$dir/$name.out"
  printf -v "${name}_port" '%s' "$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/$name.out")"
}

# A counter from the statistics rspd prints when it stops: rspd_stat NAME
# [FILE] (default $dir/rspd.out).
rspd_stat() { sed -n "s/^$1 //p" "${2:-$dir/rspd.out}" | tail -n 1; }

# A counter of a running rspd: live_stat NAME [RSPD_NAME] (default rspd).
# Sends SIGUSR1, waits for the statistics block it prints, and reads NAME
# from that block.
live_stat() {
  local name="$1" who="${2:-rspd}"
  local pid_var="${who}_pid" out="$dir/$who.out"
  local before
  before=$(grep -c '^statistics:' "$out" || true)
  kill -USR1 "${!pid_var}"
  await "statistics from $who" bash -c "[ \$(grep -c '^statistics:' '$out') -gt $before ]"
  awk -v n="$name" '/^statistics:/ {block++} block && $1 == n {v = $2} END {print v}' "$out"
}
