#!/bin/sh
# python in py/1 (x): written by `roost container add`; re-adding rewrites it
export PYTHONPATH='/home/me/extras'"${PYTHONPATH:+:$PYTHONPATH}";
export PIP_TARGET='/home/me/extras';
export APPTAINERENV_PYTHONPATH='/home/me/extras';
export APPTAINERENV_PIP_TARGET='/home/me/extras';
set -- '<tmp>/img' '/usr/bin/python3' "$@"
if [ -d "${PROJECT}" ]; then set -- '--bind' "${PROJECT}" "$@"; fi
if [ -d '/scratch' ]; then set -- '--bind' '/scratch' "$@"; fi
exec '/usr/bin/apptainer' 'exec' '--nv' '--cleanenv' '--bind' '/home/me/extras' '--pwd' "${PWD}" "$@"
