"""Write a module tree for the Python interpreters of this machine (what a site's `module avail python` shows).

For each interpreter: ``python/<version>-bare`` (just the interpreter on PATH) and ``python/<version>``, which
loads the bare one and lists the distributions installed beside it as extensions, so that
``module spider numpy`` finds the Python that has numpy — the full/bare split the centres' guides describe.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import List, NamedTuple, Sequence

from roost.shell.change import EnvChange
from roost.shell.modulefile import ModuleInfo, render_lua

_PROBE = ("import json, sys, platform; from importlib import metadata as m; "
          "print(json.dumps({'version': platform.python_version(), 'prefix': sys.prefix, "
          "'packages': sorted({(d.metadata['Name'] or '').lower() + '/' + d.version "
          "for d in m.distributions() if d.metadata['Name']})}))")


class Interpreter(NamedTuple):
    executable: str
    version: str
    prefix: str
    packages: List[str]


def probe(executable: str) -> Interpreter:
    """Ask an interpreter for its version, prefix and installed distributions."""
    out = subprocess.run([executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True)
    data = json.loads(out.stdout)
    return Interpreter(executable, data["version"], data["prefix"], list(data["packages"]))


def find_interpreters(extra: Sequence[str] = ()) -> List[str]:
    """This Python, those beside it under pyenv, and any given: each once, newest first."""
    candidates = list(extra)
    pyenv_root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    versions = Path(pyenv_root) / "versions"
    if versions.is_dir():
        found = (p / "bin" / "python3" for p in sorted(versions.iterdir()))
        candidates += [str(p) for p in found if p.exists()]
    seen: List[str] = []
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if real not in [os.path.realpath(s) for s in seen]:
            seen.append(candidate)
    return seen


def write_python_modules(directory: Path, interpreters: Sequence[Interpreter]) -> List[str]:
    """Write python/<v>-bare and python/<v> modulefiles; returns their full names."""
    written: List[str] = []
    for interp in interpreters:
        bindir = os.path.dirname(interp.executable)
        bare = EnvChange().prepend_path("PATH", bindir)
        bare_info = ModuleInfo(help=f"Python {interp.version} (interpreter only) from {interp.prefix}",
                               whatis=[f"Description: Python {interp.version}, interpreter only", "Category: lang"])
        full_info = ModuleInfo(
            help=f"Python {interp.version} with the packages installed in {interp.prefix}",
            whatis=[f"Description: Python {interp.version} with {len(interp.packages)} packages", "Category: lang"],
            extensions=interp.packages, depends_on=[f"python/{interp.version}-bare"],
        )
        target = directory / "python"
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{interp.version}-bare.lua").write_text(render_lua(bare, bare_info), encoding="utf-8")
        (target / f"{interp.version}.lua").write_text(
            render_lua(EnvChange().set("ROOST_PYTHON_PREFIX", interp.prefix), full_info), encoding="utf-8")
        written += [f"python/{interp.version}-bare", f"python/{interp.version}"]
    return written
