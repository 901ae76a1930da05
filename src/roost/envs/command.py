"""The hot path behind the shell's ``activate``/``deactivate``: no click, no rich.

Called by shell-init's functions the way ``roost.modules.command`` is::

    python -E -S -c '...; from roost.envs.command import main; sys.exit(main())' bash activate NAME
    python -E -S -c '...; from roost.envs.command import main; sys.exit(main())' bash deactivate

stdout carries only rendered shell code; errors go to stderr as ``error:``/``hint:`` and exit 1.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing is not imported at run time: this is on `activate`'s path
if TYPE_CHECKING:
    from typing import List, Optional


USAGE = "usage: <shell> activate NAME | <shell> deactivate"


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    from roost.errors import RoostError

    try:
        code = _code(args)
    except RoostError as exc:
        from roost.shell.quote import render_status

        sys.stderr.write(exc.report())
        if args:
            sys.stdout.write(render_status(False, args[0]))  # the evaluating shell's status becomes 1
        return 1
    from roost.shell.quote import write_code

    write_code(code)
    return 0


def _code(args: List[str]) -> str:
    from roost.errors import EnvError
    from roost.shell.render import render

    if len(args) == 3 and args[1] == "activate":
        from roost.envs.activation import activation_change

        return render(activation_change(args[2], os.environ), args[0])
    if len(args) == 2 and args[1] == "deactivate":
        from roost.envs.activation import deactivation_change

        return render(deactivation_change(os.environ), args[0])
    raise EnvError(f"bad arguments: {' '.join(args)}", USAGE)
