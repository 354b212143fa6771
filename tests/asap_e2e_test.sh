#!/usr/bin/env bash
# ASAP end to end with real processes on loopback: rspd, 100 PEs in 10 pools
# (one pool per policy, rspctl register --count=10), PUs resolving through
# rspctl resolve. Checks every policy's selection as seen by a PU,
# deregistration, lifetime expiry, keep-alive timeout, unreachable reports
# from one host, bad input, and that Wireshark finds nothing malformed in a capture
# of all of it. RFC 5352 §3.1-3.5, RFC 5356.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

# Capture everything on loopback UDP while the test runs (rspd's port is not
# known yet). Loopback also carries other tests' traffic, which Wireshark's
# heuristics may misread: the checks below look at rspd's port only.
tshark -n -i lo -f "udp" -w "$dir/asap.pcapng" >"$dir/tshark.log" 2>&1 &
tshark_pid=$!
pids+=("$tshark_pid")
await "tshark capturing" grep -q "Capturing on" "$dir/tshark.log"

# Four handlespace shards on lcores of their own: the ten pools spread over
# them (ShardOf), and every request crosses the rings.
start_rspd rspd --server_id=0x5eed --shard_lcores=4 --keep_alive_interval=500ms --keep_alive_timeout=800ms \
  --max_bad_pe_reports=2 --max_handle_resolution_items=3
port=$rspd_port
grep -q '^handlespace: 4 shard(s), each on a shard lcore' "$dir/rspd.out" || fail "$(cat "$dir/rspd.out")"
shard_threads=$(cat /proc/"$rspd_pid"/task/*/comm | grep -c '^rspd-shard-') || true
[ "$shard_threads" -eq 4 ] || fail "expected 4 shard threads, found $shard_threads"
R="--registrar=127.0.0.1:$port"

# 10 pools x 10 PEs, one pool per policy. PE i of pool k: id k*100+i+1,
# port 20000+k*100+i, policy value base + i*step.
register() {  # name policy k [extra flags...]
  local name="$1" policy="$2" k="$3"; shift 3
  "$RSPCTL" register $R --pool="$name" --policy="$policy" --count=10 \
    --pe_id=$((k * 100 + 1)) --port=$((20000 + k * 100)) --lifetime=-1 "$@" \
    >"$dir/pe_$name.out" 2>&1 &
  pids+=("$!")
  eval "pe_pid_$name=$!"
}
register rr rr 1
register wrr wrr 2 --weight=1 --value_step=1
register random random 3
register wrandom wrandom 4 --weight=10
register priority priority 5 --priority=1 --value_step=1
register lu lu 6 --load=1000 --value_step=100
register lud lud 7 --load=1000 --load_degradation=50
register plu plu 8 --load=5000 --load_degradation=7 --value_step=100
register rlu rlu 9 --load=1000
register spare rr 10
for name in rr wrr random wrandom priority lu lud plu rlu spare; do
  await "10 PEs registered in $name" bash -c "[ \$(grep -c '^registered' '$dir/pe_$name.out') -eq 10 ]"
done

resolve() { "$RSPCTL" resolve $R "$@"; }
ids() { resolve "$@" | sed -n 's/^pe_id=0x\([0-9a-f]*\) .*/\1/p' | tr '\n' ' '; }

# Every PE is served, with the registrar's own ID as home (RFC 5352 §3.1 rule 4).
[ "$(resolve --pool=spare --items=20 | wc -l)" -eq 10 ] || fail "spare pool does not list 10 PEs"
resolve --pool=spare --items=1 | grep -q 'home=0x00005eed' || fail "home registrar not ours"
resolve --pool=lu --items=1 --json | python3 -c '
import json, sys
pe = json.loads(sys.stdin.readline())
for key in ("pe_id", "home_registrar", "addresses", "port", "transport", "policy"):
    assert key in pe, key
assert pe["addresses"] == ["127.0.0.1"] and pe["transport"] == "sctp", pe
' || fail "resolve --json lacks fields"

# Round Robin (RFC 5356 §4.1): consecutive answers start one further on.
seen=""
for _ in $(seq 10); do seen+="$(ids --pool=rr --items=1)"; done
[ "$(tr ' ' '\n' <<<"$seen" | sort -u | grep -c .)" -eq 10 ] || fail "RR did not cycle: $seen"
# Weighted RR (§4.2): weights 1..10, so over 110 picks (two rounds of 55)
# PE i appears 2*i times, give or take one at the window's edges.
wrr=""
for _ in $(seq 110); do wrr+="$(ids --pool=wrr --items=1)"; done
heavy=$(tr ' ' '\n' <<<"$wrr" | grep -c '^000000d2$')
light=$(tr ' ' '\n' <<<"$wrr" | grep -c '^000000c9$')
[ "$heavy" -ge 19 ] && [ "$heavy" -le 21 ] || fail "WRR weight-10 PE picked $heavy times: $wrr"
[ "$light" -ge 1 ] && [ "$light" -le 3 ] || fail "WRR weight-1 PE picked $light times: $wrr"
# Random and weighted random (§4.3, §4.4): distinct PEs, as many as asked.
for pool in random wrandom rlu; do
  r=$(ids --pool=$pool --items=5)
  [ "$(tr ' ' '\n' <<<"$r" | grep -c .)" -eq 5 ] || fail "$pool: $r"
  [ "$(tr ' ' '\n' <<<"$r" | sort -u | grep -c .)" -eq 5 ] || fail "$pool duplicates: $r"
done
# Priority (§4.5): highest priority first, decreasing.
[ "$(ids --pool=priority --items=3)" = "000001fe 000001fd 000001fc " ] \
  || fail "priority order: $(ids --pool=priority --items=3)"
# Least Used (§5.1): lowest load first, ascending.
[ "$(ids --pool=lu --items=3)" = "00000259 0000025a 0000025b " ] || fail "LU order"
# Priority Least Used (§5.3): lowest load + degradation first.
[ "$(ids --pool=plu --items=2)" = "00000321 00000322 " ] || fail "PLU order"
# LU with Degradation (§5.2): equal loads; every PE returned gets degraded,
# so consecutive single answers move on to PEs not yet returned.
lud=""
for _ in $(seq 10); do lud+="$(ids --pool=lud --items=1)"; done
[ "$(tr ' ' '\n' <<<"$lud" | sort -u | grep -c .)" -eq 10 ] || fail "LUD did not degrade: $lud"

# Unknown pool (RFC 5352 §3.3).
set +e
err=$(resolve --pool=nosuchpool 2>&1); rc=$?
set -e
[ "$rc" -eq 1 ] && grep -q "unknown pool handle" <<<"$err" || fail "unknown pool: rc=$rc $err"

# Deregistration (§3.2): SIGINT makes rspctl deregister its 10 PEs.
kill -INT "$pe_pid_spare"
wait "$pe_pid_spare" || fail "rspctl register did not exit cleanly"
grep -c '^deregistered' "$dir/pe_spare.out" | grep -qx 10 || fail "spare not deregistered"
await "spare pool gone" bash -c "! '$RSPCTL' resolve $R --pool=spare"

# Lifetime expiry: a PE that answers keep-alives but does not re-register
# goes when its registration life ends, and is told so (RFC 5352 §2.2.4).
"$RSPCTL" register $R --pool=life --pe_id=0x1001 --port=30000 --lifetime=2 --reregister=false \
  >"$dir/pe_life.out" 2>&1 &
life_pid=$!
pids+=("$life_pid")
await "life PE registered" grep -q '^registered' "$dir/pe_life.out"
await "life PE expired" bash -c "! '$RSPCTL' resolve $R --pool=life"

# Keep-alive timeout (§3.4): a frozen PE stops answering keep-alives.
"$RSPCTL" register $R --pool=frozen --pe_id=0x2001 --port=30001 --lifetime=-1 >"$dir/pe_frozen.out" 2>&1 &
frozen_pid=$!
pids+=("$frozen_pid")
await "frozen PE registered" grep -q '^registered' "$dir/pe_frozen.out"
kill -STOP "$frozen_pid"
await "frozen PE removed" bash -c "! '$RSPCTL' resolve $R --pool=frozen"

# Unreachable reports (§3.5) count once per reporting address (RFC 5355
# §2.13): two reports from this host, over two associations, do not remove a
# PE that answers the keep-alive probe, although MAX-BAD-PE-REPORT is 2 here
# (reports from distinct addresses: tests/unreachable_netns_test).
"$RSPCTL" unreachable $R --pool=rr --unreachable_pe_id=0x65 >/dev/null
"$RSPCTL" unreachable $R --pool=rr --unreachable_pe_id=0x65 >/dev/null
acks_reach() { [ "$(live_stat keep_alive_acks)" -ge "$1" ]; }
await "keep-alive rounds past the probe's timeout" acks_reach $(($(live_stat keep_alive_acks) + 30))
[ "$(resolve --pool=rr --items=20 | grep -c 'pe_id=0x00000065')" -eq 1 ] || fail "one host removed a live PE"
[ "$(live_stat unreachable_reports_repeated)" -eq 1 ] || fail "the second report was not seen as a repeat"

kill -INT "$rspd_pid"
wait "$rspd_pid" || fail "rspd did not stop cleanly"
[ "$(rspd_stat registrations)" -ge 102 ] || fail "registrations: $(rspd_stat registrations)"
[ "$(rspd_stat removed_by_deregistration)" -eq 10 ] || fail "deregistrations: $(rspd_stat removed_by_deregistration)"
[ "$(rspd_stat removed_by_lifetime)" -ge 1 ] || fail "no lifetime expiry counted"
[ "$(rspd_stat removed_by_keep_alive)" -ge 1 ] || fail "no keep-alive removal counted"
[ "$(rspd_stat removed_by_unreachable)" -eq 0 ] || fail "unreachable removals: $(rspd_stat removed_by_unreachable)"
[ "$(rspd_stat keep_alive_acks)" -ge 1 ] || fail "no keep-alive answered"

# The capture: every message decodes, in Wireshark and in rspctl decode.
kill -INT "$tshark_pid" 2>/dev/null || fail "tshark stopped capturing early: $(cat "$dir/tshark.log")"
wait "$tshark_pid" || true
decoded=$("$RSPCTL" decode --encapsulation_port="$port" "$dir/asap.pcapng" 2>"$dir/decode.err") \
  || fail "rspctl decode found malformed messages: $(grep MALFORMED <<<"$decoded" | head -3)"
[ "$(grep -c ' ASAP_' <<<"$decoded")" -ge 300 ] || fail "too few ASAP messages captured"
bad=$(tshark -n -r "$dir/asap.pcapng" -d "udp.port==$port,sctp" -o sctp.checksum:CRC-32C \
  -Y "udp.port == $port && (_ws.malformed || _ws.expert.severity == error || (asap && !(asap.message_type >= 1 && asap.message_type <= 14)))" \
  -T fields -e frame.number 2>/dev/null | head -5)
[ -z "$bad" ] || fail "Wireshark flags frames: $bad; the first: $(tshark -n -r "$dir/asap.pcapng" \
  -d "udp.port==$port,sctp" -o sctp.checksum:CRC-32C -Y "frame.number == $(head -1 <<<"$bad")" -V 2>&1 |
  grep -E 'Src Port|Dst Port|Protocols in frame|Expert|Malformed|Message type|Chunk type' | head -20)"
echo PASS
