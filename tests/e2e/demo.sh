#!/bin/bash
# The main job, shown step by step: a private containerd 1.6 (own root,
# state and sockets under a scratch folder; PATH starting with $O/bin so
# that io.containerd.kata.v2 resolves to our shim), the offline busybox
# image built from the host's busybox-static, then
#   ctr run --rm --runtime io.containerd.kata.v2 bb:latest <id> echo hi
# in a QEMU VM (KVM when usable, TCG otherwise) booted from our guest kernel
# and initrd, the rootfs shared through virtiofsd. Checks that uname -r in
# the container is the guest's kernel, and that nothing (QEMU, virtiofsd,
# shim, mounts) is left afterwards. Usage: O=build tests/e2e/demo.sh
# Ends with the harness line "N passed, N failed, N skipped".
set -u
O=${O:-build}
O=$(cd "$O" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$O/bin
GUEST=$O/guest
QEMU=/usr/bin/qemu-system-x86_64
VIRTIOFSD=/usr/lib/qemu/virtiofsd
IMG=docker.io/library/bb:latest
passed=0 failed=0 skipped=0

say() { printf '==> %s\n' "$*"; }
skip() { say "SKIP: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root (containerd, mounts, virtiofsd)"
for f in "$QEMU" "$VIRTIOFSD" "$BIN/containerd-shim-kata-v2"; do
    [ -x "$f" ] || skip "$f is missing (apt-get install qemu-system-x86; make)"
done
for f in vmlinuz.container kata-containers-initrd.img kernel.env; do
    [ -r "$GUEST/$f" ] || skip "$GUEST/$f is missing (make guest)"
done
if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    skip "containerd/ctr not installed"
fi
command -v busybox >/dev/null || skip "busybox-static not installed"
# shellcheck disable=SC1091 # KVER=: the guest kernel's release
. "$GUEST/kernel.env"

tmp=$(mktemp -d /tmp/kata-demo-XXXXXX)
sock=$tmp/containerd.sock
ctd_pid=
cleanup() {
    if [ -n "$ctd_pid" ]; then
        kill "$ctd_pid" 2>/dev/null
        wait "$ctd_pid" 2>/dev/null
    fi
    # containerd's overlay snapshots live in $tmp: unmount before removing
    grep -o " ${tmp}[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # name, condition command...
    local name=$1; shift
    if "$@"; then say "ok: $name"; passed=$((passed + 1)); else say "FAIL: $name"; failed=$((failed + 1)); fi
}

say "starting a private containerd in $tmp"
cat > "$tmp/config.toml" <<EOT
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$sock.ttrpc"
[debug]
  address = "$tmp/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$tmp/opt"
EOT
PATH="$BIN:$PATH" containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 100); do
    grep -q "containerd successfully booted" "$tmp/containerd.log" && break
    sleep 0.1
done
grep -q "containerd successfully booted" "$tmp/containerd.log" || { cat "$tmp/containerd.log"; skip "containerd did not start"; }
CTR() { ctr -a "$sock" "$@"; }

say "building the offline busybox image and importing it as $IMG"
sh "$SRC/tests/support/busybox_image.sh" "$tmp" >/dev/null || { failed=1; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
CTR image import "$tmp/busybox-oci.tar" >/dev/null

cat > "$tmp/configuration.toml" <<EOT
[hypervisor.qemu]
path = "$QEMU"
kernel = "$GUEST/vmlinuz.container"
initrd = "$GUEST/kata-containers-initrd.img"
machine_type = "q35"
default_vcpus = 1
default_memory = 384
shared_fs = "virtio-fs"
virtio_fs_daemon = "$VIRTIOFSD"
[agent.kata]
dial_timeout = 30
EOT
say "runtime configuration: $tmp/configuration.toml (QEMU, guest kernel $KVER, virtio-fs)"

show() { say "ctr run --rm --runtime io.containerd.kata.v2 --runtime-config-path configuration.toml $IMG $*"; }
run() { # id, args...
    local id=$1; shift
    PATH="$BIN:$PATH" timeout 120 ctr -a "$sock" run --rm --runtime io.containerd.kata.v2 \
        --runtime-config-path "$tmp/configuration.toml" "$IMG" "$id" "$@"
}

id=demo-$$
start=$(date +%s.%N)
show "$id" echo hi
out=$(run "$id" echo hi 2>&1); rc=$?
end=$(date +%s.%N)
printf '%s\n' "$out" | sed 's/^/    /'
say "took $(awk "BEGIN{printf \"%.1f\", $end - $start}") s (a VM boot included)"
check "echo hi printed hi in the VM" test "$rc:$out" = "0:hi"

show "$id-u" uname -r
out=$(run "$id-u" uname -r 2>&1); rc=$?
printf '%s\n' "$out" | sed 's/^/    /'
say "host kernel: $(uname -r)"
check "uname -r in the container is the guest kernel ($KVER)" \
    test "$rc:$out" = "0:$KVER" -a "$KVER" != "$(uname -r)"

left() { # processes of this containerd or sandbox, mounts, sockets
    pgrep -f -- "-address $sock" >/dev/null && return 0
    pgrep -f "sandbox-$id" >/dev/null && return 0
    grep -q "/sandboxes/$id" /proc/self/mountinfo && return 0
    [ -e "/run/vc/vm/$id" ] || [ -e "/run/kata-containers/shared/sandboxes/$id" ]
}
for _ in $(seq 50); do left || break; sleep 0.1; done
check "nothing left (no QEMU, virtiofsd or shim, no mounts, no VM folders)" eval '! left'

[ "$failed" = 0 ] || tail -40 "$tmp/containerd.log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
