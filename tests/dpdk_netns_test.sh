#!/usr/bin/env bash
# rspd --io=dpdk on a link of its own (docs/dpdk.md): network namespaces the
# test makes, rspd's DPDK port on one side (a veth end through
# net_af_packet, or a net_tap device moved to the client side), clients on
# the other. From the client namespace:
# - ping and ping -6 reach rspd (its ARP, ND and ICMP echo);
# - 100 PEs register over SCTP over UDP (IPv4) and 100 over native SCTP
#   (IPv6, IP protocol 132, from a third namespace), and several PUs resolve
#   both pools both ways, each answer checked PE by PE;
# - hostile frames (random, lying lengths, bad checksums, an ARP storm,
#   unknown EtherTypes and IP protocols, fragments, truncations) are dropped
#   and counted, and afterwards every PE is still there and answers come;
# - a capture of the client side passes tshark with correct CRC32c and no
#   malformed ASAP;
# - SIGTERM stops rspd cleanly with its counters.
# Usage: dpdk_netns_test.sh RSPD RSPCTL af_packet|tap FRAME_JUNK
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
VDEV="$3"
FRAME_JUNK="$(realpath "$4")"
source tests/test_lib.sh
if [ ! -e /proc/self/ns/net ]; then
  echo "SKIP: this kernel has no network namespaces"
  exit 0
fi
if [ "$VDEV" = tap ] && [ ! -e /dev/net/tun ]; then
  echo "SKIP: this kernel has no /dev/net/tun (net_tap)"
  exit 0
fi
tag="rspd-dp-$$"
dp="$tag-rspd"
cl="$tag-client"
cl2="$tag-native"
cl3="$tag-native-pu"
cleanup() {
  kill_spawned
  for ns in "$dp" "$cl" "$cl2" "$cl3"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
ip netns add "$dp" || fail "cannot create a network namespace (needs root)"
ip netns add "$cl"
ip netns add "$cl2"
ip netns add "$cl3"
for ns in "$dp" "$cl" "$cl2" "$cl3"; do ip -n "$ns" link set lo up; done
if [ "$VDEV" = af_packet ]; then
  # rspd's end has no address: the kernel must not answer for it.
  ip link add dpdk0 netns "$dp" type veth peer name eth0 netns "$cl"
  ip -n "$dp" link set dpdk0 up
  vdev="net_af_packet0,iface=dpdk0"
else
  vdev="net_tap0,iface=rspdtap0"
fi

# `ip netns exec` execs rspd: the pid is rspd's.
ip netns exec "$dp" "$RSPD" --io=dpdk --dpdk_eal_args="--no-pci --vdev=$vdev" \
  --dpdk_addresses=10.77.0.1/24,fd77::1/64 --announce_group= --enrp_multicast_group= \
  --max_handle_resolution_items=128 --keep_alive_interval=1s >"$dir/rspd.out" 2>&1 &
rspd_pid=$!
pids+=("$rspd_pid")
await "rspd on DPDK ready" grep -q '^ready' "$dir/rspd.out"
grep -q "^  port 0 .* 10.77.0.1/24,fd77::1/64 link up" "$dir/rspd.out" ||
  fail "port 0 not described as up: $(grep -A3 '^listening' "$dir/rspd.out")"
mac=$(sed -n 's/^  port 0 [^ ]* \([0-9A-Fa-f:]*\) .*/\1/p' "$dir/rspd.out")
if [ "$VDEV" = tap ]; then
  # net_tap made rspdtap0, the kernel side of rspd's port, in rspd's
  # namespace: the client side moves to the client namespace.
  await "net_tap's interface" ip -n "$dp" link show rspdtap0
  ip -n "$dp" link set rspdtap0 netns "$cl"
  ip -n "$cl" link set rspdtap0 name eth0
  # The kernel side starts with the port's MAC; as a bridge port it would
  # then take frames for rspd as the bridge's own.
  ip -n "$cl" link set eth0 address 02:00:00:77:00:fe
fi
# Native SCTP clients live in namespaces of their own behind a bridge in
# $cl: the PE process in $cl2, the PUs in $cl3, one at a time. usrsctp's raw
# SCTP sockets see every native SCTP packet of their namespace, and client
# processes sharing one disturb each other's associations (docs/dpdk.md,
# "Native SCTP").
# rspd sends no MLD reports (docs/dpdk.md): the bridge must not filter
# multicast by them.
ip -n "$cl" link add br0 type bridge mcast_snooping 0
ip -n "$cl" link set eth0 master br0
ip link add veth-n netns "$cl" type veth peer name eth0 netns "$cl2"
ip -n "$cl" link set veth-n master br0
for link in eth0 veth-n br0; do ip -n "$cl" link set "$link" up; done
ip -n "$cl" addr add 10.77.0.2/24 dev br0
ip -n "$cl" addr add fd77::2/64 dev br0 nodad
ip -n "$cl2" addr add 10.77.0.3/24 dev eth0
ip -n "$cl2" addr add fd77::3/64 dev eth0 nodad
ip -n "$cl2" link set eth0 up
ip link add veth-p netns "$cl" type veth peer name eth0 netns "$cl3"
ip -n "$cl" link set veth-p master br0
ip -n "$cl" link set veth-p up
ip -n "$cl3" addr add 10.77.0.4/24 dev eth0
ip -n "$cl3" addr add fd77::4/64 dev eth0 nodad
ip -n "$cl3" link set eth0 up

in_client() { ip netns exec "$cl" "$@"; }
in_native() { ip netns exec "$cl2" "$@"; }
ip netns exec "$cl" dumpcap -q -i eth0 -w "$dir/client.pcapng" 2>"$dir/dumpcap.err" &
dumpcap_pid=$!
pids+=("$dumpcap_pid")
await "capture on eth0" grep -q . "$dir/dumpcap.err"

# ARP and ICMP echo; ND and ICMPv6 echo.
await "ping 10.77.0.1" in_client ping -c 1 -W 1 10.77.0.1
await "ping -6 fd77::1" in_client ping -6 -c 1 -W 1 fd77::1
await "ping -6 fd77::1 from the native namespace" in_native ping -6 -c 1 -W 1 fd77::1
in_client ping -c 3 -i 0.2 -W 2 10.77.0.1 >"$dir/ping4.out" || fail "ping lost replies: $(cat "$dir/ping4.out")"
in_client ping -6 -c 3 -i 0.2 -W 2 fd77::1 >"$dir/ping6.out" || fail "ping -6 lost replies: $(cat "$dir/ping6.out")"

# 100 PEs over SCTP over UDP (IPv4), 100 over native SCTP (IPv6).
register() {  # NAME REGISTRAR NAMESPACE
  ip netns exec "$3" "$RSPCTL" register --registrar="$2" --pool="$1" --count=100 --pe_id=1 --port=1 \
    --lifetime=-1 >"$dir/$1.out" 2>"$dir/$1.err" &
  pids+=("$!")
}
count() { grep -c "$2" "$1" 2>/dev/null || true; }
register udp 10.77.0.1:9899 "$cl"
register native "[fd77::1]:0" "$cl2"
for pool in udp native; do
  await "100 PEs registered in $pool" bash -c "[ \$(grep -c '^registered pe_id=' '$dir/$pool.out') -eq 100 ]"
done

# Every PE, with its address and port, in one answer.
expected_pes() {  # ADDRESS
  for i in $(seq 1 100); do printf 'pe_id=0x%08x sctp:%s:%d\n' "$i" "$1" "$i"; done  # ADDRESS: [v6]
}
check_answer() {  # ROUND N
  local i="$2"
    local got
    got=$(sed -n 's/^\(pe_id=0x[0-9a-f]*\) .*\(sctp:[^ ]*\) .*/\1 \2/p' "$dir/resolve$1-$i.out" | sort)
    [ "$got" = "$(expected_pes 10.77.0.2 | sort)" ] ||
      [ "$got" = "$(expected_pes '[fd77::3]' | sort)" ] ||
      fail "PU $i (round $1) answer is not the pool's 100 PEs: $(head -3 "$dir/resolve$1-$i.out")"
}
resolve() {  # ROUND N NAMESPACE REGISTRAR POOL
  ip netns exec "$3" "$RSPCTL" resolve --registrar="$4" --pool="$5" --items=128 \
    >"$dir/resolve$1-$2.out" 2>"$dir/resolve$1-$2.err"
}
check_resolutions() {  # ROUND
  # Over UDP, six PUs at once; over native SCTP (IPv4 and IPv6), one after
  # another.
  local n=0
  for pool in udp native; do
    for _ in 1 2 3; do
      n=$((n + 1))
      resolve "$1" "$n" "$cl" 10.77.0.1:9899 "$pool" &
      pids+=("$!")
      printf -v "pu_$n" '%s' "$!"
    done
  done
  for i in $(seq 1 "$n"); do
    local pid_var="pu_$i"
    wait "${!pid_var}" || fail "PU $i (round $1) failed: $(cat "$dir/resolve$1-$i.err")"
    check_answer "$1" "$i"
  done
  for registrar in 10.77.0.1:0 "[fd77::1]:0"; do
    for pool in udp native; do
      n=$((n + 1))
      resolve "$1" "$n" "$cl3" "$registrar" "$pool" ||
        fail "native PU $n (round $1) failed: $(cat "$dir/resolve$1-$n.err")"
      check_answer "$1" "$n"
    done
  done
}
check_resolutions 1

# Hostile frames from the client side; then everything still works.
in_client "$FRAME_JUNK" --iface=eth0 --target_mac="$mac" --source_ip=10.77.0.2 \
  --target_ip=10.77.0.1 --source_ip6=fd77::2 --target_ip6=fd77::1 --count=22000 --pause_every=64 \
  >"$dir/junk.out" 2>&1 || fail "frame_junk: $(cat "$dir/junk.out")"
kill -0 "$rspd_pid" || fail "rspd died under hostile frames: $(tail -5 "$dir/rspd.out")"
in_client ping -c 1 -W 2 10.77.0.1 >/dev/null || fail "no ping answer after the hostile frames"
check_resolutions 2
# Fragments: 2,000 IPv6 ones at least (net_af_packet's socket has the kernel
# reassemble IPv4 fragments first, and lone ones never reach rspd).
for counter in l2_ethertype_unknown ipv4_bad_header ip_fragments_dropped ip_protocol_unknown \
  icmp_ignored arp_requests_answered sctp_not_sctp; do
  value=$(live_stat "$counter")
  [ "${value:-0}" -ge 1000 ] || fail "$counter: ${value:-none} after 2,000 frames of its kind"
done
[ "$(live_stat handlespace_pool_elements)" -eq 200 ] || fail "PEs lost: $(live_stat handlespace_pool_elements)"

# The wire: rspd's frames have correct checksums (CRC32c, IP, UDP) and
# decode without a complaint (the junk is the client's, and not checked).
kill -INT "$dumpcap_pid"
wait "$dumpcap_pid" || true
sctp_frames=$(tshark -n -r "$dir/client.pcapng" -o sctp.checksum:CRC-32C \
  -Y "sctp && ip.src == 10.77.0.1 || sctp && ipv6.src == fd77::1" -T fields -e frame.number |
  wc -l)
[ "$sctp_frames" -ge 200 ] || fail "only $sctp_frames SCTP frames from rspd captured"
native=$(tshark -n -r "$dir/client.pcapng" -Y "ipv6.src == fd77::1 && ipv6.dst == fd77::3 && ipv6.nxt == 132" -T fields \
  -e frame.number | wc -l)
[ "$native" -ge 100 ] || fail "only $native native SCTP frames from rspd captured"
bad=$(tshark -n -r "$dir/client.pcapng" -o sctp.checksum:CRC-32C \
  -Y "(ip.src == 10.77.0.1 || ipv6.src == fd77::1) && (_ws.malformed || _ws.expert.severity == error)" \
  -T fields -e frame.number 2>/dev/null | head -5)
[ -z "$bad" ] || fail "Wireshark flags frames rspd sent: $bad; the first: $(tshark -n \
  -r "$dir/client.pcapng" -o sctp.checksum:CRC-32C -Y "frame.number == $(head -1 <<<"$bad")" -V 2>&1 |
  grep -E 'Protocols in frame|Expert|Malformed|Checksum' | head -10)"
asap=$(tshark -n -r "$dir/client.pcapng" -Y "asap && (ip.src == 10.77.0.1 || ipv6.src == fd77::1)" \
  -T fields -e frame.number | wc -l)
[ "$asap" -ge 200 ] || fail "only $asap ASAP frames from rspd decoded"
echo "captured: $sctp_frames SCTP frames from rspd ($native native), $asap with ASAP"

kill -TERM "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly: $(tail -3 "$dir/rspd.out")"
grep -q '^rspd: stopped by' "$dir/rspd.out" || fail "rspd did not say it stopped"
[ "$(rspd_stat icmp_echoes_answered)" -ge 8 ] || fail "echoes: $(rspd_stat icmp_echoes_answered)"
[ "$(rspd_stat sctp_native_in)" -ge 100 ] || fail "native SCTP packets: $(rspd_stat sctp_native_in)"
[ "$(rspd_stat udp_sctp_in)" -ge 100 ] || fail "SCTP over UDP packets: $(rspd_stat udp_sctp_in)"
# The packet path's counters, from the last statistics block.
awk '/^statistics:/ {block = ""} {block = block $0 "\n"} END {printf "%s", block}' "$dir/rspd.out" |
  grep -E '^(l2_|arp_|ipv4_|ipv6_|ip_|icmp_|nd_|udp_|sctp_native|dpdk_|idle_)' | sed 's/^/  /'
echo PASS
