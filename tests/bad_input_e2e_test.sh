#!/usr/bin/env bash
# Bad input over a real association: a fuzzing client sends
# thousands of malformed ASAP messages to rspd. rspd answers with the RFC's
# ASAP_ERROR where the RFC asks for a report, counts every one, keeps the
# association, and every registered PE stays registered and resolvable.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
FUZZ="$3"
source tests/test_lib.sh

start_rspd rspd
R="--registrar=127.0.0.1:$rspd_port"

"$RSPCTL" register $R --pool=victims --count=10 --pe_id=0x7000 --port=7000 --lifetime=-1 \
  >"$dir/pes.out" 2>&1 &
pids+=("$!")
await "10 PEs" bash -c "[ \$(grep -c '^registered' '$dir/pes.out') -eq 10 ]"
before=$("$RSPCTL" resolve $R --pool=victims --items=20 | sort)

"$FUZZ" $R --count=5000 --seed=7 >"$dir/fuzz.out" 2>&1 || fail "fuzz client: $(cat "$dir/fuzz.out")"
grep -q 'association up, resolution answered' "$dir/fuzz.out" || fail "$(cat "$dir/fuzz.out")"
errors=$(sed -n 's/.*, \([0-9]*\) ASAP_ERROR answers.*/\1/p' "$dir/fuzz.out")
[ "$errors" -ge 1000 ] || fail "only $errors ASAP_ERROR answers"

after=$("$RSPCTL" resolve $R --pool=victims --items=20 | sort)
[ "$before" = "$after" ] || fail "PEs changed: before=$before after=$after"
[ "$(wc -l <<<"$after")" -eq 10 ] || fail "PEs lost: $after"

kill -INT "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly"
[ "$(rspd_stat malformed_messages)" -ge 2000 ] || fail "malformed counted: $(rspd_stat malformed_messages)"
[ "$(rspd_stat errors_sent)" -ge 1000 ] || fail "errors sent: $(rspd_stat errors_sent)"
echo PASS
