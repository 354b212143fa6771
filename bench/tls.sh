#!/usr/bin/env bash
# Benchmark: what TLS costs ASAP (docs/security.md). Handle resolutions/s and
# registrations/s through rspd over loopback, in plaintext and over TLS 1.3
# (certificates, ECDSA P-256), with the same load generator on the same
# client path (one-to-many usrsctp endpoints: rspd_load --one_to_many), the
# two measured alternately in each repetition. Prints a Markdown table of
# medians and the median of each repetition's TLS / plaintext ratio.
#
#   bench/tls.sh [REPETITIONS=3] [SECONDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
seconds="${2:-3}"
bazel build -c opt //tools:rspd //tools:rspd_load >/dev/null 2>&1
B="$(bazel info -c opt bazel-bin 2>/dev/null)/tools"
dir=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
tools/tls_setup.sh ca "$dir/pki" >/dev/null
tools/tls_setup.sh cert "$dir/pki" pr.bench >/dev/null
tools/tls_setup.sh cert "$dir/pki" pe.bench >/dev/null
tls_server=(--tls_certificate="$dir/pki/pr.bench.pem" --tls_private_key="$dir/pki/pr.bench.key"
  --tls_ca_file="$dir/pki/ca.pem")
tls_client=(--tls_ca_file="$dir/pki/ca.pem" --tls_certificate="$dir/pki/pe.bench.pem"
  --tls_private_key="$dir/pki/pe.bench.key")

start_rspd() {  # [rspd flags...]
  : >"$dir/server.out"
  # The per-association rate limits are lifted: this measures the path.
  "$B/rspd" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --udp_port=0 \
    --keep_alive_interval=1h --print_stats=false --max_registrations_per_second=0 \
    --max_resolutions_per_second=0 "$@" >"$dir/server.out" 2>&1 &
  server=$!
  until grep -q '^ready' "$dir/server.out"; do sleep 0.05; done
  port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/server.out")
}
stop_server() { kill -INT "$server"; wait "$server" 2>/dev/null || true; }
load() {  # asap_port mode associations [flags...]
  local asap="$1" mode="$2" assocs="$3"
  shift 3
  "$B/rspd_load" --target="127.0.0.1:$port/$asap" --mode="$mode" --associations="$assocs" \
    --in_flight=32 --seconds="$seconds" --warmup_seconds=1 "$@"
}
rate() { sed -n 's/.* rate=\([0-9]*\) msg\/s/\1/p'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

echo "| associations | request | plaintext msg/s | TLS msg/s | TLS / plaintext |"
echo "| --- | --- | --- | --- | --- |"
for assocs in 1 8; do
  for kind in resolve register; do
    : >"$dir/plain.rates"
    : >"$dir/tls.rates"
    : >"$dir/ratios"
    for rep in $(seq "$reps"); do
      start_rspd
      p=$(load 3863 "$kind" "$assocs" --one_to_many --pool="p$rep" | rate)
      stop_server
      start_rspd "${tls_server[@]}"
      t=$(load 3864 "$kind" "$assocs" "${tls_client[@]}" --pool="p$rep" | rate)
      stop_server
      echo "$p" >>"$dir/plain.rates"
      echo "$t" >>"$dir/tls.rates"
      ratio "$t" "$p" >>"$dir/ratios"
      echo >>"$dir/ratios"
    done
    echo "| $assocs | $kind | $(median <"$dir/plain.rates") | $(median <"$dir/tls.rates") | $(median <"$dir/ratios") |"
  done
done
