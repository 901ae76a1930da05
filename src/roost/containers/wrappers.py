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

This module only describes it (a :class:`~roost.shell.wrapper.WrapperScript`); roost.shell.render writes it.
"""

from __future__ import annotations

from typing import List, Mapping

from roost.containers.runtime import ExecSpec, Runtime, lit
from roost.shell.render import render_wrapper_script
from roost.shell.wrapper import Below, DirectoryExists, Prepend, Terminal, WrapperScript


def describe_wrapper(runtime: Runtime, spec: ExecSpec, command: str, label: str,
                     environ: Mapping[str, str]) -> WrapperScript:
    """The wrapper running ``command`` (a path inside the image) with the caller's arguments: the steps put
    the runtime's words in front of them from the last (image and command) to the first (the directory)."""
    steps: List[Prepend] = [Prepend(tuple(runtime.tail(spec, command)))]
    for source in reversed(runtime.binds_for(spec, environ)):
        steps.append(Prepend(tuple(runtime.bind(source)), when=DirectoryExists(source)))
    if runtime.tty_options:
        steps.append(Prepend(tuple(lit(option) for option in runtime.tty_options), when=Terminal()))
    workdir = runtime.workdir(spec, environ)
    program = list(runtime.head(spec))
    if workdir.elsewhere is None:
        program += workdir.here
    else:  # decided when the wrapper runs: the caller's directory is visible inside or must be bound
        steps.append(Prepend(workdir.here, when=Below("PWD", workdir.visible), otherwise=workdir.elsewhere))
    return WrapperScript(comment=f"{label}: written by `roost container add`; re-adding rewrites it",
                         program=tuple(program), steps=tuple(steps), environment=runtime.environment(spec),
                         set_user=runtime.needs_user)


def render_wrapper(runtime: Runtime, spec: ExecSpec, command: str, label: str,
                   environ: Mapping[str, str]) -> str:
    """The wrapper script's text (what `roost container add` writes to the container's bin/)."""
    return render_wrapper_script(describe_wrapper(runtime, spec, command, label, environ))
