#!/usr/bin/env bash
# A PE whose registration the registrar removed finds out and registers
# again (docs/limits.md, "Overload"; RFC 5352 §2.2.4). The PE (lifetime -1,
# so its next re-registration is ten minutes away) is frozen past the
# keep-alive timeout: rspd removes it and, its association being up, sends it
# a DEREGISTRATION_RESPONSE. Thawed, the PE reads the notice and registers
# again at once.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

start_rspd rspd --keep_alive_interval=300ms --keep_alive_timeout=600ms
R="--registrar=127.0.0.1:$rspd_port"
"$RSPCTL" register $R --pool=told --pe_id=0x7e11 --port=7300 --lifetime=-1 >"$dir/pe.out" 2>"$dir/pe.err" &
pe_pid=$!
pids+=("$pe_pid")
await "PE registered" grep -q '^registered pe_id=0x00007e11' "$dir/pe.out"
listed() { "$RSPCTL" resolve $R --pool=told 2>/dev/null | grep -q 'pe_id=0x00007e11'; }
unlisted() { ! listed; }

kill -STOP "$pe_pid"
await "the frozen PE removed" unlisted
[ "$(live_stat removed_by_keep_alive)" -eq 1 ] || fail "not removed by the keep-alive timeout"
[ "$(live_stat removal_notices_sent)" -ge 1 ] || fail "the PE was not told"
kill -CONT "$pe_pid"
await "the PE registered again" listed
grep -q '^registrar removed pe_id=0x00007e11; registering again' "$dir/pe.out" ||
  fail "the PE did not report the notice: $(cat "$dir/pe.out" "$dir/pe.err")"
[ "$(live_stat registrations)" -ge 2 ] || fail "registrations: $(live_stat registrations)"
echo PASS
