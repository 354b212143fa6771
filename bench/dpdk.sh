#!/usr/bin/env bash
# Benchmark: rspd --io=dpdk against rspd --io=socket and against a usrsctp
# echo (tools/sctp_echo) on each path, measured in turn in every repetition
# (docs/dpdk.md):
# - over a veth pair, with the same kernel-UDP load generator
#   (tools/rspd_load, in a network namespace of its own): rspd and the echo
#   on kernel sockets, and on DPDK through net_af_packet;
# - over net_memif, with a DPDK load generator (bench/dpdk_load, rspd's own
#   dataplane as a client; no kernel on the path): rspd and the echo on
#   DPDK, each process on a CPU of its own (-l 0, -l 1).
# For each server: messages/s, and the server's CPU time per message
# (`perf stat -e task-clock` on its process over the measurement window;
# this VM has no hardware cycle counter, and at one clock rate CPU time is
# cycles). Needs root (network namespaces, DPDK); reserves 512 hugepages for
# the memif runs and gives them back. Prints a Markdown table of medians.
#
#   bench/dpdk.sh [REPETITIONS=3] [SECONDS=3] [ASSOCIATIONS=1]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
seconds="${2:-3}"
assocs="${3:-1}"
bazel build -c opt //tools:rspd //tools:sctp_echo //tools:rspd_load //bench:dpdk_load >/dev/null 2>&1
B="$(bazel info -c opt bazel-bin 2>/dev/null)/tools"
LOAD="$(bazel info -c opt bazel-bin 2>/dev/null)/bench/dpdk_load"
hugepages=$(cat /proc/sys/vm/nr_hugepages)
dir=$(mktemp -d)
tag="rspd-bench-$$"
dp="$tag-server"
cl="$tag-load"
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  ip netns del "$dp" 2>/dev/null || true
  ip netns del "$cl" 2>/dev/null || true
  echo "$hugepages" >/proc/sys/vm/nr_hugepages
  rm -rf "$dir"
}
trap cleanup EXIT
ip netns add "$dp"
ip netns add "$cl"
ip -n "$dp" link set lo up
ip -n "$cl" link set lo up
ip link add dpdk0 netns "$dp" type veth peer name eth0 netns "$cl"
ip -n "$dp" link set dpdk0 up
ip -n "$cl" addr add 10.77.0.2/24 dev eth0
ip -n "$cl" link set eth0 up

echo 512 >/proc/sys/vm/nr_hugepages
memif="$dir/memif.sock"
# start SERVER IO [flags...]: rspd or sctp_echo on dpdk0, by the kernel
# (socket: dpdk0 has 10.77.0.1) or by DPDK (dpdk: dpdk0 has no address), or
# on a memif (memif: 10.78.0.1).
start() {
  local server="$1" io="$2"
  shift 2
  ip -n "$dp" addr flush dev dpdk0
  local flags=()
  case "$io" in
    socket)
      ip -n "$dp" addr add 10.77.0.1/24 dev dpdk0
      flags=(--bind_address=10.77.0.1)
      ;;
    dpdk)
      flags=(--io=dpdk "--dpdk_eal_args=--no-pci --no-huge --vdev=net_af_packet0,iface=dpdk0"
        --dpdk_addresses=10.77.0.1/24)
      ;;
    memif)
      flags=(--io=dpdk "--dpdk_eal_args=--no-pci --in-memory -l 0 --vdev=net_memif0,role=server,socket=$memif"
        --dpdk_addresses=10.78.0.1/24)
      ;;
  esac
  : >"$dir/server.out"
  if [ "$server" = rspd ]; then
    # Rate limits lifted: this measures the path.
    flags+=(--announce_group= --enrp_multicast_group= --keep_alive_interval=1h --print_stats=false
      --max_registrations_per_second=0 --max_resolutions_per_second=0)
  fi
  # The memif server stays in this namespace: memif's socket is abstract,
  # one per network namespace, and the generator runs here.
  local netns=(ip netns exec "$dp")
  [ "$io" != memif ] || netns=()
  "${netns[@]}" "$B/$server" "${flags[@]}" "$@" >"$dir/server.out" 2>&1 &
  pid=$!
  until grep -q '^ready' "$dir/server.out"; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/server.out" >&2; exit 1; }
    sleep 0.05
  done
}
stop() { kill -INT "$pid"; wait "$pid" 2>/dev/null || true; }
# measure MODE [flags...]: runs the load; prints "RATE CPU_MS".
measure() {
  local mode="$1"
  shift
  ip netns exec "$cl" "$B/rspd_load" --target=10.77.0.1:9899 --mode="$mode" \
    --associations="$assocs" --in_flight=32 --seconds="$seconds" --warmup_seconds=1 \
    --pe_address=10.77.0.2 "$@" \
    >"$dir/load.out" 2>&1 &
  local load=$!
  # The server's CPU time over the measurement window (after the warm-up).
  sleep 1.2
  perf stat -x, -e task-clock -p "$pid" -- sleep "$(awk -v s="$seconds" 'BEGIN {print s - 0.4}')" \
    2>"$dir/perf.out" >/dev/null
  wait "$load" || { cat "$dir/load.out" >&2; exit 1; }
  local rate cpu
  rate=$(sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p' "$dir/load.out")
  # task-clock over (seconds - 0.4) s, scaled to the whole window.
  cpu=$(awk -F, -v s="$seconds" '$3 == "task-clock" {printf "%.1f", $1 * s / (s - 0.4)}' "$dir/perf.out")
  echo "$rate $cpu"
}
# measure_memif [dpdk_load flags...]: the DPDK load generator on the memif;
# prints "RATE CPU_MS" as measure does.
measure_memif() {
  "$LOAD" "--dpdk_eal_args=--no-pci --in-memory -l 1 --vdev=net_memif0,role=client,socket=$memif" \
    --dpdk_address=10.78.0.2/24 --target=10.78.0.1 --associations="$assocs" --in_flight=32 \
    --seconds="$seconds" --warmup_seconds=1 "$@" >"$dir/load.out" 2>&1 &
  local load=$!
  # The generator starts its clock once its associations are up: wait for
  # them, then the warm-up, before the server's CPU is counted.
  sleep 2.2
  perf stat -x, -e task-clock -p "$pid" -- sleep "$(awk -v s="$seconds" 'BEGIN {print s - 0.6}')" \
    2>"$dir/perf.out" >/dev/null
  wait "$load" || { cat "$dir/load.out" >&2; exit 1; }
  local rate cpu
  rate=$(sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p' "$dir/load.out")
  [ -n "$rate" ] || { cat "$dir/load.out" "$dir/server.out" >&2; exit 1; }
  cpu=$(awk -F, -v s="$seconds" '$3 == "task-clock" {printf "%.1f", $1 * s / (s - 0.6)}' "$dir/perf.out")
  echo "$rate $cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

servers=(rspd_socket rspd_dpdk echo_socket echo_dpdk rspd_memif echo_memif)
for s in "${servers[@]}"; do : >"$dir/$s.rate"; : >"$dir/$s.cpu"; done
record() {  # NAME "RATE CPU"
  read -r rate cpu <<<"$2"
  echo "$rate" >>"$dir/$1.rate"
  # Microseconds of server CPU per message.
  awk -v c="$cpu" -v r="$rate" -v s="$seconds" 'BEGIN {printf "%.2f\n", c * 1000 / (r * s)}' \
    >>"$dir/$1.cpu"
}
for rep in $(seq "$reps"); do
  for io in socket dpdk; do
    start rspd "$io"
    record "rspd_$io" "$(measure resolve --pool="p$rep")"
    stop
    # The echo answers with rspd's reply size.
    reply_bytes=$(sed -n 's/.* reply_bytes=\([0-9]*\) .*/\1/p' "$dir/load.out")
    start sctp_echo "$io" --udp_port=9899 --reply_size="$reply_bytes"
    record "echo_$io" "$(measure echo --echo_requests=resolve --pool="p$rep")"
    stop
  done
  start rspd memif
  record rspd_memif "$(measure_memif --pool="p$rep")"
  stop
  start sctp_echo memif --udp_port=9899 --reply_size="$reply_bytes"
  record echo_memif "$(measure_memif --pes=0 --pool="p$rep")"
  stop
done

m() { median <"$dir/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
echo "resolutions, $assocs association(s), 32 in flight, $reps x ${seconds} s, medians"
echo
echo "| server | msg/s | server CPU µs/msg |"
echo "| --- | --- | --- |"
for s in "${servers[@]}"; do
  echo "| $s | $(m "$s.rate") | $(m "$s.cpu") |"
done
echo
echo "rspd dpdk / echo dpdk msg/s (af_packet): $(ratio "$(m rspd_dpdk.rate)" "$(m echo_dpdk.rate)")"
echo "rspd dpdk / echo dpdk msg/s (memif): $(ratio "$(m rspd_memif.rate)" "$(m echo_memif.rate)")"
echo "rspd memif / rspd socket CPU per message: $(ratio "$(m rspd_memif.cpu)" "$(m rspd_socket.cpu)")"
echo "rspd dpdk / rspd socket CPU per message: $(ratio "$(m rspd_dpdk.cpu)" "$(m rspd_socket.cpu)")"
echo "rspd dpdk / rspd socket msg/s: $(ratio "$(m rspd_dpdk.rate)" "$(m rspd_socket.rate)")"
