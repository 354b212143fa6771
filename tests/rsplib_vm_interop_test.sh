#!/usr/bin/env bash
# A pool element and a pool user built on RSPLIB (Debian's
# rsplib-tools: rspserver -echo, rspterminal), running on the Linux kernel's
# SCTP with RFC 6951 UDP encapsulation (net.sctp.udp_port / encap_port =
# 9899), register at rspd and resolve through it.
#
# RSPLIB runs in the test VM (tests/vm/vm_lib.sh), on a tap device in a
# network namespace the test creates, where rspd listens on 10.99.0.1 (the
# guest is 10.99.0.2).
#
# The host then checks with rspd's own tools: `rspctl resolve` lists the
# RSPLIB PE at 10.99.0.2, the RSPLIB PU's echoes came from that PE, and rspd
# counted the registration and the resolutions.
#
# With the third argument `dpdk`, rspd runs --io=dpdk on the VM's link
# (net_af_packet on tap0, with its own L2/L3 for 10.99.0.1; the kernel keeps
# 10.99.0.3 there for the guest's agent) and the guest's SCTP is native (IP
# protocol 132, no encapsulation): the RSPLIB PEs register and the PUs'
# echoes come through rspd's resolution (docs/dpdk.md). The host's kernel
# cannot reach rspd's own port: the PE identifiers come from the PUs'
# echoes, and rspd's counters show that every SCTP packet was native.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
io="${3:-socket}"
source tests/test_lib.sh
source tests/vm/vm_lib.sh

readonly host_ip=10.99.0.1 guest_ip=10.99.0.2 control_ip=10.99.0.3 asap_port=3863 echo_lines=3
# One RSPLIB PE per pool: RSPLIB's default policy and one with a policy value.
readonly pools=(EchoPool EchoPoolLU)
declare -A rsplib_policy=([EchoPool]=RoundRobin [EchoPoolLU]=LeastUsed)
declare -A rspd_policy=([EchoPool]="Round Robin" [EchoPoolLU]="Least Used")
# The Round Robin pool checks that rspd's answers carry the overall policy,
# which RFC 5352 §2.2.6 makes optional but RSPLIB 3.4.4's PU requires.

if [ "$io" = dpdk ]; then
  # The kernel keeps an address of its own on tap0 for the guest's agent
  # (commands over TCP); rspd's DPDK port answers for $host_ip beside it.
  vm_setup "$guest_ip" "$control_ip"
  vm_encap_port=0
else
  vm_setup "$guest_ip" "$host_ip"
fi
rspd_pid=
cleanup() {
  local rc=$?
  if [ -n "$rspd_pid" ] && kill -INT "$rspd_pid" 2>/dev/null; then
    wait "$rspd_pid" || true
    [ "$rc" -eq 0 ] || sed -n '/^statistics:/,$p' "$dir/rspd.out" | paste -sd' ' >&2
  fi
  vm_cleanup
}
trap cleanup EXIT

# `ip netns exec` execs its command: $! is rspd's PID.
if [ "$io" = dpdk ]; then
  io_flags=(--io=dpdk --dpdk_eal_args="--no-pci --vdev=net_af_packet0,iface=tap0"
    --dpdk_addresses="$host_ip/24")
else
  io_flags=(--bind_address="$host_ip")
fi
ip netns exec "$vm_ns" "$RSPD" "${io_flags[@]}" --udp_port="$vm_udp_port" --asap_port="$asap_port" \
  --announce_group= --enrp_multicast_group= >"$dir/rspd.out" 2>&1 &
pids+=("$!")
rspd_pid=$!
await "rspd ready" grep -q '^ready' "$dir/rspd.out"
if [ "$io" = dpdk ]; then
  grep -q "^  port 0 .* $host_ip/24 link up" "$dir/rspd.out" || fail "rspd's port is not up: $(cat "$dir/rspd.out")"
else
  grep -q "^  udp $host_ip:$vm_udp_port " "$dir/rspd.out" || fail "rspd not on $host_ip:$vm_udp_port: $(cat "$dir/rspd.out")"
fi

vm_boot
for pool in "${pools[@]}"; do
  vm_do start "pe-$pool" rspserver -echo -poolhandle="$pool" -policy="${rsplib_policy[$pool]}" \
    -registrar="$host_ip:$asap_port" -logcolor=off
done

# The RSPLIB PEs register at rspd: rspd's own PU (rspctl) resolves them.
resolves=0
pe_registered() {  # POOL: the pool resolves to one PE at the guest's address
  resolves=$((resolves + 1))
  in_ns "$RSPCTL" resolve --registrar="$host_ip:$vm_udp_port" --pool="$1" --json >"$dir/resolve-$1.json" 2>&1 &&
    grep -q "\"addresses\":\[\"$guest_ip\"\]" "$dir/resolve-$1.json"
}
declare -A pe_id
registered() { [ "$(live_stat registrations)" -ge "${#pools[@]}" ]; }
if [ "$io" = dpdk ]; then
  await_for 90 "the RSPLIB PEs registering at rspd" registered ||
    fail "rspd counted $(live_stat registrations) registrations; guest: $(vm_console)"
  pools_to_check=()
else
  pools_to_check=("${pools[@]}")
fi
for pool in "${pools_to_check[@]}"; do
  # Not await_for: pe_registered counts rspctl's resolutions in this shell.
  deadline=$((SECONDS + 90))
  until pe_registered "$pool"; do
    [ "$SECONDS" -lt "$deadline" ] ||
      fail "the RSPLIB PE of $pool did not register at rspd: resolve: $(cat "$dir/resolve-$pool.json"), guest: $(vm_console)"
    sleep 0.2
  done
  json=$(cat "$dir/resolve-$pool.json")
  echo "rspctl resolve --pool=$pool ($(vm_elapsed)): $json"
  [ "$(wc -l <"$dir/resolve-$pool.json")" -eq 1 ] || fail "expected one PE in $pool: $json"
  [[ "$json" == *'"transport":"sctp"'* ]] || fail "$pool: PE transport not SCTP"
  [[ "$json" == *"\"policy\":\"${rspd_policy[$pool]}\""* ]] || fail "$pool: policy not ${rspd_policy[$pool]}"
  pe_id[$pool]=$(printf '%08x' "$(sed -n 's/.*"pe_id":\([0-9]*\).*/\1/p' <<<"$json")")
done

# The RSPLIB PUs resolve through rspd and echo (RSPD_VM_PU_LOGLEVEL=6:
# RSPLIB's own log of why a resolution failed).
for pool in "${pools[@]}"; do
  vm_do pu "pu-$pool" "$pool" "$echo_lines" 10 -registrar="$host_ip:$asap_port" \
    ${RSPD_VM_PU_LOGLEVEL:+-loglevel=$RSPD_VM_PU_LOGLEVEL}
done
vm_poweroff

if [ "$io" = dpdk ]; then
  # The PE each PU reached: the identifier of its first echo.
  for pool in "${pools[@]}"; do
    pe_id[$pool]=$(grep -ao "from PE \$[0-9a-f]*> rspd-interop-pu-$pool-1" "$vm_log" | head -1 |
      sed 's/from PE \$\([0-9a-f]*\)>.*/\1/')
    [ -n "${pe_id[$pool]}" ] || fail "$pool: the RSPLIB PU got no echo: $(vm_console | tail -20)"
  done
  [ "${pe_id[EchoPool]}" != "${pe_id[EchoPoolLU]}" ] || fail "both pools resolved to one PE"
fi
# Each line a PU sent came back from the PE rspd listed for its pool
# (rspterminal prints the PE identifier as $%08x).
for pool in "${pools[@]}"; do
  for i in $(seq "$echo_lines"); do
    grep -aq "from PE \\\$${pe_id[$pool]}> rspd-interop-pu-$pool-$i" "$vm_log" ||
      fail "$pool: the RSPLIB PU got no echo of line $i from PE \$${pe_id[$pool]} (the PE rspd resolved)"
  done
done

kill -INT "$rspd_pid"
wait "$rspd_pid" || true
rspd_pid=
echo "rspd: registrations=$(rspd_stat registrations) resolutions=$(rspd_stat resolutions)" \
  "resolutions_unknown_pool=$(rspd_stat resolutions_unknown_pool) registrations_rejected=$(rspd_stat registrations_rejected)" \
  "malformed_messages=$(rspd_stat malformed_messages) unsupported_messages=$(rspd_stat unsupported_messages)" \
  "errors_sent=$(rspd_stat errors_sent) keep_alive_acks=$(rspd_stat keep_alive_acks)"
[ "$(rspd_stat registrations)" -ge "${#pools[@]}" ] || fail "rspd counted $(rspd_stat registrations) registrations, want ${#pools[@]}"
[ "$(rspd_stat registrations_rejected)" -eq 0 ] || fail "rspd rejected registrations"
if [ "$io" = dpdk ]; then
  echo "rspd's packet path: sctp_native_in=$(rspd_stat sctp_native_in) udp_sctp_in=$(rspd_stat udp_sctp_in)"
  [ "$(rspd_stat sctp_native_in)" -ge 10 ] || fail "rspd saw few native SCTP packets"
  [ "$(rspd_stat udp_sctp_in)" -eq 0 ] || fail "the guest used UDP encapsulation"
fi
[ "$(rspd_stat malformed_messages)" -eq 0 ] || fail "rspd saw malformed messages"
[ "$(rspd_stat unsupported_messages)" -eq 0 ] || fail "rspd saw unsupported messages"
# Every resolution beyond rspctl's came from an RSPLIB PU: at least one per
# PU, all of them for pools rspd knew.
pu_resolutions=$(($(rspd_stat resolutions) - resolves))
[ "$pu_resolutions" -ge "${#pools[@]}" ] ||
  fail "rspd counted $pu_resolutions resolutions from the RSPLIB PUs, want >= ${#pools[@]}"
echo "PASS ($(vm_elapsed), $vm_accel): ${#pools[@]} RSPLIB PEs registered, ${#pools[@]} RSPLIB PUs echoed through rspd"
