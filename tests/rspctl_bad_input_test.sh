#!/usr/bin/env bash
# rspctl refuses bad flag values at the edge: each bad value is exit status 2
# and one line on stderr naming the flag and its range, and the command ends
# on its own (each runs under `timeout 20`, so one that loops fails the test
# rather than hanging it). A live rspd is the registrar for all of them, and
# gets nothing: its statistics show that no registration or malformed
# message from them reached it. The edge values themselves are accepted, and
# a registration the registrar rejects is not reported deregistered.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

start_rspd rspd
R="--registrar=127.0.0.1:$rspd_port"
long_pool=$(head -c 70000 /dev/zero | tr '\0' p)
pool_256=$(head -c 256 /dev/zero | tr '\0' p)
pool_255=$(head -c 255 /dev/zero | tr '\0' p)

# bad COMMAND EXPECTED_STDERR_REGEX ARGS...: exit status 2, one stderr line
# matching the regex (anchored), in time.
bad() {
  local command="$1" expected="$2"
  shift 2
  local rc=0
  timeout 20 "$RSPCTL" "$command" $R "$@" >"$dir/out" 2>"$dir/err" || rc=$?
  [ "$rc" -ne 124 ] || fail "rspctl $command ${*:0:3}... did not exit within 20 s"
  [ "$rc" -eq 2 ] || fail "rspctl $command $(cut -c1-80 <<<"$*"): exit $rc, stderr: $(head -c 300 "$dir/err")"
  [ "$(wc -l <"$dir/err")" -eq 1 ] || fail "rspctl $command: not one line: $(head -c 300 "$dir/err")"
  grep -Eqx "rspctl $command: $expected" "$dir/err" \
    || fail "rspctl $command: unexpected message: $(cat "$dir/err")"
}

# Pool handles: the registrar takes 1 to 255 bytes (RFC 5354 §3.9 sets no bound).
for command in register resolve unreachable echo-server echo-client; do
  bad $command '--pool: the pool handle is 70000 bytes; it must be 1 to 255 bytes' \
    --pool="$long_pool" --unreachable_pe_id=1
  bad $command '--pool: the pool handle is 256 bytes; it must be 1 to 255 bytes' \
    --pool="$pool_256" --unreachable_pe_id=1
  bad $command '--pool is required' --unreachable_pe_id=1
done

# register: T5, lifetime, ports, identifiers, counts, policy values.
bad register '--server_hunt_timeout must be more than 0; got 0' --pool=p --server_hunt_timeout=0s
bad register '--server_hunt_timeout must be more than 0; got -1s' --pool=p --server_hunt_timeout=-1s
for lifetime in -5 0 -2147483648; do
  bad register "--lifetime must be -1 \(infinite\) or 1 to 2147483647 seconds; got $lifetime" \
    --pool=p --lifetime=$lifetime
done
for port in 0 -1 65536; do
  bad register "--port must be 1 to 65535; got $port" --pool=p --port=$port
done
bad register '--count must be 1 to 536 \(PE i gets port 65000\+i, at most 65535\); got 1000' \
  --pool=p --port=65000 --count=1000
bad register '--count must be 1 to 65535 \(PE i gets port 1\+i, at most 65535\); got 0' \
  --pool=p --port=1 --count=0
bad register '--count must be 1 to 65535 \(PE i gets port 1\+i, at most 65535\); got -3' \
  --pool=p --port=1 --count=-3
bad register '--pe_id must be 0 \(random\) or 1 to 4294967294 \(PE i gets pe_id\+i, at most 4294967295, with --count=2\); got 4294967295' \
  --pool=p --pe_id=4294967295 --count=2
bad register '--pe_id must be 0 \(random\) or 1 to 4294967295 \(PE i gets pe_id\+i, at most 4294967295, with --count=1\); got -1' \
  --pool=p --pe_id=-1
for policy in wrr wrandom; do
  bad register '--weight must be 1 to 4294967295; got 0' --pool=p --policy=$policy --weight=0
done
bad register '--priority must be 0 to 4294967295; got -1' --pool=p --policy=priority --priority=-1
bad register '--load must be 0 to 4294967295; got 4294967296' --pool=p --policy=lu --load=4294967296
bad register '--load_degradation must be 0 to 4294967295; got -1' \
  --pool=p --policy=lud --load_degradation=-1
bad register '--value_step must be 0 to 4294967295; got -1' --pool=p --value_step=-1
bad register '--value_step must be 0 to 1 \(PE i gets the policy value 4294967293\+i\*step, at most 4294967295, with --count=3\); got 2' \
  --pool=p --policy=wrr --weight=4294967293 --count=3 --value_step=2
bad register "--policy must be rr, wrr, random, wrandom, priority, lu, lud, plu or rlu; got 'fifo'" \
  --pool=p --policy=fifo
bad register "--transport must be sctp, tcp or udp; got 'quic'" --pool=p --transport=quic
bad register '--control_channel needs --transport=sctp' --pool=p --transport=tcp --control_channel
bad register "--address: not an IP address: 'nowhere'" --pool=p --address=nowhere

# resolve: the registrar answers at most 128 PEs.
for items in 129 -1; do
  bad resolve "--items must be 0 \(the registrar's default\) to 128; got $items" --pool=p --items=$items
done
# unreachable: a PE identifier is 32 bits, and 0 names none.
for id in 0 4294967296; do
  bad unreachable "--unreachable_pe_id must be 1 to 4294967295; got $id" --pool=p --unreachable_pe_id=$id
done
# The echo tools.
bad echo-server '--echo_port must be 1 to 65535; got 0' --pool=p --echo_port=0
bad echo-client '--echo_count must be 1 to 2147483647; got 0' --pool=p --echo_count=0
bad echo-client '--echo_interval must be 0 or more; got -1s' --pool=p --echo_interval=-1s
rc=0
timeout 20 "$RSPCTL" decode --encapsulation_port=0 /dev/null 2>"$dir/err" || rc=$?
[ "$rc" -eq 2 ] && grep -qx 'rspctl decode: --encapsulation_port must be 1 to 65535; got 0' "$dir/err" \
  || fail "decode --encapsulation_port=0: exit $rc, $(cat "$dir/err")"

# The edge values are accepted: a 255-byte handle, 128 items (an unknown
# pool: exit 1), the last port and PE identifier, a lifetime of 1 s.
rc=0
timeout 20 "$RSPCTL" resolve $R --pool="$pool_255" --items=128 >/dev/null 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q 'unknown pool handle' "$dir/err" || fail "resolve at the edge: $rc $(cat "$dir/err")"
timeout 20 "$RSPCTL" register $R --pool="$pool_255" --port=65535 --pe_id=4294967295 --lifetime=1 \
  --policy=wrr --weight=4294967295 >"$dir/edge.out" 2>&1 &
edge=$!
pids+=("$edge")
await "edge PE registered" grep -q '^registered pe_id=0xffffffff' "$dir/edge.out"

# A registration the registrar rejects (RFC 5352 §3.1 rule 2: the pool's
# policy is Weighted Round Robin) ends rspctl with status 1, and the
# rejected PE is not reported deregistered: it never was registered.
rc=0
timeout 20 "$RSPCTL" register $R --pool="$pool_255" --policy=lu --pe_id=5 --port=7005 \
  >"$dir/rejected.out" 2>"$dir/rejected.err" || rc=$?
[ "$rc" -eq 1 ] || fail "rejected registration: exit $rc, $(cat "$dir/rejected.err")"
grep -q 'registration rejected: Inconsistent Pooling Policy' "$dir/rejected.err" \
  || fail "rejection not reported: $(cat "$dir/rejected.err")"
[ ! -s "$dir/rejected.out" ] || fail "a rejected PE reported as: $(cat "$dir/rejected.out")"

kill -INT "$edge"
wait "$edge" || fail "rspctl register at the edge: $(cat "$dir/edge.out")"
grep -qx 'deregistered pe_id=0xffffffff' "$dir/edge.out" || fail "not deregistered: $(cat "$dir/edge.out")"

kill -INT "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly"
[ "$(rspd_stat registrations)" -eq 1 ] || fail "registrations: $(rspd_stat registrations)"
[ "$(rspd_stat registrations_rejected)" -eq 1 ] || fail "rejected: $(rspd_stat registrations_rejected)"
[ "$(rspd_stat malformed_messages)" -eq 0 ] || fail "malformed: $(rspd_stat malformed_messages)"
echo PASS
