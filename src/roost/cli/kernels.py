"""``roost kernel ...`` and ``roost jupyter``: parsing and rendering only; the work is in roost.kernels."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

import click

from roost.errors import KernelError

if TYPE_CHECKING:
    from roost.kernels.server import Session


def split_modules(values: Sequence[str]) -> List[str]:
    """``--module a --module b`` and ``--module "a,b"`` / ``--module "a b"`` mean the same."""
    return [name for value in values for name in re.split(r"[,\s]+", value) if name]


def kernel_target(user: bool, sys_prefix: bool, prefix: Optional[str]) -> Optional[Path]:
    """The directory --user / --sys-prefix / --prefix DIR name (None: none given); two of them are refused,
    since a kernel goes to one place."""
    from roost.kernels.api import scope_target

    given = [flag for flag, on in (("--user", user), ("--sys-prefix", sys_prefix), ("--prefix", prefix is not None))
             if on]
    if len(given) > 1:
        raise KernelError(f"{' and '.join(given)} name different kernel directories",
                          "give one of --user (the default), --sys-prefix or --prefix DIR")
    if prefix is not None:
        return scope_target("prefix", Path(prefix))
    if sys_prefix:
        return scope_target("sys-prefix")
    return scope_target("user") if user else None


def scope_options(function):  # type: ignore[no-untyped-def]
    for decorator in reversed([
        click.option("--user", is_flag=True, help="The user's Jupyter directory (default)."),
        click.option("--sys-prefix", is_flag=True,
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
@click.option("--container", help="A registered container (roost container add): its python runs the kernel.")
@scope_options
@click.option("--force", is_flag=True, help="Replace a kernel of the same name in the target directory.")
@click.option("--no-install-ipykernel", is_flag=True,
              help="Fail instead of installing ipykernel into an environment that lacks it.")
def install_command(name: str, env: Optional[str], modules: Sequence[str], display_name: Optional[str],
                    assignments: Sequence[str], python: Optional[str], user: bool, sys_prefix: bool,
                    prefix: Optional[str], force: bool, no_install_ipykernel: bool,
                    container: Optional[str] = None) -> None:
    """Install a kernel NAME for an environment and/or a set of modules."""
    from roost.kernels.api import install_kernel, user_dir
    from roost.kernels.prepare import parse_assignments

    target = kernel_target(user, sys_prefix, prefix) or user_dir()
    if container:  # the container's python wrapper runs ipykernel (roost.containers owns this path)
        from roost.containers.kernel import install_container_kernel

        result = install_container_kernel(container, name=name, display_name=display_name, target=target,
                                          force=force, install_ipykernel=not no_install_ipykernel)
    else:
        result = install_kernel(
            name, env=env, modules=split_modules(modules), variables=parse_assignments(assignments),
            display_name=display_name, python=python, target=target, force=force,
            install_ipykernel=not no_install_ipykernel, progress=lambda message: click.echo(message, err=True),
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
def remove_command(name: str, user: bool, sys_prefix: bool, prefix: Optional[str]) -> None:
    """Remove kernel NAME (the one Jupyter would start, or the one in the given directory)."""
    from roost.kernels.api import remove_kernel

    target = kernel_target(user, sys_prefix, prefix)
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


def _with_resource_options(function):  # type: ignore[no-untyped-def]
    """The job resource options of ``roost submit`` (-e, -m, --backend, -p, -t, -c, --mem, -G, ...)."""
    from roost.cli.jobs import resource_options

    return resource_options(function)


@click.command("jupyter", context_settings={"help_option_names": ["-h", "--help"]})
@_with_resource_options
@click.option("--lab", "mode", flag_value="lab", default=True, help="Start JupyterLab (the default).")
@click.option("--notebook", "mode", flag_value="notebook", help="Start Jupyter Notebook instead.")
@click.option("--timeout", type=float, default=600, show_default=True,
              help="Seconds to wait (queue + start) before cancelling the job.")
@click.option("--list", "list_sessions", is_flag=True, help="List your Jupyter sessions.")
@click.option("--stop", "stop_session", is_flag=True, help="Stop a session (cancel the job, drop the token).")
@click.option("--json", "as_json", is_flag=True, help="Print the session as JSON (with --list: all of them).")
@click.argument("session_key", required=False, metavar="[SESSION]")
def jupyter(env: Optional[str], modules: Sequence[str], backend: Optional[str], mode: str, timeout: float,
            list_sessions: bool, stop_session: bool, as_json: bool, session_key: Optional[str],
            **resources: Any) -> None:
    """Start JupyterLab in a job on a compute node and print the URL and the ssh tunnel to reach it.

    With --list, show your sessions; with --stop [SESSION], stop one (SESSION: its id or job id).
    """
    from roost.kernels import server

    if list_sessions:
        show_sessions(server.list_sessions(), as_json)
        return
    if stop_session:
        stopped = server.stop(server.find_session(session_key))
        click.echo(f"stopped Jupyter session {stopped.id} (job {stopped.job_id})")
        return
    if session_key:
        raise click.UsageError("SESSION is only for --stop")
    from roost.kernels.api import start_jupyter

    session = start_jupyter(
        env=env, modules=split_modules(modules), resources=resources, backend=backend, mode=mode, timeout=timeout,
        progress=lambda message: click.echo(message, err=True),
    )
    if as_json:
        click.echo(json.dumps(session.to_json(), indent=1))
    else:
        show_ready(session)


def show_ready(session: Session) -> None:
    from roost.kernels.server import SESSION_FILE

    name = "JupyterLab" if session.mode == "lab" else "Jupyter Notebook"
    click.echo(f"{name} is running in job {session.job_id} on node {session.node}, port {session.port}.")
    click.echo(f"  from the cluster:   {session.url}")
    click.echo("On your own computer, open the tunnel:")
    click.echo(f"  {session.ssh_command}")
    click.echo("then browse to:")
    click.echo(f"  {session.local_url}")
    click.echo(f"Details (readable only by you): {session.directory / SESSION_FILE}")
    click.echo(f"Stop it with: roost jupyter --stop {session.id}")


def show_sessions(sessions: Sequence[Session], as_json: bool) -> None:
    from roost.kernels.server import job_state

    rows = [(session, job_state(session)) for session in sessions]
    if as_json:
        click.echo(json.dumps([dict(s.to_json(), state=state) for s, state in rows], indent=1))
        return
    if not rows:
        click.echo("no Jupyter sessions (start one with: roost jupyter)")
        return
    for session, state in rows:
        where = f"{session.node}:{session.port}" if session.node else "-"
        job = f"job {session.job_id} ({session.backend})"
        click.echo(f"{session.id}  {job}  {state:<9}  {where}  {session.url or ''}")
        if state not in ("RUNNING", "PENDING", "unknown"):
            click.echo(f"  ended; forget it with: roost jupyter --stop {session.id}")
