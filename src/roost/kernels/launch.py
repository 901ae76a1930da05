"""The launcher in a roost kernelspec's argv (``python -E -S -c BOOT KERNEL_JSON -f CONNECTION_FILE``, or
``python -m roost.kernels.launch KERNEL_JSON -f CONNECTION_FILE``).

It reads the recipe from the kernel.json, then, starting from the environment Jupyter gave it:

1. loads the recorded modules (full versions) with roost's module engine; the MODULEPATH it searches is the
   one it inherited followed by the install-time directories it lacks;
2. activates the recorded environment (by name, so a re-created environment is picked up);
3. sets the ``--set`` variables (literal values, last, so they win);
4. execs ``PYTHON -m ipykernel_launcher -f CONNECTION_FILE`` (the process becomes the kernel).

When a step cannot be done the launcher writes ``roost kernel 'NAME' cannot start: ...`` and a hint to
stderr (the kernel's log, shown by the Jupyter server) and exits 1, so Jupyter reports a dead kernel at
once instead of waiting for one that never connects.

Start-up time matters (it is paid on every kernel start): only json, os, sys and roost.kernels.recipe are
imported unless the recipe has modules or an environment.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Dict, List, Mapping, NoReturn, Optional, Sequence

from roost.kernels.recipe import RECIPE_KEY, Recipe

USAGE = "usage: python -m roost.kernels.launch KERNEL_JSON -f CONNECTION_FILE [ipykernel arguments...]"


class LaunchError(Exception):
    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def read_recipe(kernel_json: str) -> Recipe:
    try:
        with open(kernel_json, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise LaunchError(f"cannot read {kernel_json}: {exc.strerror}", "reinstall the kernel") from None
    except ValueError as exc:
        raise LaunchError(f"{kernel_json} is not valid JSON ({exc})", "reinstall the kernel") from None
    recipe = (data.get("metadata") or {}).get(RECIPE_KEY)
    if not isinstance(recipe, dict):
        raise LaunchError(f"{kernel_json} has no metadata.{RECIPE_KEY} section", "reinstall the kernel")
    return Recipe.from_json(recipe)


def with_recorded_modulepath(environ: Dict[str, str], recorded: Optional[str]) -> Dict[str, str]:
    """MODULEPATH = the inherited one, then the install-time directories it lacks (a server started without
    modules set up, as JupyterHub spawners often are, still finds the kernel's modules)."""
    if not recorded:
        return environ
    current = [d for d in environ.get("MODULEPATH", "").split(":") if d]
    missing = [d for d in recorded.split(":") if d and d not in current]
    if missing:
        environ = dict(environ)
        environ["MODULEPATH"] = ":".join(current + missing)
    return environ


def load_modules(recipe: Recipe, environ: Dict[str, str]) -> Dict[str, str]:
    from roost.errors import RoostError
    from roost.modules import api as modules_api

    environ = with_recorded_modulepath(environ, recipe.modulepath)
    try:
        result = modules_api.load(list(recipe.modules), environ, checksums=False)
    except RoostError as exc:
        raise LaunchError(
            f"its modules {' '.join(recipe.modules)} cannot be loaded: {exc.message}",
            f"{exc.hint + '; ' if exc.hint else ''}"
            f"if it was removed, reinstall the kernel: roost kernel install {recipe.name} --force ...",
        ) from None
    loaded = {m.fullname for m in result.modules}
    changed = [m for m in recipe.modules if m not in loaded]
    if changed:
        raise LaunchError(
            f"module {changed[0]} was recorded but a different version was loaded",
            f"reinstall it to record today's versions: roost kernel install {recipe.name} --force ...",
        )
    return result.change.applied_to(environ)


def activate_env(recipe: Recipe, environ: Dict[str, str]) -> Dict[str, str]:
    # roost.envs.activation is what roost.envs.api re-exports, without the api's heavier imports.
    from roost.envs.activation import activation_change
    from roost.errors import RoostError

    assert recipe.env is not None
    try:
        change = activation_change(recipe.env, environ, restorable=False)
    except RoostError as exc:
        raise LaunchError(
            f"its environment {recipe.env!r} (was at {recipe.env_path}) cannot be activated: {exc.message}",
            exc.hint or f"re-create the environment, or remove the kernel: roost kernel remove {recipe.name}",
        ) from None
    return change.applied_to(environ)


def kernel_environ(recipe: Recipe, environ: Mapping[str, str]) -> Dict[str, str]:
    """The environment the kernel runs in: ``environ`` + modules + env + variables (in that order)."""
    result = dict(environ)
    if recipe.modules:
        result = load_modules(recipe, result)
    if recipe.env:
        result = activate_env(recipe, result)
    result.update(recipe.variables)
    return result


def check_interpreter(recipe: Recipe) -> None:
    if not os.access(recipe.python, os.X_OK):
        where = f"environment {recipe.env!r}" if recipe.env else "the kernel"
        raise LaunchError(
            f"its interpreter {recipe.python} (from {where}) is gone",
            f"re-create it, or reinstall the kernel: roost kernel install {recipe.name} --force ...",
        )


def kernel_argv(recipe: Recipe, ipykernel_args: Sequence[str]) -> List[str]:
    return [recipe.python, "-m", "ipykernel_launcher", *ipykernel_args]


def fail(name: str, message: str, hint: Optional[str]) -> NoReturn:
    sys.stderr.write(f"roost kernel {name!r} cannot start: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
    sys.stderr.flush()
    raise SystemExit(1)


def environ_with_site_fallback(recipe: Recipe) -> Dict[str, str]:
    """kernel_environ; if started with -S and a package the modules or envs code needs is not on the explicit
    sys.path (roost was reinstalled differently since), add site-packages the normal way and try again."""
    try:
        return kernel_environ(recipe, os.environ)
    except ImportError:
        if not sys.flags.no_site:
            raise
        import site

        site.main()
        return kernel_environ(recipe, os.environ)


def main(argv: Sequence[str]) -> NoReturn:
    if len(argv) < 3 or argv[1] != "-f":
        sys.stderr.write(USAGE + "\n")
        raise SystemExit(2)
    kernel_json, ipykernel_args = argv[0], list(argv[1:])
    name = os.path.basename(os.path.dirname(os.path.abspath(kernel_json)))
    try:
        recipe = read_recipe(kernel_json)
        name = recipe.name
        environ = environ_with_site_fallback(recipe)
        check_interpreter(recipe)
    except LaunchError as exc:
        fail(name, exc.message, exc.hint)
    sys.stdout.flush()
    argv = kernel_argv(recipe, ipykernel_args)
    if recipe.env:
        argv = [*image_wrapper(recipe.env, environ), *argv]
    os.execve(argv[0], argv, environ)


def image_wrapper(env: str, environ: Mapping[str, str]) -> List[str]:
    """In a batch job (JupyterLab on a compute node), a packed env's kernel runs from its start-up image."""
    from roost.envs import nodeimage

    return nodeimage.wrapper_for(env, environ) if nodeimage.in_batch_job(environ) else []


if __name__ == "__main__":
    main(sys.argv[1:])
