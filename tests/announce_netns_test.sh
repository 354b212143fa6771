#!/usr/bin/env bash
# Server announces (RFC 5352 §3.6) inside a network namespace the test makes:
# a registrar multicasts ASAP_SERVER_ANNOUNCEs, a PE configured with no
# registrar at all learns it from them and registers, and a second registrar
# hears the first one's announces. No packet leaves the namespace.
set -euo pipefail
RSPD="$(realpath "$1")"
RSPCTL="$(realpath "$2")"
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

ip netns exec "$ns" "$RSPD" --bind_address=127.0.0.1 --udp_port=9898 --asap_port=3865 --enrp_port=9903 \
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

kill -INT "$rspd_a" "$rspd_b"
wait "$rspd_a" || true
wait "$rspd_b" || true
sent=$(sed -n 's/^announces_sent //p' "$dir/a.out")
heard=$(sed -n 's/^announces_heard //p' "$dir/b.out")
# b was up before the PE started, so it heard the announce the PE acted on.
[ "${sent:-0}" -ge 1 ] || fail "a sent ${sent:-0} announces"
[ "${heard:-0}" -ge 1 ] || fail "b heard ${heard:-0} announces"
echo PASS
