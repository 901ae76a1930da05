#!/usr/bin/env bash
# What env start-up images need (`roost env pack`, and jobs mounting or staging them): mksquashfs and
# unsquashfs (squashfs-tools), squashfuse with fusermount (fuse), and strace for the tests that count
# file-system calls.  Checks that a squashfuse mount works here.  Idempotent; needs root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v mksquashfs >/dev/null || need+=(squashfs-tools)
command -v squashfuse >/dev/null || need+=(squashfuse)
command -v fusermount >/dev/null || need+=(fuse)
command -v strace >/dev/null || need+=(strace)
if [ ${#need[@]} -gt 0 ]; then
  if [ ! -f /var/tmp/roost-apt-updated ]; then apt-get update -qq && touch /var/tmp/roost-apt-updated; fi
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -e /dev/fuse ] || { mknod -m 666 /dev/fuse c 10 229 2>/dev/null || true; }

# Smoke test: an image mounts and reads back.
work=$(mktemp -d)
trap 'fusermount -u "$work/mnt" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/mnt"
echo ok >"$work/src/probe"
mksquashfs "$work/src" "$work/img.sqfs" -quiet -no-progress -noappend >/dev/null
squashfuse "$work/img.sqfs" "$work/mnt"
[ "$(cat "$work/mnt/probe")" = ok ] || { echo "squashfs.sh: a squashfuse mount does not read back" >&2; exit 1; }
