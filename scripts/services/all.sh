#!/usr/bin/env bash
# Install and start every service the integration tests use (every scripts/services/*.sh: lmod, slurm,
# slurm-multi, charliecloud, ...).  Idempotent; needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DEBIAN_FRONTEND=noninteractive
if [ ! -f /var/tmp/roost-apt-updated ]; then apt-get update -qq && touch /var/tmp/roost-apt-updated; fi
for script in "$here"/[a-z]*.sh; do
  [ "$(basename "$script")" = all.sh ] && continue
  echo "== services: $(basename "$script" .sh)" >&2
  bash "$script"
done
