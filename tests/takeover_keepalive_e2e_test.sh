#!/usr/bin/env bash
# Takeover as the PE sees it (RFC 5353 §3.5.2, RFC 5352 §3.4 KA2.4): a PE is
# registered at rspd; another registrar (a test program: rspd does no ENRP
# takeover yet) starts an association to the PE's ASAP endpoint and sends
# ENDPOINT_KEEP_ALIVE with H=1. The PE ACKs it there, reports its new home,
# and sends its next re-registration (T4) and its deregistration over that
# association.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
TAKER="$3"
source tests/test_lib.sh

start_rspd old --server_id=0xa
# Lifetime 6 s: T4 = 3 s (docs/decisions.md).
"$RSPCTL" register --registrar="127.0.0.1:$old_port" --pool=taken --pe_id=0x44 --port=7044 \
  --lifetime=6 >"$dir/pe.out" 2>"$dir/pe.err" &
pe=$!
pids+=("$pe")
await "registered" grep -q '^registered pe_id=0x00000044 pool=taken' "$dir/pe.out"
sctp_port=$(sed -n 's/.*ASAP endpoint SCTP port \([0-9]*\) over UDP port [0-9]*$/\1/p' "$dir/pe.err")
udp_port=$(sed -n 's/.*ASAP endpoint SCTP port [0-9]* over UDP port \([0-9]*\)$/\1/p' "$dir/pe.err")
[ -n "$sctp_port" ] && [ -n "$udp_port" ] || fail "no ASAP endpoint in: $(cat "$dir/pe.err")"

"$TAKER" --pe_udp_port="$udp_port" --pe_sctp_port="$sctp_port" --pool=taken --pe_id=0x44 \
  --server_id=0xbeef >"$dir/taker.out" 2>&1 &
taker=$!
pids+=("$taker")
await "keep-alive acked" grep -q '^keep-alive acked on the takeover association$' "$dir/taker.out"
await "new home reported" grep -q '^home registrar now 0x0000beef$' "$dir/pe.out"
await "re-registration at the new home" \
  grep -q '^re-registration on the takeover association$' "$dir/taker.out"

kill -TERM "$pe"
wait "$pe" || fail "rspctl register failed: $(cat "$dir/pe.err")"
grep -q '^deregistered pe_id=0x00000044$' "$dir/pe.out" || fail "$(cat "$dir/pe.out")"
wait "$taker" || fail "takeover registrar: $(cat "$dir/taker.out")"
grep -q '^deregistration on the takeover association$' "$dir/taker.out" || fail "$(cat "$dir/taker.out")"
echo PASS
