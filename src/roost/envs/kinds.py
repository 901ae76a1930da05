"""The small interface each environment kind implements (venv, conda; container is added by its owner).

A kind builds a prefix, installs into it, reports what is installed, exports a portable spec and adds its
activation operations.  Everything shared (modules, atomic staging, manifests, drift of modules and
Python) lives in :mod:`roost.envs.api`, so a new kind only fills these hooks and registers itself in
``KIND_MODULES`` (imported lazily, so ``roost activate`` never imports rattler).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from roost.config import Config
from roost.envs.manifest import LockedPackage, Manifest, PythonRecord
from roost.errors import EnvError
from roost.shell.change import EnvChange

Progress = Callable[[str], None]

# kind name -> (module, attribute holding an EnvKind instance)
KIND_MODULES: Dict[str, Tuple[str, str]] = {
    "venv": ("roost.envs.venv", "KIND"),
    "conda": ("roost.envs.conda", "KIND"),
    "container": ("roost.containers.envkind", "KIND"),
}


def no_progress(message: str) -> None:
    """The default progress sink: the library reports steps, only the CLI shows them."""


@dataclass
class BuildSpec:
    """Everything a kind needs to build a new prefix in ``build_dir`` that will be renamed to ``prefix``."""

    name: str
    prefix: Path
    build_dir: Path
    packages: List[str]
    environ: Mapping[str, str]  # the caller's environment with the env's modules loaded
    config: Config
    python: Optional[PythonRecord] = None
    system_site_packages: bool = False
    options: Dict[str, Any] = field(default_factory=dict)  # kind-specific: channels, external_mpi, image ...
    lock_text: Optional[str] = None  # recreate exactly this lock (import) instead of resolving
    progress: Progress = no_progress


@dataclass
class BuildResult:
    lock: List[LockedPackage]
    requested: List[str]
    kind_data: Dict[str, Any] = field(default_factory=dict)


class EnvKind(ABC):
    name: str = ""
    needs_python: bool = True  # create locates an interpreter (module/--python) for this kind
    export_suffix: str = ".txt"

    @abstractmethod
    def build(self, spec: BuildSpec) -> BuildResult:
        """Create the prefix in ``spec.build_dir`` and install ``spec.packages`` (or ``spec.lock_text``)."""

    @abstractmethod
    def install(
        self,
        prefix: Path,
        manifest: Manifest,
        packages: List[str],
        environ: Mapping[str, str],
        config: Config,
        progress: Progress,
    ) -> BuildResult:
        """Add packages to a finished env; return the new lock (the env must be unchanged on failure)."""

    @abstractmethod
    def sync(
        self, prefix: Path, manifest: Manifest, environ: Mapping[str, str], config: Config, progress: Progress
    ) -> None:
        """Make the installed packages match the recorded lock again."""

    @abstractmethod
    def installed(self, prefix: Path, environ: Mapping[str, str], config: Config) -> List[LockedPackage]:
        """What is installed now (for drift checks)."""

    @abstractmethod
    def activate(self, prefix: Path, manifest: Manifest, change: EnvChange) -> None:
        """Append the operations that activate the prefix (after the modules are loaded)."""

    @abstractmethod
    def python(self, prefix: Path) -> Path:
        """The env's own python."""

    @abstractmethod
    def export_text(self, prefix: Path, manifest: Manifest) -> str:
        """A portable spec (modules, python version, locked packages) that ``roost env import`` reads."""

    def adopt(self, prefix: Path, environ: Mapping[str, str], config: Config) -> BuildResult:
        """Record an existing prefix's packages as its lock (``roost env adopt``)."""
        return BuildResult(lock=self.installed(prefix, environ, config), requested=[])


def get_kind(name: str) -> EnvKind:
    entry = KIND_MODULES.get(name)
    if entry is None:
        raise EnvError(f"unknown environment kind {name!r}", f"choose one of: {', '.join(sorted(KIND_MODULES))}")
    module_name, attribute = entry
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EnvError(
            f"environment kind {name!r} is not available ({exc})",
            "install roost with the extra that provides it, or choose kind venv",
        ) from None
    kind: EnvKind = getattr(module, attribute)
    return kind


def normalize_name(name: str) -> str:
    """PEP 503 normalisation, so that `Foo_Bar` in a lock matches `foo-bar` installed."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()
