#!/bin/sh
# /init of the VM of tests/rsplib_vm_interop_test.sh (busybox sh, PID 1).
#
# Brings up eth0, loads the kernel's SCTP with RFC 6951 UDP encapsulation,
# starts an RSPLIB pool element (rspserver -echo) that registers at the
# registrar for each pool, waits for the host's "go" (sent once the host saw
# the PEs in the registrar's handlespace), runs an RSPLIB pool user
# (rspterminal) per pool that resolves it through the registrar and sends it
# lines to echo, prints every log on the console (ttyS0) and powers off.
#
# Parameters come from the kernel command line (the kernel hands name=value
# words it does not know to init as environment variables), e.g.
#   guest_addr=10.99.0.2/24 registrar=10.99.0.1:3863 encap_port=9899
#   pools=EchoPool/RoundRobin,EchoPoolLU/LeastUsed go_port=7777 echo_lines=3
#   pu_timeout=10 pu_loglevel=0   (pools: POOL/RSPLIB_POLICY, comma-separated)
# Console lines of this script start with "vm: "; the host test reads them.

/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "vm: $* (uptime $(cut -d" " -f1 /proc/uptime)s)"; }

# Prints a log file with a prefix per line (the PE's and PU's output).
show() {
  [ -f "$2" ] || return 0
  sed "s/^/vm: $1: /" "$2"
}

finish() {
  for f in /tmp/pe-*.log /tmp/pu-*.log; do
    name=${f#/tmp/}
    show "${name%.log}" "$f"
  done
  say "finished rc=$1"
  sync
  poweroff -f
}

# Defaults for a boot without the parameters.
: "${guest_addr:=10.99.0.2/24}" "${registrar:=10.99.0.1:3863}" "${encap_port:=9899}"
: "${pools:=EchoPool/RoundRobin}" "${go_port:=7777}" "${echo_lines:=3}"
: "${pu_timeout:=10}" "${pu_loglevel:=0}"
# RSPLIB's own log of the PU (-loglevel=6 shows why a resolution failed),
# passed as "$@".
set --
if [ "$pu_loglevel" -gt 0 ]; then set -- "-loglevel=$pu_loglevel"; fi

say "init started, kernel $(uname -r)"
while read -r m; do
  insmod "/lib/modules/$m" || { say "insmod $m failed"; finish 1; }
done </lib/modules/load_order

ip link set lo up
ip addr add "$guest_addr" dev eth0 || finish 1
ip link set eth0 up || finish 1
# RFC 6951 in Linux (5.11+): udp_port is the local UDP port the kernel
# listens on for encapsulated SCTP, encap_port the remote one it sends to.
sysctl -w net.sctp.udp_port="$encap_port" net.sctp.encap_port="$encap_port" || finish 1
say "net up: $(ip -o -4 addr show dev eth0 | awk '{print $4}')," \
  "sctp udp_port=$(cat /proc/sys/net/sctp/udp_port) encap_port=$(cat /proc/sys/net/sctp/encap_port)"

# One PE per pool, with the pool's policy. -quiet would hide the PE's start
# and stop lines, which help a reader.
pes=
for entry in $(echo "$pools" | tr ',' ' '); do
  pool=${entry%%/*}
  rspserver -echo -poolhandle="$pool" -policy="${entry#*/}" -registrar="$registrar" -logcolor=off \
    >"/tmp/pe-$pool.log" 2>&1 &
  pes="$pes $!"
  say "rspserver for $entry started (pid $!)"
done

# The host sends "go" once rspd lists the PEs; 90 s bound the wait (TCG is slow).
go=$(timeout 90 nc -l -p "$go_port" 2>/dev/null)
if [ "$go" != "go" ]; then
  say "no go from the host (got '$go')"
  finish 1
fi
for pe in $pes; do
  kill -0 "$pe" 2>/dev/null || { say "rspserver $pe exited"; finish 1; }
done
say "go received"

# The PUs: rspterminal sends each stdin line to a PE of the pool it resolved
# through the registrar and prints each answer as "from PE $<id>> <line>".
# It polls stdin for POLLIN only, so EOF alone does not end it, and SIGINT
# alone only once its poll returns: it is stopped by both once the last echo
# is in, or after $pu_timeout seconds.
for entry in $(echo "$pools" | tr ',' ' '); do
  pool=${entry%%/*}
  log="/tmp/pu-$pool.log"
  done_flag="/tmp/pu-$pool.done"
  (
    i=1
    while [ "$i" -le "$echo_lines" ]; do
      echo "rspd-interop-$pool-$i"
      i=$((i + 1))
      sleep 0.5
    done
    while [ ! -e "$done_flag" ]; do sleep 0.2; done
  ) | rspterminal -poolhandle="$pool" -registrar="$registrar" -logcolor=off "$@" >"$log" 2>&1 &
  pu=$!
  waited=0
  while [ "$waited" -lt "$((pu_timeout * 5))" ] && ! grep -q "> rspd-interop-$pool-$echo_lines" "$log"; do
    sleep 0.2
    waited=$((waited + 1))
  done
  say "rspterminal for $pool: $(grep -c '> rspd-interop-' "$log") echoes in $((waited / 5)).$((waited % 5 * 2))s"
  kill -INT "$pu" 2>/dev/null
  touch "$done_flag"
  wait "$pu"
  say "rspterminal for $pool stopped"
done

for pe in $pes; do kill -INT "$pe"; done
sleep 1
finish 0
