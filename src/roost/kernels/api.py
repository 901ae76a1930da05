"""What the CLI (and other capabilities) call for kernels.

    install_kernel(name, env=..., modules=[...], variables={...}, target=user_dir()) -> InstallResult
    list_kernels() -> [KernelEntry]          every kernelspec on Jupyter's search path, shadowed ones marked
    check_kernels(name=None) -> [KernelEntry] with .problems filled by a dry run of the launcher
    remove_kernel(name, target=None) -> Path
    start_jupyter(env=..., modules=[...], resources={...}) -> server.Session   JupyterLab in a job, answering
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence

from roost.errors import KernelError
from roost.kernels import manager
from roost.kernels.manager import KernelEntry, find_kernel, list_kernels, prefix_dir, sys_prefix_dir, user_dir
from roost.kernels.prepare import (
    build_recipe,
    default_display_name,
    ensure_ipykernel,
    environ_for,
    no_progress,
)

if TYPE_CHECKING:
    from roost.kernels.server import Session

__all__ = [
    "InstallResult",
    "KernelEntry",
    "check_kernels",
    "install_kernel",
    "list_kernels",
    "prefix_dir",
    "remove_kernel",
    "start_jupyter",
    "sys_prefix_dir",
    "user_dir",
]


@dataclass
class InstallResult:
    installed: manager.Installed
    ipykernel_installed: bool


def install_kernel(
    name: str,
    *,
    env: Optional[str] = None,
    modules: Sequence[str] = (),
    variables: Optional[Mapping[str, str]] = None,
    display_name: Optional[str] = None,
    python: Optional[str] = None,
    target: Optional[Path] = None,
    force: bool = False,
    install_ipykernel: bool = True,
    environ: Optional[Mapping[str, str]] = None,
    progress: Callable[[str], None] = no_progress,
) -> InstallResult:
    """Validate everything (env, modules, variables, ipykernel), then write the kernelspec atomically."""
    environ = dict(environ if environ is not None else os.environ)
    recipe = build_recipe(name, env=env, modules=modules, variables=variables, python=python, environ=environ)
    kernel_env = environ_for(recipe, environ)
    added = ensure_ipykernel(recipe, kernel_env, install=install_ipykernel, progress=progress)
    title = display_name or default_display_name(recipe.env, recipe.modules, recipe.name)
    installed = manager.install(recipe, display_name=title, target=target or user_dir(), force=force)
    return InstallResult(installed, added)


def check_kernels(name: Optional[str] = None, environ: Optional[Dict[str, str]] = None) -> List[KernelEntry]:
    """Check one kernel (the one Jupyter would start), or every roost kernel that is not shadowed."""
    if name is not None:
        return [manager.check(find_kernel(name), environ)]
    entries = [e for e in list_kernels() if e.is_roost and e.shadowed_by is None]
    return [manager.check(entry, environ) for entry in entries]


def remove_kernel(name: str, target: Optional[Path] = None) -> Path:
    return manager.remove(name, target)


def scope_target(scope: str, prefix: Optional[Path] = None) -> Path:
    """The kernel directory for --user / --sys-prefix / --prefix DIR."""
    if scope == "user":
        return user_dir()
    if scope == "sys-prefix":
        return sys_prefix_dir()
    if scope == "prefix" and prefix is not None:
        return prefix_dir(prefix)
    raise KernelError(f"unknown kernel scope {scope!r}", "use --user, --sys-prefix or --prefix DIR")


def start_jupyter(
    *,
    env: Optional[str] = None,
    modules: Sequence[str] = (),
    resources: Optional[Mapping[str, Any]] = None,
    backend: Optional[str] = None,
    mode: str = "lab",
    timeout: float = 600,
    progress: Callable[[str], None] = no_progress,
) -> Session:
    """Check the env and modules (installing ipykernel into the env if needed), submit the server job with
    ``resources`` (sbatch-named, as ``roost submit`` takes them) and wait until Jupyter answers."""
    from roost.jobs import api as jobs_api
    from roost.kernels import server, toolenv
    from roost.kernels.manager import ipykernel_problem

    server.check_timeout(timeout)  # before anything is installed or submitted
    backend_name = jobs_api.backend_name(backend)
    bind = server.bind_for(backend_name)
    recipe = build_recipe("jupyter", env=env, modules=modules)
    server_python = toolenv.server_python(mode, progress)
    if recipe.python == sys.executable and not recipe.env and ipykernel_problem(recipe.python, dict(os.environ)):
        recipe.python = server_python  # no env, no module Python, no ipykernel in roost's: the server's has it
    ensure_ipykernel(recipe, environ_for(recipe), install=True, progress=progress)
    return server.start(
        recipe, server.batch_submitter(dict(resources or {}), backend_name), mode=mode,
        kernel_display_name=default_display_name(recipe.env, recipe.modules, "roost"),
        timeout=timeout, progress=progress, bind=bind, server_python=server_python,
    )
