#!/usr/bin/env bash
# Benchmark: handle resolutions/s and registrations/s through rspd over
# loopback, against a plain usrsctp echo server (tools/sctp_echo) on the same
# packet path, with the same request bytes, reply sizes and concurrency,
# measured alternately in the same run. Prints a Markdown table of medians.
#
#   bench/asap_throughput.sh [REPETITIONS=3] [SECONDS=3]
#   RSPD_FLAGS=--shard_lcores=1 bench/asap_throughput.sh   # extra rspd flags
#   BASELINE_BIN=/path/to/other/bazel-bin/tools bench/asap_throughput.sh
#     also runs that build's rspd and sctp_echo in every repetition, in turn
#     with this one's, and adds their rates and this build's ratio to them.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
seconds="${2:-3}"
bazel build -c opt //tools:rspd //tools:sctp_echo //tools:rspd_load >/dev/null 2>&1
B="$(bazel info -c opt bazel-bin 2>/dev/null)/tools"
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT

# The parent empties the output file first: the background child's own
# truncation may come after the wait loop has read the previous server's
# "ready" line.
start_rspd() {  # [bin dir]
  local bin="${1:-$B}"
  : >"$dir/server.out"
  # shellcheck disable=SC2086 # RSPD_FLAGS is a list of flags
  # The per-association rate limits are lifted: this measures the path, and
  # one association here asks for far more than their defaults.
  "$bin/rspd" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --udp_port=0 --keep_alive_interval=1h --print_stats=false \
    --max_registrations_per_second=0 --max_resolutions_per_second=0 \
    ${RSPD_FLAGS:-} >"$dir/server.out" 2>&1 &
  server=$!
  until grep -q '^ready' "$dir/server.out"; do sleep 0.05; done
  port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/server.out")
}
start_echo() {  # reply size [bin dir]
  local bin="${2:-$B}"
  : >"$dir/server.out"
  "$bin/sctp_echo" --udp_port=0 --reply_size="$1" >"$dir/server.out" 2>&1 &
  server=$!
  until grep -q '^ready' "$dir/server.out"; do sleep 0.05; done
  port=$(sed -n 's/^sctp_echo udp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/server.out")
}
stop_server() { kill -INT "$server"; wait "$server" 2>/dev/null || true; }
load() {  # mode associations [flags...]
  local mode="$1" assocs="$2"; shift 2
  "$B/rspd_load" --target="127.0.0.1:$port" --mode="$mode" --associations="$assocs" \
    --in_flight=32 --seconds="$seconds" --warmup_seconds=1 "$@"
}
rate() { sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p'; }
reply() { sed -n 's/.* reply_bytes=\([0-9]*\) .*/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

if [ -n "${BASELINE_BIN:-}" ]; then
  echo "| associations | request | rspd msg/s | baseline rspd msg/s | rspd / baseline | echo msg/s | baseline echo msg/s | echo / baseline |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
else
  echo "| associations | request | rspd msg/s | echo msg/s | rspd / echo |"
  echo "| --- | --- | --- | --- | --- |"
fi
for assocs in 1 32 100; do
  for kind in resolve register; do
    : >"$dir/rspd.rates"
    : >"$dir/echo.rates"
    : >"$dir/base_rspd.rates"
    : >"$dir/base_echo.rates"
    for rep in $(seq "$reps"); do
      start_rspd
      out=$(load "$kind" "$assocs" --pool="p$rep")
      stop_server
      echo "$out" | rate >>"$dir/rspd.rates"
      size=$(echo "$out" | reply)
      start_echo "$size"
      load echo "$assocs" --echo_requests="$kind" --pool="p$rep" | rate >>"$dir/echo.rates"
      stop_server
      if [ -n "${BASELINE_BIN:-}" ]; then
        start_rspd "$BASELINE_BIN"
        load "$kind" "$assocs" --pool="p$rep" | rate >>"$dir/base_rspd.rates"
        stop_server
        start_echo "$size" "$BASELINE_BIN"
        load echo "$assocs" --echo_requests="$kind" --pool="p$rep" | rate >>"$dir/base_echo.rates"
        stop_server
      fi
    done
    r=$(median <"$dir/rspd.rates")
    e=$(median <"$dir/echo.rates")
    if [ -n "${BASELINE_BIN:-}" ]; then
      br=$(median <"$dir/base_rspd.rates")
      be=$(median <"$dir/base_echo.rates")
      echo "| $assocs | $kind | $r | $br | $(ratio "$r" "$br") | $e | $be | $(ratio "$e" "$be") |"
    else
      echo "| $assocs | $kind | $r | $e | $(awk -v r="$r" -v e="$e" 'BEGIN {printf "%.0f %%", 100 * r / e}') |"
    fi
  done
done
