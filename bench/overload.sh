#!/usr/bin/env bash
# Overload benchmark: 20,000 PEs registered by four PE processes (5,000
# each, keep-alives every second with a 2 s timeout), then a handle resolution
# flood from rspd_load over A associations with 32 requests in flight on
# each, for SECONDS; A grows from light to far past what rspd can answer.
# Each cell runs this rspd and, alternating with it, a baseline rspd
# (BASELINE_RSPD, e.g. built from an older commit) with the same PE
# processes and load generator from this tree. Per cell, the median of
# REPETITIONS runs:
#   resolutions/s answered, datagrams the kernel dropped at rspd's UDP socket
#   (its receive queue overflowed: the drops column of /proc/net/udp),
#   datagrams rspd shed itself, keep-alive removals rspd deferred, and PEs lost (removed by
#   keep-alive timeout or association loss, of the 20,000).
#
#   BASELINE_RSPD=/path/to/old/rspd bench/overload.sh [REPETITIONS=3] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
seconds="${2:-10}"
bazel build -c opt //tools:rspd //tools:rspctl //tools:rspd_load >/dev/null 2>&1
B="$(bazel info -c opt bazel-bin 2>/dev/null)/tools"
builds=("this:$B/rspd")
[ -n "${BASELINE_RSPD:-}" ] && builds+=("baseline:$BASELINE_RSPD")
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

socket_drops() {  # port: the drops of the UDP socket bound to 127.0.0.1:port
  awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a {print $NF}' /proc/net/udp
}
stat_of() {  # a counter rspd printed when it stopped; "-" if it has none such
  local v
  v=$(sed -n "s/^$1 //p" "$dir/rspd.out" | tail -n 1)
  echo "${v:--}"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

run() {  # rspd associations -> "rate drops shed deferred lost"
  local rspd="$1" assocs="$2"
  : >"$dir/rspd.out"
  # 5,000 associations and more need caps above the defaults, where there are caps.
  local caps=()
  if "$rspd" --helpfull 2>&1 | grep -e '--max_associations' >/dev/null; then
    caps=(--max_associations=20000 --max_peers=20000)
  fi
  "$rspd" --bind_address=127.0.0.1 --udp_port=0 --announce_group= --enrp_multicast_group= --keep_alive_interval=1s \
    --keep_alive_timeout=2s "${caps[@]}" >"$dir/rspd.out" 2>&1 &
  local server=$!
  until grep -q '^ready' "$dir/rspd.out"; do sleep 0.05; done
  local port
  port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/rspd.out")
  local pes=()
  for k in 0 1 2 3; do
    "$B/rspctl" register --registrar="127.0.0.1:$port" --pool="pool$k" --count=5000 \
      --pe_id=$((k * 100000 + 1)) --port=$((10000 + k * 10)) --lifetime=-1 >"$dir/pe$k.out" 2>&1 &
    pes+=("$!")
  done
  until [ "$(cat "$dir"/pe?.out | grep -c '^registered')" -ge 20000 ]; do sleep 0.2; done
  local before
  before=$(socket_drops "$port")
  local rate
  rate=$("$B/rspd_load" --target="127.0.0.1:$port" --mode=resolve --associations="$assocs" \
    --in_flight=32 --seconds="$seconds" --warmup_seconds=1 --pool=pool0 --pes=0 |
    sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p')
  local drops=$(($(socket_drops "$port") - before))
  sleep 6  # three keep-alive timeouts: removals that the flood caused happen now
  kill -INT "$server"
  wait "$server" || true
  kill -INT "${pes[@]}" 2>/dev/null || true
  wait "${pes[@]}" 2>/dev/null || true
  local lost=$(($(stat_of removed_by_keep_alive) + $(stat_of removed_by_association_loss)))
  echo "${rate:-0} $drops $(stat_of ingress_shed_normal) $(stat_of keep_alive_removals_deferred) $lost"
}

echo "| associations | rspd | resolutions/s | kernel drops | shed by rspd | removals deferred | PEs lost |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for assocs in 100 1000 2000 5000; do
  for b in "${builds[@]}"; do : >"$dir/${b%%:*}.rows"; done
  for _ in $(seq "$reps"); do
    for b in "${builds[@]}"; do run "${b#*:}" "$assocs" >>"$dir/${b%%:*}.rows"; done
  done
  for b in "${builds[@]}"; do
    rows="$dir/${b%%:*}.rows"
    col() { awk -v c="$1" '{print $c}' "$rows" | median; }
    echo "| $assocs | ${b%%:*} | $(col 1) | $(col 2) | $(col 3) | $(col 4) | $(col 5) |"
  done
done
