"""Load modules through the site's own Lmod instead of roost's engine (config ``envs.module_system = "lmod"``).

Lmod prints Python code for ``lmod python load NAMES``: ``os.environ["X"] = "v";`` and ``del os.environ["X"]``
lines, then ``_mlstatus = True|False``.  We read that into an absolute :class:`EnvChange`, and the loaded
modules from ``LOADEDMODULES`` / ``_LMFILES_`` afterwards.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from roost.errors import EnvError, ModuleNotFound
from roost.shell.change import Action, EnvChange, Op, is_var_name

DEFAULT_LMOD_CMD = "/usr/share/lmod/lmod/libexec/lmod"
_SET = re.compile(r'^os\.environ\[("(?:[^"\\]|\\.)*")\] = (.*?);?$')
_DEL = re.compile(r'^del os\.environ\[("(?:[^"\\]|\\.)*")\]$')


def lmod_command(environ: Mapping[str, str]) -> str:
    command = environ.get("LMOD_CMD") or DEFAULT_LMOD_CMD
    if not os.access(command, os.X_OK):
        raise EnvError(
            f"Lmod is not available ({command} is not executable)",
            'set LMOD_CMD to the site\'s lmod binary, or envs.module_system = "roost" in the config',
        )
    return command


def parse_python(output: str) -> Dict[str, Optional[str]]:
    """Final value (None: unset) of every variable Lmod's python output touches, in first-touched order."""
    values: Dict[str, Optional[str]] = {}
    for line in output.splitlines():
        line = line.strip()
        match = _SET.match(line)
        if match:
            values[ast.literal_eval(match.group(1))] = str(ast.literal_eval(match.group(2)))
            continue
        match = _DEL.match(line)
        if match:
            values[ast.literal_eval(match.group(1))] = None
    return values


def load(names: Sequence[str], environ: Mapping[str, str]) -> Tuple[EnvChange, List[Tuple[str, str]]]:
    """(absolute change, [(fullname, file)] of every module loaded afterwards)."""
    result = subprocess.run(
        [lmod_command(environ), "python", "load", *names], capture_output=True, text=True, env=dict(environ)
    )
    if result.returncode != 0 or "_mlstatus = False" in result.stdout:
        message = " ".join(result.stderr.split()) or f"lmod exited with status {result.returncode}"
        raise ModuleNotFound(f"Lmod could not load {' '.join(names)}: {message[:600]}", "check with `module spider`")
    values = parse_python(result.stdout)
    bad = [name for name in values if not is_var_name(name)]
    if bad:  # Lmod passes any name a modulefile gives; roost writes none into a shell
        raise ModuleNotFound(
            f"Lmod's load of {' '.join(names)} sets {bad[0]!r}, which is not an environment variable name",
            "fix the modulefile that sets it (a name is letters, digits and underscores), or ask the site to",
        )
    change = EnvChange()
    for name, value in values.items():
        change.ops.append(Op(Action.UNSET, name) if value is None else Op(Action.SET, name, value))
    after = dict(environ)
    for name, value in values.items():
        if value is None:
            after.pop(name, None)
        else:
            after[name] = value
    return change, loaded(after)


def loaded(environ: Mapping[str, str]) -> List[Tuple[str, str]]:
    names = [n for n in environ.get("LOADEDMODULES", "").split(":") if n]
    files = [f for f in environ.get("_LMFILES_", "").split(":") if f]
    return list(zip(names, files)) if len(names) == len(files) else [(n, "") for n in names]
