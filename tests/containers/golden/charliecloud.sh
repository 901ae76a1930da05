#!/bin/sh
# python in py/1 (x): written by `roost container add`; re-adding rewrites it
[ -n "${USER-}" ] || { USER=$(id -un); export USER; }
export PYTHONPATH='/mnt'"${PYTHONPATH:+:$PYTHONPATH}";
export PIP_TARGET='/mnt';
set -- '<tmp>/img' '--' '/usr/bin/python3' "$@"
if [ -d '/scratch' ]; then set -- '--bind=/scratch' "$@"; fi
__roost_in=; for __roost_d in '/tmp' '/scratch' '/home/'"${USER}"; do case $PWD in "$__roost_d"|"$__roost_d"/*) [ -n "$__roost_d" ] && __roost_in=1;; esac; done
if [ -n "$__roost_in" ]; then set -- '--cd='"${PWD}" "$@"; else set -- '--bind='"${PWD}"':/media' '--cd=/media' '--set-env=PWD=/media' "$@"; fi
exec '/usr/bin/ch-run' '--home' '--bind=/home/me/extras:/mnt' '--set-env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$@"
