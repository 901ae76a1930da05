"""``roost module ...``: the module command without a shell function (reports on stdout, for scripts)."""

from __future__ import annotations

import sys
from typing import Tuple

import click


@click.command("module", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                            "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def module(args: Tuple[str, ...]) -> None:
    """Run a module sub-command (avail, spider, list, show, ... --json) and print its report.

    Loading changes your shell, so it needs the `module` shell function: eval "$(roost shell-init bash)".
    Here, load/unload print the shell code they would run.
    """
    from roost.modules.command import run

    code, messages, ok = run("none", list(args) or ["help"])
    if messages:
        click.echo(messages, err=True, nl=False)
    click.echo(code, nl=False)
    sys.exit(0 if ok else 1)
