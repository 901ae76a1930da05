#!/bin/sh
# python in py/1 (x): written by `roost container add`; re-adding rewrites it
[ -n "${USER-}" ] || { USER=$(id -un); export USER; }
export PYTHONPATH='/mnt'"${PYTHONPATH:+:$PYTHONPATH}";
export PIP_TARGET='/mnt';
set -- '<tmp>/img' '--' '/usr/bin/python3' "$@"
if [ -d '/scratch' ]; then set -- '--bind=/scratch' "$@"; fi
exec '/usr/bin/ch-run' '--home' '--bind=/home/me/extras:/mnt' '--set-env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' '--cd='"${PWD}" "$@"
