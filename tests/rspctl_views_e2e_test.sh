#!/usr/bin/env bash
# rspctl's live views against a live rspd's management interface
# (docs/management.md): status, pools, pool, peers --management and top show
# what was registered and resolved; an unknown pool and an unreachable
# interface are clear errors with exit status 1, a bad address status 2.
# `top` runs in a detached tmux session (a real terminal): it lists the pool
# with traffic first with a non-zero resolution rate, quits on q and on
# SIGTERM, and leaves the terminal in canonical mode with echo.
set -euo pipefail
RSPD="$1"
RSPCTL="$(realpath "$2")"
source tests/test_lib.sh
command -v tmux >/dev/null || fail "tmux is not installed (tools/setup.sh installs it)"
command -v python3 >/dev/null || fail "python3 is not installed"

# A private tmux server; its socket in a short directory of its own (the
# test's temporary directory is too deep for a socket's path).
tmux_dir=$(mktemp -d /tmp/rspctl-views.XXXXXX)
sock="$tmux_dir/tmux"
export TERM="${TERM:-xterm}"
tmux_() { tmux -S "$sock" -f /dev/null "$@"; }
cleanup() {
  tmux_ kill-server 2>/dev/null || true
  rm -rf "$tmux_dir"
  kill_spawned
}
trap cleanup EXIT

start_rspd rspd --management_address=127.0.0.1:0
M=$(sed -n 's|^management: http://\([^ ]*\) .*|\1|p' "$dir/rspd.out")
[ -n "$M" ] || fail "rspd printed no management address: $(cat "$dir/rspd.out")"
R="--registrar=127.0.0.1:$rspd_port"
V="--management=$M"

# The pool with more PEs sorts last by handle: --sort=elements must reorder.
"$RSPCTL" register "$R" --pool=alpha --pe_id=200 --count=2 --port=8000 >"$dir/alpha.out" 2>&1 &
pids+=("$!")
"$RSPCTL" register "$R" --pool=zulu --pe_id=100 --count=3 --port=7000 >"$dir/zulu.out" 2>&1 &
pids+=("$!")

# status: the counts, once both PEs' registrations are in.
await "status shows 2 pools and 5 PEs" bash -c \
  "'$RSPCTL' status '$V' >'$dir/status.txt' && grep -qx 'PEs  *5 (5 owned)' '$dir/status.txt'"
grep -qx 'pools  *2' "$dir/status.txt" || fail "status: $(cat "$dir/status.txt")"
grep -qx 'ready  *yes' "$dir/status.txt" || fail "status: $(cat "$dir/status.txt")"
server_id=$(sed -n 's/^server ID  *\(0x[0-9a-f]\{8\}\)$/\1/p' "$dir/status.txt")
grep -q "server_id *= $server_id" "$dir/rspd.out" || fail "status shows server ID '$server_id'"
"$RSPCTL" status "$V" --json >"$dir/status.json"
[ "$(wc -l <"$dir/status.json")" -eq 1 ] || fail "status --json is not one line"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["pools"] == 2 and d["pool_elements"] == 5, d' \
  "$dir/status.json" || fail "status --json: $(head -c 300 "$dir/status.json")"

# Resolutions of alpha: the busiest pool.
for _ in 1 2 3 4; do "$RSPCTL" resolve "$R" --pool=alpha >/dev/null; done

# pools: order and counts, as a table and as JSON.
"$RSPCTL" pools "$V" --sort=elements >"$dir/pools.txt"
awk 'NR > 1 {print $1, $(NF - 3), $(NF - 2)}' "$dir/pools.txt" >"$dir/pools.rows"
printf 'zulu 3 3\nalpha 2 2\n' | cmp -s - "$dir/pools.rows" || fail "pools --sort=elements: $(cat "$dir/pools.txt")"
[ "$(awk 'NR > 1 {print $1}' <("$RSPCTL" pools "$V"))" = "$(printf 'alpha\nzulu')" ] \
  || fail "pools (by handle) not alpha, zulu"
"$RSPCTL" pools "$V" --sort=busiest --json >"$dir/pools.json"
python3 - "$dir/pools.json" <<'EOF' || fail "pools --sort=busiest --json: $(cat "$dir/pools.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [p["handle"] for p in d["pools"]] == ["alpha", "zulu"], d
assert d["pools"][0]["resolutions"] >= 4 and d["pools"][0]["elements"] == 2, d
EOF
"$RSPCTL" pools "$V" --sort=elements --limit=1 >"$dir/pools1.txt"
[ "$(wc -l <"$dir/pools1.txt")" -eq 3 ] && grep -q '^zulu ' "$dir/pools1.txt" \
  && grep -qx '(1 of 2 pools shown; --limit shows more, up to 100000)' "$dir/pools1.txt" \
  || fail "pools --limit=1: $(cat "$dir/pools1.txt")"

# pool: exactly the registered PE IDs, in the table, as JSON and as ASAP
# resolves them; each owned by this registrar (*).
"$RSPCTL" pool zulu "$V" >"$dir/zulu.txt"
[ "$(grep -o '^0x[0-9a-f]\{8\}  0x[0-9a-f]\{8\}\*' "$dir/zulu.txt" | sort)" = "$(printf '0x00000064  %s*\n0x00000065  %s*\n0x00000066  %s*' "$server_id" "$server_id" "$server_id")" ] \
  || fail "pool zulu: $(cat "$dir/zulu.txt")"
from_pool=$("$RSPCTL" pool zulu "$V" --json | python3 -c 'import json,sys; print(" ".join(str(e["id"]) for e in sorted(json.load(sys.stdin)["elements"], key=lambda e: e["id"])))')
from_asap=$("$RSPCTL" resolve "$R" --pool=zulu --items=3 --json | python3 -c 'import json,sys; print(" ".join(sorted((str(json.loads(l)["pe_id"]) for l in sys.stdin), key=int)))')
[ "$from_pool" = "100 101 102" ] || fail "pool zulu --json IDs: $from_pool"
[ "$from_asap" = "$from_pool" ] || fail "resolve says $from_asap, pool says $from_pool"
hex_ids=$("$RSPCTL" pool --handle_hex=0x616c706861 "$V" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["handle"], sorted(e["id"] for e in d["elements"]))')
[ "$hex_ids" = "alpha [200, 201]" ] || fail "pool --handle_hex=0x616c706861: $hex_ids"

# Errors: an unknown pool, a dead address, a bad address, a bad flag.
rc=0
"$RSPCTL" pool nope "$V" >"$dir/out" 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] && grep -qx 'rspctl pool: rspd answered HTTP 404: unknown pool' "$dir/err" \
  || fail "pool nope: exit $rc, $(cat "$dir/err")"
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rc=0
"$RSPCTL" status --management="127.0.0.1:$dead" >"$dir/out" 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] \
  && grep -q "^rspctl status: cannot reach rspd's management interface at 127.0.0.1:$dead: .* (is rspd running with --management_address=127.0.0.1:$dead?)\$" "$dir/err" \
  || fail "dead address: exit $rc, $(cat "$dir/err")"
rc=0
"$RSPCTL" top --management="127.0.0.1:$dead" --iterations=1 >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
[ "$rc" -eq 1 ] && grep -q "^rspctl top: cannot reach" "$dir/err" || fail "top, dead address: exit $rc, $(cat "$dir/err")"
for bad in "status --management=nowhere" "pools --sort=size" "pools --limit=100001" "pool" \
  "pool --handle_hex=abc" "top --interval=0s"; do
  rc=0
  read -r command flags <<<"$bad"
  # shellcheck disable=SC2086 # flags, after --management so that theirs wins
  "$RSPCTL" "$command" "$V" $flags >"$dir/out" 2>"$dir/err" </dev/null || rc=$?
  [ "$rc" -eq 2 ] && [ "$(wc -l <"$dir/err")" -eq 1 ] || fail "rspctl $bad: exit $rc, $(cat "$dir/err")"
done

# peers: from the management interface with --management, over ENRP without.
[ "$("$RSPCTL" peers "$V")" = "no peers" ] || fail "peers --management"
"$RSPCTL" peers "$V" --json | python3 -c 'import json,sys; assert json.load(sys.stdin) == {"peers": []}' \
  || fail "peers --management --json"
"$RSPCTL" peers "$R" >"$dir/peers.txt"
grep -q "^registrar *$server_id " "$dir/peers.txt" || fail "peers over ENRP: $(cat "$dir/peers.txt")"

# top without a terminal: exactly --iterations screens, then exit 0.
"$RSPCTL" top "$V" --interval=100ms --iterations=2 </dev/null >"$dir/top.out"
[ "$(grep -o $'\033\\[H\033\\[2J' "$dir/top.out" | wc -l)" -eq 2 ] || fail "top --iterations=2: $(cat -v "$dir/top.out")"
grep -q "server ID $server_id" "$dir/top.out" || fail "top: $(cat -v "$dir/top.out")"

# top in a terminal while zulu is resolved in a loop: zulu is listed first
# with a rate of resolutions above zero.
(while :; do "$RSPCTL" resolve "$R" --pool=zulu >/dev/null 2>&1 || true; done) &
pids+=("$!")
# start_top NAME: top in tmux session NAME; when it ends, its exit status
# goes to $dir/NAME.rc and the terminal's settings to $dir/NAME.stty.
start_top() {
  tmux_ new-session -d -s "$1" -x 120 -y 40 -c "$PWD" \
    "'$RSPCTL' top '$V' --interval=500ms; echo \$? >'$dir/$1.stty.rc'; stty -a >'$dir/$1.stty'; mv '$dir/$1.stty.rc' '$dir/$1.rc'"
}
zulu_first() {
  tmux_ capture-pane -p -t "$1" >"$dir/$1.pane" || return 1
  python3 - "$dir/$1.pane" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
assert any(l.startswith("rspd ") and "server ID 0x" in l for l in lines)
i = next(i for i, l in enumerate(lines) if l.startswith("POOL "))
first = lines[i + 1].split()
assert first[0] == "zulu" and first[4] != "-" and float(first[4]) > 0, first
EOF
}
# The terminal was given back: canonical input with echo.
restored() {
  [ "$(cat "$dir/$1.rc")" = 0 ] || fail "top exited $(cat "$dir/$1.rc")"
  grep -qw -- '-icanon' "$dir/$1.stty" && fail "top left the terminal non-canonical"
  grep -qw -- '-echo' "$dir/$1.stty" && fail "top left echo off"
  grep -qw icanon "$dir/$1.stty" || fail "no terminal settings: $(cat "$dir/$1.stty")"
}

start_top q
AWAIT_SECONDS=30 await "top shows zulu first with a resolution rate" zulu_first q
tmux_ send-keys -t q q
await "top quits on q" test -f "$dir/q.rc"
restored q

start_top term
await "top shows its header" bash -c "tmux -S '$sock' -f /dev/null capture-pane -p -t term | grep -q '^POOL '"
shell=$(tmux_ display-message -p -t term '#{pane_pid}')
top_pid=$(pgrep -P "$shell")
kill -TERM "$top_pid"
await "top quits on SIGTERM" test -f "$dir/term.rc"
restored term
echo PASS
