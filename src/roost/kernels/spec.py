"""The two records behind a roost kernel.

:class:`KernelSpec` is a standard Jupyter ``kernel.json`` (argv, display_name, language, env, metadata).
:class:`Recipe` is what roost's launcher re-applies every time the kernel starts: the modules (full
versions, so a changed module default cannot change the kernel), the environment, the variables and the
interpreter.  The recipe is stored inside ``kernel.json`` under ``metadata.roost``, so one file is the whole
kernel and a kernel directory can be copied or removed as a unit.

The launcher imports only :mod:`roost.kernels.recipe`, not this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from roost.kernels.recipe import RECIPE_KEY, Recipe

__all__ = ["KERNEL_NAME", "LAUNCH_MODULE", "RECIPE_KEY", "KernelSpec", "Recipe", "check_kernel_name"]

# Jupyter's own rule for kernel names (jupyter_client.kernelspec._kernel_name_pat); names are lowercased.
KERNEL_NAME = re.compile(r"^[a-z0-9._-]+$")
LAUNCH_MODULE = "roost.kernels.launch"


def check_kernel_name(name: str) -> str:
    """Jupyter compares kernel names lowercased; roost stores them lowercased too."""
    from roost.errors import KernelError

    lowered = name.lower()
    if not KERNEL_NAME.match(lowered):
        raise KernelError(
            f"{name!r} is not a valid kernel name",
            "use letters, digits, '.', '_' and '-' only (Jupyter's rule), e.g. 'torch-2.3'",
        )
    return lowered


@dataclass
class KernelSpec:
    """A standard kernel.json; ``recipe`` is set when roost wrote it."""

    argv: List[str]
    display_name: str
    language: str = "python"
    env: Dict[str, str] = field(default_factory=dict)
    metadata: Dict[str, Any] = field(default_factory=dict)
    interrupt_mode: str = "signal"

    @property
    def recipe(self) -> Optional[Recipe]:
        data = self.metadata.get(RECIPE_KEY)
        return Recipe.from_json(data) if isinstance(data, dict) else None

    @property
    def interpreter(self) -> Optional[str]:
        """The program the kernel's argv starts (an absolute path, or a name looked up on PATH)."""
        return self.argv[0] if self.argv else None

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {
            "argv": list(self.argv),
            "display_name": self.display_name,
            "language": self.language,
            "interrupt_mode": self.interrupt_mode,
        }
        if self.env:
            data["env"] = dict(self.env)
        if self.metadata:
            data["metadata"] = self.metadata
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KernelSpec:
        return cls(
            argv=[str(a) for a in data.get("argv", [])],
            display_name=str(data.get("display_name", "")),
            language=str(data.get("language", "")),
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
            metadata=dict(data.get("metadata") or {}),
            interrupt_mode=str(data.get("interrupt_mode", "signal")),
        )

    @classmethod
    def read(cls, kernel_json: Path) -> KernelSpec:
        with open(kernel_json, encoding="utf-8") as handle:
            return cls.from_json(json.load(handle))


def launcher_boot(sys_path: List[str]) -> str:
    """The ``-c`` program of a roost kernel: put roost (and what its launcher imports) on sys.path, run it."""
    return f"import sys;sys.path[:0]={sys_path!r};from {LAUNCH_MODULE} import main;main(sys.argv[1:])"


def launcher_spec(
    recipe: Recipe, launcher_python: str, display_name: str, kernel_json: Path, sys_path: List[str]
) -> KernelSpec:
    """The kernelspec for a recipe: its argv runs roost's launcher on the kernel.json it sits in.

    The launcher runs as ``python -E -S -c BOOT`` with an explicit sys.path (as roost's ``module`` function
    does): -S skips site-packages' .pth processing, tens of milliseconds paid on every kernel start, and -E
    keeps PYTHONPATH/PYTHONHOME meant for the kernel away from the launcher.  (``python -m
    roost.kernels.launch KERNEL_JSON -f CONNECTION_FILE`` does the same, only slower.)

    The kernel.json path is written out rather than as ``{resource_dir}``: jupyter_client expands that
    placeholder, but not every frontend that starts kernels from a kernelspec does.
    """
    argv = [launcher_python, "-E", "-S", "-c", launcher_boot(sys_path), str(kernel_json), "-f", "{connection_file}"]
    return KernelSpec(argv=argv, display_name=display_name, metadata={RECIPE_KEY: recipe.to_json()})
