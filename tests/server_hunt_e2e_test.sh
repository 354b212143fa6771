#!/usr/bin/env bash
# Server hunt (RFC 5352 §3.6, §3.7): a PE configured with a dead registrar
# and two live ones skips the dead one, registers at the live one whose
# association comes up first (they are tried at once, SH1/SH6), and when that
# home registrar dies (kill -9) it hunts and re-registers at the survivor,
# which becomes its home (§3.1 rule 4).
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
await "registered" grep -q "^registered pe_id=0x00000042 pool=hunted registrar=" "$dir/pe.out"
if grep -q "registrar=127.0.0.1:$a_port$" "$dir/pe.out"; then
  home=a survivor=b
else
  home=b survivor=a
fi
home_port="${home}_port" home_pid="${home}_pid" survivor_port="${survivor}_port"
"$RSPCTL" resolve --registrar="127.0.0.1:${!home_port}" --pool=hunted | grep -q "home=0x0000000$home" \
  || fail "home is not $home"

kill -KILL "${!home_pid}"
await "re-registered at $survivor" bash -c "'$RSPCTL' resolve --registrar=127.0.0.1:${!survivor_port} --pool=hunted | grep -q 'pe_id=0x00000042 home=0x0000000$survivor'"
grep -q "lost registrar 127.0.0.1:${!home_port}" "$dir/pe.err" || fail "loss not noticed: $(cat "$dir/pe.err")"
echo PASS
