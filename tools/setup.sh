#!/usr/bin/env bash
# Installs every Debian 12 package rspd needs to build, test, benchmark and run.
# Idempotent: does nothing when all packages are present. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  bazel-bootstrap     # Bazel 4.2.3, used offline (bazel/README.md)
  g++ pkg-config git python3
  libabsl-dev         # Abseil 20220623
  libgtest-dev libgmock-dev  # GoogleTest, GoogleMock (the @system gmock module)
  libbenchmark-dev    # Google Benchmark
  libusrsctp-dev      # userland SCTP (client library, SCTP bridge)
  libdpdk-dev dpdk    # DPDK 22.11 (dataplane --io=dpdk)
  libpcap-dev         # rspctl decode, golden captures
  libssl-dev openssl  # OpenSSL 3: TLS for ASAP and ENRP
  libtomlplusplus-dev # toml++: the configuration file
  libcivetweb-dev     # civetweb: the management endpoint (metrics, JSON)
  nlohmann-json3-dev  # JSON for rspctl's live views and the SNMP subagent
  libsnmp-dev snmpd snmp  # net-snmp: the RSERPOOL-MIB AgentX subagent, snmpd and snmpwalk in tests
  tmux                # rspctl top is checked in a terminal
  tshark              # wire checks against Wireshark's ASAP/ENRP dissectors
  librsplib3          # RSPLIB (reference implementation): interop test, benchmark baseline
  clang libclang-rt-14-dev  # libFuzzer targets (--config=fuzz)
  clang-format        # tools/format.sh
  iproute2            # network namespaces in system tests
  iputils-ping        # ping and ping -6 of the DPDK path in system tests
  systemd             # systemd-analyze for tests/systemd_unit_test (in a chroot it starts nothing)
  # tests/rsplib_vm_*: RSPLIB over the Linux kernel's SCTP, in a VM
  rsplib-tools        # RSPLIB 3.4.4 rspserver (PE) and rspterminal (PU)
  rsplib-registrar    # RSPLIB 3.4.4 rspregistrar (ENRP interop)
  qemu-system-x86     # the VM (KVM, or TCG where /dev/kvm is absent)
  linux-image-amd64   # its kernel, with sctp.ko and virtio_net.ko as modules
  busybox-static      # the VM's /init and userland
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo -E); fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
