#!/usr/bin/env bash
# ENRP (RFC 5353) unchanged over the DPDK packet path (docs/dpdk.md): two
# registrars in network namespaces the test makes, r1 on DPDK (net_af_packet
# on its end of a veth pair, its ENRP thread on), r2 on kernel sockets at the
# other end (inline ENRP). Each has the other as its static peer.
#   1. PEs registered at either are listed at both with the right home, and
#      full dumps agree.
#   2. kill -9 of r2: r1 takes its PEs over (§3.5); they answer r1's H-bit
#      keep-alives and stay, r1 their home.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
source tests/test_lib.sh
if [ ! -e /proc/self/ns/net ]; then
  echo "SKIP: this kernel has no network namespaces"
  exit 0
fi
tag="rspd-de-$$"
dp="$tag-dpdk"
sk="$tag-socket"
cleanup() {
  kill_spawned
  ip netns del "$dp" 2>/dev/null || true
  ip netns del "$sk" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$dp" || fail "cannot create a network namespace (needs root)"
ip netns add "$sk"
ip -n "$dp" link set lo up
ip -n "$sk" link set lo up
ip link add dpdk0 netns "$dp" type veth peer name eth0 netns "$sk"
ip -n "$dp" link set dpdk0 up
ip -n "$sk" addr add 10.77.0.2/24 dev eth0
ip -n "$sk" link set eth0 up

timers=(--peer_heartbeat_cycle=500ms --max_time_last_heard=1500ms --max_time_no_response=1s
  --takeover_expiry=2s --mentor_discovery_timeout=2s --keep_alive_interval=1s
  --keep_alive_timeout=1s)
common=(--announce_group= --enrp_multicast_group= "${timers[@]}")
ip netns exec "$dp" "$RSPD" --io=dpdk --dpdk_eal_args="--no-pci --vdev=net_af_packet0,iface=dpdk0" \
  --dpdk_addresses=10.77.0.1/24 --server_id=1 --enrp_thread=on --enrp_peers=10.77.0.2:9899 \
  "${common[@]}" >"$dir/r1.out" 2>&1 &
r1_pid=$!
pids+=("$r1_pid")
ip netns exec "$sk" "$RSPD" --bind_address=10.77.0.2 --server_id=2 --enrp_thread=off \
  --enrp_peers=10.77.0.1:9899 "${common[@]}" >"$dir/r2.out" 2>&1 &
r2_pid=$!
pids+=("$r2_pid")
await "r1 (DPDK) ready" grep -q '^ready' "$dir/r1.out"
await "r2 (socket) ready" grep -q '^ready' "$dir/r2.out"

in_sk() { ip netns exec "$sk" "$@"; }
dump() { in_sk "$RSPCTL" dump --registrar="10.77.0.$1:9899"; }
owners_of() { dump "$1" | grep "^pool=$2 " | sed -n 's/.* home=\(0x[0-9a-f]*\) .*/\1/p' | sort -u; }
count_at() { dump "$1" | grep -c '^pool=' || true; }
enrp_ready() { [ "$(live_stat enrp_ready "r$1")" = 1 ]; }
await "r1 ENRP ready" enrp_ready 1
await "r2 ENRP ready" enrp_ready 2

# 1. Five PEs at each registrar; each PE process sits in the socket
# namespace and reaches r1 over the veth, through rspd's DPDK port.
for n in 1 2; do
  in_sk "$RSPCTL" register --registrar="10.77.0.$n:9899" --pool="at$n" --count=5 --pe_id=1 \
    --port=1 --lifetime=-1 >"$dir/pe$n.out" 2>"$dir/pe$n.err" &
  pids+=("$!")
done
for n in 1 2; do
  await "5 PEs registered at r$n" bash -c "[ \$(grep -c '^registered' '$dir/pe$n.out') -eq 5 ]"
done
count_is() { [ "$(count_at "$1")" -eq "$2" ]; }
for n in 1 2; do await "r$n lists all 10 PEs" count_is "$n" 10; done
for n in 1 2; do
  [ "$(owners_of "$n" at1)" = 0x00000001 ] || fail "r$n: pool at1 homes: $(owners_of "$n" at1)"
  [ "$(owners_of "$n" at2)" = 0x00000002 ] || fail "r$n: pool at2 homes: $(owners_of "$n" at2)"
done
[ "$(dump 1)" = "$(dump 2)" ] || fail "dumps differ: $(diff <(dump 1) <(dump 2) | head -5)"

# 2. r2 dies; r1 takes its PEs over, and they accept it as their home.
kill -KILL "$r2_pid"
homed_at_r1() { [ "$(dump 1 | grep '^pool=at2 ' | grep -c ' home=0x00000001 ')" -eq 5 ]; }
await "r1 took r2's PEs over" homed_at_r1
[ "$(live_stat takeovers_won r1)" -ge 1 ] || fail "r1 counted no takeover won"
# The PEs answer their new home's keep-alives (two rounds for all ten), and
# none is lost.
acks=$(live_stat keep_alive_acks r1)
acks_grew() { [ "$(live_stat keep_alive_acks r1)" -ge $((acks + 20)) ]; }
await "two rounds of keep-alive ACKs at r1" acks_grew
[ "$(count_at 1)" -eq 10 ] || fail "PEs lost after the takeover: $(count_at 1) of 10"
kill -TERM "$r1_pid"
wait "$r1_pid" || fail "r1 did not stop cleanly: $(tail -3 "$dir/r1.out")"
[ "$(rspd_stat udp_sctp_in "$dir/r1.out")" -ge 100 ] || fail "r1 saw few SCTP packets on DPDK"
echo PASS
