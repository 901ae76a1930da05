#!/bin/sh
# python in py/1 (x): written by `roost container add`; re-adding rewrites it
export PYTHONPATH='/home/me/extras'"${PYTHONPATH:+:$PYTHONPATH}";
export PIP_TARGET='/home/me/extras';
set -- '--rootfs' '<tmp>/img:O' '/usr/bin/python3' "$@"
if [ -d "${PROJECT}" ]; then set -- '--volume='"${PROJECT}"':'"${PROJECT}" "$@"; fi
if [ -d '/scratch' ]; then set -- '--volume=/scratch:/scratch' "$@"; fi
if [ -d "${HOME}" ]; then set -- '--volume='"${HOME}"':'"${HOME}" "$@"; fi
if [ -t 0 ] && [ -t 1 ]; then set -- '-t' "$@"; fi
exec '/usr/bin/podman' 'run' '--rm' '-i' '--network=host' '--volume=/tmp:/tmp' '--env=PYTHONPATH' '--env=PIP_TARGET' '--volume=/home/me/extras:/home/me/extras' '--volume='"${PWD}"':'"${PWD}" '--workdir='"${PWD}" "$@"
