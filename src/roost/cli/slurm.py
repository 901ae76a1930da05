"""``roost slurm sbatch|squeue|scancel|sacct|srun|salloc ARGS``: Slurm's commands over the local backend."""

from __future__ import annotations

import os
import sys
from typing import Callable, TextIO, Tuple

import click

from roost.jobs.shims import COMMANDS, HANDLERS, Streams

_RAW = {"ignore_unknown_options": True, "allow_interspersed_args": False, "help_option_names": []}
_HELP = {
    "sbatch": "sbatch [OPTIONS] SCRIPT [ARGS] | --wrap CMD: submit to the local backend (--parsable, -W).",
    "squeue": "squeue [-h] [-o FORMAT] [-j IDS] [-t STATES] [-n NAMES]: pending and running local jobs.",
    "scancel": "scancel ID...: cancel local jobs (ID_TASK for one array task).",
    "sacct": "sacct [-j IDS] [-X] [-n] [-P] [-o FIELDS]: local jobs with their end states.",
    "srun": "srun [OPTIONS] CMD: in a local job, NTASKS copies (through mpiexec when present); else a job.",
    "salloc": "salloc [OPTIONS] [CMD]: CMD (default: your shell) here, with an allocation's SLURM_* variables.",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def slurm() -> None:
    """Slurm's commands where no Slurm exists, over roost's local backend.

    On PATH under their own names only when you opt in: eval "$(roost shell-init bash --slurm-shims)"
    (appended to PATH, so a real Slurm always wins).
    """


def _command(name: str) -> click.Command:
    @click.command(name, context_settings=_RAW, help=_HELP[name], add_help_option=False)
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(args: Tuple[str, ...]) -> None:
        sys.exit(HANDLERS[name](list(args), os.environ, Streams(_writer(sys.stdout), _writer(sys.stderr))))

    return run


def _writer(stream: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        stream.write(text)
        stream.flush()  # before the programs srun starts write to the same terminal or file

    return write


for _name in COMMANDS:
    slurm.add_command(_command(_name))
