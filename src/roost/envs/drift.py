"""`roost env check`: has the world moved under an env?  Each finding names the fix.

Checks, in order: every recorded module still loads and its modulefile is unchanged; the base Python is
still there and the same binary; the installed packages match the lock.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from roost import config as config_mod
from roost.envs import api, binding
from roost.envs import manifest as manifest_mod
from roost.envs.kinds import get_kind, normalize_name
from roost.envs.manifest import LockedPackage, ModuleRecord, PythonRecord
from roost.envs.python import file_sha256
from roost.errors import EnvError, RoostError


@dataclass(frozen=True)
class Drift:
    code: str  # module-missing, module-changed, python-missing, python-changed, package-*
    message: str
    fix: str

    def as_dict(self) -> Dict[str, str]:
        return {"code": self.code, "message": self.message, "fix": self.fix}


def check(
    name: str, *, config: Optional[config_mod.Config] = None, environ: Optional[Mapping[str, str]] = None
) -> List[Drift]:
    env = api.get(name, config=config)
    cfg = config if config is not None else config_mod.load()
    environ = dict(os.environ if environ is None else environ)
    findings = _module_drift(env, environ)
    findings += _python_drift(env)
    if not any(d.code == "python-missing" for d in findings):
        findings += _package_drift(env, environ, cfg)
    return findings


def _rebuild_hint(name: str) -> str:
    return (
        f"rebuild it: `roost env export {name} -o {name}.spec`, edit the spec if needed, "
        f"`roost env remove {name}`, then `roost env import {name}.spec`"
    )


def _module_drift(env: api.Env, environ: Dict[str, str]) -> List[Drift]:
    findings: List[Drift] = []
    state = binding.loaded_environ(binding.modulepath_prelude(env.manifest.modulepath, environ), environ)
    for record in env.manifest.modules:
        try:
            change, current = binding.check_module(record.fullname, state, env.manifest.module_system)
        except RoostError as exc:
            short = record.fullname.split("/")[0]
            findings.append(
                Drift(
                    "module-missing",
                    f"module {record.fullname} no longer loads: {exc.message}",
                    f"find its replacement with `module spider {short}`, then {_rebuild_hint(env.name)}",
                )
            )
            continue
        state = binding.loaded_environ(change, state)
        if current.checksum != record.checksum:
            findings.append(
                Drift(
                    "module-changed",
                    f"the modulefile of {record.fullname} changed since the env was made ({current.file})",
                    f"if `roost run -e {env.name} -- python -c 'import sys'` still works, accept it with "
                    f"`roost env check {env.name} --accept`; otherwise {_rebuild_hint(env.name)}",
                )
            )
    return findings


def _python_drift(env: api.Env) -> List[Drift]:
    record = env.manifest.python
    if record is None:
        return []
    real = Path(record.real_path)
    if not real.exists():
        return [
            Drift(
                "python-missing",
                f"the Python the env was built from is gone: {record.path} ({record.version})",
                _rebuild_hint(env.name),
            )
        ]
    if file_sha256(real) != record.sha256:
        return [
            Drift(
                "python-changed",
                f"the Python binary {record.real_path} changed since the env was made",
                f"compiled packages may break: test it, then `roost env check {env.name} --accept`, "
                f"or {_rebuild_hint(env.name)}",
            )
        ]
    return []


def _package_drift(env: api.Env, environ: Dict[str, str], cfg: config_mod.Config) -> List[Drift]:
    if env.manifest.adopted and not env.manifest.lock:
        return []
    try:
        installed = get_kind(env.kind).installed(env.path, environ, cfg)
    except EnvError as exc:
        return [
            Drift(
                "package-unreadable",
                f"cannot list the installed packages: {exc.message}",
                _rebuild_hint(env.name),
            )
        ]
    return compare_packages(env.name, env.manifest.lock, installed)


def compare_packages(name: str, lock: List[LockedPackage], installed: List[LockedPackage]) -> List[Drift]:
    locked = {normalize_name(p.name): p for p in lock}
    now = {normalize_name(p.name): p for p in installed}
    fix = f"restore the lock with `roost env sync {name}` (add packages with `roost env install {name} PKG`)"
    findings: List[Drift] = []
    for key, package in locked.items():
        current = now.get(key)
        if current is None:
            findings.append(Drift("package-missing", f"{package.pin()} is in the lock but not installed", fix))
        elif (current.version, current.build) != (package.version, package.build):
            findings.append(
                Drift(
                    "package-changed",
                    f"{package.name} is {current.version} but the lock says {package.version}",
                    fix,
                )
            )
    for key, package in now.items():
        if key not in locked:
            findings.append(Drift("package-extra", f"{package.pin()} is installed but not in the lock", fix))
    return findings


def accept(
    name: str, *, config: Optional[config_mod.Config] = None, environ: Optional[Mapping[str, str]] = None
) -> api.Env:
    """Record the current modulefile checksums and Python binary as the env's new baseline."""
    env = api.get(name, config=config)
    environ = dict(os.environ if environ is None else environ)
    state = binding.loaded_environ(binding.modulepath_prelude(env.manifest.modulepath, environ), environ)
    records: List[ModuleRecord] = []
    for record in env.manifest.modules:
        try:
            change, current = binding.check_module(record.fullname, state, env.manifest.module_system)
        except RoostError as exc:
            raise EnvError(
                f"cannot accept: module {record.fullname} no longer loads ({exc.message})",
                _rebuild_hint(name),
            ) from None
        state = binding.loaded_environ(change, state)
        records.append(current)
    python = env.manifest.python
    if python is not None:
        real = Path(python.real_path)
        if not real.exists():
            raise EnvError(f"cannot accept: the Python {python.path} is gone", _rebuild_hint(name))
        python = PythonRecord(
            path=python.path, version=python.version, real_path=python.real_path, sha256=file_sha256(real)
        )
    env.manifest.modules = records
    env.manifest.python = python
    manifest_mod.write(env.path, env.manifest)
    return api.get(name, config=config)
