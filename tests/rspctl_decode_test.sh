#!/usr/bin/env bash
# `rspctl decode` over a capture holding one of every ASAP/ENRP message:
# every message is printed once, as text and as valid JSON with the fields
# tools need; a malformed message is named and makes the exit status 1.
set -euo pipefail
RSPCTL="$1"
SAMPLE_PCAP="$2"
dir="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

expected=$("$SAMPLE_PCAP" "$dir/ok.pcap")
text=$("$RSPCTL" decode "$dir/ok.pcap")
[ "$(wc -l <<<"$text")" -eq "$expected" ] || fail "expected $expected lines, got: $text"
for type in ASAP_REGISTRATION ASAP_HANDLE_RESOLUTION_RESPONSE ASAP_SERVER_ANNOUNCE \
            ASAP_BUSINESS_CARD ENRP_PRESENCE ENRP_HANDLE_TABLE_RESPONSE ENRP_TAKEOVER_SERVER; do
  grep -q " $type " <<<"$text" || fail "no $type in: $text"
done
grep -q 'MALFORMED' <<<"$text" && fail "clean capture reported malformed"
grep -q '\[::1\]:3863 > \[::1\]:3863 ASAP_' <<<"$text" || fail "no IPv6 endpoint"
grep -q '127.0.0.1:40000 > 127.0.0.1:3863 ASAP_SERVER_ANNOUNCE' <<<"$text" \
  || fail "announce over UDP not decoded"

# The same capture as pcapng (editcap ships with tshark's wireshark-common).
editcap -F pcapng "$dir/ok.pcap" "$dir/ok.pcapng"
[ "$("$RSPCTL" decode "$dir/ok.pcapng")" = "$text" ] || fail "pcapng decodes differently"

"$RSPCTL" decode --json "$dir/ok.pcap" >"$dir/ok.json"
python3 - "$expected" "$dir/ok.json" <<'PY' || fail "bad JSON"
import json, sys
lines = open(sys.argv[2]).read().splitlines()
assert len(lines) == int(sys.argv[1]), len(lines)
objs = [json.loads(l) for l in lines]
for o in objs:
    assert o["proto"] in ("asap", "enrp"), o
    assert o["type"].startswith(o["proto"].upper() + "_"), o
    assert "flags" in o, o
reg = [o for o in objs if o["type"] == "ASAP_REGISTRATION"][0]
pe = reg["pool_element"]
for key in ("pe_id", "home_registrar", "addresses", "port", "transport", "policy"):
    assert key in pe, (key, pe)
hr = [o for o in objs if o["type"] == "ASAP_HANDLE_RESOLUTION_RESPONSE" and "pool_elements" in o][0]
assert len(hr["pool_elements"]) == 3, hr
assert hr["pool_elements"][0]["addresses"] == ["10.0.0.1", "10.0.0.2"], hr
PY

"$SAMPLE_PCAP" "$dir/bad.pcap" --malformed >/dev/null
set +e
bad=$("$RSPCTL" decode "$dir/bad.pcap" 2>/dev/null); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "malformed capture exited $rc"
grep -q 'MALFORMED asap: message length does not match the received size' <<<"$bad" \
  || fail "malformed message not named: $(tail -2 <<<"$bad")"

set +e
"$RSPCTL" decode "$dir/missing.pcap" 2>/dev/null; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "missing file exited $rc"
echo PASS
