#!/usr/bin/env bash
# Compares two builds of a Google Benchmark binary: runs this build's and the
# baseline's in turn, REPETITIONS times each, in the same run (the machine's
# noise hits both alike), and prints a Markdown table of the median real time
# per benchmark and the ratio this / baseline (below 1: faster).
#
#   bench/compare_bench.sh BASELINE_BINARY BINARY [REPETITIONS=3] [BENCHMARK_FLAGS...]
#   bench/compare_bench.sh /old/bazel-bin/bench/handlespace_bench \
#     bazel-bin/bench/handlespace_bench 3 --benchmark_filter=Resolve
set -euo pipefail
baseline="$1"
binary="$2"
reps="${3:-3}"
shift $(($# < 3 ? $# : 3))
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# name,iterations,real_time,... -> "name real_time" (header and errors dropped).
times() { awk -F, 'NR > 1 && $3 != "" {gsub(/"/, "", $1); print $1, $3}'; }
for rep in $(seq "$reps"); do
  "$binary" --benchmark_format=csv "$@" 2>/dev/null | times >>"$dir/new"
  "$baseline" --benchmark_format=csv "$@" 2>/dev/null | times >>"$dir/base"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| benchmark | this (ns) | baseline (ns) | this / baseline |"
echo "| --- | --- | --- | --- |"
awk '{print $1}' "$dir/new" | awk '!seen[$0]++' | while read -r name; do
  n=$(awk -v k="$name" '$1 == k {print $2}' "$dir/new" | median)
  b=$(awk -v k="$name" '$1 == k {print $2}' "$dir/base" | median)
  [ -n "$b" ] || continue
  echo "| $name | $n | $b | $(awk -v n="$n" -v b="$b" 'BEGIN {printf "%.2f", n / b}') |"
done
