#!/usr/bin/env bash
# rspd and RSPLIB's registrar (Debian's rsplib-registrar, rspregistrar 3.4.4)
# share one handlespace over ENRP (RFC 5353) and take over each other's PEs.
#
# RSPLIB runs in the test VM (tests/vm/vm_lib.sh) on the Linux kernel's SCTP
# with RFC 6951 UDP encapsulation, at 10.99.0.2. Two rspd, A and B, run in
# the namespace of the VM's tap device at 10.99.0.1 and 10.99.0.3: RSPLIB
# finishes a takeover only once every other live peer ACKed it, so a
# takeover by RSPLIB needs a third registrar (with two it expires and takes
# nothing over). Each registrar has the others in its static peer list. The
# PEs are RSPLIB's (rspserver -echo) in the VM, the PUs RSPLIB's rspterminal
# and rspd's rspctl. The phases:
#  1. A and B start; PE "at-rspd" (RSPLIB's) and PE "lib-pe" (rspd's
#     client library, rspctl register) register at A.
#  2. RSPLIB's registrar starts and downloads the handlespace from its
#     mentor, an rspd; PE "at-rsplib" registers at it. Each PE is listed at
#     every registrar with its owner, RSPLIB's PU reaches each through
#     RSPLIB's registrar and through rspd, and rspd's PU resolves lib-pe
#     through RSPLIB's registrar for longer than its lifetime.
#  3. A is killed (-9): RSPLIB takes A's PE over, B ACKs; B hands the PE to
#     RSPLIB although RSPLIB's TAKEOVER_SERVER never comes, and RSPLIB's PU
#     still reaches it.
#  4. A restarts with another ID and RSPLIB's registrar as its only static
#     peer: it downloads RSPLIB's handlespace, both PEs RSPLIB's.
#  5. RSPLIB's registrar is killed (-9): the new A (now the highest ID) takes
#     both PEs over, B agrees, each PE answers A's ENDPOINT_KEEP_ALIVE with
#     the H bit, and RSPLIB's PU reaches them through A.
# docs/decisions.md (RSPLIB interop) says where RSPLIB differs from RFC 5353.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
source tests/test_lib.sh
source tests/vm/vm_lib.sh

readonly a_ip=10.99.0.1 guest_ip=10.99.0.2 b_ip=10.99.0.3 asap_port=3863 enrp_port=9901 echo_lines=2
readonly a_id=0x0000d001 b_id=0x0000d002 a2_id=0x0000d003 rsplib_id=0xf0000001
# ENRP timers in milliseconds, short for the test, the same everywhere but
# for B: a registrar is dead 8 s after it was last heard.
readonly heartbeat_ms=1000 last_heard_ms=5000 no_response_ms=3000 takeover_expiry_ms=3000 mentor_ms=2000
# RSPLIB's own default: its start, an SCTP handshake and the table download
# fit in it under TCG too.
readonly rsplib_mentor_ms=5000

vm_setup "$guest_ip" "$a_ip" "$b_ip"
declare -A rspd_pid=()
cleanup() {
  local rc=$? name
  set +e  # whatever fails here, the VM and the namespace go
  for name in "${!rspd_pid[@]}"; do
    kill -INT "${rspd_pid[$name]}" 2>/dev/null
    [ "$rc" -eq 0 ] || { echo "-- $name:"; grep 'subsystem=enrp' "$dir/$name.out" | tail -20; } >&2
  done
  (exit "$rc")
  vm_cleanup
}
trap cleanup EXIT

# A and A2 run ENRP on a thread of its own, B inline.
declare -A enrp_thread=([A]=on [A2]=on [B]=off)
# start_rspd NAME ID IP LAST_HEARD_MS PEER_IP...: rspd in the namespace on
# IP, its static peers at PEER_IP (UDP port 9899, ENRP port 9901); output in
# $dir/NAME.out.
start_rspd() {
  local name=$1 id=$2 ip=$3 last_heard=$4 peers=
  shift 4
  local p
  for p in "$@"; do peers+="${peers:+,}$p:$vm_udp_port"; done
  # `ip netns exec` execs its command: $! is rspd's PID.
  ip netns exec "$vm_ns" "$RSPD" --server_id="$id" --bind_address="$ip" --udp_port="$vm_udp_port" \
    --asap_port="$asap_port" --enrp_port="$enrp_port" --enrp_peers="$peers" \
    --announce_group= --enrp_multicast_group= \
    --peer_heartbeat_cycle="${heartbeat_ms}ms" --max_time_last_heard="${last_heard}ms" \
    --max_time_no_response="${no_response_ms}ms" --takeover_expiry="${takeover_expiry_ms}ms" \
    --mentor_discovery_timeout="${mentor_ms}ms" --adopted_pe_timeout=60s \
    --enrp_thread="${enrp_thread[$name]}" >"$dir/$name.out" 2>&1 &
  pids+=("$!")
  rspd_pid[$name]=$!
  await "rspd $name ready" grep -q '^ready' "$dir/$name.out"
}
stop_rspd() {  # NAME SIGNAL
  kill "-$2" "${rspd_pid[$1]}"
  wait "${rspd_pid[$1]}" 2>/dev/null || true
  unset "rspd_pid[$1]"
}
rspctl() { local at=$1; shift; in_ns "$RSPCTL" "$@" --registrar="$at:$vm_udp_port"; }

# owned_by AT POOL ID: the registrar at AT lists ID as the owner of POOL's PE.
owned_by() { grep -q "^pool=$2 .* home=$3 " <<<"$(rspctl "$1" dump)"; }
await_owner() {  # AT POOL ID
  await_for 60 "PE $2 owned by $3 at $1" owned_by "$@" ||
    fail "PE $2 not owned by $3 at $1: $(rspctl "$1" dump); $(grep 'subsystem=enrp' "$dir"/*.out)"
}
# echoes NAME: the RSPLIB PU run NAME got all its echoes back.
echoes() {
  local i console
  console=$(vm_console)  # not piped into grep -q: pipefail would see its SIGPIPE
  for i in $(seq "$echo_lines"); do
    grep -q "^vm: $1: from PE \\\$[0-9a-f]*> rspd-interop-$1-$i" <<<"$console" ||
      fail "RSPLIB's PU $1 got no echo of line $i: $(vm_console | grep "$1" | tail -5)"
  done
}
pu() {  # NAME POOL REGISTRAR_IP: RSPLIB's PU reaches POOL through that registrar
  vm_do pu "$1" "$2" "$echo_lines" 20 -registrar="$3:$asap_port"
  echoes "$1"
}
# await_rsplib_log WHAT ERE: a line of RSPLIB's registrar's log matches ERE
# (one word).
await_rsplib_log() {
  await_for 60 "$1" vm_try logged rsplib-pr "$2" ||
    fail "$1: RSPLIB's registrar did not log /$2/: $(vm_do log rsplib-pr; vm_console | grep rsplib-pr | tail -30)"
}

# B notices a death later than the others (18 s), so that it ACKs their
# takeovers rather than contending: RSPLIB arbitrates the other way round
# from RFC 5353 §3.5.1 (the lower ID goes on), and of RSPLIB and an rspd
# contending, the rspd takes over (docs/decisions.md; enrp_server_test).
start_rspd A "$a_id" "$a_ip" "$last_heard_ms" "$guest_ip" "$b_ip"
start_rspd B "$b_id" "$b_ip" 15000 "$guest_ip" "$a_ip"
vm_boot

echo "== 1. rspd A and B; PE at-rspd registers at A ($(vm_elapsed))"
vm_do start pe-at-rspd rspserver -echo -poolhandle=at-rspd -registrar="$a_ip:$asap_port" -logcolor=off
await_owner "$a_ip" at-rspd "$a_id"
await_owner "$b_ip" at-rspd "$a_id"
# A PE of rspd's client library (rspctl register) at A, its lifetime 8 s,
# renewed before it ends. RSPLIB counts Registration Life in milliseconds and
# expires its peers' PEs by it, so rspd tells RSPLIB 8000 (docs/decisions.md),
# in the table RSPLIB downloads and in the updates after.
ip netns exec "$vm_ns" "$RSPCTL" register --registrar="$a_ip:$vm_udp_port/$asap_port" --pool=lib-pe \
  --lifetime=8 >"$dir/lib-pe.out" 2>&1 &
pids+=("$!")
lib_pe_pid=$!
await_owner "$a_ip" lib-pe "$a_id"
lib_pe_id=$(rspctl "$a_ip" dump | sed -n 's/^pool=lib-pe pe_id=\(0x[0-9a-f]*\) .*/\1/p')
[ -n "$lib_pe_id" ] || fail "no lib-pe in A's dump: $(rspctl "$a_ip" dump)"

echo "== 2. RSPLIB's registrar $rsplib_id joins ($(vm_elapsed))"
vm_do start rsplib-pr rspregistrar -identifier=$rsplib_id -asap="$guest_ip:$asap_port" \
  -enrp="$guest_ip:$enrp_port" -peer="$a_ip:$enrp_port" -peer="$b_ip:$enrp_port" \
  -peerheartbeatcycle=$heartbeat_ms -peermaxtimelastheard=$last_heard_ms \
  -peermaxtimenoresponse=$no_response_ms -takeoverexpiryinterval=$takeover_expiry_ms \
  -mentordiscoverytimeout=$rsplib_mentor_ms -loglevel=4 -logcolor=off
await_rsplib_log "RSPLIB's registrar downloading from a mentor" 'ended.after.obtaining.handlespace.from.mentor'
vm_do start pe-at-rsplib rspserver -echo -poolhandle=at-rsplib -registrar="$guest_ip:$asap_port" -logcolor=off
await_owner "$a_ip" at-rsplib "$rsplib_id"
await_owner "$b_ip" at-rsplib "$rsplib_id"
rspctl "$a_ip" peers
rspctl "$b_ip" dump
# rspd's PU (rspctl resolve) finds lib-pe through RSPLIB's registrar every
# time for 12 s, past its lifetime, and RSPLIB never expires it (with the
# lifetime in seconds it did, 8 ms after each update).
resolved_via_rsplib() {
  in_ns "$RSPCTL" resolve --registrar="$guest_ip:$vm_udp_port/$asap_port" --pool=lib-pe >"$dir/resolve.out" 2>&1 &&
    grep -q "$lib_pe_id" "$dir/resolve.out"
}
await_for 30 "lib-pe resolvable through RSPLIB's registrar" resolved_via_rsplib ||
  fail "lib-pe ($lib_pe_id) not resolvable through RSPLIB: $(cat "$dir/resolve.out")"
resolutions=0
deadline=$((SECONDS + 12))
while [ "$SECONDS" -lt "$deadline" ]; do
  resolved_via_rsplib || fail "lib-pe ($lib_pe_id) gone from RSPLIB's registrar after $resolutions resolutions: $(cat "$dir/resolve.out")"
  resolutions=$((resolutions + 1))
done
if vm_try logged rsplib-pr "Expiry.timeout.expired.for.pool.element..${lib_pe_id#0x}"; then
  fail "RSPLIB's registrar expired lib-pe: its lifetime reached it in the wrong unit"
fi
echo "lib-pe $lib_pe_id resolved through RSPLIB's registrar $resolutions times in 12 s: $(cat "$dir/resolve.out")"
kill -INT "$lib_pe_pid"
wait "$lib_pe_pid" || true
pu pu-at-rspd-via-rsplib at-rspd "$guest_ip"
pu pu-at-rsplib-via-rsplib at-rsplib "$guest_ip"
pu pu-at-rsplib-via-rspd at-rsplib "$a_ip"

echo "== 3. A killed ($(vm_elapsed))"
stop_rspd A KILL
await_rsplib_log "RSPLIB's registrar taking A over" "Takeover.of.target..${a_id#0x}.confirmed"
# B ACKed RSPLIB's INIT_TAKEOVER; RSPLIB's TAKEOVER_SERVER never comes, so
# B probes A and, A silent, hands its PEs to RSPLIB.
AWAIT_SECONDS=60 await "B handing A's PEs to RSPLIB's registrar" \
  grep -q "subsystem=enrp msg=\".*$rsplib_id took over $a_id (its TAKEOVER_SERVER never came)" "$dir/B.out"
await_owner "$b_ip" at-rspd "$rsplib_id"
pu pu-at-rspd-after-kill at-rspd "$guest_ip"

echo "== 4. A restarts as $a2_id with RSPLIB's registrar its only static peer ($(vm_elapsed))"
start_rspd A2 "$a2_id" "$a_ip" "$last_heard_ms" "$guest_ip"
await "A2 downloaded from RSPLIB's registrar" grep -q "download from mentor $rsplib_id: " "$dir/A2.out"
await_owner "$a_ip" at-rspd "$rsplib_id"
await_owner "$a_ip" at-rsplib "$rsplib_id"
rspctl "$a_ip" dump

echo "== 5. RSPLIB's registrar killed ($(vm_elapsed))"
vm_do kill rsplib-pr KILL
for at in "$a_ip" "$b_ip"; do
  await_owner "$at" at-rspd "$a2_id"
  await_owner "$at" at-rsplib "$a2_id"
done
rspctl "$b_ip" dump
pu pu-at-rspd-after-takeover at-rspd "$a_ip"
pu pu-at-rsplib-after-takeover at-rsplib "$a_ip"
stop_rspd A2 INT
grep 'subsystem=enrp' "$dir/A2.out"
# Each PE re-homed: it answered A2's H-bit keep-alive, or its association
# with RSPLIB's registrar ended with it and its server hunt found A2 first;
# either way it is in a session with A2.
sessions=$(rspd_stat asap_sessions "$dir/A2.out")
echo "A2: asap_sessions=$sessions adoption_keep_alives_sent=$(rspd_stat adoption_keep_alives_sent "$dir/A2.out")" \
  "adoption_acks=$(rspd_stat adoption_acks "$dir/A2.out") reregistrations=$(rspd_stat reregistrations "$dir/A2.out")"
[ "$sessions" -ge 2 ] || fail "A2 has $sessions ASAP sessions, want 2 (both PEs re-homed)"
vm_poweroff
echo "PASS ($(vm_elapsed), $vm_accel)"
