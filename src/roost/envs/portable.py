"""Export an env as a portable spec, and import one elsewhere (same lock, same versions).

venv: a pip requirements file (the hashed lock) whose roost settings ride in ``# roost-KEY: value``
comments, so the file also works with plain ``pip install -r``.  conda: an ``environment.yml`` with exact
``name=version=build`` pins and the same comments; a hand-written environment.yml imports too (solved).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from roost import config as config_mod
from roost.envs import api
from roost.envs.kinds import Progress, get_kind, no_progress
from roost.envs.python import VERSION_RE
from roost.errors import EnvError

_DIRECTIVE = re.compile(r"^#\s*roost-([a-z-]+):\s*(.*?)\s*$")


@dataclass
class Spec:
    kind: str
    name: Optional[str] = None
    python: Optional[str] = None
    modules: List[str] = field(default_factory=list)
    modulepath: List[str] = field(default_factory=list)
    requested: List[str] = field(default_factory=list)
    system_site_packages: bool = False
    options: Dict[str, Any] = field(default_factory=dict)
    lock_text: Optional[str] = None
    packages: List[str] = field(default_factory=list)  # to solve when there is no lock (hand-written yml)


def export(name: str, *, config: Optional[config_mod.Config] = None) -> str:
    env = api.get(name, config=config)
    return get_kind(env.kind).export_text(env.path, env.manifest)


def write_export(name: str, output: Path, *, config: Optional[config_mod.Config] = None) -> Path:
    """Write env ``name``'s spec to ``output`` whole or not at all (temp file + rename)."""
    from roost.envs.manifest import write_text_atomic

    text = export(name, config=config)
    output = Path(output)
    if output.is_dir():
        raise EnvError(f"cannot write {output}: it is a directory",
                       f"give a file name, e.g. `-o {output / (name + export_suffix(name, config=config))}`")
    if not output.parent.is_dir():
        raise EnvError(f"cannot write {output}: {output.parent} does not exist",
                       f"create it first (`mkdir -p {output.parent}`), or give another path")
    try:
        write_text_atomic(output, text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(output, 0o666 & ~umask)  # a spec is for sharing: not the temp file's private 0600
    except OSError as exc:
        raise EnvError(f"cannot write {output}: {exc.strerror}", "give a path you can write to") from None
    return output


def export_suffix(name: str, *, config: Optional[config_mod.Config] = None) -> str:
    return get_kind(api.get(name, config=config).kind).export_suffix


def parse(text: str, filename: str = "") -> Spec:
    directives = _directives(text)
    is_yaml = filename.endswith((".yml", ".yaml")) or re.search(r"^dependencies:", text, re.M) is not None
    spec = _parse_conda(text) if is_yaml else _parse_requirements(text)
    spec.name = directives.get("name", [spec.name])[-1] if directives.get("name") else spec.name
    spec.modules = directives.get("module", [])
    spec.modulepath = directives.get("modulepath", [])
    if directives.get("python"):
        spec.python = directives["python"][-1]
    if "requested" in directives:
        spec.requested = directives["requested"]
    spec.system_site_packages = directives.get("system-site-packages", ["false"])[-1] == "true"
    if directives.get("external-mpi", ["false"])[-1] == "true":
        spec.options["external_mpi"] = True
    if directives.get("kind") and not is_yaml:
        spec.kind = directives["kind"][-1]
    for key in ("image", "runtime"):  # settings of the container kind
        if directives.get(key):
            spec.options[key] = directives[key][-1]
    return spec


def _directives(text: str) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for line in text.splitlines():
        match = _DIRECTIVE.match(line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def _parse_requirements(text: str) -> Spec:
    body = "\n".join(line for line in text.splitlines() if not _DIRECTIVE.match(line)).strip()
    pins = [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith(("#", "-"))]
    if not pins:
        return Spec(kind="venv", lock_text=body + "\n" if body else "")
    unpinned = [line.split()[0] for line in pins if "==" not in line and not line.startswith(" ")]
    if unpinned:  # a plain requirements file: resolve it, there is no lock to reproduce
        return Spec(kind="venv", packages=[line.strip() for line in pins])
    return Spec(kind="venv", lock_text=body + "\n")


def _parse_conda(text: str) -> Spec:
    import yaml

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise EnvError(f"the environment file is not valid YAML: {exc}", "fix the file and import it again") from None
    if not isinstance(data, dict):
        raise EnvError("the environment file has no `dependencies:` list", "write it as conda's environment.yml")
    dependencies = data.get("dependencies") or []
    if any(not isinstance(d, str) for d in dependencies):
        raise EnvError(
            "pip sections in environment.yml are not supported",
            "create a conda env for the conda packages, and a venv (--system-site-packages) for pip ones",
        )
    exact = [d for d in dependencies if d.count("=") == 2 and "==" not in d]
    spec = Spec(kind="conda", name=data.get("name"))
    spec.options["channels"] = [str(c) for c in data.get("channels") or []]
    if dependencies and len(exact) == len(dependencies):
        spec.lock_text = "".join(d + "\n" for d in dependencies)
    else:
        spec.packages = [str(d) for d in dependencies]
    return spec


def import_env(
    path: Path,
    name: Optional[str] = None,
    *,
    python: Optional[str] = None,
    config: Optional[config_mod.Config] = None,
    environ: Optional[Mapping[str, str]] = None,
    progress: Progress = no_progress,
) -> api.Env:
    """Recreate an exported env (its modules, Python version and exact lock) under ``name``."""
    hint = "pass a file written by `roost env export NAME -o FILE`, a requirements file or an environment.yml"
    text = api.read_text_file(path, "the spec file", hint)
    if not _directives(text) and not any(line.strip() and not line.lstrip().startswith("#")
                                         for line in text.splitlines()):
        raise EnvError(f"{path} holds nothing to import (no packages, no roost settings)", hint)
    spec = parse(text, str(path))
    target = name or spec.name
    if not target:
        raise EnvError(f"{path} does not name the environment", f"give a name: `roost env import {path} NAME`")
    options = dict(spec.options)
    requested = spec.requested or spec.packages
    python_request = python or _python_request(spec, environ)
    return api.create(
        target,
        modules=spec.modules,
        python=python_request,
        packages=requested,
        system_site_packages=spec.system_site_packages,
        kind=spec.kind,
        options=options,
        modulepath=spec.modulepath,
        lock_text=spec.lock_text,
        config=config,
        environ=environ,
        progress=progress,
    )


def _python_request(spec: Spec, environ: Optional[Mapping[str, str]]) -> Optional[str]:
    """The env's modules pick the Python when it has some; otherwise look for the same major.minor."""
    if spec.modules or not spec.python or not VERSION_RE.match(spec.python):
        return None
    return ".".join(spec.python.split(".")[:2])
