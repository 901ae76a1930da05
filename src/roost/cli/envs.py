"""`roost env ...`, `roost run`, `roost activate`, `roost deactivate`: parse, call roost.envs, render."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional, Tuple

import click

from roost.errors import EnvError

Progress = Callable[[str], None]


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True, no_color="NO_COLOR" in os.environ, highlight=False)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Progress]:
    """Steps for people on stderr (a spinner on a terminal, plain lines otherwise); nothing with --quiet."""
    if quiet:
        yield lambda message: None
        return
    console = _console()
    if not console.is_terminal:
        yield lambda message: console.print(f"[dim]- {message}[/dim]", markup=True)
        return
    with console.status("starting") as status:

        def report(message: str) -> None:
            console.print(f"[dim]- {message}[/dim]")
            status.update(message)

        yield report


def _warn(messages: List[str], quiet: bool) -> None:
    if quiet:
        return
    for message in messages:
        click.echo(f"warning: {message}", err=True)


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2))


def _default_shell() -> str:
    from roost.shell.render import SHELLS

    name = os.path.basename(os.environ.get("SHELL", "bash"))
    return name if name in SHELLS else "bash"


quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress or warnings (errors still go to stderr).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (for scripts).")


@click.group("env")
def env() -> None:
    """Create and manage Python environments that remember their modules."""


@env.command("create")
@click.argument("name")
@click.argument("packages", nargs=-1)
@click.option("-m", "--module", "modules", multiple=True, help="Module to load first (repeatable, in order).")
@click.option(
    "--python", "python", help="Python version (3.12) or interpreter path; default: python3 from the modules."
)
@click.option(
    "-r",
    "--requirement",
    "requirements",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Install from a requirements file (repeatable).",
)
@click.option("--system-site-packages", is_flag=True, help="Let the env see the packages of the module's Python.")
@click.option("--kind", default="venv", show_default=True, help="venv, or conda (packages from conda channels).")
@click.option("-c", "--channel", "channels", multiple=True, help="conda channel: name, URL or directory (repeatable).")
@click.option("--external-mpi", is_flag=True, help="conda: use the site's MPI module (MPI pinned to external_*).")
@click.option(
    "--image", help="A container image (SIF, SquashFS, directory) whose python the env runs (kind container)."
)
@quiet_option
@json_option
def create(
    name: str,
    packages: Tuple[str, ...],
    modules: Tuple[str, ...],
    python: Optional[str],
    requirements: Tuple[Path, ...],
    system_site_packages: bool,
    kind: str,
    channels: Tuple[str, ...],
    external_mpi: bool,
    quiet: bool,
    as_json: bool,
    image: Optional[str] = None,
) -> None:
    """Create env NAME with PACKAGES, bound to the given modules."""
    from roost import config as config_mod
    from roost.envs import api

    if kind != "conda" and (channels or external_mpi):
        raise EnvError("--channel and --external-mpi apply to conda envs", "add --kind conda")
    config = config_mod.load()
    _warn(api.storage_warnings(config), quiet or as_json)
    options = {"channels": list(channels), "external_mpi": external_mpi} if kind == "conda" else {}
    if image:  # roost.containers.envkind builds it
        kind, options = "container", {"image": image}
    with _progress(quiet or as_json) as progress:
        created = api.create(
            name,
            modules=modules,
            python=python,
            packages=packages,
            requirements=requirements,
            system_site_packages=system_site_packages,
            kind=kind,
            options=options,
            config=config,
            progress=progress,
        )
    _report_env(created, "created", quiet, as_json)


def _report_env(created: Any, verb: str, quiet: bool, as_json: bool) -> None:
    from roost.envs import api

    if as_json:
        _print_json(api.describe(created))
    elif not quiet:
        modules = f" with modules {' '.join(created.modules)}" if created.modules else ""
        click.echo(
            f"{verb} {created.name} ({created.kind}, {len(created.manifest.lock)} packages){modules}",
            err=True,
        )
        click.echo(
            f"activate it: `roost activate {created.name}`; run in it: `roost run -e {created.name} -- CMD`",
            err=True,
        )


@env.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List environments."""
    from roost.envs import api

    envs = api.list_envs()
    if as_json:
        _print_json([api.describe(e) for e in envs])
        return
    if not envs:
        click.echo("no environments yet: create one with `roost env create NAME --module python PKG...`", err=True)
        return
    width = max(len(e.name) for e in envs)
    for item in envs:
        python = item.manifest.python.version if item.manifest.python else "-"
        modules = " ".join(item.modules) or "-"
        click.echo(f"{item.name:<{width}}  {item.kind:<5}  python {python:<8}  modules: {modules}")


@env.command("show")
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Show an environment: modules, Python, packages, size and file count."""
    from roost.envs import api

    data = api.describe(api.get(name), with_usage=True)
    if as_json:
        _print_json(data)
        return
    click.echo(f"name:      {data['name']} ({data['kind']}{', adopted' if data['adopted'] else ''})")
    click.echo(f"path:      {data['path']}")
    click.echo(f"python:    {data['python']} ({data['python_version'] or '-'}, from {data['base_python'] or '-'})")
    click.echo(f"modules:   {' '.join(data['modules']) or '-'}")
    click.echo(f"requested: {' '.join(data['requested']) or '-'}")
    click.echo(
        f"size:      {data['size_bytes'] / 1e6:.1f} MB in {data['files']} files and directories "
        f"({data['unshared_bytes'] / 1e6:.1f} MB not shared with the package cache)"
    )
    click.echo(f"image:     {_image_line(data['image'], data['files'])}")
    click.echo(f"packages ({len(data['packages'])}):")
    for package in data["packages"]:
        build = f" ({package['build']})" if package.get("build") else ""
        click.echo(f"  {package['name']} {package['version']}{build}")


def _image_line(image: Any, files: int) -> str:
    if not image.get("packed"):
        off = " (opted out: `roost env pack NAME` turns it back on)" if image.get("opted_out") else ""
        return f"not packed{off}; jobs read its {files} files from the shared file system"
    state = "" if image["current"] else " - OUT OF DATE (the lock changed; jobs use the shared copy)"
    return (
        f"packed ({image['format']}, {image['size_bytes'] / 1e6:.1f} MB, built in {image['build_seconds']:.1f} s), "
        f"one file for jobs instead of {image['files']}{state}"
    )


@env.command("pack")
@click.argument("name")
@click.option("--off", is_flag=True, help="Delete the image and never pack NAME automatically.")
@click.option(
    "--format",
    "image_format",
    type=click.Choice(["squashfs", "tar"]),
    help="squashfs (default where mksquashfs exists; mounted in jobs) or tar (extracted in jobs).",
)
@quiet_option
@json_option
def pack(name: str, off: bool, image_format: Optional[str], quiet: bool, as_json: bool) -> None:
    """Make NAME's start-up image: one file that jobs mount or stage on node-local storage, once per node.

    Rebuilt by every install, sync and import, so jobs never run from an image that disagrees with the lock.
    """
    from roost.envs import api

    if off:
        had = api.unpack(name)
        if not quiet:
            click.echo(f"{name}: {'image deleted; ' if had else ''}automatic packing turned off", err=True)
        return
    with _progress(quiet or as_json) as progress:
        built = api.pack(name, image_format=image_format, progress=progress)
    if as_json:
        _print_json(built.to_json())
    elif not quiet:
        click.echo(
            f"packed {name}: {built.image} ({built.format}, {built.size_bytes / 1e6:.1f} MB, "
            f"{built.files} files in one, {built.build_seconds:.1f} s)",
            err=True,
        )


@env.command("remove")
@click.argument("name")
@quiet_option
def remove(name: str, quiet: bool) -> None:
    """Delete an environment (an adopted one is only forgotten)."""
    from roost.envs import api

    adopted = api.get(name).manifest.adopted
    path = api.remove(name)
    if not quiet:
        click.echo(f"{'forgot' if adopted else 'removed'} {name} ({path})", err=True)


@env.command("install")
@click.argument("name")
@click.argument("packages", nargs=-1, required=True)
@quiet_option
@json_option
def install(name: str, packages: Tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Install PACKAGES into NAME and update its lock."""
    from roost.envs import api

    with _progress(quiet or as_json) as progress:
        updated = api.install(name, packages, progress=progress)
    _report_env(updated, "updated", quiet, as_json)


@env.command("sync")
@click.argument("name")
@quiet_option
def sync(name: str, quiet: bool) -> None:
    """Make NAME's packages match its lock again (fixes package drift)."""
    from roost.envs import api

    with _progress(quiet) as progress:
        api.sync(name, progress=progress)
    if not quiet:
        click.echo(f"{name} matches its lock", err=True)


@env.command("export")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to FILE instead of stdout.")
def export(name: str, output: Optional[Path]) -> None:
    """Write a portable spec: modules, Python version, locked packages (environment.yml for conda)."""
    from roost.envs import portable

    if output is None:
        click.echo(portable.export(name), nl=False)
        return
    click.echo(f"wrote {portable.write_export(name, output)}", err=True)


@env.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.argument("name", required=False)
@click.option("--python", "python", help="Interpreter (version or path) when the spec has no modules.")
@quiet_option
@json_option
def import_(file: Path, name: Optional[str], python: Optional[str], quiet: bool, as_json: bool) -> None:
    """Recreate an environment from FILE (written by `roost env export`, or an environment.yml)."""
    from roost import config as config_mod
    from roost.envs import api, portable

    config = config_mod.load()
    _warn(api.storage_warnings(config), quiet or as_json)
    with _progress(quiet or as_json) as progress:
        created = portable.import_env(file, name, python=python, config=config, progress=progress)
    _report_env(created, "imported", quiet, as_json)


@env.command("check")
@click.argument("name")
@click.option("--accept", is_flag=True, help="Record the current modulefiles and Python as the new baseline.")
@json_option
def check(name: str, accept: bool, as_json: bool) -> None:
    """Report drift (modules, Python, packages) with the fix; exit 1 when anything drifted."""
    from roost.envs import drift

    if accept:
        drift.accept(name)
    findings = drift.check(name)
    if as_json:
        _print_json({"name": name, "ok": not findings, "drift": [d.as_dict() for d in findings]})
    else:
        for finding in findings:
            click.echo(f"drift: {finding.message}")
            click.echo(f"  fix: {finding.fix}")
        if not findings:
            click.echo(f"{name}: no drift (modules, Python and packages match what was recorded)")
    if findings:
        sys.exit(1)


@env.command("adopt")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name to give it (default: the directory's name).")
@click.option("-m", "--module", "modules", multiple=True, help="Module it needs loaded first (repeatable).")
@quiet_option
@json_option
def adopt(path: Path, name: Optional[str], modules: Tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Bring an existing venv or conda prefix under roost's management (it stays where it is)."""
    from roost.envs import api

    adopted = api.adopt(path, name=name, modules=modules)
    _report_env(adopted, "adopted", quiet, as_json)


@click.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-e", "--env", "env_name", required=True, help="Environment to run in.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(env_name: str, command: Tuple[str, ...]) -> None:
    """Run COMMAND in an environment (its modules loaded first), without a shell."""
    from roost.envs import api, nodeimage

    environ = api.run_environ(env_name, os.environ)
    argv = list(command)
    if nodeimage.in_batch_job(os.environ):  # on a compute node: the env's start-up image, when packed
        argv = [*nodeimage.wrapper_for(env_name, os.environ), *argv]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(argv[0], argv, environ)
    except FileNotFoundError:
        raise EnvError(
            f"command {argv[0]!r} not found in env {env_name}",
            f"install it (`roost env install {env_name} PKG`) or give its full path",
        ) from None
    except PermissionError:
        raise EnvError(f"{argv[0]!r} is not executable", "check the command's permissions") from None


@click.command("activate")
@click.option("--shell", "shell", default=None, help="Shell to print code for (default: from $SHELL).")
@click.argument("name")
def activate(shell: Optional[str], name: str) -> None:
    """Print shell code that loads NAME's modules and activates it (used by the `activate` function)."""
    from roost.envs import api
    from roost.shell.render import render

    change = api.activation_change(name, os.environ)
    click.echo(render(change, shell or _default_shell()), nl=False)


@click.command("deactivate")
@click.option("--shell", "shell", default=None, help="Shell to print code for (default: from $SHELL).")
def deactivate(shell: Optional[str]) -> None:
    """Print shell code that restores the shell exactly as it was before `activate`."""
    from roost.envs import api
    from roost.shell.render import render

    change = api.deactivation_change(os.environ)
    click.echo(render(change, shell or _default_shell()), nl=False)
