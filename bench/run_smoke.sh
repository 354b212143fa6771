#!/usr/bin/env bash
# Runs a benchmark binary once per benchmark, at smoke scale, and fails if it fails.
set -euo pipefail
exec "$1" --benchmark_min_time=0.0001 --benchmark_repetitions=1
