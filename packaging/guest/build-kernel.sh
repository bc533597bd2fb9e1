#!/bin/sh
# Guest kernel from Debian's cloud kernel package (DESIGN.md decision 6).
# Usage: build-kernel.sh CACHE_DIR OUT_DIR
#   Downloads the newest linux-image-*-cloud-amd64 apt offers (or, with
#   GUEST_KERNEL_FLAVOUR=generic, the newest generic linux-image-*-amd64,
#   which has 9p; or $GUEST_KERNEL_PKG) with `apt-get download` into
#   CACHE_DIR (kept between
#   builds; never installed on the host), unpacks it there with dpkg-deb -x,
#   and writes OUT_DIR/vmlinuz.container: the *uncompressed* ELF vmlinux,
#   which QEMU boots through its PVH entry note (no in-guest decompression,
#   0.25-3 s faster under TCG; docs/facts/guest-boot.md §1.3), plus
#   OUT_DIR/kernel.env (KVER, KROOT) for build-initrd.sh.
# Exit 0 with a message and no outputs when the package cannot be had
# (no apt, no network): the guest build is then skipped, not failed.
set -eu

cache=$1
out=$2
mkdir -p "$cache" "$out"
cache=$(cd "$cache" && pwd)

skip() {
    echo "guest: kernel skipped: $*" >&2
    exit 0
}

command -v apt-get >/dev/null 2>&1 || skip "apt-get not found (not a Debian host)"
command -v dpkg-deb >/dev/null 2>&1 || skip "dpkg-deb not found"

pkg=${GUEST_KERNEL_PKG:-}
flavour=${GUEST_KERNEL_FLAVOUR:-cloud}
if [ -z "$pkg" ]; then
    case $flavour in
    cloud) pkg=$(apt-cache pkgnames linux-image- 2>/dev/null |
        grep -E '^linux-image-[0-9][^ ]*-cloud-amd64$' | sort -V | tail -n 1) || true ;;
    # The generic flavour: not cloud, not the real-time build.
    generic) pkg=$(apt-cache pkgnames linux-image- 2>/dev/null |
        grep -E '^linux-image-[0-9][^ ]*-amd64$' | grep -vE -- '-(cloud|rt)-amd64$' |
        sort -V | tail -n 1) || true ;;
    *) skip "unknown GUEST_KERNEL_FLAVOUR $flavour (cloud or generic)" ;;
    esac
fi
[ -n "$pkg" ] || skip "apt offers no $flavour linux-image-*-amd64 (run apt-get update?)"

deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
if [ -z "$deb" ]; then
    echo "guest: downloading $pkg" >&2
    # apt's _apt user cannot write into our build folder; that warning is harmless.
    (cd "$cache" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed' >&2) ||
        skip "apt-get download $pkg failed"
    deb=$(find "$cache" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
    [ -n "$deb" ] || skip "apt-get download $pkg produced no .deb"
fi

root="$cache/$pkg"
if [ ! -e "$root/.unpacked" ]; then
    rm -rf "$root"
    dpkg-deb -x "$deb" "$root"
    touch "$root/.unpacked"
fi
kimg=$(find "$root/boot" -maxdepth 1 -name "vmlinuz-*" | head -n 1)
kver=${kimg##*/vmlinuz-}

# Find the compressed payload inside the bzImage by its magic and inflate
# it; the decompressors complain about the bytes after the payload ("trailing
# garbage"), which is expected, so only the ELF result is checked.
tmp="$out/.vmlinux.tmp"
found=""
for kind in zstd lz4 xz gzip; do
    case $kind in
    zstd) magic='\x28\xb5\x2f\xfd' cmd="zstd -dcq" ;;
    lz4) magic='\x02\x21\x4c\x18' cmd="lz4 -dcq" ;;
    xz) magic='\xfd\x37\x7a\x58\x5a\x00' cmd="xz -dcq" ;;
    gzip) magic='\x1f\x8b\x08' cmd="gzip -dcq" ;;
    esac
    command -v "${cmd%% *}" >/dev/null 2>&1 || continue
    for off in $(LC_ALL=C grep -aboP "$magic" "$kimg" | head -n 3 | cut -d: -f1); do
        tail -c +$((off + 1)) "$kimg" | $cmd >"$tmp" 2>/dev/null || true
        if [ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
            found=$kind
            break 2
        fi
    done
done
[ -n "$found" ] || skip "could not find an ELF payload in $kimg (need zstd, lz4, xz or gzip)"
# The PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12) lets QEMU boot the ELF.
if command -v readelf >/dev/null 2>&1 && ! readelf -n "$tmp" | grep -q '0x00000012'; then
    skip "$kimg has no PVH entry note; QEMU cannot boot its vmlinux"
fi
mv "$tmp" "$out/vmlinuz.container"
printf 'KVER=%s\nKROOT=%s\nKPKG=%s\n' "$kver" "$root" "$pkg" >"$out/kernel.env"
echo "guest: kernel $pkg ($found payload) -> $out/vmlinuz.container" >&2
