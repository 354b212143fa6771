#!/usr/bin/env bash
# rspd's configuration file as an operator meets it (control/config_file.h,
# docs/decisions.md "Configuration file"): a bad file stops rspd before it
# starts anything, with exit status 2 and a message naming the key and line;
# --check-config says ok or what is wrong; the command line wins over the
# file; the example file (tools/rspd.example.toml) is accepted.
# shellcheck disable=SC2015 # "check && check || fail": fail if either check fails
set -euo pipefail
RSPD="$1"
EXAMPLE="$2"
source tests/test_lib.sh

# Flags for a loopback rspd that binds nothing fixed.
loopback=(--bind_address=127.0.0.1 --udp_port=0 --announce_group= --enrp_multicast_group=)

# expect_refused NAME EXPECTED_TEXT...: rspd --config=$dir/NAME.toml exits 2
# without starting (no "listening:" or "ready"), and its message holds every
# EXPECTED_TEXT.
expect_refused() {
  local name="$1" file="$dir/$1.toml"
  shift
  local out rc
  set +e
  out=$(timeout 30 "$RSPD" --config="$file" "${loopback[@]}" 2>&1)
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "$name: rspd exited $rc, not 2: $out"
  if grep -Eq '^(ready|listening:)' <<<"$out"; then fail "$name: rspd started: $out"; fi
  for text in "$@"; do
    grep -qF -- "$text" <<<"$out" || fail "$name: no '$text' in: $out"
  done
}

# 1. An unknown key, with the closest known one suggested.
printf '# limits\nmax_pools = 10\nmax_pool = 12\n' >"$dir/unknown.toml"
expect_refused unknown "rspd: unknown key 'max_pool' at $dir/unknown.toml:3; did you mean 'max_pools'?"

# 2. A value of the wrong type.
printf 'asap_port = 3863\nmax_pools = "many"\n' >"$dir/type.toml"
expect_refused type "rspd: max_pools at $dir/type.toml:2 must be an integer, got a string"

# 3. A value out of range: RegistrarConfig::Validate's message, with where
# the file set it.
printf '\n\n\nmax_pools = 0\n' >"$dir/range.toml"
expect_refused range "max_pools must be in [1, 16777216], got 0 (set at $dir/range.toml:4)"
printf '# ports\n\nasap_port = 70000\n[tls]\nmin_version = "1.3"\n' >"$dir/port.toml"
expect_refused port "--asap_port must be in [1, 65535], got 70000 (set at $dir/port.toml:3)"

# 4. A value the flag itself refuses.
printf 'keep_alive_interval = "5 parsecs"\n' >"$dir/refused.toml"
expect_refused refused "rspd: keep_alive_interval at $dir/refused.toml:1: " "5 parsecs"

# 5. TOML syntax: toml++'s description, with line and column.
printf 'max_pools = 10\nasap_port = = 3\n' >"$dir/syntax.toml"
expect_refused syntax "rspd: $dir/syntax.toml:2:" "TOML syntax error"

# 6. A key only the command line may set.
printf 'check_config = "x.toml"\n' >"$dir/own.toml"
expect_refused own "key 'check_config' at $dir/own.toml:1 cannot be set in a configuration file"

# 7. A file that is not there.
set +e
out=$("$RSPD" --config="$dir/absent.toml" "${loopback[@]}" 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && grep -qF "$dir/absent.toml" <<<"$out" || fail "absent file: $rc: $out"

# --check-config: ok and 0 for a good file, in each spelling; the error and 2
# for a bad one.
cat >"$dir/good.toml" <<'EOF'
# A small registrar.
max_pools = 1234
keep_alive_interval = "2s"
enrp_peers = ["127.0.0.1:19899", "127.0.0.1:29899"]
[dpdk]
rx_queues = 2
EOF
for spelling in "--check-config $dir/good.toml" "--check-config=$dir/good.toml" \
  "--check_config=$dir/good.toml" "-check_config $dir/good.toml"; do
  set +e
  # shellcheck disable=SC2086 # a spelling may be two words
  out=$("$RSPD" $spelling 2>&1); rc=$?
  set -e
  [ "$rc" -eq 0 ] || fail "rspd $spelling exited $rc: $out"
  [ "$out" = "$dir/good.toml: ok" ] || fail "rspd $spelling printed: $out"
done
set +e
out=$("$RSPD" --check-config "$dir/unknown.toml" 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && grep -qF "unknown key 'max_pool' at $dir/unknown.toml:3" <<<"$out" ||
  fail "--check-config of a bad file: $rc: $out"
# The command line takes part in the check, and its errors are not the file's.
set +e
out=$("$RSPD" --check-config "$dir/good.toml" --max_pools=0 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] && [ "$out" = "rspd: max_pools must be in [1, 16777216], got 0" ] ||
  fail "--check-config with --max_pools=0: $rc: $out"
# Files named by tls_* keys must be readable.
printf '[tls]\ncertificate = "%s"\n' "$dir/missing.pem" >"$dir/tls.toml"
set +e
out=$("$RSPD" --check-config "$dir/tls.toml" 2>&1); rc=$?
set -e
[ "$rc" -eq 2 ] &&
  grep -qF "tls_certificate: cannot read '$dir/missing.pem': No such file or directory (set at $dir/tls.toml:2)" <<<"$out" ||
  fail "--check-config with a missing certificate: $rc: $out"

# The example file: every key known and every value valid; only the files
# under /etc/rspd/ it names are missing here. With them pointed at files the
# test makes, it is ok.
if [ ! -e /etc/rspd/registrar.pem ]; then
  set +e
  out=$("$RSPD" --check-config "$EXAMPLE" 2>&1); rc=$?
  set -e
  [ "$rc" -eq 2 ] && grep -qF "rspd: tls_certificate: cannot read '/etc/rspd/registrar.pem'" <<<"$out" ||
    fail "the example file: $rc: $out"
fi
mkdir -p "$dir/etc"
sed "s#/etc/rspd/#$dir/etc/#g" "$EXAMPLE" >"$dir/example.toml"
for f in registrar.pem registrar.key ca.pem policy.conf; do echo "# test" >"$dir/etc/$f"; done
set +e
out=$("$RSPD" --check-config "$dir/example.toml" 2>&1); rc=$?
set -e
[ "$rc" -eq 0 ] && [ "$out" = "$dir/example.toml: ok" ] || fail "the example file: $rc: $out"

# The command line wins: the file's bind address (not this host's) and ASAP
# port lose to the command line's; its max_pools, set nowhere else, holds.
cat >"$dir/override.toml" <<'EOF'
bind_address = "192.0.2.1"
asap_port = 4001
max_pools = 1234
keep_alive_interval = "2s"
EOF
start_rspd rspd --config="$dir/override.toml" --asap_port=4002
grep -Eq '^  asap_port += 4002$' "$dir/rspd.out" || fail "asap_port not 4002: $(cat "$dir/rspd.out")"
grep -Eq '^  bind_address += 127\.0\.0\.1$' "$dir/rspd.out" || fail "bind_address: $(cat "$dir/rspd.out")"
grep -Eq '^  max_pools += 1234$' "$dir/rspd.out" || fail "max_pools from the file: $(cat "$dir/rspd.out")"
grep -Eq '^  keep_alive_interval += 2s$' "$dir/rspd.out" || fail "keep_alive_interval: $(cat "$dir/rspd.out")"
grep -q 'sctp port 4002  ASAP' "$dir/rspd.out" || fail "not listening on 4002: $(cat "$dir/rspd.out")"
# shellcheck disable=SC2154 # start_rspd sets rspd_pid
kill -TERM "$rspd_pid"
set +e
wait "$rspd_pid"; rc=$?
set -e
[ "$rc" -eq 0 ] || fail "rspd exited $rc after SIGTERM: $(cat "$dir/rspd.out")"
echo PASS
