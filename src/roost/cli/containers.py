"""``roost container``: register container images as modules, list, show, remove, export, pip-install."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional, Tuple

import click

from roost.containers import api
from roost.shell.modulefile import FORMATS


@click.group("container")
def container() -> None:
    """Container images (SIF, SquashFS, directories) as modules whose commands run inside the image."""


@container.command("add")
@click.argument("fullname", metavar="NAME/VERSION")
@click.argument("image")
@click.option("--runtime", default=None, help="apptainer, singularity, charliecloud, podman (default: auto).")
@click.option("--gpu", is_flag=True, help="Make GPUs visible (Apptainer --nv/--rocm, Podman CDI device).")
@click.option("--command", "commands", multiple=True, metavar="NAME",
              help="A command to wrap (repeatable). Default: python, python3, pip, pip3, ipython, jupyter.")
@click.option("--bind", "binds", multiple=True, metavar="PATH|$VAR", help="Bind this too (repeatable).")
@click.option("--no-default-binds", is_flag=True, help="Do not bind the configured defaults ($HOME, ...).")
@click.option("--extras", default=None, metavar="DIR",
              help="Directory for pip-install extras (e.g. a project directory). Default: per user.")
@click.option("--runtime-option", "runtime_options", multiple=True, metavar="OPTION",
              help="An extra option for the runtime, after the configured ones (repeatable), e.g. --cleanenv.")
@click.option("--force", is_flag=True, help="Replace a container registered under the same name.")
def add(fullname: str, image: str, runtime: Optional[str], gpu: bool, commands: Tuple[str, ...],
        binds: Tuple[str, ...], no_default_binds: bool, extras: Optional[str], runtime_options: Tuple[str, ...],
        force: bool) -> None:
    """Register IMAGE as module NAME/VERSION with wrapper commands that run inside it."""
    result = api.add(fullname, image, runtime=runtime, gpu=gpu, commands=commands,
                     binds=[] if no_default_binds else None, extra_binds=binds, extras=extras,
                     runtime_options=runtime_options, force=force)
    found = result.container
    click.echo(f"added {found.fullname} ({found.runtime}, {found.kind} image {found.image})")
    click.echo(f"  commands: {', '.join(sorted(found.commands))}")
    if result.skipped:
        click.echo(f"  not in the image, so not wrapped: {', '.join(result.skipped)}")
    click.echo(f"  modulefile: {result.modulefile}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    hint = f"load it with: module load {found.fullname}"
    directory = str(api.modulefile_dir())
    if directory not in os.environ.get("MODULEPATH", "").split(":"):
        # The startup line adds the directory only when it exists, so shells started before the first add
        # lack it; new shells find it themselves.
        hint += f"   (in shells started before now, first: module use {directory})"
    click.echo(hint)


@container.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON records.")
def list_command(as_json: bool) -> None:
    """List registered containers."""
    containers = api.list_containers()
    if as_json:
        click.echo(json.dumps([c.to_json() for c in containers], indent=2))
        return
    if not containers:
        click.echo("no containers registered (add one: roost container add NAME/VERSION IMAGE)", err=True)
        return
    width = max(len(c.fullname) for c in containers)
    for c in containers:
        missing = "  (image missing)" if c.kind != "reference" and not os.path.exists(c.image) else ""
        click.echo(f"{c.fullname:<{width}}  {c.runtime:<12}  {c.image}{missing}")


@container.command("show")
@click.argument("name")
@click.option("--format", "format_", type=click.Choice(FORMATS), default=None,
              help="Print the modulefile in this format instead of the summary.")
def show(name: str, format_: Optional[str]) -> None:
    """Show a container's record and wrappers (NAME or NAME/VERSION)."""
    found = api.get(name)
    if format_:
        click.echo(api.modulefile_text(found, format_), nl=False)
        return
    rows = [
        ("name", found.fullname), ("image", f"{found.image} ({found.kind})"),
        ("runtime", f"{found.runtime} ({found.executable})"), ("gpu", "yes" if found.gpu else "no"),
        ("binds", " ".join(found.binds) or "-"),
        ("extras", f"{found.extras} (inside: {found.extras_inside})"),
        *([("cwd_mount", f"{found.cwd_mount} (your directory, where the image cannot show it)")]
          if found.cwd_mount else []),
        ("modulefile", str(found.modulefile)), ("wrappers", str(found.bin_dir)),
    ]
    for key, value in rows:
        click.echo(f"{key:<11} {value}")
    for wrapper, inside in sorted(found.commands.items()):
        click.echo(f"  {wrapper:<9} -> {inside}")


@container.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Unregister a container (the image itself is kept)."""
    found = api.remove(name)
    click.echo(f"removed {found.fullname}")


@container.command("export")
@click.argument("name")
@click.option("--format", "format_", type=click.Choice(FORMATS), default="lua", show_default=True,
              help="lua for Lmod, tcl for Environment Modules.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write DIR/NAME/VERSION[.lua] into this modulefile tree instead of printing.")
def export(name: str, format_: str, output: Optional[Path]) -> None:
    """Print (or write) a container's modulefile for Lmod or Environment Modules."""
    if output is None:
        click.echo(api.modulefile_text(api.get(name), format_), nl=False)
        return
    click.echo(str(api.export_modulefile(name, format_, output)))


@container.command("pip-install", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.argument("packages", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--upgrade", is_flag=True, help="Replace packages already in the extras directory.")
def pip_install(name: str, packages: Tuple[str, ...], upgrade: bool) -> None:
    """Install PACKAGES into the container's extras directory (on PYTHONPATH inside it).

    Other pip options pass through (e.g. --no-index, -r requirements.txt).
    """
    result, _ = api.pip_install(name, packages, upgrade=upgrade)
    click.echo(f"installed into {result.target} for {result.container.fullname}")


@container.command("exec", context_settings={"ignore_unknown_options": True,
                                             "allow_interspersed_args": False})
@click.argument("name")
@click.argument("command")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def exec_command(name: str, command: str, args: Tuple[str, ...]) -> None:
    """Run COMMAND (any program in the image: bash, a script) here, with the container's binds."""
    found = api.get(name)
    environ = dict(os.environ, PWD=os.getcwd())
    argv = api.exec_argv(found, command, args, environ)
    os.execve(argv[0], argv, api.run_environ(found, environ))


@container.command("modulepath")
def modulepath() -> None:
    """Print the directory holding roost's container modulefiles (for `module use`)."""
    click.echo(str(api.modulefile_dir()))
