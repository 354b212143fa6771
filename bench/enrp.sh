#!/usr/bin/env bash
# ENRP benchmarks (RFC 5353), over loopback, opt build:
#
#   download   a new registrar downloads a PES-PE handlespace from an rspd
#              mentor (HANDLE_TABLE_REQUEST/RESPONSE paging, §3.2.3): the
#              time from its first request to its last import, as it logs it,
#              with the default chunk (128 PEs) and with 1024.
#   takeover   the owner of those PEs dies (kill -9): the time from its death
#              to all of its PEs owned by one survivor (detection, which is
#              MAX-TIME-LAST-HEARD + MAX-TIME-NO-RESPONSE, plus the takeover
#              itself), and to all of them sent their H-bit keep-alive at the
#              pacing --max_keep_alives_per_second sets.
#   updates    HANDLE_UPDATE propagation: PEs/s a peer applies while ASAP
#              registrations run at full rate at its neighbour (rspd_load
#              --mode=register), against the registration rate of a registrar
#              without peers, same build, same run.
#
# The PEs: bench/enrp_mentor plays an ENRP server that owns them and is the
# first registrar's mentor (a million ASAP registrations would take minutes).
#
#   bench/enrp.sh [REPETITIONS=3] [PES=1000000] [ENRP_THREAD=auto]
#
# ENRP_THREAD (on, off, auto) is every registrar's --enrp_thread.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-3}"
pes="${2:-1000000}"
enrp_thread="${3:-auto}"
bazel build -c opt //tools:rspd //tools:rspd_load //bench:enrp_mentor >/dev/null 2>&1
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
dir=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$dir"' EXIT
base=$((20000 + RANDOM % 30000))

# Milliseconds since the epoch (rspd's log lines carry the same clock).
now_ms() { local t=$EPOCHREALTIME; echo $((${t/./} / 1000)); }
await_line() {  # FILE REGEX [SECONDS]
  for _ in $(seq $((${3:-120} * 20))); do
    grep -qE "$2" "$1" && return 0
    sleep 0.05
  done
  echo "timed out waiting for /$2/ in $1" >&2
  tail -5 "$1" >&2
  exit 1
}
# Milliseconds of the day of the first ENRP log line (logfmt, docs/operations.md) matching $2.
stamp() {
  sed -nE "s/^ts=[0-9-]+T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{3})Z level=[a-z]+ subsystem=enrp msg=\"$2.*/\1 \2 \3 \4/p" "$1" |
    head -1 | awk '{ printf "%d\n", (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}
rspd() {  # NAME ID UDP_PORT [flags]
  local name="$1" id="$2" port="$3"
  shift 3
  "$bin/tools/rspd" --bind_address=127.0.0.1 --announce_group= --enrp_multicast_group= --server_id="$id" \
    --udp_port="$port" --asap_port=$((3860 + id)) --print_stats=false \
    --peer_heartbeat_cycle=500ms --max_time_last_heard=1s --max_time_no_response=1s \
    --max_pool_elements=3000000 --max_pes_per_pool=100000 --enrp_thread="$enrp_thread" "$@" \
    >"$dir/$name.out" 2>&1 &
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for rep in $(seq "$reps"); do
  for chunk in 128 1024; do
    p=$((base + rep * 20 + (chunk == 128 ? 0 : 10)))
    "$bin/bench/enrp_mentor" --udp_port=$((p + 9)) --pes="$pes" >"$dir/mentor.out" 2>&1 &
    mentor=$!
    # m serves its table in chunks of CHUNK PEs (the mentor's flag).
    rspd m 1 "$p" --enrp_peers="127.0.0.1:$((p + 9))" --mentor_discovery_timeout=30s \
      --max_elements_per_table_response="$chunk"
    m=$!
    await_line "$dir/m.out" "download from mentor 0x000010ad: $pes PEs"
    rspd n 2 $((p + 1)) --enrp_peers="127.0.0.1:$p" --mentor_discovery_timeout=30s
    n=$!
    await_line "$dir/n.out" "download from mentor 0x00000001: $pes PEs"
    sed -nE "s/.*download from mentor 0x00000001: $pes PEs in ([0-9]+) ms.*/\1/p" "$dir/n.out" \
      >>"$dir/download_$chunk"
    if [ "$chunk" = 1024 ]; then
      # The takeover: the owner of the PEs dies; m and n survive, and the
      # winner (the higher ID, n, unless m was quicker) makes them its own.
      died=$(now_ms)
      kill -9 "$mentor"
      await_line "$dir/m.out" "PEs of 0x000010ad ours: $pes|0x00000002 took over 0x000010ad" 60
      winner=m
      grep -q "0x00000002 took over 0x000010ad" "$dir/m.out" && winner=n && m=$n
      await_line "$dir/$winner.out" "PEs of 0x000010ad ours: $pes" 60
      owned=$(stamp "$dir/$winner.out" "PEs of 0x000010ad ours")
      echo $((owned - died)) >>"$dir/takeover"
      echo $((owned - $(stamp "$dir/$winner.out" "peer 0x000010ad dead"))) >>"$dir/takeover_only"
      # The H-bit keep-alives, at --max_keep_alives_per_second (100,000).
      for _ in $(seq 600); do
        kill -USR1 "$m"
        sleep 0.1
        sent=$(awk '/^statistics:/ {n++} n && ($1 == "adoption_keep_alives_sent" || $1 == "adoption_keep_alives_failed") {v[$1]=$2} END {print v["adoption_keep_alives_sent"] + v["adoption_keep_alives_failed"]}' "$dir/$winner.out")
        [ "$sent" -ge "$pes" ] && break
      done
      echo $(($(now_ms) - owned)) >>"$dir/rehome"
    fi
    kill -9 "$m" "$n" "$mentor" 2>/dev/null || true
    wait 2>/dev/null || true
  done
done

# Update propagation.
for rep in $(seq "$reps"); do
  p=$((base + 200 + rep * 10))
  rspd alone 3 "$p"
  sleep 0.5
  "$bin/tools/rspd_load" --target="127.0.0.1:$p/3863" --mode=register --associations=4 \
    --seconds=3 | sed -nE 's/.*rate=([0-9]+) msg.*/\1/p' >>"$dir/asap_alone"
  kill -9 %% 2>/dev/null || true
  rspd a 1 $((p + 1)) --enrp_peers="127.0.0.1:$((p + 2))"
  a=$!
  rspd b 2 $((p + 2)) --enrp_peers="127.0.0.1:$((p + 1))"
  b=$!
  await_line "$dir/a.out" "download from mentor|serving"
  await_line "$dir/b.out" "download from mentor|serving"
  sleep 0.5
  count() { kill -USR1 "$b"; sleep 0.3; awk '/^statistics:/ {n++} n && $1 == "updates_received" {v=$2} END {print v+0}' "$dir/b.out"; }
  before=$(count)
  t0=$(now_ms)
  "$bin/tools/rspd_load" --target="127.0.0.1:$((p + 1))/3861" --mode=register --associations=4 \
    --warmup_seconds=0 --seconds=3 | sed -nE 's/.*rate=([0-9]+) msg.*/\1/p' >>"$dir/asap_with_peer"
  after=$(count)
  t1=$(now_ms)
  echo $(((after - before) * 1000 / (t1 - t0))) >>"$dir/propagated"
  kill -9 "$a" "$b"
  wait 2>/dev/null || true
done

d128=$(median <"$dir/download_128")
d1024=$(median <"$dir/download_1024")
t=$(median <"$dir/takeover")
rh=$(median <"$dir/rehome")
to=$(median <"$dir/takeover_only")
r0=$(median <"$dir/asap_alone")
r1=$(median <"$dir/asap_with_peer")
pr=$(median <"$dir/propagated")
echo "| measure | median of $reps |"
echo "|---|---|"
echo "| download of $pes PEs, chunk 128 | $d128 ms |"
echo "| download of $pes PEs, chunk 1024 | $d1024 ms |"
echo "| death to all $pes PEs owned by the survivor (detection 2 s) | $t ms |"
echo "| death detected to all PEs owned | $to ms |"
echo "| all PEs owned to all sent their H-bit keep-alive | $rh ms |"
echo "| ASAP registrations/s, no peer | $r0 |"
echo "| ASAP registrations/s, one peer | $r1 ($(awk -v a="$r1" -v b="$r0" 'BEGIN{printf "%.2f", a/b}')x) |"
echo "| HANDLE_UPDATEs/s applied by the peer | $pr ($(awk -v a="$pr" -v b="$r0" 'BEGIN{printf "%.2f", a/b}')x the registrations without peer) |"
