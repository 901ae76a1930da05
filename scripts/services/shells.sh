#!/usr/bin/env bash
# zsh and fish, for the shell-integration and quoting tests.
set -euo pipefail
command -v zsh >/dev/null && command -v fish >/dev/null && exit 0
apt-get install -y -qq zsh fish >/dev/null
