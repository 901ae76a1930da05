#!/usr/bin/env bash
# Lmod 8.6 (Debian), the oracle for roost's module engine.
set -euo pipefail
[ -x /usr/share/lmod/lmod/libexec/lmod ] && exit 0
apt-get install -y -qq lmod >/dev/null
