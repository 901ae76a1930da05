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
    from roost.modules.command import run_status
    from roost.shell.quote import write_code

    code, messages, status = run_status("none", list(args) or ["help"])
    if messages:
        write_code(messages, to_stderr=True)
    write_code(code)
    sys.exit(status)
