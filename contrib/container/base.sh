#!/usr/bin/env bash
# Makes the local stand-in for `debian:bookworm-slim` that the container
# check builds FROM, since no image registry is reachable here: a
# `debootstrap --variant=minbase` root with ca-certificates (from Debian's
# packages, the mirror this machine's apt uses), imported with buildah as
# localhost/romgate-base:bookworm. The root is cached under
# $ROMGATE_ROOTFS_CACHE (default ~/.cache/romgate-rootfs), so a rerun only
# imports it again when buildah's storage lost the image.
set -euo pipefail

cache="${ROMGATE_ROOTFS_CACHE:-$HOME/.cache/romgate-rootfs}"
image="${ROMGATE_BASE_IMAGE:-localhost/romgate-base:bookworm}"
buildah=(buildah --storage-driver vfs)

# The first Debian mirror apt is configured with (deb822 or one-line form).
mirror() {
  local url
  url=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1 || true)
  [ -n "$url" ] || url=$(grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}' | head -n 1 || true)
  [ -n "$url" ] || { echo "no Debian mirror in apt's sources" >&2; exit 1; }
  echo "$url"
}

if [ ! -f "$cache/rootfs.tar" ]; then
  echo "== debootstrap a minimal bookworm root (once; cached in $cache)" >&2
  mkdir -p "$cache"
  rm -rf "$cache/root"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$cache/root" "$(mirror)" >"$cache/debootstrap.log" 2>&1 \
    || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
  # As a slim image: no package lists or caches.
  rm -rf "$cache/root/var/lib/apt/lists/"* "$cache/root/var/cache/apt/"*.bin
  tar -C "$cache/root" --numeric-owner -cf "$cache/rootfs.tar.tmp" .
  mv "$cache/rootfs.tar.tmp" "$cache/rootfs.tar"
  rm -rf "$cache/root"
fi

if ! "${buildah[@]}" inspect --type image "$image" >/dev/null 2>&1; then
  echo "== import the root as $image" >&2
  container=$("${buildah[@]}" from scratch)
  "${buildah[@]}" add "$container" "$cache/rootfs.tar" / >/dev/null
  "${buildah[@]}" config --cmd /bin/bash "$container"
  "${buildah[@]}" commit --quiet "$container" "$image" >/dev/null
  "${buildah[@]}" rm "$container" >/dev/null
fi
echo "$image"
