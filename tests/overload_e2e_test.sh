#!/usr/bin/env bash
# A registrar's own overload never turns into lost PEs (docs/limits.md,
# "Overload"). 20,000 PEs are registered by four PE processes (5,000 each,
# lifetime infinite, so only keep-alives keep them); then a load generator
# floods rspd with handle resolutions over OVERLOAD_ASSOCIATIONS associations
# (default 5,000), 32 in flight on each, far past what it can answer. The test
# checks that rspd really was overloaded (the kernel or rspd itself dropped
# input), that it still answered, and that afterwards every PE is registered:
# none was removed by a keep-alive timeout, a lifetime or association loss.
# (A PE process's own SCTP may give up on an association whose packets the
# overloaded registrar dropped, and set up another: its PEs stay registered
# meanwhile; such reconnections are printed.) RFC 5352 §3.4, RFC 5355 §2.14.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
LOAD="$3"
source tests/test_lib.sh

assocs="${OVERLOAD_ASSOCIATIONS:-5000}"
seconds="${OVERLOAD_SECONDS:-15}"
per_process=5000
processes=4
total=$((per_process * processes))

# Keep-alives every second with a 2 s timeout: a registrar that took its own
# dropped input for silence would remove PEs within seconds.
start_rspd rspd --keep_alive_interval=1s --keep_alive_timeout=2s --max_associations=20000 \
  --max_peers=20000 ${OVERLOAD_RSPD_FLAGS:-}
R="--registrar=127.0.0.1:$rspd_port"

for k in $(seq 0 $((processes - 1))); do
  "$RSPCTL" register $R --pool="pool$k" --count=$per_process --pe_id=$((k * 100000 + 1)) \
    --port=$((10000 + k * 10)) --value_step=0 --lifetime=-1 >"$dir/pe$k.out" 2>"$dir/pe$k.err" &
  pids+=("$!")
done
registered() {
  local n=0
  for k in $(seq 0 $((processes - 1))); do
    n=$((n + $(grep -c '^registered' "$dir/pe$k.out" || true)))
  done
  [ "$n" -eq "$total" ]
}
await "$total PEs registered" registered
[ "$(live_stat handlespace_registrations_added)" -eq "$total" ] || fail "registrations counted"

# The flood: resolutions on many associations, each with 32 in flight.
"$LOAD" --target="127.0.0.1:$rspd_port" --mode=resolve --associations="$assocs" --in_flight=32 \
  --seconds="$seconds" --warmup_seconds=1 --pool=pool0 --pes=0 >"$dir/load.out" 2>&1 \
  || fail "load generator: $(cat "$dir/load.out")"
cat "$dir/load.out"

# Overloaded: input was dropped (by the kernel or shed by rspd), and yet
# resolutions were answered.
drops=$(live_stat udp_rx_kernel_drops)
shed=$(live_stat ingress_shed_normal)
echo "kernel drops $drops, shed $shed"
[ $((drops + shed)) -gt 0 ] || fail "the flood did not overload rspd: raise OVERLOAD_ASSOCIATIONS"
rate=$(sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p' "$dir/load.out")
[ "${rate:-0}" -gt 0 ] || fail "no resolution answered under the flood"

# Two keep-alive rounds after the flood: every PE still there, none removed.
acks_reach() { [ "$(live_stat keep_alive_acks)" -ge "$1" ]; }
await "two keep-alive rounds after the flood" acks_reach $(($(live_stat keep_alive_acks) + 2 * total))
for counter in removed_by_keep_alive removed_by_association_loss removed_by_lifetime \
  removed_by_unreachable removal_notices_sent; do
  [ "$(live_stat "$counter")" -eq 0 ] || fail "$counter: $(live_stat "$counter")"
done
[ "$(live_stat handlespace_pool_elements)" -eq "$total" ] ||
  fail "PEs: $(live_stat handlespace_pool_elements), expected $total"
for k in $(seq 0 $((processes - 1))); do
  ! grep -q "^registrar removed" "$dir/pe$k.out" || fail "PE process $k was told of a removal"
  [ "$("$RSPCTL" resolve $R --pool="pool$k" --items=128 | wc -l)" -eq 128 ] || fail "pool$k"
done
echo "deferred keep-alive removals: $(live_stat keep_alive_removals_deferred)," \
  "PE processes that set up a new association: $(cat "$dir"/pe*.err | grep -c 'lost registrar' || true)"
echo PASS
