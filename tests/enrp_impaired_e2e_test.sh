#!/usr/bin/env bash
# ENRP (RFC 5353) over a lossy link: every datagram between two registrars
# passes a relay that drops 10%, duplicates 5% and reorders 20% of them
# (user space: this kernel has no netem). PEs come and go at both while the
# link misbehaves; the two views still converge (full dumps agree), and no
# peer is taken for dead.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
RELAY="$3"
source tests/test_lib.sh

base=$((20000 + RANDOM % 30000))
a_port=$base
b_port=$((base + 1))
relay_port=$((base + 2))
# MAX-TIME-LAST-HEARD and MAX-TIME-NO-RESPONSE well above SCTP's
# retransmission timeout (1 s at least), so that loss alone kills no one.
timers=(--peer_heartbeat_cycle=500ms --max_time_last_heard=4s --max_time_no_response=4s
  --takeover_expiry=2s --mentor_discovery_timeout=3s --keep_alive_interval=1s
  --keep_alive_timeout=2s)

"$RELAY" --listen_port="$relay_port" --target_port="$b_port" >"$dir/relay.out" 2>&1 &
pids+=("$!")
# b has no static peer; a knows b only through the relay.
"$RSPD" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --server_id=2 --udp_port="$b_port" \
  --asap_port=3862 "${timers[@]}" >"$dir/b.out" 2>&1 &
pids+=("$!")
b_pid=$!
"$RSPD" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --server_id=1 --udp_port="$a_port" \
  --asap_port=3861 --enrp_peers="127.0.0.1:$relay_port" "${timers[@]}" >"$dir/a.out" 2>&1 &
pids+=("$!")
a_pid=$!
stat_is() { [ "$(live_stat "$1" "$2")" = "$3" ]; }
for r in a b; do await "$r ready" grep -q '^ready' "$dir/$r.out"; done
await "a downloaded through the relay" stat_is enrp_ready a 1

dump() { "$RSPCTL" dump --registrar="127.0.0.1:$1"; }
expected=0
agree() {
  local x
  x=$(dump "$a_port") || return 1
  [ "$(echo "$x" | grep -c '^pool=')" = "$expected" ] && [ "$(dump "$b_port")" = "$x" ]
}
register() {  # NAME REGISTRAR POOL FIRST_ID COUNT
  "$RSPCTL" register --registrar="$2" --pool="$3" --pe_id="$4" --count="$5" --lifetime=30 \
    >"$dir/$1.out" 2>&1 &
  pids+=("$!")
  printf -v "$1_pid" '%s' "$!"
  await "$1 registered" bash -c "[ \$(grep -c '^registered' '$dir/$1.out') = $5 ]"
}
# Churn: PEs arrive at both registrars, some leave (deregistration on
# SIGTERM: a DEL_PE to the peer), more arrive.
register pa1 "127.0.0.1:$a_port/3861" pa 100 10
register pb1 "127.0.0.1:$b_port/3862" pb 200 10
register pa2 "127.0.0.1:$a_port/3861" pa 300 5
kill -TERM "$pa2_pid"
await "pa2 deregistered" grep -q 'deregistered' "$dir/pa2.out"
register pb2 "127.0.0.1:$b_port/3862" pc 400 5
expected=25
await_within 30 "both views agree over the lossy link" agree
for r in a b; do
  stat_is takeovers_started "$r" 0 || fail "$r took its peer for dead over loss alone"
done
grep -q 'dropped [1-9]' "$dir/relay.out" || fail "the relay dropped nothing: $(tail -1 "$dir/relay.out")"
echo PASS
