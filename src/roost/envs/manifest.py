"""What an environment remembers about itself: ``<prefix>/.roost/manifest.json``.

The manifest is written last during creation (inside the staging directory, before the rename), so a
directory without one was never a finished environment.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from roost.envs.layout import LOCK_FILE, MANIFEST_FILE, REQUIREMENTS_FILE, ROOST_DIR, manifest_path, roost_dir
from roost.errors import EnvError

__all__ = ["LOCK_FILE", "MANIFEST_FILE", "REQUIREMENTS_FILE", "ROOST_DIR", "Manifest", "manifest_path", "roost_dir"]

FORMAT = 1


@dataclass(frozen=True)
class ModuleRecord:
    fullname: str
    file: str
    checksum: str


@dataclass(frozen=True)
class PythonRecord:
    path: str  # the interpreter the env was built from, as found (a module's bin dir, or --python)
    version: str
    real_path: str  # symlinks resolved: what the checksum covers
    sha256: str


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    hashes: List[str] = field(default_factory=list)
    build: str = ""  # conda build string
    url: str = ""  # conda: where the package came from

    def pin(self) -> str:
        return f"{self.name}=={self.version}" if not self.build else f"{self.name}={self.version}={self.build}"


@dataclass
class Manifest:
    name: str
    kind: str
    modules: List[ModuleRecord] = field(default_factory=list)
    module_system: str = "roost"  # or "lmod": the site's Lmod loads this env's modules
    modulepath: List[str] = field(default_factory=list)
    python: Optional[PythonRecord] = None
    requested: List[str] = field(default_factory=list)
    lock: List[LockedPackage] = field(default_factory=list)
    system_site_packages: bool = False
    adopted: bool = False
    kind_data: Dict[str, Any] = field(default_factory=dict)  # per-kind settings: conda channels, an image, ...
    created: str = ""
    updated: str = ""
    format: int = FORMAT

    def requested_with(self, packages: List[str]) -> List[str]:
        """The requested packages after ``install packages``: the old ones, then the new, each once."""
        return list(self.requested) + [p for p in packages if p not in self.requested]

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        python = data.get("python")
        return cls(
            name=str(data["name"]),
            kind=str(data.get("kind", "venv")),
            modules=[ModuleRecord(**m) for m in data.get("modules", [])],
            module_system=str(data.get("module_system", "roost")),
            modulepath=list(data.get("modulepath", [])),
            python=PythonRecord(**python) if python else None,
            requested=list(data.get("requested", [])),
            lock=[LockedPackage(**p) for p in data.get("lock", [])],
            system_site_packages=bool(data.get("system_site_packages", False)),
            adopted=bool(data.get("adopted", False)),
            kind_data=dict(data.get("kind_data", {})),
            created=str(data.get("created", "")),
            updated=str(data.get("updated", "")),
            format=int(data.get("format", FORMAT)),
        )


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def read(prefix: Path) -> Manifest:
    path = manifest_path(prefix)
    try:
        data = json.loads(path.read_text())
        return Manifest.from_json(data)
    except FileNotFoundError:
        raise EnvError(f"{prefix} has no roost manifest", f"adopt it with `roost env adopt {prefix}`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvError(
            f"the manifest {path} is damaged ({exc})", "remove the environment and create or import it again"
        ) from None


def write(prefix: Path, manifest: Manifest) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a manifest."""
    directory = roost_dir(prefix)
    directory.mkdir(parents=True, exist_ok=True)
    manifest.updated = now()
    if not manifest.created:
        manifest.created = manifest.updated
    write_text_atomic(directory / MANIFEST_FILE, json.dumps(manifest.to_json(), indent=2) + "\n")


SCRATCH_PREFIX = ".scratch-"  # temporary directories of installs in ``.roost/``


def remove_leftovers(prefix: Path) -> List[Path]:
    """Delete what killed changes left in ``.roost/`` and ``.roost/pack/``: every temporary file and
    directory there is named with a leading dot (scratch dirs, half-written files, image builds).  Only
    call this with the env's change lock held: then none of them belongs to a running command."""
    import shutil

    removed: List[Path] = []
    for directory in (roost_dir(prefix), roost_dir(prefix) / "pack"):
        try:
            entries = list(directory.iterdir())
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith("."):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def write_text_atomic(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
