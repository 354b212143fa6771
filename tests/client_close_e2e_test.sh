#!/usr/bin/env bash
# Clients that exit close their associations (RFC 9260 §9.2 SHUTDOWN, or an
# ABORT if the registrar does not confirm in time): one-shot rspctl runs and a
# PE process stopped with SIGINT leave rspd no association to hold until its
# heartbeats give up, and their peers are reaped soon after.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

start_rspd rspd
R="--registrar=127.0.0.1:$rspd_port"
for _ in 1 2 3; do "$RSPCTL" resolve $R --pool=none >/dev/null 2>&1 || true; done
"$RSPCTL" register $R --pool=p --pe_id=0x31 --port=7031 --lifetime=-1 >"$dir/pe.out" 2>&1 &
pe=$!
pids+=("$pe")
await "PE registered" grep -q '^registered' "$dir/pe.out"
kill -INT "$pe"
wait "$pe" || fail "rspctl register did not exit cleanly"
[ "$(live_stat sctp_associations_up)" -ge 4 ] || fail "associations: $(live_stat sctp_associations_up)"
associations_are() { [ "$(live_stat sctp_associations)" -eq "$1" ]; }
await "every association closed" associations_are 0
peers_are() { [ "$(live_stat sctp_peers)" -eq "$1" ]; }
await "every peer reaped" peers_are 0
echo PASS
