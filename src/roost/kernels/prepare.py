"""Turning ``--env`` / ``--module`` / ``--set`` into a checked :class:`~roost.kernels.spec.Recipe`.

Everything is validated before anything is written: the environment exists, the modules load (and are
recorded by full version, so a later change of a module default cannot change the kernel), the variables have
valid names, and the kernel's interpreter can import ipykernel (installing it into a roost environment when
asked to).

Which interpreter runs the kernel: ``--python`` if given; else the environment's; else the first ``python3``
(or ``python``) in a directory the modules put on PATH; else the Python running roost.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from roost.errors import KernelError
from roost.kernels.launch import LaunchError, kernel_environ
from roost.kernels.manager import ipykernel_problem
from roost.kernels.spec import Recipe, check_kernel_name
from roost.shell.change import check_var_name


def parse_assignments(items: Sequence[str]) -> Dict[str, str]:
    """``KEY=VALUE`` strings (from repeated ``--set``) into an ordered dict; values are kept literally."""
    variables: Dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise KernelError(f"--set {item!r} has no '='", "write it as --set KEY=VALUE")
        check_var_name(key)
        variables[key] = value
    return variables


@dataclass
class EnvInfo:
    name: str
    path: str
    python: str


def lookup_env(name: str) -> EnvInfo:
    from roost.envs import api as envs_api

    env = envs_api.get(name)
    return EnvInfo(name, str(env.path), str(env.python))


def resolve_modules(names: Sequence[str], environ: Mapping[str, str]) -> Tuple[List[str], Dict[str, str]]:
    """Load ``names`` once to learn their full versions; return them and the environment after the load."""
    from roost.modules import api as modules_api

    result = modules_api.load(list(names), dict(environ))
    return [m.fullname for m in result.modules], result.change.applied_to(environ)


def python_from_modules(before: Mapping[str, str], after: Mapping[str, str]) -> Optional[str]:
    """The first python3/python in a PATH directory the modules added (not one that was already there)."""
    old = set(before.get("PATH", "").split(":"))
    for directory in after.get("PATH", "").split(":"):
        if directory and directory not in old:
            for program in ("python3", "python"):
                candidate = os.path.join(directory, program)
                if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
                    return candidate
    return None


def default_display_name(env: Optional[str], modules: Sequence[str], name: str) -> str:
    parts = ([f"env {env}"] if env else []) + list(modules)
    return f"Python ({', '.join(parts)})" if parts else f"Python ({name})"


def build_recipe(
    name: str,
    *,
    env: Optional[str] = None,
    modules: Sequence[str] = (),
    variables: Optional[Mapping[str, str]] = None,
    python: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Recipe:
    """A recipe with modules resolved to full versions and the interpreter chosen (see above)."""
    environ = dict(environ if environ is not None else os.environ)
    recipe = Recipe(name=check_kernel_name(name), python="", variables=dict(variables or {}))
    after = environ
    if modules:
        recipe.modules, after = resolve_modules(modules, environ)
        recipe.modulepath = environ.get("MODULEPATH") or after.get("MODULEPATH")
    env_info = lookup_env(env) if env else None
    if env_info is not None:
        recipe.env, recipe.env_path = env_info.name, env_info.path
    chosen = python or (env_info.python if env_info else None) or python_from_modules(environ, after)
    recipe.python = os.path.abspath(chosen) if chosen else sys.executable
    if not os.access(recipe.python, os.X_OK):
        raise KernelError(f"interpreter {recipe.python} does not exist", "give an existing one with --python")
    return recipe


def environ_for(recipe: Recipe, environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The kernel's environment, computed exactly as the launcher will (a dry run of its steps)."""
    try:
        return kernel_environ(recipe, environ if environ is not None else os.environ)
    except LaunchError as exc:
        raise KernelError(exc.message, exc.hint) from None


def ipykernel_install_command(recipe: Recipe) -> List[str]:
    """How to put ipykernel into the interpreter: roost for an env; else uv when present, else pip."""
    if recipe.env:
        return ["roost", "env", "install", recipe.env, "ipykernel"]
    uv = shutil.which("uv")
    if uv:
        return [uv, "pip", "install", "--python", recipe.python, "ipykernel"]
    return [recipe.python, "-m", "pip", "install", "ipykernel"]


def no_progress(message: str) -> None:
    pass


def ensure_ipykernel(recipe: Recipe, kernel_env: Dict[str, str], *, install: bool,
                     progress: Callable[[str], None] = no_progress) -> bool:
    """Make sure the kernel's interpreter imports ipykernel; returns True when it had to be installed.

    Only a roost environment is installed into (modules' and system interpreters are shared, and usually
    read-only); otherwise the error says exactly what to run.
    """
    problem = ipykernel_problem(recipe.python, kernel_env)
    if problem is None:
        return False
    # Install only into the env's own interpreter (not a --python given beside --env).
    env_name = recipe.env if recipe.env_path and recipe.python.startswith(recipe.env_path + os.sep) else None
    in_env = env_name is not None
    command = ipykernel_install_command(Recipe(name=recipe.name, python=recipe.python, env=env_name))
    if recipe.python == sys.executable and not recipe.env:
        raise KernelError(problem, "install roost with its Jupyter extra: pip install 'roost[jupyter]'")
    if not install or not in_env:
        hint = f"install it with: {' '.join(command)}"
        if not in_env:
            hint += " (or use --env with a roost environment, which roost installs ipykernel into)"
        else:
            hint += " (or drop --no-install-ipykernel)"
        raise KernelError(problem, hint)
    from roost.envs import api as envs_api

    # Through the envs capability, so the env's lock records ipykernel (no drift reported later).
    assert env_name is not None
    progress(f"environment {env_name} has no ipykernel: installing it")
    envs_api.install(env_name, ["ipykernel"])
    problem = ipykernel_problem(recipe.python, kernel_env)
    if problem is not None:
        raise KernelError(problem, f"ipykernel was installed but is not importable; try: {' '.join(command)}")
    return True
