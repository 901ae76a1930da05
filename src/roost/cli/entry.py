"""The ``roost`` command's entry point: hot sub-commands skip click, everything else goes to roost.cli.main.

``roost submit`` is run in loops, so its common case is parsed and run without importing click or the
rest of the CLI (roost.jobs.command).  shell-init's ``roost`` function runs this module with
``python -E -S`` for submit; when the full CLI is needed in that mode, the process becomes a normal
``python -m roost`` (the CLI's dependencies may need site-packages' .pth files).
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

FAST_COMMANDS = ("submit",)


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "submit":
        from roost.jobs.command import fast_submit

        code = fast_submit(args[1:])
        if code is not None:
            return code
    return _full_cli(args)


def _full_cli(args: List[str]) -> int:
    if sys.flags.no_site:
        os.execv(sys.executable, [sys.executable, "-m", "roost", *args])
    from roost.cli.main import main as cli_main

    cli_main(args)
    return 0
