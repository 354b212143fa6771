# The RSPLIB test VM, for tests that source tests/test_lib.sh and then this.
#
# RSPLIB runs on the Linux kernel's SCTP, which the host kernel may lack, so
# it runs in a VM: Debian's kernel (linux-image-amd64, sctp.ko as a module)
# with an initramfs built at test time from busybox-static, the modules and
# the RSPLIB binaries (build_initramfs.sh). Its /init (rsplib_init.sh) is an
# agent that starts and stops RSPLIB programs on request. The VM's NIC is a
# tap device in a network namespace the test creates; nothing leaves it.
#
#   vm_setup GUEST_IP HOST_IP... builds the image, creates the namespace
#                               ($vm_ns) and tap0 with the host addresses
#                               (none: tap0 is for a DPDK port)
#   in_ns COMMAND...            runs COMMAND in the namespace (foreground)
#   vm_boot                     boots the VM, under KVM where it can
#   vm_do COMMAND...            runs an agent command and waits until it is
#                               through (fails the test if it fails)
#   vm_try COMMAND...           the same, returning the command's status
#   vm_await SECONDS WHAT REGEX waits for a console line
#   vm_poweroff                 powers the VM off and prints its console
# The console is in $vm_log; vm_cleanup (called by the test's EXIT trap)
# removes the namespace and keeps the console and captures for a failure.
#
# RSPD_VM_ACCEL=kvm|tcg overrides the choice of accelerator;
# RSPD_VM_CAPTURE=1 records tap0 in $dir/tap0.pcapng, for
# `tshark -r FILE -d udp.port==9899,sctp` or `rspctl decode FILE`.

readonly vm_udp_port=9899 vm_cmd_port=7777
# The guest's SCTP encapsulation port (RFC 6951), set before vm_boot; 0: the
# guest speaks native SCTP (IP protocol 132).
vm_encap_port=$vm_udp_port
vm_ns="rspd-vm-$$"
vm_log="$dir/guest.log"
vm_pid=
vm_guest_ip=
vm_commands=0
vm_start=$SECONDS
vm_elapsed() { echo "$((SECONDS - vm_start))s"; }

in_ns() { ip netns exec "$vm_ns" "$@"; } # foreground only: `in_ns ... &` gives the subshell's PID

# Like await, with a bound of $1 seconds (a VM under TCG takes longer than 20 s).
# The condition's errors go to $dir/await_for.err, which vm_cleanup prints
# when the test fails (a fail inside the condition included).
await_for() {
  local seconds="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@" >/dev/null 2>"$dir/await_for.err"; then return 0; fi
    sleep 0.2
  done
  echo "timed out after ${seconds}s waiting for: $what" >&2
  return 1
}

vm_setup() {
  vm_guest_ip=$1
  shift
  if [ ! -e /proc/self/ns/net ] || [ ! -c /dev/net/tun ]; then
    echo "SKIP: this kernel has no network namespaces or no /dev/net/tun (tap devices)"
    exit 0
  fi
  local tool k kver=
  for tool in qemu-system-x86_64 /bin/busybox /usr/bin/rspserver /usr/bin/rspterminal /usr/bin/rspregistrar; do
    command -v "$tool" >/dev/null || fail "$tool missing: run tools/setup.sh"
  done
  # The newest installed Debian kernel that has SCTP as a module.
  for k in $(find /boot -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V); do
    if compgen -G "/lib/modules/$k/kernel/net/sctp/sctp.ko*" >/dev/null; then kver=$k; fi
  done
  [ -n "$kver" ] || fail "no /boot/vmlinuz-* with /lib/modules/*/kernel/net/sctp: run tools/setup.sh (linux-image-amd64)"
  vm_kernel=$kver
  tests/vm/build_initramfs.sh "$dir/vm.cpio.gz" "$kver" tests/vm/rsplib_init.sh \
    "virtio_pci virtio_net crc32c_generic sctp" /usr/bin/rspserver /usr/bin/rspterminal /usr/bin/rspregistrar
  echo "initramfs for $kver: $(du -k "$dir/vm.cpio.gz" | cut -f1) KiB ($(vm_elapsed))"

  ip netns add "$vm_ns" || fail "cannot create a network namespace (needs root)"
  ip -n "$vm_ns" link set lo up
  ip -n "$vm_ns" tuntap add tap0 mode tap
  local ip
  for ip in "$@"; do ip -n "$vm_ns" addr add "$ip/24" dev tap0; done
  ip -n "$vm_ns" link set tap0 up
  if [ -n "${RSPD_VM_CAPTURE:-}" ]; then
    ip netns exec "$vm_ns" dumpcap -q -i tap0 -w "$dir/tap0.pcapng" 2>"$dir/dumpcap.err" &
    pids+=("$!")
    await "capture on tap0" grep -q . "$dir/dumpcap.err"
  fi
}

vm_cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -s "$dir/await_for.err" ]; then
    echo "the last condition waited for said: $(tail -5 "$dir/await_for.err")" >&2
  fi
  kill_spawned
  ip netns del "$vm_ns" 2>/dev/null || true
  # What a failure needs to be understood, in bazel-testlogs/.../test.outputs.
  if [ -n "${TEST_UNDECLARED_OUTPUTS_DIR:-}" ]; then
    local f
    for f in "$dir"/*.out "$vm_log" "$dir/tap0.pcapng"; do
      if [ -f "$f" ]; then cp "$f" "$TEST_UNDECLARED_OUTPUTS_DIR/"; fi
    done
  fi
}

vm_start_qemu() {  # ACCEL...: boots the VM in the namespace; sets vm_pid
  : >"$vm_log"
  ip netns exec "$vm_ns" qemu-system-x86_64 "$@" -m 256 -smp 1 -nodefaults -display none -no-reboot \
    -kernel "/boot/vmlinuz-$vm_kernel" -initrd "$dir/vm.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 guest_addr=$vm_guest_ip/24 encap_port=$vm_encap_port cmd_port=$vm_cmd_port" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,romfile= \
    -serial "file:$vm_log" >"$dir/qemu.out" 2>&1 &
  vm_pid=$!
  pids+=("$vm_pid")
}

vm_stop_qemu() {
  kill -KILL "$vm_pid" 2>/dev/null || true
  wait "$vm_pid" 2>/dev/null || true
}

# KVM where it can boot a stock kernel, else TCG (slower, same result). PVM
# (/sys/module/kvm_pvm, KVM without VMX for nested clouds) runs only guests
# built for it; elsewhere a KVM guest that does not reach /init in 30 s is
# retried under TCG.
vm_boot() {
  vm_accel=tcg
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then vm_accel=kvm; fi
  vm_accel=${RSPD_VM_ACCEL:-$vm_accel}
  if [ "$vm_accel" = kvm ]; then
    vm_start_qemu -accel kvm -cpu host
    if ! await_for 30 "guest /init under KVM" grep -q '^vm: init started' "$vm_log"; then
      echo "KVM guest did not reach /init in 30 s; retrying under TCG"
      vm_stop_qemu
      vm_accel=tcg
    fi
  fi
  if [ "$vm_accel" = tcg ]; then
    vm_start_qemu -accel tcg
    await_for 90 "guest /init under TCG" grep -q '^vm: init started' "$vm_log" ||
      fail "guest did not reach /init: $(cat "$dir/qemu.out" "$vm_log")"
  fi
  vm_await 60 "the guest's agent" '^vm: agent listening'
  echo "guest agent running under $vm_accel ($(vm_elapsed))"
}

vm_await() {  # SECONDS WHAT REGEX: waits for a console line matching REGEX
  await_for "$1" "$2" grep -aqE "$3" "$vm_log" || fail "$2: no console line /$3/; console: $(vm_console)"
}

# The guest's console lines, without carriage returns and colours.
vm_console() {
  grep -a '^vm: ' "$vm_log" | tr -d '\r' | sed 's/\x1b\[[0-9;]*m//g' | grep -v '^vm: [a-zA-Z0-9-]*: *$'
}

# vm_try COMMAND ARG...: sends the command (bash's /dev/tcp: the host needs
# no nc) and waits until the agent is through with it (120 s bound a PU run
# under TCG); returns its status.
vm_try() {
  vm_commands=$((vm_commands + 1))
  local id=$vm_commands line="$vm_commands $*"
  await_for 30 "the guest's agent taking command $id" \
    in_ns bash -c "echo '$line' >/dev/tcp/$vm_guest_ip/$vm_cmd_port" ||
    fail "cannot reach the guest's agent on $vm_guest_ip:$vm_cmd_port"
  # The whole line: the serial console may write it in pieces.
  await_for 120 "command $id ($*)" grep -aqE "^vm: done $id rc=[0-9]+ " "$vm_log" ||
    fail "the guest did not finish '$*': $(vm_console)"
  grep -aqE "^vm: done $id rc=0 " "$vm_log"
}

vm_do() {
  vm_try "$@" || fail "the guest failed '$*': $(vm_console | tail -20)"
}

vm_poweroff() {
  vm_commands=$((vm_commands + 1))
  await_for 30 "the guest's agent taking poweroff" \
    in_ns bash -c "echo '$vm_commands poweroff' >/dev/tcp/$vm_guest_ip/$vm_cmd_port" ||
    fail "cannot reach the guest's agent on $vm_guest_ip:$vm_cmd_port"
  local deadline=$((SECONDS + 60))
  while kill -0 "$vm_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  kill -0 "$vm_pid" 2>/dev/null && fail "the VM did not power off: $(vm_console | tail -20)"
  wait "$vm_pid" || true
  echo "guest powered off ($(vm_elapsed)); its console:"
  vm_console
  grep -aq '^vm: finished rc=0' "$vm_log" || fail "the guest's agent failed"
}
