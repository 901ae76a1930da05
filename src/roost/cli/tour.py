"""``roost tour``: roost's main job on the embedded default, as a transcript a newcomer can follow.

It writes a module tree for the Pythons of this machine, then runs — in a real bash, through the same shell
functions a user gets from ``roost shell-init`` — the module system, an environment bound to a module, and a
batch job (an MPI one) on the local backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import click

from roost.errors import RoostError
from roost.shell.render import quote_posix


def _why_not_writable(tree: Path, exc: OSError) -> str:
    """The reason in words: a file where a directory must be is named as such."""
    for place in (tree, *tree.parents):
        if place.exists():
            return str(exc.strerror) if place.is_dir() else ("it is a file, not a directory" if place == tree
                                                            else f"{place} is a file, not a directory")
    return str(exc.strerror)


def _steps(tree: Path, python_module: str, env_name: str, mpi: bool) -> List[str]:
    version = python_module.split("/")[1]
    packages = " mpi4py mpich" if mpi else ""
    steps = [
        "module avail python",
        "module spider pip",
        f"module load {python_module}",
        "python -c 'import sys; print(\"python is\", sys.executable)'",
        "module list",
        "module purge",
        f"roost env remove {env_name} >/dev/null 2>&1 || true",
        f"roost env create {env_name} --module {python_module}-bare{packages}",
        "roost env list",
        f"roost run -e {env_name} -- python -c 'import sys; print(\"env python:\", sys.prefix)'",
    ]
    if mpi:
        steps.append(
            f"roost submit --backend local --wait --mpi --ntasks 2 --job-name tour-mpi -e {env_name} -- "
            "python -c 'from mpi4py import MPI; c = MPI.COMM_WORLD; print(f\"hello from rank {c.rank} of {c.size}\")'"
        )
    else:
        steps.append(f"roost submit --backend local --wait -e {env_name} -- python -c 'print(\"hello from a job\")'")
    steps.append("roost jobs --all")
    del version
    return steps


def _script(tree: Path, steps: List[str], bold: bool) -> str:
    # run where the job's output files may land (not the user's current directory)
    lines = ["set -e", f"cd {quote_posix(str(tree.parent))}",
             f"eval \"$({quote_posix(sys.executable)} -m roost shell-init bash)\"",
             f"module use {quote_posix(str(tree))}"]
    prompt = "'\\n\\033[1m$ %s\\033[0m\\n'" if bold else "'\\n$ %s\\n'"
    for step in steps:
        lines.append(f"printf {prompt} {quote_posix(step)}")
        lines.append(step)
    return "\n".join(lines) + "\n"


@click.command("tour")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Where to write the module tree (default: <data dir>/tour/modulefiles).")
@click.option("--mpi/--no-mpi", default=True, help="Finish with an MPI job (installs mpi4py and mpich wheels).")
@click.option("--env-name", default="tour", show_default=True, help="Name of the environment the tour creates.")
def tour(directory: Optional[Path], mpi: bool, env_name: str) -> None:
    """A short tour: modules for this machine's Pythons, an environment bound to one, and a batch job."""
    from roost.envs.layout import check_name
    from roost.modules.pythons import find_interpreters, probe, write_python_modules
    from roost.paths import data_dir

    check_name(env_name)  # the steps below show it to bash as the user would type it: it must be a plain word

    tree = directory or data_dir() / "tour" / "modulefiles"
    interpreters = [probe(p) for p in find_interpreters([sys.executable])[:4]]
    try:
        written = write_python_modules(tree, interpreters)
    except OSError as exc:
        raise RoostError(f"cannot write the tour's module tree in {tree}: {_why_not_writable(tree, exc)}",
                         "give a directory you can write with --dir DIR (it is created if missing)") from None
    click.echo(f"roost tour: wrote {len(written)} modulefiles for {len(interpreters)} Pythons into {tree}")
    python_module = f"python/{interpreters[0].version}"
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    script = _script(tree, _steps(tree, python_module, env_name, mpi), bold)
    result = subprocess.run(["bash", "-c", script])
    if result.returncode != 0:
        raise RoostError(f"the tour stopped at a failing step (exit status {result.returncode})",
                         "the step's own error is printed above it")
    click.echo("\nroost tour: done. Add this line to ~/.bashrc to get `module`, `ml` and `roost activate` in "
               "every shell:\n  [ -f ~/.cache/roost/init.bash ] && . ~/.cache/roost/init.bash || "
               "eval \"$(roost shell-init bash)\"")
