"""Which Python runs the Jupyter server of ``roost jupyter``, provisioning one on first use as ``uvx`` does.

The first that applies:

1. ``[jupyter] server_python`` in roost's config: a central install the site maintains (it must import
   ``jupyterlab``, or ``notebook`` for ``--notebook``);
2. the Python running roost, when it has them (``pip install 'roost[jupyter]'``, the explicit way);
3. roost's tool environment, ``<data dir>/tools/jupyter``: a venv of roost's Python made with uv from the
   package index the first time it is needed (JupyterLab; Notebook added when ``--notebook`` first asks for
   it), then reused by every session of the user.  It lives in the data directory, not a cache, because the
   compute node that runs the server must see it (home and data directories are shared; caches may be
   node-local).

Provisioning holds a change lock on the tool environment (roost.envs.changelock), so two first sessions at
once install it once; it is built beside its place and renamed there, so a killed provisioning leaves nothing
half-made under the name.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable, List, Mapping, Optional

from roost import config as config_mod
from roost import paths
from roost.errors import KernelError, RoostError
from roost.kernels.serve import SERVER_MODULES

Progress = Callable[[str], None]
TOOL_NAME = "jupyter"
PACKAGES = {"lab": "jupyterlab", "notebook": "notebook"}
PACKAGES_BY_MODULE = {module: PACKAGES[mode] for mode, module in SERVER_MODULES.items()}


def tools_dir() -> Path:
    return paths.data_dir() / "tools"


def tool_python(directory: Optional[Path] = None) -> Path:
    return (directory or tools_dir() / TOOL_NAME) / "bin" / "python"


def has_module(python: str, module: str) -> bool:
    """Whether ``python`` (run as the server runs, with -E) can import ``module``."""
    probe = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
    try:
        done = subprocess.run([python, "-E", "-c", probe], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def server_python(mode: str, progress: Progress, environ: Optional[Mapping[str, str]] = None) -> str:
    """The interpreter to run the server with (see the module's docstring for the order)."""
    module = SERVER_MODULES[mode]
    cfg = config_mod.load(environ)
    configured = cfg.section("jupyter").get("server_python")
    if configured is not None:
        return _configured(configured, module, cfg, environ or os.environ)
    if has_module(sys.executable, module):
        return sys.executable
    return str(provision(mode, cfg, progress))


def _configured(value: object, module: str, cfg: config_mod.Config, environ: Mapping[str, str]) -> str:
    sources = ", ".join(cfg.sources) or "roost's config"
    if not isinstance(value, str) or not value:
        raise KernelError(f"config key jupyter.server_python must be the path of a Python, not {value!r}",
                          f"fix it in {sources}")
    python = config_mod.expand_path_text(value, environ)
    if not has_module(python, module):
        raise KernelError(
            f"the Jupyter server Python {python} (jupyter.server_python) cannot import {module}",
            f"install {PACKAGES_BY_MODULE[module]} there, or remove jupyter.server_python from {sources} to let "
            "roost provision its own",
        )
    return python


def provision(mode: str, cfg: config_mod.Config, progress: Progress) -> Path:
    """roost's tool environment with the server for ``mode``, made or completed now if it lacks it."""
    from roost.envs import changelock

    root = tools_dir()
    target = root / TOOL_NAME
    module = SERVER_MODULES[mode]
    if has_module(str(tool_python(target)), module):
        return tool_python(target)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _provision_error(f"cannot create {root}: {exc.strerror}") from None
    with changelock.hold(root, TOOL_NAME, f"roost jupyter (installing {PACKAGES[mode]})",
                         timeout=cfg.envs.lock_timeout, progress=progress):
        _remove_staging(root)
        if has_module(str(tool_python(target)), module):  # another session installed it while we waited
            return tool_python(target)
        wanted = _packages_for(mode, target)
        server = "JupyterLab" if mode == "lab" else "Jupyter Notebook"
        progress(f"{server} is not installed for roost's Python ({sys.executable}): installing "
                 f"{' '.join(wanted)} once into {target} with uv from the package index (a minute or so; "
                 "later sessions reuse it)")
        if target.is_dir():
            _install(target, wanted, cfg)
        else:
            _build(root, target, wanted, cfg)
        progress(f"installed {' '.join(wanted)} into {target}")
    return tool_python(target)


def _packages_for(mode: str, target: Path) -> List[str]:
    """What to install: the mode's package, and JupyterLab with Notebook (Notebook 7 is built on it)."""
    if target.is_dir():
        return [PACKAGES[mode]]
    return ["jupyterlab"] if mode == "lab" else ["jupyterlab", "notebook"]


def _build(root: Path, target: Path, packages: List[str], cfg: config_mod.Config) -> None:
    staging = root / f".{TOOL_NAME}-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        _uv(["venv", "--quiet", "--relocatable", "--python", sys.executable, str(staging)], cfg,
            "creating the Jupyter tool environment")
        _install(staging, packages, cfg)
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _install(prefix: Path, packages: List[str], cfg: config_mod.Config) -> None:
    _uv(["pip", "install", "--quiet", "--python", str(tool_python(prefix)), *packages], cfg,
        f"installing {' '.join(packages)}")


def _uv(args: List[str], cfg: config_mod.Config, what: str) -> None:
    from roost.envs.venv import run_uv

    try:
        run_uv(args, os.environ, cfg, what)
    except RoostError as exc:
        raise _provision_error(exc.message) from None


def _provision_error(message: str) -> KernelError:
    return KernelError(
        f"roost could not install the Jupyter server: {message}",
        "install it with roost instead: pip install 'roost[jupyter]' (or ask your site to set "
        "jupyter.server_python to a central JupyterLab)",
    )


def _remove_staging(root: Path) -> None:
    """Build directories of killed provisionings (we hold the lock: none is in use)."""
    for entry in root.iterdir():
        if entry.name.startswith(f".{TOOL_NAME}-") and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
