#!/usr/bin/env bash
# The management interface against a real rspd (docs/management.md): the
# metrics match the traffic the test sends, scraped while it flows; the JSON
# views show the registered pools and PEs; a SIGHUP with a changed
# configuration file changes a limit while every PE stays registered; bad
# requests get 4xx and do not disturb the registrar.
#
# Args: rspd rspctl.
set -euo pipefail
RSPD="$1"
RSPCTL="$2"
source tests/test_lib.sh

# GET PATH -> the body on stdout; fails on a non-2xx status.
get() { python3 - "$mgmt" "$1" <<'PYEOF'
import sys, urllib.request
with urllib.request.urlopen("http://%s%s" % (sys.argv[1], sys.argv[2]), timeout=10) as r:
    sys.stdout.write(r.read().decode())
PYEOF
}
# status PATH -> the HTTP status code.
status() { python3 - "$mgmt" "$1" <<'PYEOF'
import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen("http://%s%s" % (sys.argv[1], sys.argv[2]), timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
PYEOF
}
# metric NAME_WITH_LABELS -> its value in /metrics (empty if absent).
metric() { get /metrics | awk -v n="$1" '$1 == n { print $2 }'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_at_least() { [ "$(metric "$1")" -ge "$2" ]; }
# json PATH EXPR -> python expression over the parsed document `j`.
json() { get "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }

config="$dir/rspd.toml"
cat >"$config" <<'TOML'
# Small limits, raised by the reload below.
max_pes_per_pool = 3
bind_address = "127.0.0.1"
TOML
start_rspd r --config="$config" --management_address=127.0.0.1:0
mgmt=$(sed -n 's|^management: http://\([0-9.:]*\) .*|\1|p' "$dir/r.out")
[ -n "$mgmt" ] || fail "rspd does not say where its management interface is: $(cat "$dir/r.out")"
registrar="127.0.0.1:$r_port"

# --- 1. known traffic, scraped while it flows ------------------------------------
"$RSPCTL" register --registrar="$registrar" --pool=alpha --count=3 --port=7001 >"$dir/alpha.out" 2>&1 &
pids+=("$!")
alpha_pid=$!
await "3 PEs in alpha" metric_is rspd_pool_elements 3
# A scraper runs through the traffic; every scrape must be whole (# EOF).
(
  while :; do
    get /metrics >"$dir/scrape.tmp" && [ "$(tail -n 1 "$dir/scrape.tmp")" = "# EOF" ] ||
      { echo "partial scrape" >"$dir/scrape.failed"; exit 1; }
    echo x >>"$dir/scrapes"
  done
) &
pids+=("$!")
scraper=$!
for _ in $(seq 7); do
  "$RSPCTL" resolve --registrar="$registrar" --pool=alpha >/dev/null
done
for _ in $(seq 2); do
  if "$RSPCTL" resolve --registrar="$registrar" --pool=nope >/dev/null 2>&1; then
    fail "resolving an unknown pool succeeded"
  fi
done
scrapes_at_least() { [ "$(cat "$dir/scrapes" 2>/dev/null | wc -l)" -ge "$1" ]; }
await "a few scrapes during the traffic" scrapes_at_least 3
kill "$scraper"
[ ! -e "$dir/scrape.failed" ] || fail "a scrape was cut short"

# Exactly what was sent: 9 resolutions (2 of an unknown pool), 3 new PEs.
await "9 resolutions counted" metric_is 'rspd_asap_received_messages_total{type="ASAP_HANDLE_RESOLUTION"}' 9
metric_is rspd_resolutions_total 9 || fail "resolutions_total $(metric rspd_resolutions_total), not 9"
metric_is rspd_resolutions_unknown_pool_total 2 || fail "unknown-pool resolutions not 2"
metric_is 'rspd_asap_sent_messages_total{type="ASAP_HANDLE_RESOLUTION_RESPONSE"}' 9 ||
  fail "resolution responses sent: $(metric 'rspd_asap_sent_messages_total{type="ASAP_HANDLE_RESOLUTION_RESPONSE"}')"
metric_is rspd_resolution_latency_seconds_count 9 || fail "resolution latency histogram count not 9"
metric_is rspd_registrations_total 3 || fail "registrations_total $(metric rspd_registrations_total), not 3"
metric_is rspd_registration_latency_seconds_count \
  "$(metric 'rspd_asap_received_messages_total{type="ASAP_REGISTRATION"}')" ||
  fail "registration latency count differs from the registrations received"
metric_is rspd_pools 1 || fail "pools not 1"
metric_is rspd_owned_pool_elements 3 || fail "owned PEs not 3"
metric_is rspd_sctp_associations 1 || fail "associations not 1 (the PE's)"
get /metrics >"$dir/metrics.txt"
per_shard=$(awk '$1 == "rspd_shard_commands_total{shard=\"0\"}" { print $2 }' "$dir/metrics.txt")
all=$(awk '$1 == "rspd_handlespace_commands_total" { print $2 }' "$dir/metrics.txt")
[ -n "$per_shard" ] && [ "$per_shard" = "$all" ] || fail "shard 0's commands $per_shard, all $all"
get /metrics >"$dir/metrics.txt"
grep -q '^# TYPE rspd_registrations counter$' "$dir/metrics.txt" || fail "no TYPE line for a counter"
grep -q '^# TYPE rspd_registration_latency_seconds histogram$' "$dir/metrics.txt" || fail "no histogram"

# --- 2. the JSON views --------------------------------------------------------------
[ "$(json /api/status 'j["pool_elements"], j["ready"], j["server_id"] > 0')" = "3 True True" ] ||
  fail "status: $(get /api/status)"
[ "$(json /api/pools 'j["pools"][0]["handle"], j["pools"][0]["elements"], j["pools"][0]["resolutions"]')" = \
  "alpha 3 7" ] || fail "pools: $(get /api/pools)"
pe_ids() { json "/api/pool?handle=alpha" 'sorted(e["id"] for e in j["elements"])'; }
# The PEs a resolution returns (all 3): the same IDs and user ports.
"$RSPCTL" resolve --registrar="$registrar" --pool=alpha --items=3 --json >"$dir/resolved.json"
resolved=$(python3 -c "import json,sys; print(sorted(json.loads(l)['pe_id'] for l in open(sys.argv[1])))" "$dir/resolved.json")
[ "$(pe_ids)" = "$resolved" ] || fail "pool view $(pe_ids) differs from a resolution's $resolved"
ports=$(python3 -c "import json,sys; print(sorted(json.loads(l)['port'] for l in open(sys.argv[1])))" "$dir/resolved.json")
[ "$(json "/api/pool?handle=alpha" 'sorted(e["user_transport"]["port"] for e in j["elements"])')" = "$ports" ] ||
  fail "user transport ports differ from $ports"

# --- 3. hostile requests: 4xx, counted, the registrar unharmed ---------------------
[ "$(status /api/pool?handle=nope)" = 404 ] || fail "unknown pool not 404"
[ "$(status '/api/pools?limit=0')" = 400 ] || fail "limit=0 not 400"
[ "$(status '/api/pool?handle_hex=xyz')" = 400 ] || fail "bad hex not 400"
[ "$(status /etc/passwd)" = 404 ] || fail "unknown path not 404"
for _ in $(seq 50); do printf 'GARBAGE\r\n\r\n' >/dev/tcp/${mgmt%:*}/${mgmt#*:} || true; done 2>/dev/null
metric_at_least rspd_management_bad_requests_total 4 || fail "bad requests not counted"
metric_is rspd_pool_elements 3 || fail "PEs lost after hostile requests"

# --- 4. SIGHUP changes a limit; every PE stays ------------------------------------
before=$(pe_ids)
"$RSPCTL" register --registrar="$registrar" --pool=alpha --count=2 --port=7002 >"$dir/more.out" 2>&1 &
pids+=("$!")
more_pid=$!
await "the 4th PE refused (max_pes_per_pool 3)" metric_at_least rspd_handlespace_rejected_pool_full_total 1
metric_is rspd_pool_elements 3 || fail "the pool grew past its limit"
sed -i 's/^max_pes_per_pool = 3$/max_pes_per_pool = 10/' "$config"
kill -HUP "$r_pid"
await "the reload taken" metric_is rspd_reconfigurations_total 1
grep -q 'subsystem=config msg=reload changes="max_pes_per_pool 3 -> 10"' "$dir/r.out" ||
  fail "the reload is not logged: $(grep subsystem=config "$dir/r.out")"
await "the 2 new PEs registered" metric_is rspd_pool_elements 5
after=$(json "/api/pool?handle=alpha" 'sorted(e["id"] for e in j["elements"])')
python3 -c "import sys; b=set($before); a=set($after); sys.exit(0 if b <= a and len(a) == 5 else 1)" ||
  fail "PEs before the reload $before are not all among $after"
kill -0 "$alpha_pid" "$more_pid" || fail "a PE process died"

# A bad file at SIGHUP: refused, the running configuration stays.
echo "max_pes_per_pool = 'many'" >>"$config"
kill -HUP "$r_pid"
await "the bad reload refused" grep -q 'subsystem=config msg="reload refused' "$dir/r.out"
metric_is rspd_reconfigurations_total 1 || fail "a bad file was applied"
metric_is rspd_pool_elements 5 || fail "PEs lost by a refused reload"
echo "PASS"
