#!/bin/sh
# Builds an offline OCI image archive holding only the static pause program
# (tests/e2e/cri/pause.c) as /pause, named by IMAGE_REF, for containerd's
# CRI sandbox_image. Same layout rules as tests/support/busybox_image.sh:
# a deterministic uncompressed layer, config, manifest and index.
# Usage: pause_image.sh PAUSE_BINARY IMAGE_REF OUTDIR  -> OUTDIR/pause-oci.tar
set -eu
bin=$1
ref=$2
out=$3
work="$out/pause-work"
rm -rf "$work"
mkdir -p "$work/rootfs" "$work/layout/blobs/sha256"
cp "$bin" "$work/rootfs/pause"
chmod 0755 "$work/rootfs/pause"
tarflags="--sort=name --mtime=2024-01-01T00:00:00Z --owner=0 --group=0 --numeric-owner"
# shellcheck disable=SC2086
(cd "$work/rootfs" && tar $tarflags -cf "$work/layer.tar" .)
blobs="$work/layout/blobs/sha256"
put() { # moves a file into blobs/; sets $digest and $size
    digest=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$blobs/$digest"
}
put "$work/layer.tar"
layer=$digest layer_size=$size
printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" > "$work/config.json"
put "$work/config.json"
config=$digest config_size=$size
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest.json"
put "$work/manifest.json"
manifest=$digest manifest_size=$size
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest" "$manifest_size" "$ref" "${ref##*:}" > "$work/layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"
# shellcheck disable=SC2086
(cd "$work/layout" && tar $tarflags -cf "$out/pause-oci.tar" oci-layout index.json blobs)
rm -rf "$work"
