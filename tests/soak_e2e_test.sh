#!/usr/bin/env bash
# A bounded soak (SOAK_SECONDS, default 60): one rspd, with its limits set low
# enough to be hit, takes at once from several processes:
#   - registration churn: PE processes that register 5 PEs and deregister;
#   - a PE process registering 60 PEs over one association (cap 50 here);
#   - resolutions on 20 associations, past the per-association rate (50/s);
#   - unreachable reports from this host against live PEs;
#   - junk datagrams, out-of-the-blue SCTP and INITs from fresh ports;
#   - malformed ASAP over a real association.
# At the end every legitimately registered PE is still resolvable, none was
# removed, and the counters account for every datagram and every message:
# each is in exactly one counter (docs/limits.md). The suite also runs this
# under ASan and UBSan (--config=asan).
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
LOAD="$3"
JUNK="$4"
FUZZ="$5"
source tests/test_lib.sh

seconds="${SOAK_SECONDS:-60}"
start_rspd rspd --keep_alive_interval=1s --keep_alive_timeout=2s --max_pes_per_association=50 \
  --max_resolutions_per_second=50 --max_unreachable_reports_per_second=5 \
  --sctp_peer_idle_timeout=2s --max_peers=2000
R="--registrar=127.0.0.1:$rspd_port"
T="127.0.0.1:$rspd_port"

# The PEs that must survive: 3 processes x 20 PEs.
for k in 1 2 3; do
  "$RSPCTL" register $R --pool="keep$k" --count=20 --pe_id=$((k * 1000)) --port=$((7000 + k * 100)) \
    --lifetime=-1 >"$dir/keep$k.out" 2>"$dir/keep$k.err" &
  pids+=("$!")
done
for k in 1 2 3; do
  await "keep$k registered" bash -c "[ \$(grep -c '^registered' '$dir/keep$k.out') -eq 20 ]"
done
# Over the per-association cap: 50 are registered, the rest refused (retried).
"$RSPCTL" register $R --pool=greedy --count=60 --pe_id=0x9000 --port=9000 --lifetime=-1 \
  >"$dir/greedy.out" 2>"$dir/greedy.err" &
pids+=("$!")

end=$((SECONDS + seconds))
generators=()
generator() {  # name command...: runs the command over and over until the end
  local name="$1"
  shift
  # Each run is bounded, so that one stuck client cannot stall the test.
  (while [ "$SECONDS" -lt "$end" ]; do timeout 60 "$@" >>"$dir/$name.log" 2>&1 || true; done) &
  pids+=("$!")
  generators+=("$!")
}
churn() {
  local id=$((RANDOM * 8 + 100000))
  "$RSPCTL" register $R --pool=churn --count=5 --pe_id="$id" --port=8000 --lifetime=30 \
    >"$dir/churn.one" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    [ "$(grep -c '^registered' "$dir/churn.one")" -eq 5 ] && break
    sleep 0.1
  done
  kill -INT "$pid"
  wait "$pid"
}
export -f churn
export R dir RSPCTL
generator churn bash -c churn
generator resolve "$LOAD" --target="$T" --mode=resolve --associations=20 --in_flight=8 \
  --seconds=5 --warmup_seconds=0 --pool=keep1 --pes=0
generator report "$RSPCTL" unreachable $R --pool=keep2 --unreachable_pe_id=2005
generator junk "$JUNK" --target="$T" --kind=junk --count=2000 --first_port=20000
generator ootb "$JUNK" --target="$T" --kind=ootb --count=500 --first_port=30000
generator init "$JUNK" --target="$T" --kind=init --count=200 --first_port=40000
generator fuzz "$FUZZ" $R --count=500
generators_done() {
  for g in "${generators[@]}"; do ! kill -0 "$g" 2>/dev/null || return 1; done
}
AWAIT_SECONDS=$((seconds + 120)) await "the generators to finish" generators_done

# Quiet again: every kept PE is there, answered by its process all along.
for k in 1 2 3; do
  [ "$("$RSPCTL" resolve $R --pool="keep$k" --items=128 | wc -l)" -eq 20 ] || fail "keep$k lost PEs"
  ! grep -qE 'lost registrar|removed|hunting' "$dir/keep$k.err" || fail "keep$k: $(cat "$dir/keep$k.err")"
done
[ "$("$RSPCTL" resolve $R --pool=greedy --items=128 | wc -l)" -eq 50 ] || fail "greedy: not 50 PEs"

kill -INT "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly"
s() { rspd_stat "$1"; }
for counter in removed_by_keep_alive removed_by_unreachable removed_by_lifetime; do
  [ "$(s $counter)" -eq 0 ] || fail "$counter: $(s $counter)"
done
# Every limit was hit, and counted.
for counter in registrations_refused_association_cap resolutions_rate_limited \
  unreachable_reports_repeated sctp_not_sctp sctp_out_of_the_blue sctp_peers_created \
  malformed_messages deregistrations; do
  [ "$(s $counter)" -gt 0 ] || fail "$counter is 0"
done
# Every datagram read is in exactly one counter...
datagrams=$(($(s ingress_shed_priority) + $(s ingress_shed_normal) + $(s sctp_not_sctp) +
  $(s sctp_out_of_the_blue) + $(s sctp_associations_refused) + $(s sctp_peers_refused) +
  $(s sctp_inits_rate_limited) +
  $(s sctp_packets_in)))
[ "$datagrams" -eq "$(s udp_rx_datagrams)" ] ||
  fail "datagrams: $(s udp_rx_datagrams) read, $datagrams accounted for"
# ... and every ASAP message received.
messages=0
for counter in registrations reregistrations registrations_rejected deregistrations \
  deregistrations_refused resolutions resolutions_rate_limited keep_alive_acks \
  keep_alive_acks_unknown keep_alive_acks_ignored keep_alive_acks_foreign unreachable_reports \
  malformed_messages \
  unsupported_messages errors_received; do
  messages=$((messages + $(s $counter)))
done
[ "$messages" -eq "$(s messages_received)" ] ||
  fail "messages: $(s messages_received) received, $messages accounted for"
# ... and every whole SCTP message delivered: ASAP, or dropped as not ASAP.
[ "$(s sctp_messages_in)" -eq $(($(s messages_received) + $(s messages_not_asap))) ] ||
  fail "sctp messages: $(s sctp_messages_in) in, $(s messages_received) ASAP +" \
    "$(s messages_not_asap) not ASAP"
echo "datagrams $datagrams, messages $messages, refused at the association cap" \
  "$(s registrations_refused_association_cap), resolutions rate-limited $(s resolutions_rate_limited)"
echo PASS
