"""The shell functions roost defines (``module``, ``ml``), as EnvChange entries, without the CLI's imports.

``roost shell-init`` puts them in a login shell; every batch job's script defines them too (Lmod exports its
functions to child shells, and scripts written for a cluster call ``module load`` on the first lines).
"""

from __future__ import annotations

import os

from roost.shell.change import EnvChange
from roost.shell.render import eval_function_body

TYPE_CHECKING = False  # typing is not imported at run time: `roost submit` is on a hot path
if TYPE_CHECKING:
    from typing import Dict, List, Mapping, Tuple


def fast_command(python: str, module: str) -> List[str]:
    """How the shell functions start a hot-path command (``module``, ``roost activate``): ``python -E -S`` with
    an explicit sys.path and ``module.main()``.

    -S skips site-packages' .pth processing (tens of milliseconds on some installs; ``module`` runs often) and
    -E ignores PYTHONPATH/PYTHONHOME, which modules themselves may set for another Python.
    """
    boot = f"import sys;sys.path[:0]={import_paths()!r};from {module} import main;sys.exit(main())"
    return [python, "-E", "-S", "-c", boot]


def import_paths() -> List[str]:
    """The sys.path entries holding roost and lupa (all the fast commands import)."""
    import lupa

    import roost

    paths: List[str] = []
    for package in (roost, lupa):
        parent = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__ or "")))
        if parent not in paths:
            paths.append(parent)
    return paths


def module_functions(shell: str, python: str) -> EnvChange:
    """``module`` and ``ml`` for ``shell``, running roost's module engine with ``python``."""
    change = EnvChange()
    module_cmd = [*fast_command(python, "roost.modules.command"), shell]
    change.function("module", eval_function_body(module_cmd, shell))
    change.function("ml", eval_function_body([*module_cmd, "--ml"], shell))
    change.export_function("module").export_function("ml")  # as Lmod's bash init does
    return change


_JOB_FUNCTIONS: Dict[Tuple[str, str], EnvChange] = {}  # the same for every job of a process (an API loop)


def job_preamble(shell: str, python: str, environ: Mapping[str, str]) -> EnvChange:
    """What a batch job's script defines first: ``module`` and ``ml``, with the submitter's MODULEPATH (a job
    started with ``--export=NONE`` or on a node with another default still sees the submitter's modules)."""
    key = (shell, python)
    if key not in _JOB_FUNCTIONS:
        _JOB_FUNCTIONS[key] = module_functions(shell, python)
    change = EnvChange().extend(_JOB_FUNCTIONS[key].ops)
    if environ.get("MODULEPATH"):
        change.set("MODULEPATH", environ["MODULEPATH"])
    return change
