#!/usr/bin/env bash
# README command 1: install what is needed, build, and run the registrar on
# the default socket I/O with a small live demo: three PEs register in pool
# "demo" (Round Robin), a PU resolves it every second and prints the PE it
# would use; after a few rounds one PE is killed (kill -9) and the registrar's
# keep-alives remove it, so the PU moves on to the others. Ctrl-C stops all.
# Extra arguments go to rspd.
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
  "$@" >"$dir/rspd.out" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do grep -q '^ready' "$dir/rspd.out" && break; sleep 0.1; done
cat "$dir/rspd.out"
port=$(sed -n 's/^  udp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$dir/rspd.out")
R="--registrar=127.0.0.1:$port"

echo "== three pool elements register in pool \"demo\""
for i in 1 2 3; do
  "$RSPCTL" register $R --pool=demo --pe_id=$i --port=$((7000 + i)) --lifetime=30 &
  pids+=("$!")
  eval "pe$i=$!"
done
sleep 1
echo "== a pool user resolves \"demo\" every second (Ctrl-C stops the demo)"
round=0
while true; do
  round=$((round + 1))
  echo "round $round: $("$RSPCTL" resolve $R --pool=demo --items=1 2>&1)"
  if [ "$round" -eq 6 ]; then
    echo "== kill -9 of PE 1: the registrar's keep-alives find it gone"
    kill -KILL "$pe1"
  fi
  sleep 1
done
