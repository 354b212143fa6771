#!/usr/bin/env bash
# The whole test suite, as CI runs it (README command 2, .ci/run):
# format check, `bazel test //...`, the same suite under ASan+UBSan, the
# multi-threaded tests under TSan, the fuzz
# targets under clang + libFuzzer, and a closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

echo "== format"
tools/format.sh || status=1

run_suite() {
  echo "== bazel test $* //..."
  bazel test "$@" //... 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
}
run_suite
run_suite --config=asan
run_suite --config=tsan  # only the tests tagged "threads"

# libFuzzer needs clang, which changes the toolchain; a separate output base
# keeps the gcc builds above cached.
fuzz_base="${XDG_CACHE_HOME:-$HOME/.cache}/bazel-rspd-fuzz-$(pwd | md5sum | cut -c1-8)"
echo "== bazel test --config=fuzz (libFuzzer) //..."
# --symlink_prefix=/ leaves the bazel-* links of the main build alone; the
# packages are listed because //... would wander into those links.
bazel --output_base="$fuzz_base" --max_idle_secs=60 test --config=fuzz --symlink_prefix=/ \
  --build_tests_only --test_tag_filters=fuzz --test_env=RSPD_FUZZ_RUNS=1000000 \
  //protocol/... //dataplane/... //control/... 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE)' "$log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # build or format failure
echo "tests: $passed passed, $failed failed"
exit "$status"
