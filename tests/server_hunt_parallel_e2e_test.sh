#!/usr/bin/env bash
# Server hunt tries up to three registrars at once (RFC 5352 §3.6 SH1): with
# two dead registrars listed before a live one, the PE registers at the live
# one while its INITs to the dead ones are still unanswered, and those
# attempts are aborted (SH6). One at a time, each dead registrar would first
# have to fail (seconds of INIT retries), and nothing would be aborted.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

start_rspd live --server_id=0xa
# Registrar addresses where nothing listens: ports of stopped rspds.
start_rspd dead1 --server_id=0xd1
start_rspd dead2 --server_id=0xd2
kill -KILL "$dead1_pid" "$dead2_pid"

"$RSPCTL" register \
  --registrar="127.0.0.1:$dead1_port,127.0.0.1:$dead2_port,127.0.0.1:$live_port" \
  --server_hunt_timeout=10s --pool=parallel --pe_id=0x43 --port=7043 --lifetime=-1 \
  >"$dir/pe.out" 2>"$dir/pe.err" &
pids+=("$!")
await "registered at live" grep -q "^registered pe_id=0x00000043 pool=parallel registrar=127.0.0.1:$live_port" "$dir/pe.out"
grep -q "server hunt: 127.0.0.1:$dead1_port aborted, 127.0.0.1:$dead2_port aborted, 127.0.0.1:$live_port home;" "$dir/pe.err" \
  || fail "not one round of three parallel attempts: $(cat "$dir/pe.err")"
echo PASS
