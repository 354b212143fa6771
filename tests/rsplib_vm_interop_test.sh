#!/usr/bin/env bash
# A pool element and a pool user built on RSPLIB (Debian's
# rsplib-tools: rspserver -echo, rspterminal), running on the Linux kernel's
# SCTP with RFC 6951 UDP encapsulation (net.sctp.udp_port / encap_port =
# 9899), register at rspd and resolve through it.
#
# The host kernel may have no SCTP, so RSPLIB runs in a VM: Debian's kernel
# (linux-image-amd64, sctp.ko as a module) with an initramfs built here from
# busybox-static, the modules and the RSPLIB binaries (tests/vm/). The VM's
# NIC is a tap device in a network namespace the test creates, where rspd
# listens on 10.99.0.1 (the guest is 10.99.0.2). Nothing leaves the namespace.
#
# The host then checks with rspd's own tools: `rspctl resolve` lists the
# RSPLIB PE at 10.99.0.2, the RSPLIB PU's echoes came from that PE, and rspd
# counted the registration and the resolutions.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
source tests/test_lib.sh

if [ ! -e /proc/self/ns/net ] || [ ! -c /dev/net/tun ]; then
  echo "SKIP: this kernel has no network namespaces or no /dev/net/tun (tap devices)"
  exit 0
fi
for tool in qemu-system-x86_64 /bin/busybox /usr/bin/rspserver /usr/bin/rspterminal; do
  command -v "$tool" >/dev/null || fail "$tool missing: run tools/setup.sh"
done

# The newest installed Debian kernel that has SCTP as a module.
kver=
for k in $(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V); do
  if compgen -G "/lib/modules/$k/kernel/net/sctp/sctp.ko*" >/dev/null; then kver=$k; fi
done
[ -n "$kver" ] || fail "no /boot/vmlinuz-* with /lib/modules/*/kernel/net/sctp: run tools/setup.sh (linux-image-amd64)"

readonly host_ip=10.99.0.1 guest_ip=10.99.0.2 udp_port=9899 asap_port=3863 go_port=7777 echo_lines=3
# One RSPLIB PE per pool: RSPLIB's default policy and one with a policy value.
readonly pools=(EchoPool EchoPoolLU)
declare -A rsplib_policy=([EchoPool]=RoundRobin [EchoPoolLU]=LeastUsed)
declare -A rspd_policy=([EchoPool]="Round Robin" [EchoPoolLU]="Least Used")
# The Round Robin pool checks that rspd's answers carry the overall policy,
# which RFC 5352 §2.2.6 makes optional but RSPLIB 3.4.4's PU requires.

start=$SECONDS
elapsed() { echo "$((SECONDS - start))s"; }

tests/vm/build_initramfs.sh "$dir/vm.cpio.gz" "$kver" tests/vm/rsplib_init.sh \
  "virtio_pci virtio_net crc32c_generic sctp" /usr/bin/rspserver /usr/bin/rspterminal
echo "initramfs for $kver: $(du -k "$dir/vm.cpio.gz" | cut -f1) KiB ($(elapsed))"

ns="rspd-vm-$$"
ip netns add "$ns" || fail "cannot create a network namespace (needs root)"
rspd_pid=
cleanup() {
  local rc=$?
  if [ -n "$rspd_pid" ] && kill -INT "$rspd_pid" 2>/dev/null; then
    wait "$rspd_pid" || true
    [ "$rc" -eq 0 ] || sed -n '/^statistics:/,$p' "$dir/rspd.out" | paste -sd' ' >&2
  fi
  kill_spawned
  ip netns del "$ns" 2>/dev/null || true
  # What a failure needs to be understood, in bazel-testlogs/.../test.outputs.
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    for f in guest.log rspd.out tap0.pcapng; do
      if [ -f "$dir/$f" ]; then cp "$dir/$f" "$TEST_UNDECLARED_OUTPUTS_DIR/"; fi
    done
  fi
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; } # foreground only: `in_ns ... &` would give the subshell's PID
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add tap0 mode tap
ip -n "$ns" addr add "$host_ip/24" dev tap0
ip -n "$ns" link set tap0 up

# RSPD_VM_CAPTURE=1: record tap0 (the VM's wire) in $dir/tap0.pcapng, for
# `tshark -r FILE -d udp.port==9899,sctp` or `rspctl decode FILE`.
if [ -n "${RSPD_VM_CAPTURE:-}" ]; then
  ip netns exec "$ns" dumpcap -q -i tap0 -w "$dir/tap0.pcapng" 2>"$dir/dumpcap.err" &
  pids+=("$!")
  await "capture on tap0" grep -q . "$dir/dumpcap.err"
fi

# `ip netns exec` execs its command: $! is rspd's PID.
ip netns exec "$ns" "$RSPD" --bind_address="$host_ip" --udp_port="$udp_port" --asap_port="$asap_port" \
  --announce_group= --enrp_multicast_group= >"$dir/rspd.out" 2>&1 &
pids+=("$!")
rspd_pid=$!
await "rspd ready" grep -q '^ready' "$dir/rspd.out"
grep -q "^  udp $host_ip:$udp_port " "$dir/rspd.out" || fail "rspd not on $host_ip:$udp_port: $(cat "$dir/rspd.out")"

# Like await, with a bound of $1 seconds (a VM under TCG takes longer than 20 s).
await_for() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "timed out after ${seconds}s waiting for: $what" >&2
  return 1
}

guest_log="$dir/guest.log"
guest_pools=
for pool in "${pools[@]}"; do guest_pools+="${guest_pools:+,}$pool/${rsplib_policy[$pool]}"; done
vm_pid=
# start_vm ACCEL...: boots the VM in the namespace; sets vm_pid.
start_vm() {
  : >"$guest_log"
  ip netns exec "$ns" qemu-system-x86_64 "$@" -m 256 -smp 1 -nodefaults -display none -no-reboot \
    -kernel "/boot/vmlinuz-$kver" -initrd "$dir/vm.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 guest_addr=$guest_ip/24 registrar=$host_ip:$asap_port encap_port=$udp_port pools=$guest_pools go_port=$go_port echo_lines=$echo_lines pu_timeout=10 pu_loglevel=${RSPD_VM_PU_LOGLEVEL:-0}" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,romfile= \
    -serial "file:$guest_log" >"$dir/qemu.out" 2>&1 &
  vm_pid=$!
  pids+=("$vm_pid")
}
stop_vm() {
  kill -KILL "$vm_pid" 2>/dev/null || true
  wait "$vm_pid" 2>/dev/null || true
}

# KVM where it can boot a stock kernel, else TCG (slower, same result). PVM
# (/sys/module/kvm_pvm, KVM without VMX for nested clouds) runs only guests
# built for it; elsewhere a KVM guest that does not reach /init in 30 s is
# retried under TCG.
# RSPD_VM_ACCEL=kvm|tcg overrides the choice (kvm still falls back).
accel=tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then accel=kvm; fi
accel=${RSPD_VM_ACCEL:-$accel}
if [ "$accel" = kvm ]; then
  start_vm -accel kvm -cpu host
  if ! await_for 30 "guest /init under KVM" grep -q '^vm: init started' "$guest_log"; then
    echo "KVM guest did not reach /init in 30 s; retrying under TCG"
    stop_vm
    accel=tcg
  fi
fi
if [ "$accel" = tcg ]; then
  start_vm -accel tcg
  await_for 90 "guest /init under TCG" grep -q '^vm: init started' "$guest_log" ||
    fail "guest did not reach /init: $(cat "$dir/qemu.out" "$guest_log")"
fi
echo "guest /init running under $accel ($(elapsed))"

# The RSPLIB PEs register at rspd: rspd's own PU (rspctl) resolves them.
resolves=0
pe_registered() {  # POOL: the pool resolves to one PE at the guest's address
  resolves=$((resolves + 1))
  in_ns "$RSPCTL" resolve --registrar="$host_ip:$udp_port" --pool="$1" --json >"$dir/resolve-$1.json" 2>&1 &&
    grep -q "\"addresses\":\[\"$guest_ip\"\]" "$dir/resolve-$1.json"
}
declare -A pe_id
for pool in "${pools[@]}"; do
  # Not await_for: pe_registered counts rspctl's resolutions in this shell.
  deadline=$((SECONDS + 90))
  until pe_registered "$pool"; do
    [ "$SECONDS" -lt "$deadline" ] ||
      fail "the RSPLIB PE of $pool did not register at rspd: resolve: $(cat "$dir/resolve-$pool.json"), guest: $(cat "$guest_log")"
    sleep 0.2
  done
  json=$(cat "$dir/resolve-$pool.json")
  echo "rspctl resolve --pool=$pool ($(elapsed)): $json"
  [ "$(wc -l <"$dir/resolve-$pool.json")" -eq 1 ] || fail "expected one PE in $pool: $json"
  [[ "$json" == *'"transport":"sctp"'* ]] || fail "$pool: PE transport not SCTP"
  [[ "$json" == *"\"policy\":\"${rspd_policy[$pool]}\""* ]] || fail "$pool: policy not ${rspd_policy[$pool]}"
  pe_id[$pool]=$(printf '%08x' "$(sed -n 's/.*"pe_id":\([0-9]*\).*/\1/p' <<<"$json")")
done

# Let the guest run its PUs (bash's /dev/tcp: the host needs no nc).
go_sent() { in_ns bash -c "echo go >/dev/tcp/$guest_ip/$go_port"; }
await_for 30 "guest listening for go" go_sent || fail "cannot reach the guest on $guest_ip:$go_port"

deadline=$((SECONDS + 120))
while kill -0 "$vm_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
kill -0 "$vm_pid" 2>/dev/null && fail "the VM did not power off: $(cat "$guest_log")"
wait "$vm_pid" || true
echo "guest powered off ($(elapsed)); its console:"
grep -a '^vm: ' "$guest_log" | tr -d '\r' | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^vm: [a-zA-Z-]*: *$'

grep -aq '^vm: finished rc=0' "$guest_log" || fail "the guest script failed"
# Each line a PU sent came back from the PE rspd listed for its pool
# (rspterminal prints the PE identifier as $%08x).
for pool in "${pools[@]}"; do
  for i in $(seq "$echo_lines"); do
    grep -aq "from PE \\\$${pe_id[$pool]}> rspd-interop-$pool-$i" "$guest_log" ||
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
[ "$(rspd_stat malformed_messages)" -eq 0 ] || fail "rspd saw malformed messages"
[ "$(rspd_stat unsupported_messages)" -eq 0 ] || fail "rspd saw unsupported messages"
# Every resolution beyond rspctl's came from an RSPLIB PU: at least one per
# PU, all of them for pools rspd knew.
pu_resolutions=$(($(rspd_stat resolutions) - resolves))
[ "$pu_resolutions" -ge "${#pools[@]}" ] ||
  fail "rspd counted $pu_resolutions resolutions from the RSPLIB PUs, want >= ${#pools[@]}"
echo "PASS ($(elapsed), $accel): ${#pools[@]} RSPLIB PEs registered, ${#pools[@]} RSPLIB PUs echoed through rspd"
