"""``roost kernel ...`` and ``roost jupyter``: parsing and rendering only; the work is in roost.kernels."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List, Optional, Sequence

import click

from roost.errors import KernelError


def split_modules(values: Sequence[str]) -> List[str]:
    """``--module a --module b`` and ``--module "a,b"`` / ``--module "a b"`` mean the same."""
    return [name for value in values for name in re.split(r"[,\s]+", value) if name]


def kernel_target(scope: Optional[str], prefix: Optional[str]) -> Path:
    from roost.kernels.api import scope_target

    if prefix is not None and scope not in (None, "prefix"):
        raise click.UsageError("--prefix cannot be combined with --user or --sys-prefix")
    if prefix is not None:
        return scope_target("prefix", Path(prefix))
    return scope_target(scope or "user")


def scope_options(function):  # type: ignore[no-untyped-def]
    for decorator in reversed([
        click.option("--user", "scope", flag_value="user", help="The user's Jupyter directory (default)."),
        click.option("--sys-prefix", "scope", flag_value="sys-prefix",
                     help="The Jupyter directory of the Python running roost (sys.prefix/share/jupyter)."),
        click.option("--prefix", type=click.Path(file_okay=False), help="DIR/share/jupyter/kernels."),
    ]):
        function = decorator(function)
    return function


@click.group("kernel")
def kernel() -> None:
    """Jupyter kernels that load modules and activate an environment before Python starts."""


@kernel.command("install")
@click.argument("name")
@click.option("-e", "--env", help="A roost environment to activate in the kernel.")
@click.option("-m", "--module", "modules", multiple=True, metavar="MODULE",
              help="A module to load in the kernel (repeatable); recorded by full version.")
@click.option("--display-name", help="The name Jupyter shows (default: from the env and modules).")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="A variable set in the kernel, after modules and env (repeatable; literal value).")
@click.option("--python", type=click.Path(dir_okay=False), help="The interpreter that runs ipykernel.")
@scope_options
@click.option("--force", is_flag=True, help="Replace a kernel of the same name in the target directory.")
@click.option("--no-install-ipykernel", is_flag=True,
              help="Fail instead of installing ipykernel into an environment that lacks it.")
def install_command(name: str, env: Optional[str], modules: Sequence[str], display_name: Optional[str],
                    assignments: Sequence[str], python: Optional[str], scope: Optional[str],
                    prefix: Optional[str], force: bool, no_install_ipykernel: bool) -> None:
    """Install a kernel NAME for an environment and/or a set of modules."""
    from roost.kernels.api import install_kernel
    from roost.kernels.prepare import parse_assignments

    target = kernel_target(scope, prefix)
    result = install_kernel(
        name, env=env, modules=split_modules(modules), variables=parse_assignments(assignments),
        display_name=display_name, python=python, target=target, force=force,
        install_ipykernel=not no_install_ipykernel,
    )
    installed = result.installed
    recipe = installed.spec.recipe
    if result.ipykernel_installed:
        click.echo(f"installed ipykernel into environment {recipe.env if recipe else ''}", err=True)
    title = installed.spec.display_name
    click.echo(f"installed kernel {installed.name!r} ({title}) in {installed.directory}")
    if recipe and recipe.modules:
        click.echo(f"  modules: {' '.join(recipe.modules)}")
    for other in installed.shadows:
        click.echo(f"note: it hides the kernel of the same name in {other}", err=True)
    if not installed.on_search_path:
        click.echo(f"note: {installed.directory.parent} is not on Jupyter's search path; add "
                   f"{installed.directory.parent.parent} to JUPYTER_PATH", err=True)


@kernel.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_command(as_json: bool) -> None:
    """List every kernel Jupyter can see, marking shadowed kernels and those whose interpreter is gone."""
    from roost.kernels.api import list_kernels

    entries = list_kernels()
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=1))
        return
    if not entries:
        click.echo("no kernels installed (install one with: roost kernel install NAME --env ENV)")
        return
    width = max(len(e.name) for e in entries)
    for entry in entries:
        state = "ok" if entry.ok else "BROKEN"
        if entry.shadowed_by is not None:
            state = "shadowed"
        title = entry.spec.display_name if entry.spec else "?"
        origin = "roost" if entry.is_roost else "other"
        columns = f"{entry.name:<{width}}  {state:<8}  {origin:<5}  {entry.scope:<12}"
        click.echo(f"{columns}  {title}  [{entry.directory}]")
        for problem in entry.problems:
            click.echo(f"{'':<{width}}  - {problem}")
        if entry.shadowed_by is not None:
            click.echo(f"{'':<{width}}  - hidden by {entry.shadowed_by}")


@kernel.command("remove")
@click.argument("name")
@scope_options
def remove_command(name: str, scope: Optional[str], prefix: Optional[str]) -> None:
    """Remove kernel NAME (the one Jupyter would start, or the one in the given directory)."""
    from roost.kernels.api import remove_kernel

    target = kernel_target(scope, prefix) if (scope or prefix) else None
    directory = remove_kernel(name, target)
    click.echo(f"removed kernel {name.lower()!r} ({directory})")


@kernel.command("check")
@click.argument("name", required=False)
def check_command(name: Optional[str]) -> None:
    """Check that a kernel (default: every roost kernel) can start: env present, modules load, ipykernel."""
    from roost.kernels.api import check_kernels

    entries = check_kernels(name)
    if not entries:
        click.echo("no roost kernels to check")
        return
    for entry in entries:
        click.echo(f"{entry.name}: {'ok' if entry.ok else 'cannot start'}")
        for problem in entry.problems:
            click.echo(f"  - {problem}")
    broken = [e.name for e in entries if not e.ok]
    if broken:
        raise KernelError(
            f"{len(broken)} kernel(s) cannot start: {', '.join(broken)}",
            "fix what is listed above, or reinstall with: roost kernel install NAME --force ...",
        )
