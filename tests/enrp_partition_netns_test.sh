#!/usr/bin/env bash
# ENRP across hosts of their own (network namespaces the test makes, on one
# bridge): three registrars, and the PEs on a fourth host. A registrar cut
# off (its link down) is taken over by the others (RFC 5353 §3.5), its PEs
# follow the new home's H bit; the cut-off registrar, alone, takes the others
# over in its own view and drops what never answers it. When the link comes
# back, the audit (PE checksums in every PRESENCE, §3.6.1) finds the views
# differ and the resync (§3.6.3: mark, W=1 download, sweep) makes them one:
# full dumps and checksums agree, and no PE was lost.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
source tests/test_lib.sh
if [ ! -e /proc/self/ns/net ]; then
  echo "SKIP: this kernel has no network namespaces"
  exit 0
fi
tag="rspd-ep-$$"
hosts=(1 2 3 100)
cleanup() {
  kill_spawned
  for h in "${hosts[@]}"; do ip netns del "$tag-$h" 2>/dev/null || true; done
  ip netns del "$tag-hub" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$tag-hub" || fail "cannot create a network namespace (needs root)"
ip -n "$tag-hub" link add br0 type bridge
ip -n "$tag-hub" link set br0 up
for h in "${hosts[@]}"; do
  ip netns add "$tag-$h"
  ip -n "$tag-$h" link set lo up
  ip link add "p$h" netns "$tag-hub" type veth peer name eth0 netns "$tag-$h"
  ip -n "$tag-hub" link set "p$h" master br0
  ip -n "$tag-hub" link set "p$h" up
  ip -n "$tag-$h" addr add "10.78.0.$h/24" dev eth0
  ip -n "$tag-$h" link set eth0 up
done

timers=(--peer_heartbeat_cycle=500ms --max_time_last_heard=1500ms --max_time_no_response=1s
  --takeover_expiry=2s --mentor_discovery_timeout=2s --keep_alive_interval=1s
  --keep_alive_timeout=1s --adopted_pe_timeout=4s)
start_registrar() {  # N PEER...
  local n="$1" peers=""
  shift
  for p in "$@"; do peers+="${peers:+,}10.78.0.$p:9899"; done
  ip netns exec "$tag-$n" "$RSPD" --bind_address="10.78.0.$n" --announce_group= --enrp_multicast_group= --server_id="$n" \
    --enrp_peers="$peers" --enrp_thread=$([ $((n % 2)) = 1 ] && echo on || echo off) \
    "${timers[@]}" >"$dir/r$n.out" 2>&1 &
  pids+=("$!")
  printf -v "r${n}_pid" '%s' "$!"
  await "r$n ready" grep -q '^ready' "$dir/r$n.out"
}
on_pe_host() { ip netns exec "$tag-100" "$@"; }
dump() { on_pe_host "$RSPCTL" dump --registrar="10.78.0.$1:9899"; }
checksums() { on_pe_host "$RSPCTL" peers --registrar="10.78.0.$1:9899" | awk '{print $2, $5, $6}' | sort; }
expected=15
dumps_agree() {
  local first
  first=$(dump "$1") || return 1
  [ "$(echo "$first" | grep -c '^pool=')" = "$expected" ] || return 1
  shift
  for n in "$@"; do [ "$(dump "$n")" = "$first" ] || return 1; done
}
checksums_agree() {
  local first
  first=$(checksums "$1") || return 1
  shift
  for n in "$@"; do [ "$(checksums "$n")" = "$first" ] || return 1; done
}
stat_is() { [ "$(live_stat "$1" "$2")" = "$3" ]; }

start_registrar 1 2 3
start_registrar 2 1 3
start_registrar 3 1 2
for n in 1 2 3; do await "r$n ENRP ready" stat_is enrp_ready "r$n" 1; done
# Each pool's PEs at one registrar (a hunt over several takes whichever
# answers first); they learn of others from the H bit only.
for n in 1 2 3; do
  # ip netns exec execs: $! is rspctl itself, which kill_spawned reaches.
  ip netns exec "$tag-100" "$RSPCTL" register --registrar="10.78.0.$n:9899" --pool="p$n" --count=5 \
    --pe_id=$((n * 100)) \
    --lifetime=30 >"$dir/pe$n.out" 2>&1 &
  pids+=("$!")
done
for n in 1 2 3; do
  await "pe$n registered" bash -c "[ \$(grep -c '^registered' '$dir/pe$n.out') = 5 ]"
done
await_within 5 "every registrar holds the 15 PEs" dumps_agree 1 2 3

# --- the partition --------------------------------------------------------------
ip -n "$tag-hub" link set p1 down
await "r1's PEs re-homed on the other side" bash -c \
  "! ip netns exec '$tag-100' '$RSPCTL' dump --registrar=10.78.0.2:9899 | grep -q 'home=0x00000001 '"
await "pe1 follows the H bit" grep -q '^home registrar now 0x0000000[23]' "$dir/pe1.out"
await_within 10 "r2 and r3 agree" dumps_agree 2 3
# Alone, r1 took the others over and dropped what did not answer it.
await "r1 alone dropped what it could not reach" stat_is handlespace_pool_elements r1 0

# --- the heal ----------------------------------------------------------------------
resyncs_before=$(($(live_stat resyncs r1) + $(live_stat resyncs r2) + $(live_stat resyncs r3)))
ip -n "$tag-hub" link set p1 up
await_within 20 "the three views are one again" dumps_agree 1 2 3
await_within 10 "the checksums agree" checksums_agree 1 2 3
resyncs=$(($(live_stat resyncs r1) + $(live_stat resyncs r2) + $(live_stat resyncs r3)))
[ "$resyncs" -gt "$resyncs_before" ] || fail "converged without a resync: the audit was not exercised"
for n in 1 2 3; do
  for pool in p1 p2 p3; do
    on_pe_host "$RSPCTL" resolve --registrar="10.78.0.$n:9899" --pool="$pool" | grep -q '^pe_id=' \
      || fail "r$n cannot resolve $pool after the heal"
  done
done
echo PASS
