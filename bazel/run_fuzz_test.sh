#!/usr/bin/env bash
# A short fuzz run of a fuzz target: its seed corpus plus RSPD_FUZZ_RUNS
# mutations (libFuzzer under --config=fuzz, the mutation driver otherwise).
set -euo pipefail
FUZZER="$1"
CORPUS="$2"
new="${TEST_TMPDIR:-$(mktemp -d)}/new_corpus"
mkdir -p "$new"
exec "$FUZZER" -runs="${RSPD_FUZZ_RUNS:-300000}" -seed=1 "$new" "$CORPUS"
