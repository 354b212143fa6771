#!/usr/bin/env bash
# The systemd units tools/rspd.service and tools/rspd-snmp.service
# (docs/operations.md, "The systemd units"):
#  1. systemd-analyze verify loads each without a word of complaint (an
#     unknown key, a bad value or an unknown section is only a warning to
#     systemd, so any output fails), with the binaries at a stand-in path;
#  2. systemd-analyze security rates each at most 2.0 ("OK"), so dropping a
#     hardening option fails the test;
#  3. what the units start is where their install steps put it, with the
#     command lines docs/operations.md documents.
# systemd-analyze comes with Debian's systemd package (tools/setup.sh).
# Usage: systemd_unit_test.sh RSPD_UNIT RSPD_SNMP_UNIT
set -euo pipefail
source tests/test_lib.sh

rspd_unit="$1"
snmp_unit="$2"
command -v systemd-analyze >/dev/null ||
  fail "systemd-analyze not found: install Debian's systemd package (tools/setup.sh)"

# 3. The install locations and command lines.
key() {  # key FILE NAME: every value of NAME= in FILE, one per line
  sed -n "s/^$2=//p" "$1"
}
[ "$(key "$rspd_unit" ExecStart)" = "/usr/local/bin/rspd --config=/etc/rspd/rspd.toml" ] ||
  fail "rspd.service: ExecStart is '$(key "$rspd_unit" ExecStart)'"
[ "$(key "$rspd_unit" ExecStartPre)" = "/usr/local/bin/rspd --check-config /etc/rspd/rspd.toml" ] ||
  fail "rspd.service: ExecStartPre is '$(key "$rspd_unit" ExecStartPre)'"
key "$rspd_unit" ExecReload | grep -qx '/bin/kill -HUP \$MAINPID' ||
  fail "rspd.service: no ExecReload=/bin/kill -HUP \$MAINPID"
[ "$(key "$snmp_unit" ExecStart)" = "/usr/local/bin/rspd-snmp" ] ||
  fail "rspd-snmp.service: ExecStart is '$(key "$snmp_unit" ExecStart)'"
grep -q '^#   install -m 0755 bazel-bin/tools/rspd bazel-bin/tools/rspctl /usr/local/bin/$' \
  "$rspd_unit" || fail "rspd.service: its install steps do not put rspd in /usr/local/bin"
grep -q '^#   install -m 0755 bazel-bin/tools/snmp/rspd-snmp /usr/local/bin/$' "$snmp_unit" ||
  fail "rspd-snmp.service: its install steps do not put rspd-snmp in /usr/local/bin"
for unit in "$rspd_unit" "$snmp_unit"; do
  [ "$(key "$unit" Restart)" = on-failure ] || fail "$unit: Restart is not on-failure"
done
grep -q '^After=.*rspd.service' "$snmp_unit" || fail "rspd-snmp.service: not After=rspd.service"

# 1. verify, with the binaries at a path that exists here (verify checks
# that each command is executable).
mkdir -p "$dir/bin" "$dir/units"
for binary in rspd rspd-snmp; do
  printf '#!/bin/sh\nexit 0\n' >"$dir/bin/$binary"
  chmod 755 "$dir/bin/$binary"
done
for unit in "$rspd_unit" "$snmp_unit"; do
  sed "s#/usr/local/bin/#$dir/bin/#g" "$unit" >"$dir/units/$(basename "$unit")"
done
if ! systemd-analyze verify --man=no "$dir/units/rspd.service" "$dir/units/rspd-snmp.service" \
  >"$dir/verify.out" 2>&1; then
  cat "$dir/verify.out" >&2
  fail "systemd-analyze verify failed"
fi
if [ -s "$dir/verify.out" ]; then
  cat "$dir/verify.out" >&2
  fail "systemd-analyze verify complained"
fi

# 2. The exposure rating (0-10; --threshold is in tenths).
for unit in "$rspd_unit" "$snmp_unit"; do
  if ! systemd-analyze security --offline=yes --threshold=20 "$unit" >"$dir/security.out" 2>&1; then
    grep -E '✗|Overall' "$dir/security.out" >&2 || cat "$dir/security.out" >&2
    fail "$(basename "$unit"): exposure above 2.0"
  fi
  grep 'Overall exposure' "$dir/security.out"
done
echo PASS
