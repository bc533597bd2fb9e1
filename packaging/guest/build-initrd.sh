#!/bin/sh
# Guest initrd: cpio newc holding INIT as /init and only the kernel modules
# in modules.list (plus their dependencies), decompressed, with their
# signatures cut off (the cloud kernel does not enforce them; loading 14
# unsigned modules is ~0.12 s faster under TCG, guest-boot.md §1.3), listed
# in dependency order in /lib/modules/load-order for agent/pid1.c, one line
# per module: "NAME.ko WHEN [DEP.ko ...]", WHEN "load" (the agent loads it
# at boot, before serving only when its channel needs it) or "on-demand"
# (only when asked for), then every module it needs, in load order.
# Usage: build-initrd.sh KERNEL_ENV INIT OUT [none|gzip|lz4]
# KERNEL_ENV is build-kernel.sh's kernel.env. Needs depmod (kmod) and cpio.
# With GUEST_FS_MANIFEST=FILE it also writes FILE: the file systems this
# kernel booted with this initrd can mount, one per line (built in, or a
# module the initrd carries), which `kata-runtime check` and configuration
# loading read to tell whether shared_fs = "virtio-9p" can work.
set -eu

env=$1
init=$2
out=$3
compress=${4:-none}
here=$(dirname "$0")

skip() {
    echo "guest: initrd $out skipped: $*" >&2
    exit 0
}
[ -r "$env" ] || skip "no kernel (see the kernel step above)"
[ -x "$init" ] || skip "$init not built"
command -v cpio >/dev/null 2>&1 || skip "cpio not installed (packaging/deps.sh build)"
depmod=$(command -v depmod || echo /sbin/depmod)
[ -x "$depmod" ] || skip "depmod not installed (package kmod)"

KVER='' KROOT=''
# shellcheck disable=SC1090 # kernel.env is written by build-kernel.sh
. "$env"
mods="$KROOT/lib/modules/$KVER"
[ -s "$mods/modules.dep" ] || "$depmod" -b "$KROOT" "$KVER"

stage="$out.d"
rm -rf "$stage"
mkdir -p "$stage/lib/modules" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/run" \
    "$stage/tmp" "$stage/etc"
cp "$init" "$stage/init"
chmod 0755 "$stage/init"
# Debug symbols stay in build/bin; the guest needs none.
strip --strip-all "$stage/init" 2>/dev/null || true
# The kernel opens /dev/console for init before anything is mounted.
if [ "$(id -u)" = 0 ]; then
    mknod -m 600 "$stage/dev/console" c 5 1
    mknod -m 666 "$stage/dev/null" c 1 3
fi

# modules.dep: "kernel/x/a.ko.xz: kernel/y/b.ko.xz kernel/z/c.ko.xz"; modprobe
# loads the listed dependencies last-to-first, then the module.
order="$stage/lib/modules/load-order"
: >"$order"
seen=" "
modname() { # kernel/x/a-b.ko.xz -> a-b (the file's own spelling)
    base=${1##*/}
    echo "${base%%.ko*}"
}
# The modules $1 needs, in the order to load them (modules.dep lists the
# whole closure, to be loaded last to first).
deps_of() {
    rev="" all=$(awk -v p="$1:" '$1 == p { $1 = ""; print; exit }' "$mods/modules.dep")
    for d in $all; do rev="$d $rev"; done
    echo "$rev"
}
add_path() { # relative path in modules.dep [on-demand]
    name=$(modname "$1")
    case "$seen" in *" $name "*) return 0 ;; esac
    seen="$seen$name "
    src="$mods/$1"
    dst="$stage/lib/modules/$name.ko"
    case "$src" in
    *.ko.xz) xz -dc "$src" >"$dst" ;;
    *.ko.zst) zstd -dcq "$src" >"$dst" ;;
    *.ko.gz) gzip -dc "$src" >"$dst" ;;
    *) cp "$src" "$dst" ;;
    esac
    strip_sig "$dst"
    entry="$name.ko ${2:-load}"
    for dep in $(deps_of "$1"); do entry="$entry $(modname "$dep").ko"; done
    echo "$entry" >>"$order"
}
# Appended signature: payload | signer | key id | sig | struct module_signature
# (12 bytes, sig_len big-endian at 8) | "~Module signature appended~\n".
strip_sig() {
    marker=$(tail -c 28 "$1" | head -c 27)
    [ "$marker" = "~Module signature appended~" ] || return 0
    # shellcheck disable=SC2046 # the 12 byte values are meant to split
    set -- "$1" $(tail -c 40 "$1" | head -c 12 | od -An -tu1)
    f=$1 signer=$5 keyid=$6 siglen=$((${10} * 16777216 + ${11} * 65536 + ${12} * 256 + ${13}))
    size=$(stat -c %s "$f")
    truncate -s $((size - 40 - siglen - signer - keyid)) "$f"
}
# "NAME on-demand": carried but not loaded at boot; the host asks for it
# with agent.kernel_modules=NAME when it gives the VM that device. A
# module's dependencies are always "load".
grep -v '^#' "$here/modules.list" | while read -r want when; do
    [ -n "$want" ] || continue
    # Names may be spelled with - or _ in paths (virtio-rng.ko).
    pat=$(echo "$want" | sed 's/[-_]/[-_]/g')
    if grep -qE "/$pat\.ko" "$mods/modules.builtin" 2>/dev/null; then
        echo "guest:   $want: built into the kernel" >&2
        continue
    fi
    line=$(grep -E "(^|/)$pat\.ko(\.[a-z]+)?:" "$mods/modules.dep" | head -n 1) || true
    if [ -z "$line" ]; then
        echo "guest:   $want: not in this kernel, skipped" >&2
        continue
    fi
    for d in $(deps_of "${line%%:*}"); do add_path "$d"; done
    add_path "${line%%:*}" "$when"
done
nmods=$(wc -l <"$order")

# name: the config symbols it needs (each =y, or =m with the module in the
# initrd, module name = the symbol's module). Debian ships its config in /boot.
write_manifest() {
    kconfig="$KROOT/boot/config-$KVER"
    [ -r "$kconfig" ] || { echo "guest: no $kconfig: no file-system manifest" >&2; return 0; }
    tmpm="$1.tmp"
    {
        echo "# File systems the guest kernel $KVER can mount with the initrd built beside it."
        echo "# Written by packaging/guest/build-initrd.sh; read by kata-runtime check."
        for entry in tmpfs:TMPFS: ext4:EXT4_FS:ext4 xfs:XFS_FS:xfs btrfs:BTRFS_FS:btrfs \
            erofs:EROFS_FS:erofs overlay:OVERLAY_FS:overlay virtiofs:VIRTIO_FS:virtiofs \
            9p:9P_FS:9p+NET_9P_VIRTIO:9pnet_virtio; do
            fs=${entry%%:*}
            ok=1
            rest=${entry#*:}
            for req in $(echo "$rest" | tr '+' ' '); do
                sym=${req%%:*} mod=${req#*:}
                val=$(grep -E "^CONFIG_$sym=" "$kconfig" | cut -d= -f2)
                case $val in
                y) ;;
                m) grep -q "^$mod\.ko load" "$order" || ok=0 ;;
                *) ok=0 ;;
                esac
            done
            [ $ok = 1 ] && echo "$fs"
        done
    } >"$tmpm"
    mv "$tmpm" "$1"
    echo "guest: $1: $(grep -v '^#' "$1" | tr '\n' ' ')" >&2
}
if [ -n "${GUEST_FS_MANIFEST:-}" ]; then
    write_manifest "$GUEST_FS_MANIFEST"
fi

tmp="$out.tmp"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp.cpio"
case "$compress" in
none) mv "$tmp.cpio" "$tmp" ;;
gzip) gzip -9n <"$tmp.cpio" >"$tmp" && rm -f "$tmp.cpio" ;;
lz4) lz4 -l -9 -q <"$tmp.cpio" >"$tmp" && rm -f "$tmp.cpio" ;;
*) skip "unknown compression $compress" ;;
esac
mv "$tmp" "$out"
rm -rf "$stage"
echo "guest: initrd $out: $(stat -c %s "$out") bytes, $nmods modules ($compress)" >&2
