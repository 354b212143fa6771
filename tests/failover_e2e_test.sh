#!/usr/bin/env bash
# A PU session survives kill -9 of its PE: rspd, two echo-server PEs and an
# echo-client PU on loopback. The PU fails over to the PE named in the dead
# PE's business card (RFC 5352 §3.9), echoes the cookie the dead PE gave it
# (§3.8), reports the dead PE as unreachable (§3.5), and every call is answered.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

start_rspd rspd
R="--registrar=127.0.0.1:$rspd_port"

# Each PE serves SCTP over UDP on one port; pick two from a range unlikely to clash.
base=$((40000 + RANDOM % 20000))
for i in 1 2; do
  "$RSPCTL" echo-server $R --pool=echo --echo_port=$((base + i)) >"$dir/server$i.out" 2>&1 &
  pids+=("$!")
  eval "server$i=$!"
  await "echo-server $i registered" grep -q '^echo-server pe_id' "$dir/server$i.out"
done

"$RSPCTL" echo-client $R --pool=echo --echo_count=30 --echo_interval=100ms >"$dir/client.out" 2>&1 &
client=$!
pids+=("$client")
await "five echoes" bash -c "[ \$(grep -c '^echo [0-9]' '$dir/client.out') -ge 5 ]"
# RFC 5352 §3.9: the PE in use hands the PU its business card (the other PE).
await "a business card" grep -q '^business card from pe_id=0x[0-9a-f]*: 1 PEs$' "$dir/client.out"
used=$(grep '^echo [0-9]' "$dir/client.out" | tail -1 | sed -n 's/.*pe_id=0x\([0-9a-f]*\):.*/\1/p')
if grep -q "pe_id=0x$used" "$dir/server1.out"; then victim=$server1; survivor=2; else victim=$server2; survivor=1; fi
kill -KILL "$victim"

wait "$client" || fail "echo-client failed: $(tail -3 "$dir/client.out")"
grep -q '^echo-client: 30 calls, 1 failovers$' "$dir/client.out" || fail "$(tail -3 "$dir/client.out")"
grep -q "^failover: pe_id=0x$used .*(from its business card), cookie echoed" "$dir/client.out" \
  || fail "no failover by business card with the cookie: $(grep failover "$dir/client.out")"
for i in $(seq 30); do grep -q "^echo $i from .*: hello $i$" "$dir/client.out" || fail "call $i lost"; done
await "cookie echo at the survivor" grep -q "^cookie echo from a failed-over PU: pe=$((16#$used)) served=" "$dir/server$survivor.out"
# The registrar dropped the dead PE (unreachable report or keep-alive).
await "dead PE gone" bash -c "! '$RSPCTL' resolve $R --pool=echo --items=5 | grep -q 'pe_id=0x$used'"
echo PASS
