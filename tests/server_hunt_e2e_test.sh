#!/usr/bin/env bash
# Server hunt (RFC 5352 §3.6, §3.7): a PE configured with two registrars
# skips the one that is down, registers at the other, and when its home
# registrar dies (kill -9) it hunts and re-registers at the survivor, which
# becomes its home (§3.1 rule 4).
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

start_rspd a --server_id=0xa
start_rspd b --server_id=0xb
# A registrar address where nothing listens: a port of a stopped rspd.
start_rspd dead --server_id=0xd
kill -KILL "$dead_pid"

"$RSPCTL" register --registrar="127.0.0.1:$dead_port,127.0.0.1:$a_port,127.0.0.1:$b_port" \
  --server_hunt_timeout=1s --pool=hunted --pe_id=0x42 --port=7042 --lifetime=-1 \
  >"$dir/pe.out" 2>"$dir/pe.err" &
pids+=("$!")
await "registered at a" grep -q "^registered pe_id=0x00000042 pool=hunted registrar=127.0.0.1:$a_port" "$dir/pe.out"
"$RSPCTL" resolve --registrar="127.0.0.1:$a_port" --pool=hunted | grep -q 'home=0x0000000a' \
  || fail "home is not a"

kill -KILL "$a_pid"
await "re-registered at b" bash -c "'$RSPCTL' resolve --registrar=127.0.0.1:$b_port --pool=hunted | grep -q 'pe_id=0x00000042 home=0x0000000b'"
grep -q "lost registrar 127.0.0.1:$a_port" "$dir/pe.err" || fail "loss not noticed: $(cat "$dir/pe.err")"
echo PASS
