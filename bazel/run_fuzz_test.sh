#!/usr/bin/env bash
# A short fuzz run of a fuzz target: its seed corpus plus RSPD_FUZZ_RUNS
# mutations (libFuzzer under --config=fuzz, the mutation driver otherwise),
# libFuzzer stopping after 90 s if they take longer (a target that builds a
# whole server per input, like the ENRP one, does; the test's limit is 300 s).
set -euo pipefail
FUZZER="$1"
CORPUS="$2"
new="${TEST_TMPDIR:-$(mktemp -d)}/new_corpus"
mkdir -p "$new"
exec "$FUZZER" -runs="${RSPD_FUZZ_RUNS:-300000}" -max_total_time=90 -seed=1 "$new" "$CORPUS"
