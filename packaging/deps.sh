#!/bin/sh
# Install the Debian 12 packages this project needs to build and test.
# Idempotent and quiet: when every package is present it prints nothing
# and does not touch apt. Usage: packaging/deps.sh [build|test|all]
set -eu

build_pkgs="make gcc clang pkg-config protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev
    libjson-c-dev libcurl4-openssl-dev libseccomp-dev libcap-ng-dev nettle-dev
    cpio kmod lz4 zstd xz-utils binutils"
test_pkgs="libclang-rt-14-dev libfuzzer-14-dev golang-go golang-github-containerd-ttrpc-dev
    containerd runc python3 busybox-static qemu-system-x86
    containernetworking-plugins iproute2 iperf3 nodejs npm e2fsprogs"

case "${1:-all}" in
build) want="$build_pkgs" ;;
test | all) want="$build_pkgs $test_pkgs" ;;
*)
    echo "usage: $0 [build|test|all]" >&2
    exit 2
    ;;
esac

missing=""
for p in $want; do
    # The CRI test's client needs node and npm, not these exact packages
    # (NodeSource's nodejs bundles npm and conflicts with Debian's npm).
    case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing >/dev/null
