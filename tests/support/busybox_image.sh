#!/bin/sh
# Builds an offline busybox OCI image archive (docs/facts containerd-recipes.md
# §3): the host's busybox-static, one symlink per applet, a deterministic
# uncompressed layer, config, manifest and index naming
# docker.io/library/bb:latest. Usage: busybox_image.sh OUTDIR  -> OUTDIR/busybox-oci.tar
set -eu
out=$1
bb=$(command -v busybox)
work="$out/bb-work"
rm -rf "$work"
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/layout/blobs/sha256"
cd "$work/rootfs"
mkdir -p proc sys dev tmp root
cp "$bb" bin/busybox
for a in $(bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > etc/passwd
echo 'root:x:0:' > etc/group
tarflags="--sort=name --mtime=2024-01-01T00:00:00Z --owner=0 --group=0 --numeric-owner"
# shellcheck disable=SC2086
tar $tarflags -cf "$work/layer.tar" .
blobs="$work/layout/blobs/sha256"
layer=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
layer_size=$(stat -c %s "$work/layer.tar")
mv "$work/layer.tar" "$blobs/$layer"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" > "$work/config.json"
config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$blobs/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" > "$work/manifest.json"
manifest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$blobs/$manifest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"docker.io/library/bb:latest","org.opencontainers.image.ref.name":"latest"}}]}' \
    "$manifest" "$manifest_size" > "$work/layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"
cd "$work/layout"
# shellcheck disable=SC2086
tar $tarflags -cf "$out/busybox-oci.tar" oci-layout index.json blobs
rm -rf "$work"
