#!/usr/bin/env bash
# Podman for the container tests that run when `podman` is on PATH.  On this kind of machine (hybrid
# cgroups, root without CAP_SYS_RESOURCE) Podman 4.3 only works with runc, cgroupfs, explicit ulimits and
# no network setup, so a containers.conf says so.  Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  apt-get install -y -qq podman runc >/dev/null
fi
conf=/etc/containers/containers.conf
if ! grep -q 'roost services' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# written by roost services (scripts/services/podman.sh)
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
# The Charliecloud test image (charliecloud.sh builds it), also imported into Podman's store so that images
# named by reference are tested too; then a smoke test.
image=/var/tmp/roost-test-images/python
if [ -d "$image" ]; then
  if ! podman image exists localhost/roost-test-python:1; then
    tar -C "$image" --exclude='./dev/*' -cf - . | podman import -q - localhost/roost-test-python:1 >/dev/null
  fi
  podman run --rm --rootfs "$image:O" /usr/bin/python3 -c 'import sys' >/dev/null
fi
