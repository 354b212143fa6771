#!/usr/bin/env bash
# RSERPOOL-MIB (RFC 5525) end to end: a real snmpd as AgentX master (RFC
# 2741) on a private UDP port, rspd with PEs registered by rspctl, and
# rspd-snmp (tools/snmp/) between them; snmpwalk with the MIB files prints
# the ENRP server branch by name. Checks the pools and their handles, that
# the PE table holds exactly the registered PEs (identifiers and user
# transport ports, against rspd's /api/pool), that a deregistration shows
# after a refresh, that rspd going away empties the tables, that rspd-snmp
# against a closed port serves empty tables without dying and stops cleanly
# on SIGTERM, and that bad flags exit 2. Nothing here reads /etc/snmp or
# /var/agentx: net-snmp's configuration and state live in this test's
# directory.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
RSPD_SNMP="$3"
shift 3
MIB_FILES=("$@")
source tests/test_lib.sh

# snmpd is in /usr/sbin, which Bazel's strict test PATH leaves out.
PATH="$PATH:/usr/sbin:/sbin"
command -v snmpd >/dev/null || fail "snmpd is not installed (tools/setup.sh installs it)"
command -v snmpwalk >/dev/null || fail "snmpwalk is not installed (tools/setup.sh installs snmp)"

# net-snmp's tools and agents read SNMPCONFPATH instead of /etc/snmp, keep
# persistent state in SNMP_PERSISTENT_DIR, and load the modules in MIBS.
export SNMPCONFPATH="$dir/snmp-conf" SNMP_PERSISTENT_DIR="$dir/snmp-state" MIBS=""
mkdir -p "$SNMPCONFPATH" "$SNMP_PERSISTENT_DIR" "$dir/mibs"
cp "${MIB_FILES[@]}" "$dir/mibs/"
# A Unix socket path must fit in 108 bytes; the test directory may not.
sockdir=$(mktemp -d /tmp/rspd-snmp-test.XXXXXX)
agentx="$sockdir/agentx"
cleanup() {
  kill_spawned
  rm -rf "$sockdir"
}
trap cleanup EXIT

free_port() {  # free_port udp|tcp: a port nothing on 127.0.0.1 holds now
  python3 -c "
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == 'udp' else socket.SOCK_STREAM)
s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])" "$1"
}

# --- snmpd, the master agent: -C reads only our file, -f stays in the
# foreground, -Lo logs to stdout. A free port can be taken between the
# check and the bind, so a failed start is retried.
cat >"$dir/snmpd.conf" <<EOF
master agentx
agentXSocket $agentx
agentXPerms 0600 0700
rocommunity public 127.0.0.1
EOF
started=""
for attempt in 1 2 3; do
  snmp_port=$(free_port udp)
  snmpd -f -Lo -C -c "$dir/snmpd.conf" -p "$dir/snmpd.pid" "udp:127.0.0.1:$snmp_port" \
    >"$dir/snmpd.out" 2>&1 &
  snmpd_pid=$!
  pids+=("$snmpd_pid")
  # Up when the AgentX socket is there and the start banner is logged; a
  # failed bind ends the process instead.
  deadline=$(($(date +%s) + 10))
  while kill -0 "$snmpd_pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -S "$agentx" ] && grep -q 'NET-SNMP version' "$dir/snmpd.out"; then
      started=yes
      break
    fi
    sleep 0.05
  done
  [ -z "$started" ] || break
  kill "$snmpd_pid" 2>/dev/null || true
done
[ -n "$started" ] || fail "snmpd did not start: $(cat "$dir/snmpd.out")"
SNMP=(-v2c -c public -t 2 -r 2 -M "$dir/mibs" -m RSERPOOL-MIB "127.0.0.1:$snmp_port")
walk() { snmpwalk "${SNMP[@]}" RSERPOOL-MIB::rserpoolMIB 2>&1; }

# The MIB files resolve by themselves (no system MIBs): the name prints.
[ "$(snmptranslate -M "$dir/mibs" -m RSERPOOL-MIB -IR -On rserpoolENRPPoolHandle)" = \
  ".1.3.6.1.3.125.1.1.3.1.2" ] || fail "RSERPOOL-MIB does not load from the MIB files"

# --- rspd with its management interface, and PEs in two pools.
start_rspd rspd --server_id=0x5eed51 --management_address=127.0.0.1:0
management=$(sed -n 's|^management: http://\([^ ]*\) .*|\1|p' "$dir/rspd.out")
[ -n "$management" ] || fail "no management address in rspd's output"
R="--registrar=127.0.0.1:$rspd_port"
"$RSPCTL" register $R --pool=echo --count=3 --pe_id=0x100 --port=7000 >"$dir/pe_echo.out" 2>&1 &
pids+=("$!")
"$RSPCTL" register $R --pool=alpha --count=2 --pe_id=0x200 --port=8000 >"$dir/pe_alpha.out" 2>&1 &
alpha_pid=$!
pids+=("$alpha_pid")
await "3 PEs in echo" bash -c "[ \$(grep -c '^registered' '$dir/pe_echo.out') -eq 3 ]"
await "2 PEs in alpha" bash -c "[ \$(grep -c '^registered' '$dir/pe_alpha.out') -eq 2 ]"

# --- rspd-snmp between them.
"$RSPD_SNMP" --management_address="$management" --agentx_socket="$agentx" --refresh=500ms \
  >"$dir/rspd-snmp.out" 2>&1 &
snmp_pid=$!
pids+=("$snmp_pid")
pe_rows() { walk | grep -c '^RSERPOOL-MIB::rserpoolENRPPoolElementID\.' || true; }
await "5 PE rows in the walk" bash -c "$(declare -f walk pe_rows); SNMP=(${SNMP[*]}); \
  [ \"\$(pe_rows)\" -eq 5 ]"
walk >"$dir/walk1.txt"

# Pools sorted by handle bytes, index 1..N (tools/snmp/mib_rows.h).
grep -qx 'RSERPOOL-MIB::rserpoolENRPPoolHandle.1.1 = STRING: alpha' "$dir/walk1.txt" ||
  fail "alpha is not pool 1: $(grep PoolHandle "$dir/walk1.txt")"
grep -qx 'RSERPOOL-MIB::rserpoolENRPPoolHandle.1.2 = STRING: echo' "$dir/walk1.txt" ||
  fail "echo is not pool 2: $(grep PoolHandle "$dir/walk1.txt")"
[ "$(grep -c '^RSERPOOL-MIB::rserpoolENRPPoolHandle\.' "$dir/walk1.txt")" -eq 2 ] ||
  fail "not exactly 2 pools"
# rspd's own row: its server ID (DISPLAY-HINT "x").
grep -qx 'RSERPOOL-MIB::rserpoolENRPIdentifier.1 = Gauge32: 5eed51' "$dir/walk1.txt" ||
  fail "server row: $(grep ENRPIdentifier "$dir/walk1.txt")"

# The PE table is exactly what rspd's /api/pool lists: for each PE, the row
# "pool.pe id user-port home", PEs by identifier within a pool.
expected_rows() {
  python3 - "$management" <<'EOF'
import json, sys, urllib.request
base = "http://" + sys.argv[1]
pools = json.load(urllib.request.urlopen(base + "/api/pools"))["pools"]
for p, pool in enumerate(sorted(pools, key=lambda x: bytes.fromhex(x["handle_hex"])), 1):
    detail = json.load(urllib.request.urlopen(base + "/api/pool?handle_hex=" + pool["handle_hex"]))
    for e, pe in enumerate(sorted(detail["elements"], key=lambda x: x["id"]), 1):
        print("%d.%d %x %d %x" % (p, e, pe["id"], pe["user_transport"]["port"], pe["home"]))
EOF
}
walked_rows() {  # the same from a walk in $1
  awk -F' = ' '
    /rserpoolENRPPoolElementID\./ {split($1, k, "ElementID.1."); id[k[2]] = $2}
    /rserpoolENRPUserTransportPort\./ {split($1, k, "TransportPort.1."); port[k[2]] = $2}
    /rserpoolENRPHomeENRPServer\./ {split($1, k, "ENRPServer.1."); home[k[2]] = $2}
    END {for (r in id) {sub(/.*: /, "", id[r]); sub(/.*: /, "", port[r]); sub(/.*: /, "", home[r]);
         print r, id[r], port[r], home[r]}}' "$1" | sort
}
expected_rows | sort >"$dir/expected1.txt"
walked_rows "$dir/walk1.txt" >"$dir/walked1.txt"
[ "$(wc -l <"$dir/expected1.txt")" -eq 5 ] || fail "rspd lists $(cat "$dir/expected1.txt")"
diff "$dir/expected1.txt" "$dir/walked1.txt" >&2 || fail "PE table differs from rspd's /api/pool"
# And from what was registered: ids 0x200.. in alpha, 0x100.. in echo,
# user port --port + i, home this registrar.
printf '%s\n' "1.1 200 8000 5eed51" "1.2 201 8001 5eed51" "2.1 100 7000 5eed51" \
  "2.2 101 7001 5eed51" "2.3 102 7002 5eed51" | diff - "$dir/walked1.txt" >&2 ||
  fail "PE table does not hold the registered PEs"
# The address tables: one IPv4 address, 127.0.0.1, per PE for each transport.
[ "$(grep -c '^RSERPOOL-MIB::rserpoolENRPUserL3Addr\..* = Hex-STRING: 7F 00 00 01 *$' \
  "$dir/walk1.txt")" -eq 5 ] || fail "user addresses: $(grep UserL3Addr "$dir/walk1.txt")"
[ "$(grep -c '^RSERPOOL-MIB::rserpoolENRPASAPL3Type\..* = INTEGER: ipv4(1)$' \
  "$dir/walk1.txt")" -eq 5 ] || fail "ASAP address types: $(grep ASAPL3Type "$dir/walk1.txt")"
# A GET by name of one cell.
snmpget "${SNMP[@]}" RSERPOOL-MIB::rserpoolENRPUserTransportPort.1.2.3 2>&1 |
  grep -qx 'RSERPOOL-MIB::rserpoolENRPUserTransportPort.1.2.3 = Gauge32: 7002' ||
  fail "snmpget of a PE's user port"

# A deregistration shows after a refresh: alpha goes, echo becomes pool 1.
kill -INT "$alpha_pid"
await "alpha gone from the walk" bash -c "$(declare -f walk); SNMP=(${SNMP[*]}); \
  walk | grep -qx 'RSERPOOL-MIB::rserpoolENRPPoolHandle.1.1 = STRING: echo'"
[ "$(pe_rows)" -eq 3 ] || fail "after alpha's deregistration: $(pe_rows) PE rows"

# rspd going away: the last copy is served for 3 refresh periods, then the
# tables are empty, and stderr says so.
kill -KILL "$rspd_pid"
await "tables emptied" bash -c "$(declare -f walk); SNMP=(${SNMP[*]}); \
  ! walk | grep -q '^RSERPOOL-MIB::rserpoolENRP'"
grep -q 'tables emptied' "$dir/rspd-snmp.out" || fail "no word of the emptied tables on stderr"
kill -0 "$snmp_pid" || fail "rspd-snmp died when rspd went away"

# SIGTERM stops it cleanly.
kill -TERM "$snmp_pid"
await "rspd-snmp stopped" bash -c "! kill -0 $snmp_pid"
wait "$snmp_pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "rspd-snmp exited $rc on SIGTERM: $(cat "$dir/rspd-snmp.out")"

# --- Hostile: rspd-snmp against a closed port from the start serves empty
# tables, keeps running and says why.
closed=$(free_port tcp)
"$RSPD_SNMP" --management_address="127.0.0.1:$closed" --agentx_socket="$agentx" --refresh=200ms \
  >"$dir/rspd-snmp-closed.out" 2>&1 &
closed_pid=$!
pids+=("$closed_pid")
await "subagent connected" grep -q 'AgentX subagent connected' "$dir/rspd-snmp-closed.out"
await "the failure said" grep -q 'cannot read rspd at 127.0.0.1:' "$dir/rspd-snmp-closed.out"
for _ in 1 2 3; do
  out=$(walk)
  ! grep -q '^RSERPOOL-MIB::rserpoolENRP' <<<"$out" || fail "rows without rspd: $out"
done
kill -0 "$closed_pid" || fail "rspd-snmp died without rspd: $(cat "$dir/rspd-snmp-closed.out")"
[ "$(grep -c 'cannot read rspd' "$dir/rspd-snmp-closed.out")" -eq 1 ] ||
  fail "the failure is not rate-limited: $(cat "$dir/rspd-snmp-closed.out")"
kill -TERM "$closed_pid"
wait "$closed_pid" && rc=0 || rc=$?
[ "$rc" -eq 0 ] || fail "rspd-snmp exited $rc on SIGTERM"

# --- Bad flags: exit 2 and a message naming the flag.
bad_flag() {  # expected-text flags...
  local want="$1"
  shift
  local rc=0
  "$RSPD_SNMP" "$@" >"$dir/bad.out" 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || fail "rspd-snmp $* exited $rc, not 2: $(cat "$dir/bad.out")"
  grep -q -- "$want" "$dir/bad.out" || fail "rspd-snmp $*: no '$want' in: $(cat "$dir/bad.out")"
}
bad_flag '--refresh must be 100ms to 1h' --refresh=0s
bad_flag '--refresh=soon' --refresh=soon
bad_flag '--max_pool_elements must be 1 to' --max_pool_elements=0
bad_flag '--max_pool_elements=many' --max_pool_elements=many
bad_flag '--management_address must be HOST:PORT' --management_address=
bad_flag '--management_address must be HOST:PORT' --management_address=localhost
bad_flag '--agentx_socket must be' --agentx_socket=
bad_flag 'unknown flag --bogus' --bogus=1
bad_flag 'unexpected argument "extra"' extra

echo "PASS"
