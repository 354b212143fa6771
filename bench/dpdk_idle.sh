#!/usr/bin/env bash
# Benchmark: what an idle rspd --io=dpdk costs and how fast it answers after
# a quiet spell, napping (--dpdk_idle_sleep_us, default 500) against pure
# polling (0), in turn in each repetition (docs/dpdk.md, "Threads and
# idling"). For each: rspd's CPU time over SECONDS of no traffic (`perf stat
# -e task-clock`), and the round-trip time of pings 200 ms apart (each one
# finds the loop asleep), from a network namespace over a veth pair
# (net_af_packet). Needs root. Prints a Markdown table of medians.
#
#   bench/dpdk_idle.sh [REPETITIONS=3] [SECONDS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
seconds="${2:-5}"
bazel build -c opt //tools:rspd >/dev/null 2>&1
B="$(bazel info -c opt bazel-bin 2>/dev/null)/tools"
dir=$(mktemp -d)
tag="rspd-idle-$$"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$tag-server" 2>/dev/null || true
  ip netns del "$tag-client" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$tag-server"
ip netns add "$tag-client"
ip link add dpdk0 netns "$tag-server" type veth peer name eth0 netns "$tag-client"
ip -n "$tag-server" link set dpdk0 up
ip -n "$tag-client" addr add 10.77.0.2/24 dev eth0
ip -n "$tag-client" link set eth0 up

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for mode in 500 0; do : >"$dir/$mode.cpu"; : >"$dir/$mode.rtt"; done
for rep in $(seq "$reps"); do
  for mode in 500 0; do
    : >"$dir/server.out"
    ip netns exec "$tag-server" "$B/rspd" --io=dpdk \
      "--dpdk_eal_args=--no-pci --vdev=net_af_packet0,iface=dpdk0" --dpdk_addresses=10.77.0.1/24 \
      --dpdk_idle_sleep_us="$mode" --announce_group= --enrp_multicast_group= --print_stats=false \
      >"$dir/server.out" 2>&1 &
    pid=$!
    until grep -q '^ready' "$dir/server.out"; do sleep 0.05; done
    sleep 1  # its start-up done: announcements, the first timers
    perf stat -x, -e task-clock -p "$pid" -- sleep "$seconds" 2>"$dir/perf.out" >/dev/null
    # CPU used, in percent of one CPU.
    awk -F, -v s="$seconds" '$3 == "task-clock" {printf "%.1f\n", $1 / (s * 10)}' "$dir/perf.out" \
      >>"$dir/$mode.cpu"
    ip netns exec "$tag-client" ping -c 20 -i 0.2 -W 1 10.77.0.1 >"$dir/ping.out"
    sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/\([0-9.]*\)/.*|\1|p' "$dir/ping.out" >>"$dir/$mode.rtt"
    kill -INT "$pid"
    wait "$pid" 2>/dev/null || true
  done
done
echo "idle rspd --io=dpdk on net_af_packet, $reps x ${seconds} s, medians"
echo
echo "| --dpdk_idle_sleep_us | CPU while idle (% of one CPU) | ping RTT, pings 200 ms apart (ms) |"
echo "| --- | --- | --- |"
for mode in 500 0; do
  echo "| $mode | $(median <"$dir/$mode.cpu") | $(median <"$dir/$mode.rtt") |"
done
