#!/usr/bin/env bash
# Unreachable reports against abuse (RFC 5352 §3.5, RFC 5355 §2.13), with
# reporters on hosts of their own: network namespaces the test makes, each
# linked to the registrar's namespace by a veth pair. A reporter is its
# source address. One host reporting a PE over ten associations cannot remove
# it while it answers keep-alives; reports from MAX-BAD-PE-REPORT (3) distinct
# hosts remove it.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
source tests/test_lib.sh
if [ ! -e /proc/self/ns/net ]; then
  echo "SKIP: this kernel has no network namespaces"
  exit 0
fi
tag="rspd-ur-$$"
registrar_ns="$tag-r"
reporters=(a b c)
cleanup() {
  kill_spawned
  for h in "${reporters[@]}"; do ip netns del "$tag-$h" 2>/dev/null || true; done
  ip netns del "$registrar_ns" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$registrar_ns" || fail "cannot create a network namespace (needs root)"
ip -n "$registrar_ns" link set lo up
k=0
for h in "${reporters[@]}"; do
  k=$((k + 1))
  ip netns add "$tag-$h"
  ip -n "$tag-$h" link set lo up
  ip link add "ur$$$h" netns "$registrar_ns" type veth peer name eth0 netns "$tag-$h"
  ip -n "$registrar_ns" addr add "10.77.$k.1/24" dev "ur$$$h"
  ip -n "$registrar_ns" link set "ur$$$h" up
  ip -n "$tag-$h" addr add "10.77.$k.2/24" dev eth0
  ip -n "$tag-$h" link set eth0 up
done

ip netns exec "$registrar_ns" "$RSPD" --announce_group= --enrp_multicast_group= --keep_alive_interval=500ms \
  --keep_alive_timeout=1s >"$dir/rspd.out" 2>&1 &
pids+=("$!")
rspd_pid=$!
await "rspd ready" grep -q '^ready' "$dir/rspd.out"
ip netns exec "$registrar_ns" "$RSPCTL" register --registrar=127.0.0.1:9899 --pool=victim \
  --pe_id=0x51 --port=7051 --lifetime=-1 >"$dir/pe.out" 2>&1 &
pids+=("$!")
await "PE registered" grep -q '^registered' "$dir/pe.out"
report() {  # host index (1-3)
  ip netns exec "$tag-${reporters[$1 - 1]}" "$RSPCTL" unreachable --registrar="10.77.$1.1:9899" \
    --pool=victim --unreachable_pe_id=0x51 >/dev/null
}
listed() {
  ip netns exec "$registrar_ns" "$RSPCTL" resolve --registrar=127.0.0.1:9899 --pool=victim 2>/dev/null |
    grep -q 'pe_id=0x00000051'
}

# One host, ten associations (each rspctl run is a new one).
for _ in $(seq 10); do report 1; done
[ "$(live_stat unreachable_reports)" -eq 10 ] || fail "reports: $(live_stat unreachable_reports)"
acks_reach() { [ "$(live_stat keep_alive_acks)" -ge "$1" ]; }
# Several keep-alive timeouts later, the probed PE is still there.
await "keep-alives past the probe's timeout" acks_reach $(($(live_stat keep_alive_acks) + 6))
listed || fail "reports from one host removed a PE that answers keep-alives"
[ "$(live_stat removed_by_unreachable)" -eq 0 ] || fail "removed"
[ $(($(live_stat unreachable_reports_repeated) + $(live_stat unreachable_reports_rate_limited))) -eq 9 ] ||
  fail "repeats: $(live_stat unreachable_reports_repeated), limited: $(live_stat unreachable_reports_rate_limited)"

# Two more hosts: three distinct reporters within the window.
report 2
listed || fail "removed after two reporters"
report 3
unlisted() { ! listed; }
await "PE removed after three reporters" unlisted
[ "$(live_stat removed_by_unreachable)" -eq 1 ] || fail "removed_by_unreachable: $(live_stat removed_by_unreachable)"
echo PASS
