"""Wrapper executables: small POSIX sh scripts that ``exec`` the runtime, so no Python starts per call.

A wrapper for ``python`` in a Charliecloud container reads like this (binds are tested when it runs, so one
wrapper serves users whose $SCRATCH differs or is unset; ch-run binds the extras directory at /mnt, the
image having no mount point at its own path; the caller's directory is entered at its own path when the
container shows it there, else bound on the image's spare /media first)::

    #!/bin/sh
    # python in pytorch/2.7.1 (charliecloud): written by `roost container add`; re-adding rewrites it
    [ -n "${USER-}" ] || { USER=$(id -un); export USER; }
    export PYTHONPATH='/mnt'"${PYTHONPATH:+:$PYTHONPATH}";
    export PIP_TARGET='/mnt';
    set -- '/images/pytorch.sqfs' '--' '/usr/bin/python3' "$@"
    if [ -d "${SCRATCH}" ]; then set -- '--bind='"${SCRATCH}" "$@"; fi
    __roost_in=; for __roost_d in '/tmp' "${SCRATCH}" '/home/'"${USER}"; do case $PWD in ...
    if [ -n "$__roost_in" ]; then set -- '--cd='"${PWD}" "$@"; else set -- '--bind='"${PWD}"':/media' ...
    exec '/usr/bin/ch-run' '--home' '--bind=/home/me/.../extras:/mnt' "$@"
"""

from __future__ import annotations

from typing import List, Mapping, Sequence

from roost.containers.runtime import Arg, ExecSpec, Runtime, lit
from roost.shell.render import render, render_choice_by_directory


def _words(args: Sequence[Arg]) -> str:
    return " ".join(arg.shell() for arg in args)


def render_wrapper(runtime: Runtime, spec: ExecSpec, command: str, label: str,
                   environ: Mapping[str, str]) -> str:
    """The wrapper script running ``command`` (a path inside the image) with the caller's arguments."""
    lines: List[str] = ["#!/bin/sh", f"# {label}: written by `roost container add`; re-adding rewrites it"]
    if runtime.needs_user:
        lines.append('[ -n "${USER-}" ] || { USER=$(id -un); export USER; }')
    change = runtime.environment(spec)
    if change:
        lines.append(render(change, "sh").rstrip("\n"))
    # Build the argument list back to front in "$@", so optional words need no arrays (POSIX sh has none).
    lines.append(f'set -- {_words(runtime.tail(spec, command))} "$@"')
    for source in reversed(runtime.binds_for(spec, environ)):
        lines.append(f'if [ -d {source.shell()} ]; then set -- {_words(runtime.bind(source))} "$@"; fi')
    if runtime.tty_options:
        options = _words([lit(option) for option in runtime.tty_options])
        lines.append(f'if [ -t 0 ] && [ -t 1 ]; then set -- {options} "$@"; fi')
    workdir = runtime.workdir(spec, environ)
    head = runtime.head(spec)
    if workdir.elsewhere is None:
        head += workdir.here
    else:  # decided when the wrapper runs: the caller's directory is visible inside or must be bound
        lines.append(render_choice_by_directory(
            "PWD", [prefix.shell() for prefix in workdir.visible],
            f'set -- {_words(workdir.here)} "$@"', f'set -- {_words(workdir.elsewhere)} "$@"'))
    lines.append(f'exec {_words(head)} "$@"')
    return "\n".join(lines) + "\n"
