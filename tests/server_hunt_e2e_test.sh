#!/usr/bin/env bash
# Server hunt (RFC 5352 §3.6, §3.7): a PE configured with two registrars
# skips the one that is down, registers at the other, and when its home
# registrar dies (kill -9) it hunts and re-registers at the survivor, which
# becomes its home (§3.1 rule 4).
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
dir="${TEST_TMPDIR:-$(mktemp -d)}"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
source tests/test_lib.sh

start_rspd() {  # name server_id
  "$RSPD" --bind_address=127.0.0.1 --announce_group= --udp_port=0 --server_id="$2" >"$dir/$1.out" 2>&1 &
  pids+=("$!")
  eval "pid_$1=$!"
  await "rspd $1 ready" grep -q '^ready' "$dir/$1.out"
  eval "port_$1=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/$1.out")"
}
start_rspd a 0xa
start_rspd b 0xb
# A registrar address where nothing listens: a port of a stopped rspd.
start_rspd dead 0xd
kill -KILL "$pid_dead"

"$RSPCTL" register --registrar="127.0.0.1:$port_dead,127.0.0.1:$port_a,127.0.0.1:$port_b" \
  --server_hunt_timeout=1s --pool=hunted --pe_id=0x42 --port=7042 --lifetime=-1 \
  >"$dir/pe.out" 2>"$dir/pe.err" &
pids+=("$!")
await "registered at a" grep -q "^registered pe_id=0x00000042 pool=hunted registrar=127.0.0.1:$port_a" "$dir/pe.out"
"$RSPCTL" resolve --registrar="127.0.0.1:$port_a" --pool=hunted | grep -q 'home=0x0000000a' \
  || fail "home is not a"

kill -KILL "$pid_a"
await "re-registered at b" bash -c "'$RSPCTL' resolve --registrar=127.0.0.1:$port_b --pool=hunted | grep -q 'pe_id=0x00000042 home=0x0000000b'"
grep -q "lost registrar 127.0.0.1:$port_a" "$dir/pe.err" || fail "loss not noticed: $(cat "$dir/pe.err")"
echo PASS
