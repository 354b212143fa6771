#!/bin/sh
# /init of the RSPLIB test VM (busybox sh, PID 1): an agent that runs the
# RSPLIB programs the host test asks for (tests/vm/vm_lib.sh, vm_do).
#
# Brings up eth0 and the kernel's SCTP with RFC 6951 UDP encapsulation, then
# serves commands, one per TCP connection on $cmd_port, each a line
#   ID COMMAND ARGUMENT...
# and prints "vm: done ID rc=N" on the console (ttyS0) when it is through:
#   start NAME PROGRAM ARG...   runs PROGRAM in the background, its output in
#                               /tmp/NAME.log (PROGRAM: rspserver,
#                               rspregistrar, ...)
#   pu NAME POOL LINES TIMEOUT ARG...
#                               runs rspterminal -poolhandle=POOL ARG... as a
#                               pool user that sends LINES lines
#                               "rspd-interop-NAME-I" and waits up to TIMEOUT
#                               seconds for their echoes; prints its log
#   kill NAME SIGNAL            sends SIGNAL to what "start NAME" runs
#   log NAME                    prints /tmp/NAME.log
#   logged NAME ERE             rc=0 if a line of /tmp/NAME.log matches ERE
#                               (one word: no spaces)
#   poweroff                    prints every log and powers off
# Lines of this script start with "vm: ", a program's with "vm: NAME: ".
#
# Parameters come from the kernel command line (the kernel hands name=value
# words it does not know to init as environment variables), e.g.
#   guest_addr=10.99.0.2/24 encap_port=9899 cmd_port=7777

/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

say() { echo "vm: $* (uptime $(cut -d" " -f1 /proc/uptime)s)"; }

# Prints log $2 with the prefix "vm: $1: " on each line.
show() {
  [ -f "$2" ] || return 0
  sed "s/^/vm: $1: /" "$2"
}

power_off() {
  for f in /tmp/*.log; do
    name=${f#/tmp/}
    show "${name%.log}" "$f"
  done
  say "finished rc=$1"
  sync
  poweroff -f
}

: "${guest_addr:=10.99.0.2/24}" "${encap_port:=9899}" "${cmd_port:=7777}"

say "init started, kernel $(uname -r)"
while read -r m; do
  insmod "/lib/modules/$m" || { say "insmod $m failed"; power_off 1; }
done </lib/modules/load_order

ip link set lo up
ip addr add "$guest_addr" dev eth0 || power_off 1
ip link set eth0 up || power_off 1
# RFC 6951 in Linux (5.11+): udp_port is the local UDP port the kernel
# listens on for encapsulated SCTP, encap_port the remote one it sends to.
sysctl -w net.sctp.udp_port="$encap_port" net.sctp.encap_port="$encap_port" || power_off 1
say "net up: $(ip -o -4 addr show dev eth0 | awk '{print $4}')," \
  "sctp udp_port=$(cat /proc/sys/net/sctp/udp_port) encap_port=$(cat /proc/sys/net/sctp/encap_port)"

# pu NAME POOL LINES TIMEOUT ARG...: rspterminal sends each stdin line to a
# PE of POOL and prints each answer as "from PE $<id>> <line>". It polls
# stdin for POLLIN only, so EOF alone does not end it, and SIGINT alone only
# once its poll returns: it is stopped by both once the last echo is in, or
# after TIMEOUT seconds.
pool_user() {
  name=$1 pool=$2 lines=$3 timeout=$4
  shift 4
  log="/tmp/$name.log"
  done_flag="/tmp/$name.done"
  rm -f "$log" "$done_flag"
  (
    i=1
    while [ "$i" -le "$lines" ]; do
      echo "rspd-interop-$name-$i"
      i=$((i + 1))
      sleep 0.5
    done
    while [ ! -e "$done_flag" ]; do sleep 0.2; done
  ) | rspterminal -poolhandle="$pool" -logcolor=off "$@" >"$log" 2>&1 &
  pu=$!
  waited=0
  while [ "$waited" -lt "$((timeout * 5))" ] && ! grep -q "> rspd-interop-$name-$lines" "$log"; do
    sleep 0.2
    waited=$((waited + 1))
  done
  say "pu $name: $(grep -c '> rspd-interop-' "$log") echoes in $((waited / 5)).$((waited % 5 * 2))s"
  kill -INT "$pu" 2>/dev/null
  touch "$done_flag"
  wait "$pu"
  show "$name" "$log"
  rm -f "$log"
}

say "agent listening on tcp port $cmd_port"
while true; do
  line=$(nc -l -p "$cmd_port" 2>/dev/null) || continue
  [ -n "$line" ] || continue
  # shellcheck disable=SC2086  # the words of the command line, unglobbed
  set -f
  set -- $line
  set +f
  id=$1 command=$2
  shift 2
  say "command $id: $command $*"
  rc=0
  case "$command" in
    start)
      name=$1
      shift
      "$@" >"/tmp/$name.log" 2>&1 &
      echo $! >"/tmp/$name.pid"
      say "$name started (pid $!)"
      ;;
    pu) pool_user "$@" ;;
    kill)
      if [ -f "/tmp/$1.pid" ]; then kill "-$2" "$(cat "/tmp/$1.pid")" || rc=1; else rc=1; fi
      ;;
    log) show "$1" "/tmp/$1.log" ;;
    logged) grep -qE "$2" "/tmp/$1.log" || rc=1 ;;
    poweroff) power_off 0 ;;
    *) rc=2 ;;
  esac
  say "done $id rc=$rc"
done
