"""``roost`` entry point.  Subcommands are imported only when invoked, so ``roost --help`` stays fast."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any, Dict, List, Optional, Tuple

import click

from roost import __version__
from roost.errors import RoostError

# name -> (module, attribute, short help).  Each capability owns its file in roost/cli/.
COMMANDS: Dict[str, Tuple[str, str, str]] = {
    "shell-init": ("roost.cli.shell_init", "shell_init", "Print the shell code that defines module, ml and activate."),
    "module": ("roost.cli.modules", "module", "Run a module command (avail, spider, show, ...) directly."),
    "tour": ("roost.cli.tour", "tour", "A short tour of roost on a module tree it writes for this Python."),
    "env": ("roost.cli.envs", "env", "Create and manage Python environments that remember their modules."),
    "run": ("roost.cli.envs", "run", "Run a command inside an environment, without a shell."),
    "activate": ("roost.cli.envs", "activate", "Print the code that activates an environment (shell function)."),
    "deactivate": ("roost.cli.envs", "deactivate", "Print shell code that deactivates the active environment."),
    "submit": ("roost.cli.jobs", "submit", "Submit a batch job (Slurm, or the local backend)."),
    "jobs": ("roost.cli.jobs", "jobs", "List your jobs."),
    "status": ("roost.cli.jobs", "status", "Show the state of a job."),
    "logs": ("roost.cli.jobs", "logs", "Show a job's output."),
    "cancel": ("roost.cli.jobs", "cancel", "Cancel jobs."),
    "wait": ("roost.cli.jobs", "wait", "Wait for jobs to finish."),
    "shell": ("roost.cli.jobs", "shell", "An interactive shell on a compute node with an env and modules."),
    "slurm": ("roost.cli.slurm", "slurm", "sbatch, squeue, scancel, sacct, srun, salloc over the local backend."),
    "kernel": ("roost.cli.kernels", "kernel", "Jupyter kernels for environments, module sets and containers."),
    "jupyter": ("roost.cli.kernels", "jupyter", "Start JupyterLab on a compute node and print how to reach it."),
    "container": ("roost.cli.containers", "container", "Container images as modules and environments."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(name for name, (module, _, _) in COMMANDS.items() if _importable(module))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attribute, _ = entry
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _importable(module_name: str) -> bool:
    return importlib.util.find_spec(module_name) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="roost")
def cli() -> None:
    """roost: Python on HPC clusters — modules, environments, containers, kernels and jobs."""


def main(argv: Optional[List[str]] = None) -> Any:
    """Run the CLI; every RoostError is rendered here, once, as ``error:`` and ``hint:`` lines."""
    try:
        return cli.main(args=argv, prog_name="roost", standalone_mode=False)
    except RoostError as exc:
        print_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def print_error(exc: RoostError) -> None:
    click.echo(exc.report(), err=True, nl=False)


if __name__ == "__main__":
    main()
