"""Finding the interpreter an env is built from, and fingerprinting it for drift checks."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path
from typing import List, Mapping, Optional, Tuple

from roost.envs.manifest import PythonRecord
from roost.errors import EnvError

VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")
# Ask the interpreter itself: the path of the real (base) executable, not a venv's or a pyenv shim's.
_PROBE = (
    "import sys, platform; "
    "print(getattr(sys, '_base_executable', '') or sys.executable); print(platform.python_version())"
)


def find_python(request: Optional[str], environ: Mapping[str, str]) -> PythonRecord:
    """Resolve ``--python`` (a path or a version like ``3.12``), else the ``python3`` modules put on PATH."""
    if request and ("/" in request or request.startswith("~")):
        return _probe_path(Path(os.path.expanduser(request)), environ)
    if request and not VERSION_RE.match(request):
        raise EnvError(
            f"--python {request!r} is neither a path nor a version",
            "pass a version such as 3.12, or the path of an interpreter such as /opt/python/3.12/bin/python3",
        )
    candidates = _candidates(request, environ)
    found: List[str] = []
    for candidate in candidates:
        try:
            record = _probe_path(candidate, environ)
        except EnvError:
            continue
        if request is None or _version_matches(record.version, request):
            return record
        found.append(f"{candidate} ({record.version})")
    wanted = f"Python {request}" if request else "python3"
    seen = f"; found only {', '.join(found)}" if found else ""
    raise EnvError(
        f"no {wanted} on PATH after loading the env's modules{seen}",
        "load a module that provides it (--module python/X.Y) or give the interpreter: --python PATH",
    )


def _candidates(request: Optional[str], environ: Mapping[str, str]) -> List[Path]:
    names: List[str] = []
    if request:
        major_minor = ".".join(request.split(".")[:2])
        names.append(f"python{major_minor}")
    names += ["python3", "python"]
    result: List[Path] = []
    for directory in environ.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        for name in names:
            candidate = Path(directory) / name
            if candidate not in result and os.access(candidate, os.X_OK) and candidate.is_file():
                result.append(candidate)
    return result


def _version_matches(version: str, request: str) -> bool:
    return version == request or version.startswith(request + ".")


def _probe_path(path: Path, environ: Mapping[str, str]) -> PythonRecord:
    if not path.exists():
        raise EnvError(f"Python interpreter {path} does not exist", "check the path passed to --python")
    if not os.access(path, os.X_OK) or path.is_dir():
        raise EnvError(f"{path} is not an executable Python interpreter", "pass the path of a python binary")
    executable, version = _run_probe(path, environ)
    # Keep the path as found (a module's bin dir) when it resolves to the same binary as the base executable:
    # that is the name the module guarantees, while the base executable may be a version-specific file.
    chosen = path if os.path.realpath(path) == os.path.realpath(executable) else Path(executable)
    real = os.path.realpath(chosen)
    return PythonRecord(path=str(chosen), version=version, real_path=real, sha256=file_sha256(Path(real)))


def _run_probe(path: Path, environ: Mapping[str, str]) -> Tuple[str, str]:
    env = {k: v for k, v in environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    try:
        out = subprocess.run([str(path), "-I", "-c", _PROBE], capture_output=True, text=True, env=env, timeout=60)
    except OSError as exc:
        raise EnvError(f"cannot run {path}: {exc.strerror}", "pass the path of a working python binary") from None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) != 2:
        raise EnvError(
            f"{path} did not run as a Python interpreter: {out.stderr.strip()[-300:]}",
            "pass the path of a working python binary",
        )
    return lines[0], lines[1]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def python_version_of(path: Path, environ: Mapping[str, str]) -> Optional[str]:
    try:
        return _run_probe(path, environ)[1]
    except EnvError:
        return None
