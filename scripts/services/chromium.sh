#!/usr/bin/env bash
# Headless Chromium (Debian's package) for the browser tests of `roost jupyter`.  Playwright (Python, from the
# `test` extra) drives it with executable_path=/usr/bin/chromium: no browser is ever downloaded.  Idempotent; root.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
[ -x /usr/bin/chromium ] && exit 0
if [ ! -f /var/tmp/roost-apt-updated ]; then apt-get update -qq && touch /var/tmp/roost-apt-updated; fi
apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version >/dev/null
