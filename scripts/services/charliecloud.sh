#!/usr/bin/env bash
# Charliecloud (the container runtime the container tests use for real) and a small test image with
# python3 inside: a directory image made by debootstrap, and the same image as SquashFS.
# Idempotent and cached: each step is skipped when its result is already present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
images=/var/tmp/roost-test-images
image_dir=$images/python
image_sqfs=$images/python.sqfs
# pip for `roost container pip-install`, and ipykernel from PyPI for container kernels (Debian's
# python3-ipykernel fails to configure under debootstrap).  The stamp records both, so a change rebuilds.
packages=python3,python3-pip
pip_packages=ipykernel
stamp="$packages $pip_packages"

need=()
command -v ch-run >/dev/null || need+=(charliecloud)
command -v squashfuse >/dev/null || need+=(squashfuse)
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$images"
if [ "$(cat "$image_dir/.roost-packages" 2>/dev/null)" != "$stamp" ]; then
  # Build beside the final path and rename, so an interrupted run never leaves a half image that the
  # tests (which probe for the directory) would take for a good one.
  rm -rf "$image_dir.partial"
  debootstrap --variant=minbase --include="$packages" bookworm "$image_dir.partial" http://deb.debian.org/debian >/dev/null
  # ch-run needs these files to exist in the image (it binds the host's over them); drop apt caches.
  touch "$image_dir.partial/etc/hosts" "$image_dir.partial/etc/resolv.conf"
  rm -rf "$image_dir.partial/var/cache/apt/archives/"*.deb "$image_dir.partial/var/lib/apt/lists/"*
  # pip inside the image (-w: writable).  The host's CA bundle goes in first: this machine reaches PyPI
  # through a proxy whose certificate only the host trusts.
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$image_dir.partial/etc/ssl/certs/ca-certificates.crt"
  fi
  USER=${USER:-root} PIP_CONFIG_FILE=/dev/null ch-run -w "$image_dir.partial" -- \
    python3 -m pip install -q --no-cache-dir --break-system-packages $pip_packages
  echo "$stamp" >"$image_dir.partial/.roost-packages"
  rm -rf "$image_dir" "$image_sqfs"
  mv "$image_dir.partial" "$image_dir"
fi

if [ ! -s "$image_sqfs" ]; then
  # mksquashfs directly (what ch-convert does); keep /dev empty: ch-run binds the host's over it.
  rm -f "$image_sqfs.partial"
  mksquashfs "$image_dir" "$image_sqfs.partial" -noappend -quiet -no-progress -wildcards -e 'dev/*' >/dev/null
  mv "$image_sqfs.partial" "$image_sqfs"
fi

# Smoke test: python runs inside the image (ch-run refuses to start without $USER).
USER=${USER:-root} ch-run "$image_dir" -- python3 -c 'import sys' >/dev/null
