#!/usr/bin/env bash
# A handle resolution answer larger than one receive reaches the client
# whole (RFC 5352 §3.3): 128 PEs (protocol::kMaxResolutionItems) with 4
# addresses each, answered in one ASAP_HANDLE_RESOLUTION_RESPONSE that
# usrsctp delivers to the client in pieces (its receive buffer is made small,
# tests/large_resolution_client_main.cc).
set -euo pipefail
RSPD="$1"
CLIENT="$3"
source tests/test_lib.sh

start_rspd rspd --max_handle_resolution_items=128
"$CLIENT" --registrar="127.0.0.1:$rspd_port" --pes=128 --addresses_per_pe=4 >"$dir/client.out" 2>&1 ||
  fail "client: $(cat "$dir/client.out")"
grep -q '^resolved 128 PEs, 512 addresses' "$dir/client.out" || fail "client: $(cat "$dir/client.out")"
cat "$dir/client.out"
echo PASS
