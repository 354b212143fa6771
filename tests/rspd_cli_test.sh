#!/usr/bin/env bash
# rspd and rspctl as an operator meets them: --version, --help, a bad flag, and
# a start-then-Ctrl-C cycle on a free loopback port.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$RSPD" --version | grep -q '^rspd [0-9]' || fail "rspd --version"
"$RSPCTL" --version | grep -q '^rspctl [0-9]' || fail "rspctl --version"
# absl exits 1 after printing usage.
help=$("$RSPD" --help || true)
for flag in --io --udp_port --asap_port --max_bad_pe_reports --max_peers; do
  grep -q -- "$flag" <<<"$help" || fail "rspd --help does not list $flag"
done
help=$("$RSPCTL" --help 2>&1 || true)
grep -q "Commands:" <<<"$help" || fail "rspctl --help lists no commands"

# Bad configuration is a clear message and exit status 2, never a crash.
set +e
err=$("$RSPD" --io=netmap 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "rspd --io=netmap exited $rc"
grep -q -- '--io must be socket or dpdk' <<<"$err" || fail "unclear message: $err"
set +e
err=$("$RSPD" --bind_address=nowhere --udp_port=0 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] || fail "bad bind_address exited $rc"
grep -q 'bind_address' <<<"$err" || fail "unclear message: $err"
# Out-of-range and nonsensical values: one line naming the flag and its range.
for bad in --udp_port=70000 --max_peers=99999999999 --server_id=-1 --keep_alive_interval=inf \
  --keep_alive_timeout=1ms --sctp_peer_idle_timeout=inf --max_bad_pe_reports=100000000 \
  "--shard_lcores=2 --max_pool_elements=1"; do
  set +e
  # shellcheck disable=SC2086 # one case may be two flags
  err=$("$RSPD" --udp_port=0 $bad 2>&1); rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "rspd $bad exited $rc: $err"
  [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q 'must be' <<<"$err" || fail "rspd $bad: $err"
done

# Start, wait for the ready line (an event, not a sleep), stop with SIGINT.
out="${TEST_TMPDIR:-/tmp}/rspd.out"
coproc RSPD_PROC { exec "$RSPD" --bind_address=127.0.0.1 --udp_port=0 --server_id=0x2a --announce_group= --enrp_multicast_group= 2>&1; }
pid=$RSPD_PROC_PID
: >"$out"
while IFS= read -r -t 30 line <&"${RSPD_PROC[0]}"; do
  echo "$line" >>"$out"
  [[ "$line" == ready* ]] && break
done
grep -q '^ready' "$out" || fail "rspd never became ready: $(cat "$out")"
grep -Eq '^  udp 127\.0\.0\.1:[1-9][0-9]*  SCTP over UDP' "$out" || fail "no UDP endpoint: $(cat "$out")"
grep -q 'server_id *= 0x0000002a' "$out" || fail "server id not shown"
grep -q 'sctp port 3863  ASAP' "$out" || fail "no ASAP endpoint"
grep -q '^  announces off (--announce_group is empty)' "$out" || fail "announce state not shown"

# A PE registers and deregisters, so no association is left when rspd stops
# and usrsctp shuts down completely (it once crashed there, touching the
# stack after usrsctp_finish).
port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$out")
pe_out="${TEST_TMPDIR:-/tmp}/pe.out"
"$RSPCTL" register --registrar="127.0.0.1:$port" --pool=cli --pe_id=7 --port=7007 >"$pe_out" 2>&1 &
pe_pid=$!
for _ in $(seq 300); do
  grep -q '^registered' "$pe_out" && break
  sleep 0.1
done
grep -q '^registered' "$pe_out" || fail "PE did not register: $(cat "$pe_out")"
kill -INT "$pe_pid"
wait "$pe_pid" || fail "rspctl register exited $? on SIGINT: $(cat "$pe_out")"
kill -INT "$pid"
set +e
wait "$pid"; rc=$?
set -e
[ "$rc" -eq 0 ] || fail "rspd exited $rc after SIGINT"
echo PASS
