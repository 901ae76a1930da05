"""The options of ``roost submit`` and ``roost shell``, declared once.

Two parsers read this table: click builds the documented CLI from it (roost.cli.jobs), and
:func:`parse_fast` reads the common case of ``roost submit`` without importing click, so that submitting
in a loop costs little more than sbatch itself (``roost.cli.entry``).  Names follow sbatch.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

BACKENDS = ("slurm", "local")


class Option:
    """One option: its names, the keyword it fills, its metavar ("" for a flag), help, and whether it repeats."""

    __slots__ = ("help", "keyword", "metavar", "multiple", "names")

    def __init__(self, names: Tuple[str, ...], keyword: str, metavar: str, help: str, multiple: bool = False) -> None:
        self.names = names
        self.keyword = keyword
        self.metavar = metavar
        self.help = help
        self.multiple = multiple

    @property
    def is_flag(self) -> bool:
        return not self.metavar


# The resources (and env, modules, backend) that `roost submit`, `roost shell` and `roost jupyter` share.
RESOURCE_OPTIONS: Tuple[Option, ...] = (
    Option(("-e", "--env"), "env", "ENV", "Activate this roost environment (and its modules) in the job."),
    Option(("-m", "--module"), "modules", "MODULE", "Load this module in the job (repeatable).", multiple=True),
    Option(("--backend",), "backend", "[slurm|local]", "slurm or local (default: slurm where sbatch exists)."),
    Option(("-p", "--partition"), "partition", "NAME", "Partition (queue) to run in."),
    Option(("-A", "--account"), "account", "NAME", "Account to charge."),
    Option(("-q", "--qos"), "qos", "NAME", "Quality of service."),
    Option(("-t", "--time"), "time", "TIME", "Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS."),
    Option(("-N", "--nodes"), "nodes", "N", "Number of nodes."),
    Option(("-n", "--ntasks"), "ntasks", "N", "Number of tasks (MPI ranks)."),
    Option(("--ntasks-per-node",), "ntasks_per_node", "N", "Tasks per node."),
    Option(("-c", "--cpus-per-task"), "cpus_per_task", "N", "Cores per task; also sets OMP_NUM_THREADS and friends."),
    Option(("--mem",), "mem", "SIZE", "Memory per node, e.g. 4G or 500M."),
    Option(("--mem-per-cpu",), "mem_per_cpu", "SIZE", "Memory per core, e.g. 2G."),
    Option(("-G", "--gpus"), "gpus", "[TYPE:]N", "GPUs: N or TYPE:N."),
    Option(("--gres",), "gres", "LIST", "Generic resources, e.g. gpu:2."),
    Option(("-C", "--constraint"), "constraint", "FEATURES", "Node features required."),
)

SUBMIT_OPTIONS: Tuple[Option, ...] = (
    *RESOURCE_OPTIONS,
    Option(("-J", "--job-name"), "job_name", "NAME", "Job name (default: the command's name)."),
    Option(("-a", "--array"), "array", "INDICES", "Array indices with an optional %limit: 0-99%10."),
    Option(("--array-from",), "array_from", "FILE", "An array with one task per command line in FILE (- for stdin)."),
    Option(("--array-limit",), "array_limit", "N", "With --array-from: at most N tasks at once."),
    Option(("-d", "--dependency"), "dependency", "TYPE:ID", "afterok:ID, afterany:ID, ... joined by ',' or '?'."),
    Option(("-o", "--output"), "output", "PATTERN", "stdout file pattern (%j %A %a %x); default roost-%j.out."),
    Option(("--error",), "error", "PATTERN", "stderr file pattern; default roost-%j.err (or --output's file)."),
    Option(("--exclusive",), "exclusive", "", "Whole nodes only."),
    Option(("--mail-type",), "mail_type", "TYPE", "When to send mail: BEGIN, END, FAIL, ALL."),
    Option(("--mail-user",), "mail_user", "ADDRESS", "Where to send mail."),
    Option(
        ("--directive",),
        "directives",
        "OPTION",
        "Any other sbatch option, e.g. --directive=--reservation=x.",
        multiple=True,
    ),
    Option(("-D", "--chdir"), "workdir", "DIR", "Working directory of the job (default: here)."),
    Option(("--wrap",), "wrap", "CMDLINE", "Run this shell command line instead of CMD."),
    Option(("--mpi",), "mpi", "", "Launch with srun --mpi=pmi2 (Slurm) or mpiexec (local)."),
    Option(("--dry-run",), "dry_run", "", "Print the batch script and submit nothing."),
    Option(("--wait",), "wait_for_it", "", "Follow the job, stream its output, exit with its code."),
    Option(("--parsable",), "parsable", "", "Print only the job id."),
)


def defaults(options: Sequence[Option]) -> Dict[str, Any]:
    """What each keyword holds when its option is not given (as click passes it)."""
    return {o.keyword: (() if o.multiple else False if o.is_flag else None) for o in options}


def parse_fast(args: Sequence[str], options: Sequence[Option]) -> Optional[Tuple[Dict[str, Any], List[str]]]:
    """(keyword values, the command) for arguments the fast path understands; None for anything else
    (--help, an unknown option, a missing value, a bad --backend), which the full click CLI then parses and
    explains.  Options end at ``--`` or at the first argument that is not an option, as for sbatch."""
    by_name = {name: option for option in options for name in option.names}
    values = defaults(options)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return values, list(args[index + 1 :])
        if not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            name, equals, inline = arg.partition("=")
            has_inline = bool(equals)
        else:  # -t1 is -t 1, as click reads it
            name, has_inline, inline = arg[:2], len(arg) > 2, arg[2:]
        option = by_name.get(name)
        if option is None:
            return None
        if option.is_flag:
            if has_inline:
                return None
            values[option.keyword] = True
            index += 1
            continue
        if has_inline:
            value = inline
            index += 1
        elif index + 1 < len(args):
            value = args[index + 1]
            index += 2
        else:
            return None
        if option.keyword == "backend" and value not in BACKENDS:
            return None
        values[option.keyword] = (*values[option.keyword], value) if option.multiple else value
    return values, list(args[index:])
