#!/usr/bin/env bash
# ENRP (RFC 5353) across rspd processes on loopback: registrars that share
# one handlespace and take over each other's PEs.
#
#   1. Three registrars with static peer lists form one operation scope. PEs
#      registered at any of them (several pools and policies, PEs with several
#      addresses) are resolvable at every one within 5 s, and full dumps
#      (`rspctl dump`) agree.
#   2. A registrar that joins late downloads everything from its mentor
#      (RFC 5353 §3.2.2): its dump equals the others'.
#   3. A registrar that stops answering (SIGSTOP: its PEs cannot tell) is
#      taken over by exactly one survivor (§3.5); its PEs follow the H bit of
#      the new home's keep-alive (RFC 5352 §3.4 KA2.4), none is lost, PUs
#      keep resolving; dumps agree.
#   4. kill -9 of a registrar: its PEs (client library) hunt for another
#      registrar and re-register there, or are taken over; either way one
#      owner per PE, everywhere, and none lost.
#   5. A registrar restarted with the same server ID rejoins and converges,
#      and one restarted on another UDP port is reached there.
#
# Registrars share 127.0.0.1 and differ in UDP and ASAP ports (SCTP tells
# associations apart by address and SCTP port only).
#
# With the arguments `tls TLS_SETUP` all of it runs secure (docs/security.md):
# ENRP over TLS, PEs and tools over ASAP/ENRP TLS, each registrar with a
# certificate of its own from tools/tls_setup.sh.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
MODE="${3:-plaintext}"
source tests/test_lib.sh

tls_of() { :; }  # tls_of N: the TLS flags of registrar N (none in plaintext)
client_port_of() { echo $((3860 + $1)); }  # the ASAP port clients use
if [ "$MODE" = tls ]; then
  pki="$dir/pki"
  "$4" ca "$pki" >/dev/null
  for n in 1 2 3 4 client; do "$4" cert "$pki" "$n.example" >/dev/null; done
  tls_of() {
    echo "--asap_tls_port=$((3870 + $1)) --tls_certificate=$pki/$1.example.pem" \
      "--tls_private_key=$pki/$1.example.key --tls_ca_file=$pki/ca.pem"
  }
  client_port_of() { echo $((3870 + $1)); }
  # Every rspctl call over TLS, as client.example (no policy file: every
  # authenticated identity may register, report and dump).
  printf '#!/bin/sh\nexec "%s" "$@" --tls_ca_file=%s --tls_certificate=%s --tls_private_key=%s\n' \
    "$(readlink -f "$RSPCTL")" "$pki/ca.pem" "$pki/client.example.pem" "$pki/client.example.key" >"$dir/rspctl"
  chmod +x "$dir/rspctl"
  RSPCTL="$dir/rspctl"
fi

base=$((20000 + RANDOM % 30000))
# Short ENRP timers (RFC 5353 §4 defaults are 30 s / 61 s / 5 s).
timers=(--peer_heartbeat_cycle=500ms --max_time_last_heard=1500ms --max_time_no_response=1s
  --takeover_expiry=2s --mentor_discovery_timeout=2s --keep_alive_interval=1s
  --keep_alive_timeout=1s)

udp_of() { echo $((base + $1)); }
asap_of() { echo $((3860 + $1)); }
addr_of() { echo "127.0.0.1:$(udp_of "$1")/$(client_port_of "$1")"; }

# start_registrar N PEER...: registrar rN with server ID N.
start_registrar() {
  local n="$1" peers=""
  shift
  for p in "$@"; do peers+="${peers:+,}127.0.0.1:$(udp_of "$p")"; done
  # Odd IDs run ENRP on a thread of its own, even ones inline: both ways
  # meet in every phase.
  "$RSPD" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --server_id="$n" --udp_port="$(udp_of "$n")" \
    --asap_port="$(asap_of "$n")" --enrp_peers="$peers" --enrp_thread=$([ $((n % 2)) = 1 ] && echo on || echo off) \
    "${timers[@]}" $(tls_of "$n") >>"$dir/r$n.out" 2>&1 &
  pids+=("$!")
  printf -v "r${n}_pid" '%s' "$!"
  await "r$n ready" grep -q '^ready' "$dir/r$n.out"
}
enrp_ready() { [ "$(live_stat enrp_ready "r$1")" = 1 ]; }
dump() { "$RSPCTL" dump --registrar="127.0.0.1:$(udp_of "$1")"; }
dumps_agree() {
  local first
  first=$(dump "$1") || return 1
  [ "$(echo "$first" | grep -c '^pool=')" = "$expected" ] || return 1
  shift
  for n in "$@"; do [ "$(dump "$n")" = "$first" ] || return 1; done
}
# resolvable N POOL: registrar N resolves POOL to at least one PE.
resolvable() { "$RSPCTL" resolve --registrar="$(addr_of "$1")" --pool="$2" | grep -q '^pe_id='; }
owners_of() { dump "$1" | grep "^pool=$2 " | sed -n 's/.* home=\(0x[0-9a-f]*\) .*/\1/p' | sort -u; }
stat_at_least() { [ "$(live_stat "$1" "$2")" -ge "$3" ]; }
sum_stat() {
  local name="$1" total=0
  shift
  for n in "$@"; do total=$((total + $(live_stat "$name" "r$n"))); done
  echo "$total"
}

start_registrar 1 2 3
start_registrar 2 1 3
start_registrar 3 1 2
for n in 1 2 3; do await "r$n ENRP ready" enrp_ready "$n"; done

# --- 1. PEs registered anywhere are resolvable everywhere ---------------------
"$RSPCTL" register --registrar="$(addr_of 1),$(addr_of 2),$(addr_of 3)" --pool=rr --count=10 \
  --pe_id=100 --lifetime=30 >"$dir/pe_rr.out" 2>&1 &
pids+=("$!")
pe_rr=$!
"$RSPCTL" register --registrar="$(addr_of 2),$(addr_of 1),$(addr_of 3)" --pool=wrr --policy=wrr \
  --weight=3 --value_step=1 --count=5 --pe_id=200 --address=127.0.0.1,10.0.0.2,10.0.0.3 \
  --lifetime=30 >"$dir/pe_wrr.out" 2>&1 &
pids+=("$!")
pe_wrr=$!
"$RSPCTL" register --registrar="$(addr_of 3),$(addr_of 1),$(addr_of 2)" --pool=lu --policy=lu \
  --count=5 --pe_id=300 --lifetime=30 >"$dir/pe_lu.out" 2>&1 &
pids+=("$!")
expected=20
await "PEs registered" bash -c "[ \$(grep -c '^registered' '$dir/pe_rr.out') = 10 ] &&
  [ \$(grep -c '^registered' '$dir/pe_wrr.out') = 5 ] && [ \$(grep -c '^registered' '$dir/pe_lu.out') = 5 ]"
# The bound: every registrar has every PE within 5 s (one HANDLE_UPDATE each).
await_within 5 "all 20 PEs in every registrar's dump" dumps_agree 1 2 3
for n in 1 2 3; do
  for pool in rr wrr lu; do resolvable "$n" "$pool" || fail "r$n cannot resolve $pool"; done
done
dump 1 | grep -q '^pool=wrr pe_id=0x000000c8 home=0x0000000[123] sctp:127.0.0.1:7,10.0.0.2:7,10.0.0.3:7 policy="Weighted Round Robin"\[3\]' \
  || fail "the multi-address WRR PE differs: $(dump 1 | grep 'pool=wrr' | head -1)"
for pool in rr wrr lu; do
  [ "$(owners_of 3 "$pool" | wc -l)" = 1 ] || fail "$pool PEs have several owners: $(owners_of 3 "$pool")"
done
# The peer table as an operator sees it: both peers active, each heard
# within MAX-TIME-LAST-HEARD (1.5 s), owning the PEs the dump gives them.
peers_of_1=$("$RSPCTL" peers --registrar="127.0.0.1:$(udp_of 1)")
echo "$peers_of_1"
for n in 2 3; do
  line=$(grep "^peer  *$(printf 0x%08x "$n") " <<<"$peers_of_1") || fail "r1 does not list r$n"
  [[ "$line" =~ state=active\ owned=([0-9]+)\ .*\ last_heard=([0-9]+)\.([0-9])s$ ]] ||
    fail "r1 does not list r$n active and heard: $line"
  [ "${BASH_REMATCH[1]}" = "$(dump 1 | grep -c " home=$(printf 0x%08x "$n") ")" ] ||
    fail "r1 lists r$n with ${BASH_REMATCH[1]} PEs, its dump otherwise"
  [ $((BASH_REMATCH[2] * 1000 + BASH_REMATCH[3] * 100)) -le 1500 ] || fail "r$n last heard too long ago: $line"
done

# --- 2. a registrar that joins late downloads everything ----------------------
start_registrar 4 1
await "r4 ENRP ready" enrp_ready 4
await_within 5 "r4's dump equals the others'" dumps_agree 1 2 3 4
[ "$(live_stat downloads_completed r4)" -ge 1 ] || fail "r4 did not download"

alive=(1 2 3 4)
without() { local out=() x; for x in "${alive[@]}"; do [ "$x" = "$1" ] || out+=("$x"); done; alive=("${out[@]}"); }

# --- 3. a registrar that stops answering is taken over -------------------------
x=$(($(owners_of 1 wrr)))  # the home of the wrr PEs (the first to answer their hunt)
without "$x"
won_before=$(sum_stat takeovers_won "${alive[@]}")
pid_var="r${x}_pid"
kill -STOP "${!pid_var}"
# Detection: MAX-TIME-LAST-HEARD + MAX-TIME-NO-RESPONSE (2.5 s), then the
# arbitration; every wrr PE then has one owner among the survivors.
await "wrr PEs re-homed" bash -c "[ \"\$('$RSPCTL' dump --registrar=127.0.0.1:$(udp_of "${alive[0]}") | grep -c '^pool=wrr .* home=$(printf 0x%08x "$x") ')\" = 0 ]"
await_within 10 "survivors' dumps agree" dumps_agree "${alive[@]}"
new_home=$(owners_of "${alive[0]}" wrr)
[ "$(echo "$new_home" | wc -l)" = 1 ] || fail "wrr PEs have several owners: $new_home"
[ "$(sum_stat takeovers_won "${alive[@]}")" = $((won_before + 1)) ] || fail "not exactly one takeover won"
# The PE process took the new home from its H-bit keep-alive.
await "wrr PE follows the H bit" grep -q "^home registrar now $new_home" "$dir/pe_wrr.out"
for n in "${alive[@]}"; do resolvable "$n" wrr || fail "r$n cannot resolve wrr after the takeover"; done
taker=$((new_home))
await "the wrr PEs answer the new home's H-bit keep-alives" stat_at_least adoption_acks "r$taker" 5
kill -KILL "${!pid_var}"

# --- 4. kill -9 of a registrar (the wrr PEs' new home) ---------------------------
y=$taker
without "$y"
won_before=$(sum_stat takeovers_won "${alive[@]}")
pid_var="r${y}_pid"
kill -KILL "${!pid_var}"
await "PEs of r$y re-homed" bash -c "! '$RSPCTL' dump --registrar=127.0.0.1:$(udp_of "${alive[0]}") | grep -q 'home=$(printf 0x%08x "$y") '"
await_within 15 "survivors' dumps agree" dumps_agree "${alive[@]}"
for n in "${alive[@]}"; do
  for pool in rr wrr lu; do resolvable "$n" "$pool" || fail "r$n cannot resolve $pool after kill -9 of r$y"; done
done
[ "$(sum_stat takeovers_won "${alive[@]}")" -le $((won_before + 1)) ] || fail "r$y was taken over twice"

# --- 5. a registrar restarted with the same ID rejoins ---------------------------
mv "$dir/r$y.out" "$dir/r$y.killed.out"
start_registrar "$y" "${alive[@]}"
alive+=("$y")
await "r$y ENRP ready again" enrp_ready "$y"
await_within 10 "the restarted r$y converges" dumps_agree "${alive[@]}"
for pool in rr wrr lu; do resolvable "$y" "$pool" || fail "restarted r$y cannot resolve $pool"; done
# --- 6. ... and one restarted on another UDP port is reached there -------------
pid_var="r${y}_pid"
kill -KILL "${!pid_var}"
peers=""
for p in "${alive[@]}"; do [ "$p" = "$y" ] || peers+="${peers:+,}127.0.0.1:$(udp_of "$p")"; done
moved=$((base + 50 + y))
"$RSPD" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --server_id="$y" \
  --udp_port="$moved" --asap_port="$(asap_of "$y")" --enrp_peers="$peers" "${timers[@]}" \
  $(tls_of "$y") >"$dir/r$y.moved.out" 2>&1 &
pids+=("$!")
await "r$y ready on its new port" grep -q 'subsystem=enrp msg=".*download from mentor' "$dir/r$y.moved.out"
"$RSPCTL" register --registrar="127.0.0.1:$moved/$(client_port_of "$y")" --pool=moved --count=2 --pe_id=900 \
  --lifetime=30 >"$dir/pe_moved.out" 2>&1 &
pids+=("$!")
await "PEs at the moved registrar" bash -c "[ \$(grep -c '^registered' '$dir/pe_moved.out') = 2 ]"
others=()
for p in "${alive[@]}"; do [ "$p" = "$y" ] || others+=("$p"); done
for n in "${others[@]}"; do
  await "r$n learns the PEs of the moved r$y" resolvable "$n" moved
done
echo PASS
