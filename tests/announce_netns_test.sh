#!/usr/bin/env bash
# Server announces (RFC 5352 §3.6) inside a network namespace the test makes:
# a registrar multicasts ASAP_SERVER_ANNOUNCEs, a PE configured with no
# registrar at all learns it from them and registers, and a second registrar
# hears the first one's announces. Once over IPv4 (224.0.1.185) and once over
# IPv6 (ff05::133, RFC 5352 §8.4 FF0X::133 at site scope) with registrars
# bound to ::1. Then over IPv4 with TLS: announces are plaintext (RFC 5355
# §2.12), so a PE that runs secure calls an announced registrar over TLS,
# where it must prove itself; one that cannot gets nothing. The namespace
# has only lo: no packet leaves it.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
TLS_SETUP="$(realpath "$3")"
source tests/test_lib.sh
if [ ! -e /proc/self/ns/net ]; then
  echo "SKIP: this kernel has no network namespaces"
  exit 0
fi
ns="rspd-announce-$$"
ip netns add "$ns" || fail "cannot create a network namespace (needs root)"
trap 'kill_spawned; ip netns del "$ns" 2>/dev/null || true' EXIT
ip -n "$ns" link set lo up
ip -n "$ns" link set lo multicast on
ip -n "$ns" route add 224.0.0.0/4 dev lo
in_ns() { ip netns exec "$ns" "$@"; }  # foreground only: `in_ns ... &` would give the subshell's PID

ip netns exec "$ns" "$RSPD" --bind_address=127.0.0.1 --server_id=0xa1 --server_announce_cycle=200ms \
  >"$dir/a.out" 2>&1 &
pids+=("$!")
rspd_a=$!
await "registrar a ready" grep -q '^ready' "$dir/a.out"
grep -q '^  announces to 224.0.1.185:3863 every 200ms' "$dir/a.out" || fail "$(cat "$dir/a.out")"

ip netns exec "$ns" "$RSPD" --bind_address=127.0.0.1 --udp_port=9898 --asap_port=3865 \
  --server_id=0xb2 --server_announce_cycle=200ms >"$dir/b.out" 2>&1 &
pids+=("$!")
rspd_b=$!
await "registrar b ready" grep -q '^ready' "$dir/b.out"

# No registrar configured: only what the announces tell.
ip netns exec "$ns" "$RSPCTL" register --registrar= --announce_group=224.0.1.185:3863 --server_hunt_timeout=1s \
  --pool=heard --pe_id=0x77 --port=7077 --lifetime=-1 >"$dir/pe.out" 2>"$dir/pe.err" &
pids+=("$!")
await "PE registered via an announced registrar" grep -q '^registered pe_id=0x00000077 pool=heard' "$dir/pe.out"
home=$(in_ns "$RSPCTL" resolve --registrar=127.0.0.1:9899 --pool=heard 2>/dev/null |
  sed -n 's/.*home=\(0x[0-9a-f]*\).*/\1/p')
[ "$home" = "0x000000a1" ] || fail "PE not at registrar a: home=$home, $(cat "$dir/pe.out" "$dir/pe.err")"

# ENRP PRESENCE over multicast (239.0.0.51:9901, in 224.0.0.0/4): with no
# static peer, b learned of a there and called it; they are peers.
await "b peers with a, heard on the ENRP multicast group" bash -c \
  "ip netns exec '$ns' '$RSPCTL' peers --registrar=127.0.0.1:9898 | grep -q '^peer  *0x000000a1 '"
grep -q '^  enrp multicast 239.0.0.51:9901' "$dir/b.out" || fail "$(grep 'enrp multicast' "$dir/b.out")"

kill -INT "$rspd_a" "$rspd_b"
wait "$rspd_a" || true
wait "$rspd_b" || true
sent=$(sed -n 's/^announces_sent //p' "$dir/a.out")
heard=$(sed -n 's/^announces_heard //p' "$dir/b.out")
# b was up before the PE started, so it heard the announce the PE acted on.
[ "${sent:-0}" -ge 1 ] || fail "a sent ${sent:-0} announces"
[ "${heard:-0}" -ge 1 ] || fail "b heard ${heard:-0} announces"
kill -KILL "${pids[-1]}" 2>/dev/null || true  # the IPv4 PE: its registrar is gone
wait "${pids[-1]}" 2>/dev/null || true

# TLS: s is secure, and announces its ASAP port 3863 (3864 over TLS); f
# announces too, in plaintext only, as anyone could. A PE with TLS and no
# registrar configured registers at s over TLS, never at f.
"$TLS_SETUP" ca "$dir/pki" >/dev/null
for name in s.example pe.example; do "$TLS_SETUP" cert "$dir/pki" "$name" >/dev/null; done
ip netns exec "$ns" "$RSPD" --bind_address=127.0.0.1 --server_id=0xe5 --server_announce_cycle=200ms \
  --enrp_multicast_group= --tls_certificate="$dir/pki/s.example.pem" \
  --tls_private_key="$dir/pki/s.example.key" --tls_ca_file="$dir/pki/ca.pem" >"$dir/s.out" 2>&1 &
pids+=("$!")
rspd_s=$!
await "secure registrar s ready" grep -q '^ready' "$dir/s.out"
ip netns exec "$ns" "$RSPD" --bind_address=127.0.0.1 --udp_port=9898 --asap_port=3865 \
  --server_id=0xf6 --server_announce_cycle=200ms --enrp_multicast_group= >"$dir/f.out" 2>&1 &
pids+=("$!")
rspd_f=$!
await "plaintext registrar f ready" grep -q '^ready' "$dir/f.out"
ip netns exec "$ns" "$RSPCTL" register --registrar= --announce_group=224.0.1.185:3863 --server_hunt_timeout=1s \
  --pool=heard-tls --pe_id=0x55 --port=7055 --lifetime=-1 --tls_ca_file="$dir/pki/ca.pem" \
  --tls_certificate="$dir/pki/pe.example.pem" --tls_private_key="$dir/pki/pe.example.key" \
  >"$dir/pe-tls.out" 2>"$dir/pe-tls.err" &
pids+=("$!")
await "PE registered over TLS at the announced secure registrar" \
  grep -q '^registered pe_id=0x00000055 pool=heard-tls registrar=127.0.0.1:9899/3864' "$dir/pe-tls.out"
kill -INT "$rspd_s" "$rspd_f"
wait "$rspd_s" || true
wait "$rspd_f" || true
[ "$(sed -n 's/^registrations //p' "$dir/f.out")" = 0 ] || fail "the PE registered at the plaintext registrar"
[ "$(sed -n 's/^registrations //p' "$dir/s.out")" = 1 ] || fail "s did not register the PE once"
kill -KILL "${pids[-1]}" 2>/dev/null || true
wait "${pids[-1]}" 2>/dev/null || true

# IPv6. A new namespace's lo has ::1 unless IPv6 is off for it.
if [ ! -e /proc/sys/net/ipv6 ]; then
  echo "PASS (IPv4 only: this kernel has no IPv6)"
  exit 0
fi
in_ns sh -c 'echo 0 >/proc/sys/net/ipv6/conf/lo/disable_ipv6'
# lo has no IPv6 multicast route, so the registrar finds none and stays quiet.
ip netns exec "$ns" "$RSPD" --bind_address=::1 --server_id=0xc3 --announce_group=ff05::133 \
  >"$dir/unrouted.out" 2>&1 &
pids+=("$!")
await "unrouted registrar ready" grep -q '^ready' "$dir/unrouted.out"
grep -q '^  announces off (no route to ff05::133)' "$dir/unrouted.out" ||
  fail "announces not off without an IPv6 multicast route: $(cat "$dir/unrouted.out")"
kill -INT "${pids[-1]}"
wait "${pids[-1]}" || true
# A plain route via lo finds no neighbour for the group (the kernel counts
# Ip6OutNoRoutes and drops the datagram); a `local` route makes lo deliver
# every group to the sockets that joined it.
ip -n "$ns" -6 route add local ff00::/8 dev lo table local

ip netns exec "$ns" "$RSPD" --bind_address=::1 --server_id=0xc3 --announce_group=ff05::133 \
  --server_announce_cycle=200ms >"$dir/c.out" 2>&1 &
pids+=("$!")
rspd_c=$!
await "registrar c ready" grep -q '^ready' "$dir/c.out"
grep -q '^  announce  *= \[ff05::133\]:3863 ttl 1$' "$dir/c.out" || fail "$(cat "$dir/c.out")"
grep -q '^  announces to \[ff05::133\]:3863 every 200ms' "$dir/c.out" || fail "$(cat "$dir/c.out")"

ip netns exec "$ns" "$RSPD" --bind_address=::1 --udp_port=9898 --asap_port=3865 \
  --server_id=0xd4 --announce_group=ff05::133 --server_announce_cycle=200ms >"$dir/d.out" 2>&1 &
pids+=("$!")
rspd_d=$!
await "registrar d ready" grep -q '^ready' "$dir/d.out"

# No registrar configured: only the IPv6 announces, heard on lo (the
# interface of ::1), whose SCTP transport names [::1]:3863.
# No --address: the PE lists the announce interface's address.
ip netns exec "$ns" "$RSPCTL" register --registrar= --announce_group='[ff05::133]:3863' \
  --announce_interface=::1 --server_hunt_timeout=1s \
  --pool=heard6 --pe_id=0x66 --port=7066 --lifetime=-1 >"$dir/pe6.out" 2>"$dir/pe6.err" &
pids+=("$!")
await "PE registered via a registrar announced over IPv6" \
  grep -q '^registered pe_id=0x00000066 pool=heard6 registrar=\[::1\]:9899' "$dir/pe6.out"
home=$(in_ns "$RSPCTL" resolve --registrar='[::1]:9899' --pool=heard6 2>/dev/null |
  sed -n 's/.*home=\(0x[0-9a-f]*\).*/\1/p')
[ "$home" = "0x000000c3" ] || fail "PE not at registrar c: home=$home, $(cat "$dir/pe6.out" "$dir/pe6.err")"

kill -INT "$rspd_c" "$rspd_d"
wait "$rspd_c" || true
wait "$rspd_d" || true
sent=$(sed -n 's/^announces_sent //p' "$dir/c.out")
heard=$(sed -n 's/^announces_heard //p' "$dir/d.out")
[ "${sent:-0}" -ge 1 ] || fail "c sent ${sent:-0} IPv6 announces"
[ "${heard:-0}" -ge 1 ] || fail "d heard ${heard:-0} IPv6 announces"
echo PASS
