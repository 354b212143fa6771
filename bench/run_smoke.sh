#!/usr/bin/env bash
# Runs a benchmark binary once per benchmark, at smoke scale, and fails if it
# fails or if a benchmark reported an error (SkipWithError prints "ERROR
# OCCURRED" but does not change the exit status).
set -euo pipefail
out=$("$1" --benchmark_min_time=0.0001 --benchmark_repetitions=1 2>&1)
echo "$out"
if grep -q 'ERROR OCCURRED' <<<"$out"; then
  echo "FAIL: a benchmark reported an error" >&2
  exit 1
fi
