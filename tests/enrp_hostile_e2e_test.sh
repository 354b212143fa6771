#!/usr/bin/env bash
# A peer that lies to a registrar over ENRP (RFC 5353): junk, messages with
# the registrar's own server ID, updates for PEs it does not own or that
# break a pool's policy, takeovers of the registrar itself, a flood of
# updates. Each is answered with ENRP_ERROR or counted and dropped; the
# registrar's own PEs stay as they are, and it keeps serving.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
LIAR="$3"
source tests/test_lib.sh

start_rspd rspd --server_id=1
"$RSPCTL" register --registrar="127.0.0.1:$rspd_port" --pool=own --pe_id=1 --count=3 \
  --lifetime=-1 >"$dir/pe.out" 2>&1 &
pids+=("$!")
await "own PEs registered" bash -c "[ \$(grep -c '^registered' '$dir/pe.out') = 3 ]"

"$LIAR" --registrar_udp_port="$rspd_port" --registrar_id=1 --flood=20000 >"$dir/liar.out" 2>&1 \
  || fail "the liar failed: $(cat "$dir/liar.out")"
cat "$dir/liar.out"
grep -q '^junk: .*ENRP_ERROR' "$dir/liar.out" || fail "junk got no ENRP_ERROR"
grep -q '^init_takeover of the registrar: .*ENRP_PRESENCE' "$dir/liar.out" \
  || fail "the registrar did not answer a takeover of itself with its PRESENCE"
sent=$(sed -n 's/^flood: \([0-9]*\) sent$/\1/p' "$dir/liar.out")

at_least() { [ "$(live_stat "$1")" -ge "$2" ]; }
at_least enrp_malformed 3 || fail "junk not counted: $(live_stat enrp_malformed)"
at_least enrp_claiming_our_id 2 || fail "our ID not refused: $(live_stat enrp_claiming_our_id)"
at_least updates_refused 2 || fail "updates naming our home not refused: $(live_stat updates_refused)"
at_least updates_rejected 1 || fail "the policy conflict not rejected: $(live_stat updates_rejected)"
at_least takeovers_by_peers 1 || fail "the takeover of ourselves not counted"

"$RSPCTL" dump --registrar="127.0.0.1:$rspd_port" >"$dir/dump.out"
[ "$(grep -c '^pool=own pe_id=0x0000000[123] home=0x00000001 ' "$dir/dump.out")" = 3 ] \
  || fail "our PEs changed: $(grep '^pool=own' "$dir/dump.out")"
! grep -q '^pool=stolen\|pe_id=0x00000077' "$dir/dump.out" || fail "a lie was taken"
# Every update of the flood the transport carried is there, once.
[ "$(grep -c '^pool=flood' "$dir/dump.out")" = "$sent" ] \
  || fail "flood: $(grep -c '^pool=flood' "$dir/dump.out") PEs for $sent updates"
"$RSPCTL" resolve --registrar="127.0.0.1:$rspd_port" --pool=own | grep -q '^pe_id=' \
  || fail "the registrar stopped resolving"
kill -0 "$rspd_pid" || fail "rspd died"
echo PASS
