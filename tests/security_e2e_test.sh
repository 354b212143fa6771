#!/usr/bin/env bash
# Security (RFC 5352 §9, RFC 5353 §6, RFC 5355) across rspd processes on
# loopback: one check per threat of docs/security.md, with keys and
# certificates made by tools/tls_setup.sh as an operator would.
#
#   1. Two secure registrars (certificates, a CRL, a policy file) peer over
#      ENRP/TLS; a PE registers over ASAP/TLS at one and is resolvable at
#      both, over TLS and in plaintext (RFC 5355 §2.15). An operator's tool
#      dumps the handlespace over ENRP/TLS with a monitoring identity only.
#   2. Rogue registrations get cause 0xa: plaintext, anonymous TLS, and an
#      identity the policy does not allow in the pool (§2.1-§2.4).
#   3. Expired, revoked and foreign-CA PE certificates fail the handshake;
#      nothing is registered.
#   4. A PU refuses a registrar its CA did not sign, and one with another
#      name; plaintext to a secure port is refused (§2.5, §2.8).
#   5. Eavesdropping (checked right after 1): a pool handle sent over TLS is
#      nowhere in a capture of loopback, one sent in plaintext is (§2.7);
#      Wireshark flags nothing.
#   6. Unreachable reports count only from identities the policy allows
#      (§2.13).
#   7. SIGHUP reloads the policy; a broken policy file leaves the old one.
#   8. A forged registrar (another CA) cannot peer or download (§2.5), nor
#      can a plaintext one (§2.15), nor a good identity under another's server
#      ID or a second ID of its own.
#   9. A registrar allowed to peer but not to take over cannot hijack a
#      takeover: the one allowed wins, and the PE answers its H-bit keep-alive
#      over TLS (§2.6).
#  10. PSK mode: registrars and a PE with pre-shared keys; an unknown
#      identity is refused.
#  11. Associations to a secure port that never start a handshake are
#      aborted (they would hold memory and association slots).
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
TLS_SETUP="$3"
RSPD_LOAD="$4"
source tests/test_lib.sh

pki="$dir/pki"
other="$dir/other-ca"
"$TLS_SETUP" ca "$pki" >/dev/null
for name in pr1.example pr2.example pr3.example pe-echo pe-db pu.example pe-revoked ops.example; do
  "$TLS_SETUP" cert "$pki" "$name" >/dev/null
done
"$TLS_SETUP" expired "$pki" pe-expired >/dev/null
"$TLS_SETUP" revoke "$pki" pe-revoked >/dev/null
"$TLS_SETUP" ca "$other" >/dev/null
"$TLS_SETUP" cert "$other" pr1.example >/dev/null  # a forger's registrar
"$TLS_SETUP" cert "$other" pe-echo >/dev/null

policy="$dir/policy"
write_policy() {
  cat >"$policy" <<EOF
# who may do what (docs/security.md)
register echo* pe-echo
register db pe-db
peer pr1.example pr2.example pr3.example
takeover pr1.example pr2.example
report pu.example
monitor ops.example
EOF
}
write_policy

timers=(--peer_heartbeat_cycle=500ms --max_time_last_heard=1500ms --max_time_no_response=1s
  --takeover_expiry=2s --mentor_discovery_timeout=2s --keep_alive_interval=1s
  --keep_alive_timeout=1s)
# registrar NAME ID CERT-DIR CERT ASAP_PORT [flags...]: a secure rspd.
registrar() {
  local name="$1" id="$2" certs="$3" cert="$4" asap="$5"
  shift 5
  start_rspd "$name" --server_id="$id" --asap_port="$asap" --asap_tls_port=$((asap + 10)) \
    --tls_certificate="$certs/$cert.pem" --tls_private_key="$certs/$cert.key" \
    --tls_ca_file="$certs/ca.pem" --tls_crl_file="$certs/crl.pem" --tls_policy_file="$policy" \
    "${timers[@]}" "$@"
}
# client flags: over TLS as IDENTITY (a name in $pki), or anonymous ("").
as() {
  echo "--tls_ca_file=$pki/ca.pem"
  [ -z "$1" ] || echo "--tls_certificate=${2:-$pki}/$1.pem --tls_private_key=${2:-$pki}/$1.key"
}
stat_is() { [ "$(live_stat "$1" "$2")" = "$3" ]; }
stat_at_least() { [ "$(live_stat "$1" "$2")" -ge "$3" ]; }
enrp_ready() { [ "$(live_stat enrp_ready "$1")" = 1 ]; }

# --- 1. secure registrars peer; a PE over TLS is resolvable everywhere ---------
tshark -n -i lo -f "udp" -w "$dir/secure.pcapng" >"$dir/tshark.log" 2>&1 &
tshark_pid=$!
pids+=("$tshark_pid")
await "tshark capturing" grep -q "Capturing on" "$dir/tshark.log"

registrar ra 1 "$pki" pr1.example 3871
registrar rb 3 "$pki" pr2.example 3872 --enrp_peers="127.0.0.1:$ra_port"
grep -q "ASAP over TLS" "$dir/ra.out" || fail "ra does not say it serves ASAP over TLS: $(cat "$dir/ra.out")"
await "ra and rb peer over TLS" stat_is enrp_peers ra 1
await "rb ready" enrp_ready rb
ra_tls="127.0.0.1:$ra_port/3881"
rb_tls="127.0.0.1:$rb_port/3882"
# shellcheck disable=SC2046
"$RSPCTL" register --registrar="$ra_tls" --pool=echo-secret-handle --pe_id=100 --lifetime=30 \
  $(as pe-echo) >"$dir/pe.out" 2>&1 &
pids+=("$!")
await "the PE registered over TLS" grep -q "^registered pe_id=0x00000064" "$dir/pe.out"
resolves() {  # resolves REGISTRAR POOL [client flags...]
  local registrar="$1" pool="$2"
  shift 2
  local out
  out=$("$RSPCTL" resolve --registrar="$registrar" --pool="$pool" "$@" 2>&1) || return 1
  grep -q '^pe_id=0x00000064 home=0x00000001' <<<"$out"
}
# shellcheck disable=SC2046
await "rb resolves the PE over TLS" resolves "$rb_tls" echo-secret-handle $(as "")
[ "$(live_stat tls_failures ra)" = 0 ] || fail "TLS failures between good peers"

# --- 5 (first, while only TLS carried the handle). eavesdropping -----------------
"$RSPCTL" resolve --registrar="127.0.0.1:$ra_port/3871" --pool=echo-plain-handle >/dev/null 2>&1 || true
# Written in order: once the capture file has this, it has all before it.
await "the capture has the plaintext resolution" grep -qa "echo-plain-handle" "$dir/secure.pcapng"
kill -INT "$tshark_pid" 2>/dev/null || fail "tshark stopped capturing early: $(cat "$dir/tshark.log")"
wait "$tshark_pid" || true
! grep -qa "echo-secret-handle" "$dir/secure.pcapng" || fail "a pool handle sent over TLS is readable on the wire"
bad=$(tshark -n -r "$dir/secure.pcapng" -d "udp.port==$ra_port,sctp" -d "udp.port==$rb_port,sctp" \
  -o sctp.checksum:CRC-32C -Y "(udp.port == $ra_port || udp.port == $rb_port) && (_ws.malformed || _ws.expert.severity == error)" \
  -T fields -e frame.number 2>/dev/null | head -5)
[ -z "$bad" ] || fail "Wireshark flags frames: $bad"

# A PU without TLS resolves too (RFC 5355 §2.15).
resolves "127.0.0.1:$rb_port/3872" echo-secret-handle || fail "a plaintext PU cannot resolve at rb"
# An operator's tool reads the handlespace over ENRP/TLS with a monitoring
# identity; with another identity, or in plaintext, it gets nothing.
# shellcheck disable=SC2046
out=$("$RSPCTL" dump --registrar="127.0.0.1:$rb_port" $(as ops.example) 2>&1) || fail "rspctl dump over TLS: $out"
grep -q '^pool=echo-secret-handle pe_id=0x00000064 home=0x00000001 ' <<<"$out" || fail "the dump lacks the PE: $out"
# shellcheck disable=SC2046
out=$("$RSPCTL" dump --registrar="127.0.0.1:$rb_port" $(as pe-echo) 2>&1) && fail "a PE identity dumped: $out"
[ "$(live_stat enrp_refused_unauthorized rb)" = 1 ] || fail "the PE identity's dump was not counted"
out=$("$RSPCTL" dump --registrar="127.0.0.1:$rb_port" 2>&1) && fail "a plaintext dump was answered: $out"

# --- 2. rogue registrations get cause 0xa ---------------------------------------
# rogue_register NAME REGISTRAR POOL ID [client flags...]: refused with 0xa.
rogue_register() {
  local name="$1" registrar="$2" pool="$3" id="$4"
  shift 4
  timeout 20 "$RSPCTL" register --registrar="$registrar" --pool="$pool" --pe_id="$id" "$@" \
    >"$dir/$name.out" 2>&1 || true
  grep -q "registration rejected: Rejected due to security considerations (cause 10)" \
    "$dir/$name.out" || fail "$name was not refused with cause 0xa: $(cat "$dir/$name.out")"
}
rogue_register plaintext "127.0.0.1:$ra_port/3871" echo-x 201
# shellcheck disable=SC2046
rogue_register anonymous "$ra_tls" echo-x 202 $(as "")
# shellcheck disable=SC2046
rogue_register wrong-pool "$ra_tls" db 203 $(as pe-echo)
[ "$(live_stat registrations_refused_insecure ra)" = 1 ] || fail "plaintext refusal not counted"
[ "$(live_stat registrations_refused_unauthorized ra)" = 2 ] || fail "unauthorized refusals not counted"
for pool in echo-x db; do
  out=$("$RSPCTL" resolve --registrar="127.0.0.1:$ra_port/3871" --pool="$pool" 2>&1) || true
  grep -q "unknown pool handle" <<<"$out" || fail "a rogue PE got into pool $pool: $out"
done
# The right identity in its own pool is fine.
# shellcheck disable=SC2046
"$RSPCTL" register --registrar="$ra_tls" --pool=db --pe_id=204 --lifetime=30 \
  $(as pe-db) >"$dir/pe-db.out" 2>&1 &
pids+=("$!")
await "pe-db registered in db" grep -q "^registered pe_id=0x000000cc" "$dir/pe-db.out"

# --- 3. expired, revoked and foreign certificates fail the handshake -------------
failures=$(live_stat tls_failures ra)
# shellcheck disable=SC2046
for who in "pe-expired $pki" "pe-revoked $pki" "pe-echo $other"; do
  read -r name certs <<<"$who"
  "$RSPCTL" register --registrar="$ra_tls" --pool=echo-bad --pe_id=300 $(as "$name" "$certs") \
    >"$dir/bad-$name-$(basename "$certs").out" 2>&1 &
  pids+=("$!")
done
await "three handshakes refused" stat_at_least tls_failures ra $((failures + 3))
out=$("$RSPCTL" resolve --registrar="127.0.0.1:$ra_port/3871" --pool=echo-bad 2>&1) || true
grep -q "unknown pool handle" <<<"$out" || fail "a PE with a bad certificate registered: $out"
! grep -q "^registered" "$dir"/bad-*.out || fail "a bad certificate registered: $(cat "$dir"/bad-*.out)"

# --- 4. PUs refuse untrusted registrars; plaintext on a secure port is refused ---
out=$("$RSPCTL" resolve --registrar="$ra_tls" --pool=echo-secret-handle --tls_ca_file="$other/ca.pem" 2>&1) &&
  fail "a PU trusted a registrar another CA signed: $out"
grep -q "certificate verify failed" <<<"$out" || fail "no certificate error: $out"
out=$("$RSPCTL" resolve --registrar="$ra_tls" --pool=echo-secret-handle $(as "") \
  --tls_server_name=pr9.example 2>&1) && fail "a PU took a registrar with another name: $out"
grep -q "hostname mismatch" <<<"$out" || fail "no name error: $out"
failures=$(live_stat tls_failures ra)
out=$("$RSPCTL" resolve --registrar="$ra_tls" --pool=echo-secret-handle 2>&1) &&
  fail "plaintext on the secure port was answered: $out"
await "plaintext on the secure port counted" stat_at_least tls_failures ra $((failures + 1))

# --- 6. unreachable reports: only from identities the policy allows ---------------
# shellcheck disable=SC2046
"$RSPCTL" unreachable --registrar="$ra_tls" --pool=echo-secret-handle --unreachable_pe_id=100 \
  $(as pe-echo) >/dev/null 2>&1 || true
"$RSPCTL" unreachable --registrar="127.0.0.1:$ra_port/3871" --pool=echo-secret-handle \
  --unreachable_pe_id=100 >/dev/null 2>&1 || true
await "two reports ignored" stat_is unreachable_reports_unauthorized ra 2
[ "$(live_stat unreachable_reports ra)" = 0 ] || fail "an unauthorized report counted"
# shellcheck disable=SC2046
"$RSPCTL" unreachable --registrar="$ra_tls" --pool=echo-secret-handle --unreachable_pe_id=100 \
  $(as pu.example) >/dev/null 2>&1 || true
await "the PU's report counts" stat_is unreachable_reports ra 1

# --- 7. SIGHUP reloads the policy --------------------------------------------------
# Narrowed: echo* becomes the one pool the PE is in (its re-registrations
# still pass).
sed -i 's/^register echo\* pe-echo$/register echo-secret-handle pe-echo/' "$policy"
grep -q "^register echo-secret-handle pe-echo$" "$policy" || fail "the policy edit did not apply"
kill -HUP "$ra_pid"
await "policy reloaded" stat_is policy_reloads ra 1
# shellcheck disable=SC2046
rogue_register after-reload "$ra_tls" echo-new 205 $(as pe-echo)
echo "register echo* pe-echo" >"$policy"
echo "nonsense rule" >>"$policy"
kill -HUP "$ra_pid"
await "broken policy refused" stat_is policy_reload_failures ra 1
grep -q 'policy reload refused, the old policy stays" reason=".*policy:2: unknown rule \\"nonsense\\"' "$dir/ra.out" ||
  fail "the refusal does not name the line: $(grep policy "$dir/ra.out")"
# shellcheck disable=SC2046
rogue_register still-old "$ra_tls" echo-new 206 $(as pe-echo)
write_policy
kill -HUP "$ra_pid"
await "policy restored" stat_is policy_reloads ra 2
resolves "$rb_tls" echo-secret-handle $(as "") || fail "the PE was lost across reloads"

# --- 8. a forged registrar cannot peer --------------------------------------------
failures=$(live_stat tls_failures ra)
registrar rf 9 "$other" pr1.example 3879 --enrp_peers="127.0.0.1:$ra_port"
await "ra refuses the forger's handshake" stat_at_least tls_failures ra $((failures + 1))
await "the forger gets no mentor" grep -q "no mentor answered" "$dir/rf.out"
[ "$(live_stat enrp_peers ra)" = 1 ] || fail "ra took the forger as a peer"
out=$("$RSPCTL" resolve --registrar="127.0.0.1:$rf_port/3879" --pool=echo-secret-handle 2>&1) || true
grep -q "unknown pool handle" <<<"$out" || fail "the forger downloaded the handlespace: $out"
kill -KILL "$rf_pid"
# Nor can a plaintext one: a secure registrar has no plaintext ENRP port
# (RFC 5355 §2.15).
start_rspd rp --server_id=8 --asap_port=3878 --enrp_peers="127.0.0.1:$ra_port" "${timers[@]}"
await "the plaintext registrar gets no mentor" grep -q "no mentor answered" "$dir/rp.out"
[ "$(live_stat enrp_peers ra)" = 1 ] || fail "ra took a plaintext registrar as a peer"
kill -KILL "$rp_pid"

# --- 8b. a server ID belongs to one identity -----------------------------------
# pr3.example claiming rb's ID 3 at ra, and ra's own identity under a second
# ID at rb while ra runs: both refused (RFC 5355 §2.5).
refused=$(live_stat enrp_refused_server_id ra)
registrar ri 3 "$pki" pr3.example 3876 --enrp_peers="127.0.0.1:$ra_port"
await "ra refuses pr3.example as server 3" stat_at_least enrp_refused_server_id ra $((refused + 1))
kill -KILL "$ri_pid"
refused=$(live_stat enrp_refused_server_id rb)
registrar rd 7 "$pki" pr1.example 3877 --enrp_peers="127.0.0.1:$rb_port"
await "rb refuses a second server of pr1.example" stat_at_least enrp_refused_server_id rb $((refused + 1))
kill -KILL "$rd_pid"
[ "$(live_stat enrp_peers ra)" = 1 ] && [ "$(live_stat enrp_peers rb)" = 1 ] ||
  fail "an impersonator became a peer"

# --- 9. only an allowed registrar takes over ---------------------------------------
# rc (ID 2) may peer but not take over; rb (ID 3) may. rc notices ra stop
# first and starts a takeover: rb drops its INIT_TAKEOVER, so rc's ends
# without every ACK, which a secure registrar takes for a refusal. rb's
# own takeover then gets rc's ACK (rc yields to the higher ID) and wins.
# rc notices a silent peer within 0.9 s, rb within 2.5 s, and both well
# before the PE's association to the stopped ra fails (about 5 s: the client
# library gives up after 4 retransmissions, RTO at most 1 s).
registrar rc 2 "$pki" pr3.example 3873 --enrp_peers="127.0.0.1:$ra_port,127.0.0.1:$rb_port" \
  --peer_heartbeat_cycle=200ms --max_time_last_heard=600ms --max_time_no_response=300ms \
  --enrp_multicast_group=239.0.0.51
# A secure registrar hears no plaintext multicast PRESENCE (RFC 5355 §2.15).
grep -q "enrp multicast off: plaintext, and this registrar is secure" "$dir/rc.out" ||
  fail "rc listens to plaintext ENRP multicast: $(grep multicast "$dir/rc.out")"
await "rc peers with both" stat_is enrp_peers rc 2
await "ra knows rc" stat_is enrp_peers ra 2
refused=$(live_stat enrp_refused_unauthorized rb)
kill -STOP "$ra_pid"
await "rb wins the takeover" stat_is takeovers_won rb 1
[ "$(live_stat takeovers_won rc)" = 0 ] || fail "rc took ra over without the right to"
[ "$(live_stat takeovers_aborted rc)" -ge 1 ] || fail "rc's refused takeover did not end"
[ "$(live_stat enrp_refused_unauthorized rb)" -gt "$refused" ] || fail "rb did not refuse rc's takeover"
await "the PE follows rb's H bit over TLS" grep -q "^home registrar now 0x00000003" "$dir/pe.out"
await "the PE answers rb's keep-alives" stat_at_least adoption_acks rb 1
out=$("$RSPCTL" resolve --registrar="$rb_tls" --pool=echo-secret-handle $(as "") 2>&1) || true
grep -q '^pe_id=0x00000064 home=0x00000003' <<<"$out" || fail "rb does not own the PE: $out"
kill -KILL "$ra_pid"

# --- 10. PSK mode ---------------------------------------------------------------
psk="$dir/psk.txt"
"$TLS_SETUP" psk "$psk" pr-a pr-b pe-p >/dev/null
"$TLS_SETUP" psk "$dir/psk-rogue.txt" pe-p >/dev/null  # the same identity, another key
start_rspd pa --server_id=11 --asap_port=3874 --asap_tls_port=3884 --tls_psk_file="$psk" \
  --tls_psk_identity=pr-a "${timers[@]}"
start_rspd pb --server_id=12 --asap_port=3875 --asap_tls_port=3885 --tls_psk_file="$psk" \
  --tls_psk_identity=pr-b --enrp_peers="127.0.0.1:$pa_port" "${timers[@]}"
await "PSK registrars peer" stat_is enrp_peers pa 1
"$RSPCTL" register --registrar="127.0.0.1:$pa_port/3884" --pool=psk-pool --pe_id=400 --lifetime=30 \
  --tls_psk_file="$psk" --tls_psk_identity=pe-p >"$dir/pe-psk.out" 2>&1 &
pids+=("$!")
await "the PSK PE registered" grep -q "^registered pe_id=0x00000190" "$dir/pe-psk.out"
psk_resolves() {
  local out
  out=$("$RSPCTL" resolve --registrar="127.0.0.1:$pb_port/3885" --pool=psk-pool \
    --tls_psk_file="$psk" --tls_psk_identity=pe-p 2>&1) || return 1
  grep -q '^pe_id=0x00000190 home=0x0000000b' <<<"$out"
}
await "pb resolves it over TLS with a PSK" psk_resolves
failures=$(live_stat tls_failures pa)
out=$("$RSPCTL" resolve --registrar="127.0.0.1:$pa_port/3884" --pool=psk-pool \
  --tls_psk_file="$dir/psk-rogue.txt" --tls_psk_identity=pe-p 2>&1) && fail "a wrong key was taken: $out"
await "the wrong key counted" stat_at_least tls_failures pa $((failures + 1))

# --- 11. a handshake that never starts -----------------------------------------
"$RSPD_LOAD" --target="127.0.0.1:$rb_port/3882" --mode=echo --one_to_many --in_flight=0 \
  --associations=2 --warmup_seconds=0 --seconds=60 >"$dir/idle.out" 2>&1 &
pids+=("$!")
AWAIT_SECONDS=40 await "rb aborts associations without a handshake" \
  stat_at_least tls_handshake_timeouts rb 2
echo PASS
