#!/usr/bin/env bash
# README command 1: install what is needed, build, and run the registrar on
# the default socket I/O with a small live demo: three echo PEs register in
# pool "demo"; a PU keeps a session with the pool, calling it twice a second;
# after a few calls the PE it uses is killed with kill -9, and the PU fails
# over to another PE, echoing the cookie the dead one gave it (RFC 5352
# §3.8). Ctrl-C stops everything. Extra arguments go to rspd.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
bazel build //tools:rspd //tools:rspctl
RSPD=bazel-bin/tools/rspd
RSPCTL=bazel-bin/tools/rspctl
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$RSPD" --bind_address=127.0.0.1 --udp_port=0 --keep_alive_interval=1s --keep_alive_timeout=1s \
  --management_address=127.0.0.1:0 "$@" >"$dir/rspd.out" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do grep -q '^ready' "$dir/rspd.out" && break; sleep 0.1; done
cat "$dir/rspd.out"
port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/rspd.out")
R="--registrar=127.0.0.1:$port"
M="--management=$(sed -n 's|^management: http://\([0-9.:]*\) .*|\1|p' "$dir/rspd.out")"

echo "== three echo PEs register in pool \"demo\""
for i in 1 2 3; do
  "$RSPCTL" echo-server $R --pool=demo --echo_port=$((47000 + i)) | tee "$dir/pe$i.out" &
  pids+=("$!")
done
for i in 1 2 3; do
  for _ in $(seq 100); do grep -q '^echo-server' "$dir/pe$i.out" && break; sleep 0.1; done
done
echo "== the pool as a PU sees it"
"$RSPCTL" resolve $R --pool=demo --items=3
echo "== the registrar's own view (rspctl status, rspctl pool demo; try rspctl top $M)"
"$RSPCTL" status $M
"$RSPCTL" pool $M demo
echo "== a PU calls the pool twice a second (Ctrl-C stops the demo)"
"$RSPCTL" echo-client $R --pool=demo --echo_count=1000000 --echo_interval=500ms \
  | tee "$dir/pu.out" &
pids+=("$!")
for _ in $(seq 100); do [ "$(grep -c '^echo ' "$dir/pu.out")" -ge 6 ] && break; sleep 0.1; done
used=$(grep '^echo ' "$dir/pu.out" | tail -1 | sed -n 's/.*pe_id=0x\([0-9a-f]*\):.*/\1/p')
for i in 1 2 3; do
  if grep -q "pe_id=0x$used" "$dir/pe$i.out"; then
    echo "== kill -9 of the PE in use (pe_id=0x$used): watch the PU fail over"
    pkill -KILL -f "echo_port=$((47000 + i))" || true
  fi
done
wait
