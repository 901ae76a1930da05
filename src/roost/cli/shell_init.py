"""``roost shell-init SHELL``: the code that defines ``module``, ``ml`` and ``roost activate`` in a shell."""

from __future__ import annotations

import os
import sys

import click

from roost.cli.entry import FAST_COMMANDS
from roost.shell.change import EnvChange
from roost.shell.render import dispatch_function_body, eval_function_body, render

SUPPORTED = ("bash", "zsh", "sh", "fish")


def init_change(shell: str, python: str) -> EnvChange:
    """Everything shell-init sets up, as one EnvChange (so every shell gets the same thing)."""
    change = EnvChange()
    module_cmd = [*fast_command(python, "roost.modules.command"), shell]
    change.function("module", eval_function_body(module_cmd, shell))
    change.function("ml", eval_function_body([*module_cmd, "--ml"], shell))
    envs_cmd = fast_command(python, "roost.envs.command")
    entry_cmd = fast_command(python, "roost.cli.entry")
    change.function(
        "roost",
        dispatch_function_body(python, ["activate", "deactivate"], envs_cmd, shell, FAST_COMMANDS, entry_cmd),
    )
    _add_modulepath_defaults(change)
    _add_env_guards(change)
    return change


def fast_command(python: str, module: str) -> list:
    """How the shell functions start a hot-path command (``module``, ``roost activate``): ``python -E -S`` with
    an explicit sys.path and ``module.main()``.

    -S skips site-packages' .pth processing (tens of milliseconds on some installs; ``module`` runs often) and
    -E ignores PYTHONPATH/PYTHONHOME, which modules themselves may set for another Python.
    """
    import lupa

    import roost

    paths = []
    for package in (roost, lupa):
        parent = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__ or "")))
        if parent not in paths:
            paths.append(parent)
    boot = f"import sys;sys.path[:0]={paths!r};from {module} import main;sys.exit(main())"
    return [python, "-E", "-S", "-c", boot]


def _add_modulepath_defaults(change: EnvChange) -> None:
    """Directories roost manages (container modules) join MODULEPATH; the site's MODULEPATH is kept."""
    from roost.containers.api import modulefile_dir

    directory = str(modulefile_dir())
    if directory not in os.environ.get("MODULEPATH", "").split(":"):
        change.append_path("MODULEPATH", directory)


def _add_env_guards(change: EnvChange) -> None:
    from roost.envs.api import shell_init_change

    change.extend(shell_init_change())


@click.command("shell-init")
@click.argument("shell", type=click.Choice(SUPPORTED), default="bash")
def shell_init(shell: str) -> None:
    """Print the code that defines `module`, `ml` and `roost activate` for SHELL.

    Add to ~/.bashrc:  eval "$(roost shell-init bash)"
    """
    click.echo(render(init_change(shell, sys.executable), shell), nl=False)
