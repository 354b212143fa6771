#!/usr/bin/env bash
# Junk from many sources (docs/limits.md): rspd keeps state only for valid
# SCTP. From fresh source endpoints it gets 100,000 datagrams that are not
# SCTP and 10,000 well-formed SCTP packets for associations that do not
# exist (RFC 9260 §8.4): no state at all. Then 10,000 INITs from one host:
# past the per-address rate (1,000/s here) they are dropped, and those that
# pass exceed the peer cap (500 here), so half-open peers make room.
# Registered PEs stay, a new client is served at once, every drop is
# counted, and once the INITs' peers have gone idle the peer table and the
# process's memory are back near where they were before. Last, 10 s of INITs
# from many addresses take no registered PE out.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
JUNK="$3"
source tests/test_lib.sh

start_rspd rspd --sctp_peer_idle_timeout=2s --max_peers=500 --max_inits_per_address_per_second=1000 \
  --keep_alive_interval=1s --keep_alive_timeout=2s
R="--registrar=127.0.0.1:$rspd_port"
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$rspd_pid/status"; }
"$RSPCTL" register $R --pool=kept --count=20 --pe_id=0x100 --port=7100 --lifetime=-1 \
  >"$dir/pe.out" 2>&1 &
pids+=("$!")
await "20 PEs" bash -c "[ \$(grep -c '^registered' '$dir/pe.out') -eq 20 ]"
# A first small flood makes the ingress queue's buffers resident, as any
# burst would; the baseline is taken after it.
"$JUNK" --target="127.0.0.1:$rspd_port" --kind=junk --count=5000 --first_port=10000 >/dev/null
peers_are() { [ "$(live_stat sctp_peers)" -eq "$1" ]; }
await "the one-shot clients' peers reaped" peers_are 1
baseline_rss=$(rss)

"$JUNK" --target="127.0.0.1:$rspd_port" --kind=junk --count=100000 --first_port=10000
"$JUNK" --target="127.0.0.1:$rspd_port" --kind=ootb --count=10000 --first_port=20000
# Still serving: a new client right away, and every PE.
[ "$("$RSPCTL" resolve $R --pool=kept --items=128 | wc -l)" -eq 20 ] || fail "PEs lost or rspd not serving"
[ "$(live_stat sctp_peers_created)" -le 2 ] || fail "peers for junk: $(live_stat sctp_peers_created)"
"$JUNK" --target="127.0.0.1:$rspd_port" --kind=init --count=10000 --first_port=30000
peak_rss=$(rss)
peak_peers=$(live_stat sctp_peers)
[ "$("$RSPCTL" resolve $R --pool=kept --items=128 | wc -l)" -eq 20 ] || fail "not serving after INITs"

# Every datagram that reached rspd is accounted for.
received=$(live_stat udp_rx_datagrams)
not_sctp=$(live_stat sctp_not_sctp)
ootb=$(live_stat sctp_out_of_the_blue)
[ "$not_sctp" -ge 50000 ] || fail "junk counted: $not_sctp"
[ "$ootb" -ge 5000 ] || fail "out-of-the-blue counted: $ootb"
# (INITs are still being worked through while these are read: await.)
inits_limited() { [ "$(live_stat sctp_inits_rate_limited)" -ge 1000 ]; }
AWAIT_SECONDS=120 await "INITs past the per-address rate dropped" inits_limited
[ "$(live_stat sctp_peers_evicted)" -ge 1 ] || fail "no half-open peer made room"
echo "shed by the ingress queue: $(live_stat ingress_shed_normal)"
[ "$peak_peers" -le 500 ] || fail "peer cap exceeded: $peak_peers"

# The INITs' peers go once idle; the memory they took goes back. Each INIT
# costs a socket and a cookie: thousands take seconds, more under ASan.
# (A one-shot client's association may outlive the process for a while when
# its SHUTDOWN was not sent: its peer is not half open.)
half_open_gone() { [ "$(live_stat sctp_peers)" -le "$(live_stat sctp_associations)" ]; }
AWAIT_SECONDS=120 await "the INITs' peers reaped" half_open_gone
trimmed() { [ "$(live_stat sctp_memory_trims)" -ge 1 ]; }
await "the heap trimmed once the closed peers were freed" trimmed
if grep -q __asan_init "$RSPD"; then
  # ASan keeps freed memory in its quarantine: RSS says nothing here.
  echo "RSS not checked: rspd is built with AddressSanitizer"
else
  rss_back() { [ "$(rss)" -le $((baseline_rss + 16384)) ]; }
  await "RSS back within 16 MiB of $baseline_rss kB (now $(rss) kB)" rss_back
fi
echo "RSS: baseline $baseline_rss kB, peak $peak_rss kB, after $(rss) kB; peers at peak $peak_peers; received $received"
[ "$("$RSPCTL" resolve $R --pool=kept --items=128 | wc -l)" -eq 20 ] || fail "PEs lost"

# INITs from many addresses (100 ports each, under the per-address rate), for
# 10 s: the total INIT rate and the time bound on each turn's normal work keep
# the registered PEs' traffic flowing. None of them is removed, and their
# process never loses its association.
end=$((SECONDS + 10))
while [ "$SECONDS" -lt "$end" ]; do
  "$JUNK" --target="127.0.0.1:$rspd_port" --kind=init --count=20000 --first_port=20000 \
    --last_port=20099 >/dev/null
done
[ "$(live_stat sctp_inits_rate_limited)" -ge 10000 ] || fail "INITs not rate-limited in all"
for counter in removed_by_keep_alive removed_by_association_loss; do
  [ "$(live_stat $counter)" -eq 0 ] || fail "$counter: $(live_stat $counter)"
done
! grep -q 'lost registrar' "$dir/pe.out" || fail "the PE process lost its registrar: $(cat "$dir/pe.out")"
[ "$("$RSPCTL" resolve $R --pool=kept --items=128 | wc -l)" -eq 20 ] || fail "PEs lost"
kill -INT "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly"
echo PASS
