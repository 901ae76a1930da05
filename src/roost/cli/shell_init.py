"""``roost shell-init SHELL``: the code that defines ``module``, ``ml`` and ``roost activate`` in a shell.

A new shell should not pay a Python start for this (Lmod's init is a static file).  So besides printing the
code, shell-init writes it, guarded, to ``<cache dir>/init.SHELL`` (:func:`init_file_path`), which the
README's line sources directly::

    [ -f ~/.cache/roost/init.bash ] && . ~/.cache/roost/init.bash || eval "$(roost shell-init bash)"

The file first checks, with shell tests only (no program runs), that what it was written from still holds:
the interpreter, roost's and lupa's directories, the installed roost version (its dist-info), the config
files and the sources that produce the code (not newer than the file) and the variables read while writing
it.  When one fails (roost upgraded, moved to another venv, the interpreter gone) the file runs the
``roost`` on PATH to write itself again; when there is none, it prints one warning and defines ``module``
and ``ml`` as functions that say what to do.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import List, Sequence, Tuple

import click

from roost.cli.entry import FAST_COMMANDS
from roost.shell.change import EnvChange
from roost.shell.functions import fast_command, import_paths, module_functions
from roost.shell.render import (
    dispatch_function_body,
    message_function_body,
    render,
    render_init_file,
)

SUPPORTED = ("bash", "zsh", "sh", "fish")

# Variables whose values shell-init's output depends on (paths of data, config and cache; the pip guard).
KEYED_VARIABLES = ("HOME", "ROOST_DATA_DIR", "XDG_DATA_HOME", "ROOST_CACHE_DIR", "XDG_CACHE_HOME",
                   "ROOST_CONFIG", "ROOST_SITE_CONFIG", "ROOST_PIP_REQUIRE_VIRTUALENV")
# roost's modules whose code ends up in the init (relative to the package): an edited or reinstalled copy
# is newer than the cached file.
SOURCES = ("__init__.py", "cli/shell_init.py", "cli/entry.py", "shell/render.py", "shell/quote.py",
           "shell/functions.py", "envs/api.py", "config.py", "paths.py")
FUNCTIONS = ("module", "ml", "roost")


def init_change(shell: str, python: str, *, modulepath: bool = True) -> EnvChange:
    """Everything shell-init sets up, as one EnvChange (so every shell gets the same thing).

    ``modulepath=False`` leaves out roost's container-module directory, which the cached init file adds
    itself when the directory exists at the time it is sourced."""
    change = module_functions(shell, python)
    envs_cmd = fast_command(python, "roost.envs.command")
    entry_cmd = fast_command(python, "roost.cli.entry")
    change.function(
        "roost",
        dispatch_function_body(python, ["activate", "deactivate"], envs_cmd, shell, FAST_COMMANDS, entry_cmd),
    )
    if modulepath:
        _add_modulepath_defaults(change)
    _add_env_guards(change)
    if _slurm_shims_configured():
        _add_slurm_shims(change, python)
    return change


def _slurm_shims_configured() -> bool:
    from roost import config

    return config.load(os.environ).section("jobs").get("slurm_shims") is True


def _add_slurm_shims(change: EnvChange, python: str) -> None:
    """sbatch, squeue... over the local backend, *appended* to PATH: a real Slurm earlier on PATH wins."""
    from roost.jobs.shims import COMMANDS, shim_directory

    change.append_path("PATH", str(shim_directory(COMMANDS, python)))


def container_modulefile_dir() -> str:
    from roost.containers.api import modulefile_dir

    return str(modulefile_dir())


def _add_modulepath_defaults(change: EnvChange) -> None:
    """roost's container modules join MODULEPATH when there are any (the directory exists) and the site's
    MODULEPATH does not already have them; otherwise MODULEPATH stays exactly as Lmod would have it."""
    directory = container_modulefile_dir()
    if os.path.isdir(directory) and directory not in os.environ.get("MODULEPATH", "").split(":"):
        change.append_path("MODULEPATH", directory)


def _add_env_guards(change: EnvChange) -> None:
    from roost.envs.api import shell_init_change

    change.extend(shell_init_change())


# --- the cached init file -----------------------------------------------------------------------------


def init_file_path(shell: str) -> str:
    from roost import paths

    return os.path.join(paths.cache_dir_text(), f"init.{shell}")


def init_file_text(shell: str, python: str, path: str) -> str:
    """The guarded init file for ``shell`` at ``path`` (see the module docstring)."""
    directory = container_modulefile_dir()
    modulepath = EnvChange().append_path("MODULEPATH", directory)
    return render_init_file(
        init_change(shell, python, modulepath=False),
        shell,
        header=(f"Written by `roost shell-init {shell}` for {python}; rewritten by roost when out of date.\n"
                "Source it from your shell's startup file; do not edit (changes are lost)."),
        requires=_freshness_conditions(python, path),
        optional=[([("directory", directory), ("not-on-path", "MODULEPATH", directory)], modulepath)],
        forget=_forget_functions(),
        fallback=_stand_in_functions(shell, python),
        warning=(f"roost: {path} is out of date (written for {python}) and no working `roost` is on PATH to "
                 "rewrite it: module and ml are unavailable; reinstall roost or put it on PATH, then open a "
                 "new shell"),
    )


def _freshness_conditions(python: str, path: str) -> List[Tuple[str, ...]]:
    import roost
    from roost import config

    package = os.path.dirname(os.path.abspath(roost.__file__ or ""))
    conditions: List[Tuple[str, ...]] = [("executable", python)]
    conditions += [("directory", os.path.join(entry, name)) for entry, name in _package_dirs()]
    conditions += [("file", metadata) for metadata in _distribution_metadata()]
    watched = [config.site_config_file(os.environ), config.user_config_file(os.environ)]
    watched += [os.path.join(package, source) for source in SOURCES]
    conditions += [("not-newer", file, path) for file in watched]
    conditions += [("equals", name, os.environ.get(name, "")) for name in KEYED_VARIABLES]
    return conditions


def _package_dirs() -> Sequence[Tuple[str, str]]:
    roost_entry, *rest = import_paths()
    return [(roost_entry, "roost"), (rest[0] if rest else roost_entry, "lupa")]


def _distribution_metadata() -> List[str]:
    """The installed roost's METADATA file, whose dist-info directory is named after the version (an upgrade
    removes it).  None when roost runs from a source tree without being installed."""
    from importlib import metadata

    try:
        distribution = metadata.distribution("roost")
    except metadata.PackageNotFoundError:
        return []
    found = [str(distribution.locate_file(f)) for f in (distribution.files or []) if f.name == "METADATA"]
    return [os.path.abspath(f) for f in found[:1]]


def _forget_functions() -> EnvChange:
    change = EnvChange()
    for name in FUNCTIONS:
        change.unfunction(name)
    return change


def _stand_in_functions(shell: str, python: str) -> EnvChange:
    """``module`` and ``ml`` for a shell whose roost is gone: they say what to do and fail."""
    message = (f"module: roost is not available ({python} is gone or out of date); reinstall roost or put it "
               f"on PATH, then open a new shell or run: eval \"$(roost shell-init {shell})\"")
    if shell == "fish":
        message = message.replace(f"eval \"$(roost shell-init {shell})\"", f"roost shell-init {shell} | source")
    change = EnvChange()
    for name in ("module", "ml"):
        change.function(name, message_function_body(message.replace("module:", f"{name}:", 1), shell))
    return change


def write_init_file(shell: str, python: str) -> str:
    """Write the init file atomically (shells starting at the same time read either version whole)."""
    path = init_file_path(shell)
    text = init_file_text(shell, python, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Host and pid: on a shared home, shells on many nodes may rewrite it at once.
    temporary = f"{path}.tmp-{socket.gethostname()}-{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


@click.command("shell-init")
@click.argument("shell", type=click.Choice(SUPPORTED), default="bash")
@click.option("--path", "print_path", is_flag=True,
              help="Print where the cached init file for SHELL is (what the startup line sources).")
@click.option("--slurm-shims", is_flag=True,
              help="Also put sbatch, squeue, scancel, sacct, srun, salloc (local backend) at the end of PATH.")
def shell_init(shell: str, print_path: bool, slurm_shims: bool) -> None:
    """Print the code that defines `module`, `ml` and `roost activate` for SHELL, and cache it in a file a new
    shell sources without starting Python.

    Add to ~/.bashrc (zsh: init.zsh and shell-init zsh):

        [ -f ~/.cache/roost/init.bash ] && . ~/.cache/roost/init.bash || eval "$(roost shell-init bash)"

    fish (~/.config/fish/config.fish):

        test -f ~/.cache/roost/init.fish && source ~/.cache/roost/init.fish || roost shell-init fish | source
    """
    if print_path:
        click.echo(init_file_path(shell))
        return
    try:
        write_init_file(shell, sys.executable)
    except OSError as exc:
        click.echo(f"note: cannot write {init_file_path(shell)} ({exc.strerror}): every new shell will start "
                   "Python for shell-init", err=True)
    change = init_change(shell, sys.executable)
    if slurm_shims and not _slurm_shims_configured():
        _add_slurm_shims(change, sys.executable)
    click.echo(render(change, shell), nl=False)
