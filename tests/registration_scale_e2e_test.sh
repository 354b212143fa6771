#!/usr/bin/env bash
# A PE process with many PEs on one association (RFC 5352 §3.1, §3.2, §3.4),
# against rspd:
# - registering 50,000 PEs takes about ten times as long as 5,000 (the client
#   library finds a registration, keep-alive or deregistration in O(1); a
#   linear scan per message made it quadratic), and deregistering them
#   about as long again;
# - SIGTERM in the middle of registering 50,000 PEs ends rspctl within 30 s,
#   and exactly the PEs registered so far are deregistered.
# The times go to the test log.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

now() { date +%s%N; }
seconds() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
lines() { grep -c "$2" "$1" || true; }
has_lines() { [ "$(lines "$1" "$2")" -ge "$3" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# rspd caps the PEs of one association at 10,000 by default (docs/limits.md).
start_rspd rspd --max_pes_per_association=100000
R="--registrar=127.0.0.1:$rspd_port"

# register_and_deregister N: sets registration_ns and deregistration_ns.
register_and_deregister() {
  local n="$1" out="$dir/pe$1.out"
  local start
  start=$(now)
  "$RSPCTL" register $R --pool="scale$n" --count="$n" --pe_id=1 --port=1 --lifetime=-1 \
    >"$out" 2>"$dir/pe$n.err" &
  local pid=$!
  pids+=("$pid")
  await_within 240 "$n PEs registered" has_lines "$out" '^registered pe_id=' "$n"
  registration_ns=$(($(now) - start))
  start=$(now)
  kill -INT "$pid"
  await_within 240 "$n PEs deregistered" gone "$pid"
  deregistration_ns=$(($(now) - start))
  wait "$pid" || fail "rspctl register --count=$n exited $?: $(tail -3 "$dir/pe$n.err")"
  [ "$(lines "$out" '^deregistered pe_id=')" -eq "$n" ] || fail "not all $n deregistered"
}

register_and_deregister 5000
register_5k=$registration_ns deregister_5k=$deregistration_ns
register_and_deregister 50000
register_50k=$registration_ns deregister_50k=$deregistration_ns
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
echo "registration: 5000 PEs $(seconds "$register_5k") s, 50000 PEs $(seconds "$register_50k") s," \
  "ratio $(ratio "$register_50k" "$register_5k") (linear ~10, quadratic ~100)"
echo "deregistration: 5000 PEs $(seconds "$deregister_5k") s, 50000 PEs $(seconds "$deregister_50k") s," \
  "ratio $(ratio "$deregister_50k" "$deregister_5k")"
# Linear is ~10, quadratic ~100. Deregistering gets more slack: it runs
# while the registrar keeps all 50,000 PEs alive (10,000 keep-alives a
# second to answer, against 1,000 for 5,000 PEs), which alone has doubled
# the ratio in some runs.
within() {  # PHASE LIMIT
  local small="${1}_5k" large="${1}_50k"
  awk -v a="${!large}" -v b="${!small}" -v limit="$2" 'BEGIN { exit !(a < limit * b) }' \
    || fail "${1}ing 50000 PEs took $(ratio "${!large}" "${!small}") times as long as 5000"
}
within register 30
within deregister 50
kill -INT "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly"
[ "$(rspd_stat registrations)" -eq 55000 ] || fail "registrations: $(rspd_stat registrations)"
[ "$(rspd_stat removed_by_deregistration)" -eq 55000 ] \
  || fail "deregistrations: $(rspd_stat removed_by_deregistration)"
[ "$(rspd_stat removed_by_keep_alive)" -eq 0 ] \
  || fail "keep-alives went unanswered: $(rspd_stat removed_by_keep_alive)"

# SIGTERM while 50,000 PEs register: rspctl stops registering at once and
# deregisters what it registered (RFC 5352 §3.2), no more.
start_rspd term "${rspd_flags[@]}"
out="$dir/term.out"
"$RSPCTL" register --registrar="127.0.0.1:$term_port" --pool=term --count=50000 --pe_id=1 \
  --port=1 --lifetime=-1 >"$out" 2>"$dir/term.err" &
pid=$!
pids+=("$pid")
await_within 240 "5000 PEs registered" has_lines "$out" '^registered pe_id=' 5000
start=$(now)
kill -TERM "$pid"
await_within 30 "rspctl register exits after SIGTERM" gone "$pid"
exit_ns=$(($(now) - start))
wait "$pid" || fail "rspctl register exited $? after SIGTERM: $(tail -3 "$dir/term.err")"
registered=$(lines "$out" '^registered pe_id=')
deregistered=$(lines "$out" '^deregistered pe_id=')
echo "SIGTERM after 5000 of 50000 registrations: exited in $(seconds "$exit_ns") s," \
  "$registered registered, $deregistered deregistered"
[ "$registered" -lt 50000 ] || fail "registration went on after SIGTERM"
[ "$deregistered" -eq "$registered" ] || fail "$registered registered, $deregistered deregistered"
kill -INT "$term_pid"
wait "$term_pid" || fail "rspd did not stop cleanly"
[ "$(rspd_stat registrations "$dir/term.out")" -eq "$registered" ] \
  || fail "rspd counted $(rspd_stat registrations "$dir/term.out") registrations"
[ "$(rspd_stat removed_by_deregistration "$dir/term.out")" -eq "$registered" ] \
  || fail "rspd counted $(rspd_stat removed_by_deregistration "$dir/term.out") deregistrations"
[ "$(rspd_stat handlespace_pool_elements "$dir/term.out")" -eq 0 ] || fail "PEs left behind"
echo PASS
