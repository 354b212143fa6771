#!/usr/bin/env bash
# Keys and certificates for a secure RSerPool operation scope (docs/security.md),
# with the openssl command line: a certificate authority, a certificate per
# registrar, PE or PU (its name is its identity for the authorization policy),
# revocation, and pre-shared keys.
#
#   tools/tls_setup.sh ca DIR                  # DIR/ca.pem, DIR/ca.key, DIR/crl.pem
#   tools/tls_setup.sh cert DIR NAME [DAYS]    # DIR/NAME.pem, DIR/NAME.key (default 365 days)
#   tools/tls_setup.sh expired DIR NAME        # a certificate whose validity ended yesterday
#   tools/tls_setup.sh revoke DIR NAME         # revokes DIR/NAME.pem; DIR/crl.pem anew
#   tools/tls_setup.sh psk FILE IDENTITY...    # appends "IDENTITY HEXKEY" lines (256-bit keys)
#
# Keys are ECDSA P-256, signatures SHA-256. Private keys are written mode 0600.
set -euo pipefail

# The leaf certificate section reads the name from here; set for every
# command, since openssl reads the whole configuration.
export RSPD_TLS_NAME="${RSPD_TLS_NAME:-unused}"

# Runs a command quietly; on failure shows what it said and stops.
run() {
  local out
  if ! out="$("$@" 2>&1)"; then
    echo "tls_setup: $1 failed:" >&2
    echo "$out" >&2
    exit 1
  fi
}

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The CA's openssl configuration: a database, so that certificates can be
# revoked and a CRL issued.
write_ca_config() {
  local dir="$1"
  cat >"$dir/ca.cnf" <<EOF
[ca]
default_ca = rspd_ca
[rspd_ca]
dir = $dir
database = \$dir/ca.index
serial = \$dir/ca.serial
crlnumber = \$dir/ca.crlnumber
new_certs_dir = \$dir
certificate = \$dir/ca.pem
private_key = \$dir/ca.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = any_name
unique_subject = no
copy_extensions = none
[any_name]
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:\${ENV::RSPD_TLS_NAME}
authorityKeyIdentifier = keyid
EOF
}

new_key() {
  (umask 077 && run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1")
}

# issue DIR NAME OPENSSL-CA-VALIDITY-ARGS...
issue() {
  local dir="$1" name="$2"
  shift 2
  [ -f "$dir/ca.cnf" ] || { echo "tls_setup: no CA in $dir (run: $0 ca $dir)" >&2; exit 1; }
  case "$name" in
    */* | .* | "") echo "tls_setup: bad name '$name'" >&2; exit 2 ;;
  esac
  new_key "$dir/$name.key"
  run openssl req -new -key "$dir/$name.key" -subj "/CN=$name" -out "$dir/$name.csr"
  RSPD_TLS_NAME="$name" run openssl ca -batch -config "$dir/ca.cnf" -extensions leaf "$@" \
    -in "$dir/$name.csr" -out "$dir/$name.pem" -notext
  rm -f "$dir/$name.csr" "$dir"/[0-9A-F][0-9A-F][0-9A-F][0-9A-F].pem
}

cmd="${1:-}"
case "$cmd" in
  ca)
    [ $# -eq 2 ] || usage
    dir="$(mkdir -p "$2" && cd "$2" && pwd)"
    write_ca_config "$dir"
    : >"$dir/ca.index"
    echo 1000 >"$dir/ca.serial"
    echo 1000 >"$dir/ca.crlnumber"
    new_key "$dir/ca.key"
    run openssl req -new -x509 -key "$dir/ca.key" -subj "/CN=rspd operation scope CA" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.pem"
    run openssl ca -batch -config "$dir/ca.cnf" -gencrl -out "$dir/crl.pem"
    echo "$dir/ca.pem $dir/crl.pem"
    ;;
  cert)
    [ $# -eq 3 ] || [ $# -eq 4 ] || usage
    dir="$(cd "$2" && pwd)"
    issue "$dir" "$3" -days "${4:-365}"
    echo "$dir/$3.pem $dir/$3.key"
    ;;
  expired)
    [ $# -eq 3 ] || usage
    dir="$(cd "$2" && pwd)"
    issue "$dir" "$3" -startdate "$(date -u -d '3 days ago' +%Y%m%d%H%M%SZ)" \
      -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)"
    echo "$dir/$3.pem $dir/$3.key"
    ;;
  revoke)
    [ $# -eq 3 ] || usage
    dir="$(cd "$2" && pwd)"
    run openssl ca -batch -config "$dir/ca.cnf" -revoke "$dir/$3.pem"
    run openssl ca -batch -config "$dir/ca.cnf" -gencrl -out "$dir/crl.pem"
    echo "$dir/crl.pem"
    ;;
  psk)
    [ $# -ge 3 ] || usage
    file="$2"
    shift 2
    (umask 077 && touch "$file")
    for identity in "$@"; do
      echo "$identity $(openssl rand -hex 32)" >>"$file"
    done
    echo "$file"
    ;;
  *) usage ;;
esac
