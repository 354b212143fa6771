# Helpers for the shell tests (sourced; run from the workspace root, as Bazel does).

# Stops the test with a message.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Polls a condition (a command) until it holds or 20 s pass: waiting for an
# observable event, not for a fixed time.
await() {
  local what="$1"
  shift
  for _ in $(seq 200); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "timed out waiting for: $what"
}
