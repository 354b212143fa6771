#!/usr/bin/env bash
# Builds a small initramfs (gzipped newc cpio) for a test VM from what is
# installed on this host: busybox-static as the userland, the named kernel
# modules with every module they depend on (from modules.dep), the named
# binaries with every shared library ldd names plus the dynamic loader, and
# INIT as /init.
#
# Usage: build_initramfs.sh OUT.cpio.gz KERNEL_VERSION INIT "MODULE..." [BINARY...]
#   MODULE: a module name as modprobe takes it (sctp, virtio_net, crc32c_generic).
#   The VM's /init loads /lib/modules/load_order (one .ko file a line, each after
#   the modules it needs) with insmod: the image has no modprobe configuration.
#
# Example:
#   build_initramfs.sh /tmp/vm.cpio.gz 6.1.0-56-amd64 tests/vm/rsplib_init.sh \
#     "virtio_net sctp" /usr/bin/rspserver /usr/bin/rspterminal
set -euo pipefail

if [ $# -lt 4 ]; then
  echo "usage: $0 OUT.cpio.gz KERNEL_VERSION INIT \"MODULE...\" [BINARY...]" >&2
  exit 2
fi
out="$1"
kver="$2"
init="$3"
read -r -a modules <<<"$4"
shift 4
binaries=("$@")

busybox=/bin/busybox
moddir="/lib/modules/$kver"
[ -x "$busybox" ] || { echo "build_initramfs: no $busybox (busybox-static)" >&2; exit 1; }
[ -f "$moddir/modules.dep" ] || { echo "build_initramfs: no $moddir/modules.dep" >&2; exit 1; }

root="$(mktemp -d "${TMPDIR:-/tmp}/initramfs.XXXXXX")"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules,usr/bin}
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$init" "$root/init"
chmod 755 "$root/init"

# ---- Kernel modules, each after the modules it depends on.
# modules.dep lists a module's whole dependency closure, the modules to load
# first last (modprobe loads the list back to front).
dep_line() {  # the modules.dep line of module $1 (dashes and underscores match)
  local want="${1//-/_}"
  awk -F: -v want="$want" '{
      n = split($1, p, "/"); base = p[n]; sub(/\.ko(\.[a-z]+)?$/, "", base); gsub(/-/, "_", base)
      if (base == want) { print; exit }
    }' "$moddir/modules.dep"
}
order=()
add_module() {  # appends relative path $1 to the load order once
  local m
  for m in "${order[@]}"; do [ "$m" != "$1" ] || return 0; done
  order+=("$1")
}
for name in "${modules[@]}"; do
  line="$(dep_line "$name")"
  [ -n "$line" ] || { echo "build_initramfs: module $name not in $moddir/modules.dep" >&2; exit 1; }
  read -r -a deps <<<"${line#*:}"
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_module "${deps[i]}"; done
  add_module "${line%%:*}"
done
: >"$root/lib/modules/load_order"
for rel in "${order[@]}"; do
  base="$(basename "$rel")"
  case "$base" in
    *.ko) cp "$moddir/$rel" "$root/lib/modules/$base" ;;
    *.ko.xz) "$busybox" unxz -c "$moddir/$rel" >"$root/lib/modules/${base%.xz}"; base="${base%.xz}" ;;
    *) echo "build_initramfs: cannot unpack $rel (busybox has no decompressor for it)" >&2; exit 1 ;;
  esac
  echo "$base" >>"$root/lib/modules/load_order"
done

# ---- Binaries, their shared libraries and the dynamic loader, at the paths
# ldd names (so the loader's default search finds them).
copy_file() {
  mkdir -p "$root$(dirname "$1")"
  [ -e "$root$1" ] || cp -L "$1" "$root$1"
}
for bin in "${binaries[@]}"; do
  [ -x "$bin" ] || { echo "build_initramfs: no executable $bin" >&2; exit 1; }
  copy_file "$bin"
  # "libx.so.1 => /path/libx.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
  while read -r lib; do
    copy_file "$lib"
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
done

mkdir -p "$(dirname "$out")"
(cd "$root" && find . | sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 >"$out"
