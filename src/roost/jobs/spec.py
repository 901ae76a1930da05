"""A batch job, as a typed and validated value.

Strings from the command line (``--time 1-12:00``, ``--mem 4G``, ``--array 0-99%10``,
``--dependency afterok:123``) are parsed here, once, into small types; a bad string fails at construction
with a message naming the option and a hint showing the accepted forms.  Nothing here knows a backend.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from roost.errors import JobError
from roost.text import unsafe_character

# ---------------------------------------------------------------------------------------------- time


def _is_number(text: str) -> bool:
    """One or more ASCII digits."""
    return text.isascii() and text.isdigit()


_TIME_FORMS = "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"


def parse_time(text: str) -> int:
    """Slurm's time-limit formats, in seconds (``30`` is 30 minutes, as in sbatch)."""
    value = text.strip()
    days_part, dash, clock = value.partition("-")
    days_text = days_part if dash else None
    fields = (clock if dash else value).split(":")
    if (days_text is not None and not _is_number(days_text)) or len(fields) > 3 or not all(map(_is_number, fields)):
        raise JobError(f"--time {text!r} is not a time limit", f"use one of {_TIME_FORMS}, e.g. 1:30:00")
    numbers = [int(n) for n in fields]
    if days_text is not None:
        days = int(days_text)
        hours, minutes, seconds = [*numbers, 0, 0][:3]
    elif len(numbers) == 1:
        days, hours, minutes, seconds = 0, 0, numbers[0], 0
    elif len(numbers) == 2:
        days, hours, minutes, seconds = 0, 0, numbers[0], numbers[1]
    else:
        days, hours, minutes, seconds = 0, numbers[0], numbers[1], numbers[2]
    if (days_text is not None or len(numbers) == 3) and (minutes >= 60 or seconds >= 60):
        raise JobError(f"--time {text!r} has minutes or seconds above 59", f"use one of {_TIME_FORMS}")
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total <= 0:
        raise JobError(f"--time {text!r} is zero", "give a positive time limit, e.g. 10:00 for ten minutes")
    return total


def format_time(seconds: int) -> str:
    """Seconds as Slurm's ``D-HH:MM:SS`` (``HH:MM:SS`` under a day)."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


# -------------------------------------------------------------------------------------------- memory

_MEMORY_UNITS = {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024 * 1024}


def parse_memory(text: str, option: str = "--mem") -> int:
    """Slurm memory sizes (``500``, ``500M``, ``4G``, ``1T``; the default unit is MB), in MB."""
    value = text.strip().upper()
    value = value[:-2] if value.endswith("IB") else value[:-1] if value.endswith("B") else value
    unit = value[-1] if value[-1:] in ("K", "M", "G", "T") else ""
    whole, dot, fraction = (value[:-1] if unit else value).rstrip().partition(".")
    if not _is_number(whole) or (dot and not _is_number(fraction)):
        raise JobError(f"{option} {text!r} is not a memory size", "use a number with K, M, G or T, e.g. 4G or 500M")
    number, unit = float(f"{whole}.{fraction or 0}"), unit or "M"
    megabytes = round(number * _MEMORY_UNITS[unit])
    if megabytes <= 0:
        raise JobError(f"{option} {text!r} is less than 1 MB", "give at least 1M")
    return megabytes


def format_memory(megabytes: int) -> str:
    if megabytes % (1024 * 1024) == 0:
        return f"{megabytes // (1024 * 1024)}T"
    if megabytes % 1024 == 0:
        return f"{megabytes // 1024}G"
    return f"{megabytes}M"


# --------------------------------------------------------------------------------------------- array

MAX_ARRAY_TASKS = 100_000


@dataclass(frozen=True)
class ArraySpec:
    """Array task indices (sorted, unique) and the ``%limit`` on how many run at once."""

    indices: Tuple[int, ...]
    limit: Optional[int] = None
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> ArraySpec:
        hint = "use indices like 0-99, 1,3,5, 0-15:4, with an optional %limit: 0-99%10"
        body, _, limit_text = text.strip().partition("%")
        limit: Optional[int] = None
        if limit_text:
            if not limit_text.isdigit() or int(limit_text) <= 0:
                raise JobError(f"--array {text!r} has a bad %limit {limit_text!r}", hint)
            limit = int(limit_text)
        indices: List[int] = []
        for part in body.split(","):
            match = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part.strip())
            if not match:
                raise JobError(f"--array {text!r}: {part!r} is not an index or a range", hint)
            start = int(match.group(1))
            stop = int(match.group(2)) if match.group(2) is not None else start
            step = int(match.group(3)) if match.group(3) is not None else 1
            if stop < start or step <= 0:
                raise JobError(f"--array {text!r}: the range {part!r} is empty", hint)
            if (stop - start) // step + len(indices) >= MAX_ARRAY_TASKS:
                raise JobError(
                    f"--array {text!r} has more than {MAX_ARRAY_TASKS} tasks", "split it into several arrays"
                )
            indices.extend(range(start, stop + 1, step))
        unique = tuple(sorted(set(indices)))
        return cls(unique, limit, text.strip())

    def __len__(self) -> int:
        return len(self.indices)

    def __str__(self) -> str:
        return self.text


# ---------------------------------------------------------------------------------------- dependency

DEPENDENCY_TYPES = ("after", "afterany", "afterok", "afternotok", "aftercorr", "singleton")
JOB_ID = r"[A-Za-z]?\d+(?:_\d+)?(?:\+\d+)?"  # a job id, an array task (123_4) or a het job part (123+1)


@dataclass(frozen=True)
class Dependency:
    """``afterok:1:2,afterany:3`` (all must hold) or ``afterok:1?afterok:2`` (any may hold)."""

    conditions: Tuple[Tuple[str, Tuple[str, ...]], ...]
    any_of: bool = False

    @classmethod
    def parse(cls, text: str) -> Dependency:
        hint = (
            f"use TYPE:JOBID[:JOBID...] joined by ',' (all) or '?' (any); TYPE is one of {', '.join(DEPENDENCY_TYPES)}"
        )
        value = text.strip()
        if "," in value and "?" in value:
            raise JobError(f"--dependency {text!r} mixes ',' and '?'", hint)
        any_of = "?" in value
        conditions: List[Tuple[str, Tuple[str, ...]]] = []
        for part in value.split("?" if any_of else ","):
            kind, *ids = part.strip().split(":")
            if kind not in DEPENDENCY_TYPES:
                raise JobError(f"--dependency {text!r}: unknown type {kind!r}", hint)
            if kind == "singleton":
                if ids:
                    raise JobError(f"--dependency {text!r}: singleton takes no job ids", hint)
            elif not ids or not all(re.fullmatch(JOB_ID, i) for i in ids):
                raise JobError(f"--dependency {text!r}: {kind} needs job ids, e.g. {kind}:1234", hint)
            conditions.append((kind, tuple(ids)))
        return cls(tuple(conditions), any_of)

    def job_ids(self) -> List[str]:
        return [job_id for _, ids in self.conditions for job_id in ids]

    def __str__(self) -> str:
        joined = ("?" if self.any_of else ",").join(":".join((kind, *ids)) for kind, ids in self.conditions)
        return joined


# ----------------------------------------------------------------------------------------------- GPUs


def gpu_count(gpus: Optional[str], gres: Optional[str]) -> int:
    """GPUs a job asks for, from ``--gpus [TYPE:]N`` or ``--gres gpu[:TYPE]:N``."""
    total = 0
    if gpus:
        tail = gpus.rsplit(":", 1)[-1]
        if not tail.isdigit() or int(tail) <= 0:
            raise JobError(f"--gpus {gpus!r} is not a GPU count", "use N or TYPE:N, e.g. --gpus 2 or --gpus a100:1")
        total += int(tail)
    for item in (gres or "").split(","):
        name, *rest = item.strip().split(":")
        if name == "gpu":
            count = rest[-1] if rest and rest[-1].isdigit() else "1"
            total += int(count)
    return total


# ------------------------------------------------------------------------------------------- text

# Option values are single-line text: each ends up inside one ``#SBATCH`` line, which a newline would end
# (and whatever followed would run as a command), and sbatch reads that line as bytes up to the newline.
# A value holding a control character (C0, DEL) or bytes that are not UTF-8 is refused, naming the option.
# (roost.text.unsafe_character says what is wrong; other capabilities check their one-line values with it.)


def _is_text(text: str) -> bool:
    return not any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def option_label(keyword: str) -> str:
    """How the CLI spells a JobSpec field: ``account`` -> ``-A/--account``."""
    from roost.jobs.options import SUBMIT_OPTIONS

    for option in SUBMIT_OPTIONS:
        if option.keyword == keyword:
            return "/".join(option.names)
    return keyword


def check_option_text(keyword: str, value: str) -> str:
    """``value`` itself, if it is single-line text; else a JobError naming the option."""
    problem = unsafe_character(value)
    if problem is not None:
        raise JobError(
            f"{option_label(keyword)} {value!r} contains {problem}",
            "option values are one line of text: remove the control character (or the non-UTF-8 bytes)",
        )
    return value


# Slurm's --mail-type words (sbatch(1)); several may be joined with commas.
MAIL_TYPES = (
    "NONE", "BEGIN", "END", "FAIL", "REQUEUE", "ALL", "INVALID_DEPEND", "STAGE_OUT",
    "TIME_LIMIT", "TIME_LIMIT_90", "TIME_LIMIT_80", "TIME_LIMIT_50", "ARRAY_TASKS",
)  # fmt: skip


def check_mail_type(text: str) -> None:
    unknown = [word for word in text.split(",") if word.strip().upper() not in MAIL_TYPES]
    if unknown:
        raise JobError(
            f"--mail-type {text!r}: {unknown[0]!r} is not one of Slurm's mail types",
            f"use one or more of {', '.join(MAIL_TYPES)}, joined by commas (e.g. END,FAIL)",
        )


# ---------------------------------------------------------------------------------------------- spec

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)


@dataclass(frozen=True)
class JobSpec:
    """Everything a batch job asks for.  Build it with :meth:`create` from strings, or directly with types."""

    command: Tuple[str, ...] = ()
    wrap: Optional[str] = None
    commands: Tuple[str, ...] = ()  # one shell command line per array task (--array-from FILE)
    script: Optional[str] = None  # a user's batch script, run as written (roost submit job.sh)
    script_name: Optional[str] = None  # the file it came from, as given
    script_args: Tuple[str, ...] = ()  # its arguments ($1...)
    job_name: Optional[str] = None
    partition: Optional[str] = None
    account: Optional[str] = None
    qos: Optional[str] = None
    time: Optional[int] = None  # seconds
    nodes: Optional[int] = None
    ntasks: Optional[int] = None
    ntasks_per_node: Optional[int] = None
    cpus_per_task: Optional[int] = None
    mem: Optional[int] = None  # MB per node
    mem_per_cpu: Optional[int] = None  # MB
    gpus: Optional[str] = None
    gres: Optional[str] = None
    array: Optional[ArraySpec] = None
    dependency: Optional[Dependency] = None
    output: Optional[str] = None
    error: Optional[str] = None
    constraint: Optional[str] = None
    exclusive: bool = False
    mail_type: Optional[str] = None
    mail_user: Optional[str] = None
    directives: Tuple[str, ...] = ()
    env: Optional[str] = None
    modules: Tuple[str, ...] = ()
    mpi: bool = False
    workdir: Optional[str] = None
    environment: Tuple[Tuple[str, str], ...] = field(default=())  # extra variables set in the job

    def __post_init__(self) -> None:
        given = [what for what, value in (("a command", self.command), ("--wrap", self.wrap),
                                          ("--array-from", self.commands),
                                          ("a batch script", self.script is not None)) if value]
        if not given:
            raise JobError("the job has no command", "give one after --, e.g. roost submit -- python run.py")
        if len(given) > 1:
            raise JobError(f"give only one of {' and '.join(given)}", "drop the others")
        if self.commands:
            _check_command_lines(self.commands, self.array)
        if self.script is not None and self.mpi:
            raise JobError(
                "--mpi launches roost's command; a batch script starts its own ranks",
                "drop --mpi and use srun or mpirun inside the script (both work on the local backend too)",
            )
        for name in ("nodes", "ntasks", "ntasks_per_node", "cpus_per_task", "time", "mem", "mem_per_cpu"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise JobError(f"--{name.replace('_', '-')} must be a positive whole number, not {value!r}")
        if self.mem is not None and self.mem_per_cpu is not None:
            raise JobError("--mem and --mem-per-cpu exclude each other", "give only one of them")
        for keyword in _TEXT_OPTIONS:
            value = getattr(self, keyword)
            if value is not None:
                check_option_text(keyword, value)
        for keyword in ("modules", "directives"):
            for value in getattr(self, keyword):
                check_option_text(keyword, value)
        for directive in self.directives:
            _check_directive(directive)
        if self.wrap is not None and not _is_text(self.wrap):  # a command line: newlines are its business
            raise JobError(
                f"--wrap {self.wrap!r} contains bytes that are not UTF-8",
                "write the command line as UTF-8 text, or give the command after -- (any bytes work there)",
            )
        if self.job_name is not None and not self.job_name.strip():
            raise JobError(f"--job-name {self.job_name!r} is empty", "use a short name, e.g. -J train")
        if self.mail_type is not None:
            check_mail_type(self.mail_type)
        gpu_count(self.gpus, self.gres)

    @classmethod
    def create(cls, command: Sequence[str] = (), **options: Any) -> JobSpec:
        """Build from option strings as the CLI has them (``time="1:00:00"``, ``mem="4G"``...).

        Options left as ``None`` (or empty) are not set; an unknown option names the valid ones.
        """
        options = dict(options)
        array_limit = options.pop("array_limit", None)
        valid = {f.name for f in dataclasses.fields(cls)} - {"command"}
        unknown = sorted(set(options) - valid)
        if unknown:
            raise JobError(f"unknown job option {unknown[0]!r}", f"valid options: {', '.join(sorted(valid))}")
        values: Dict[str, Any] = {k: v for k, v in options.items() if v is not None and v != () and v != []}
        for keyword, value in values.items():
            if isinstance(value, str) and keyword not in ("wrap", "script"):  # lines of code: their own business
                check_option_text(keyword, value)  # --chdir too: only the submit directory may be any path
        parsers = {
            "time": parse_time,
            "mem": lambda s: parse_memory(s, "--mem"),
            "mem_per_cpu": lambda s: parse_memory(s, "--mem-per-cpu"),
            "array": ArraySpec.parse,
            "dependency": Dependency.parse,
        }
        if values.get("commands"):
            values["commands"] = tuple(values["commands"])
            values.setdefault("array", _array_for(values["commands"], array_limit))
        elif array_limit is not None:
            raise JobError("--array-limit goes with --array-from", "for --array, write the limit as 0-99%10")
        for name, parse in parsers.items():
            if isinstance(values.get(name), str):
                values[name] = parse(values[name])
        for name in ("nodes", "ntasks", "ntasks_per_node", "cpus_per_task"):
            if isinstance(values.get(name), str):
                values[name] = _parse_count(name, values[name])
        for name in ("directives", "modules", "script_args"):
            if name in values:
                values[name] = tuple(values[name])
        if "environment" in values and hasattr(values["environment"], "items"):
            values["environment"] = tuple(values["environment"].items())
        return cls(command=tuple(command), **values)

    # -- derived values used by the renderer and the backends

    @property
    def name(self) -> str:
        if self.job_name:
            return self.job_name
        if self.script is not None:  # sbatch names a job after its script file
            return (self.script_name or "").rsplit("/", 1)[-1] or "sbatch"
        words = self.command or tuple(self.commands[0].split()[:2] if self.commands else ())
        if words:
            first = words[0].rsplit("/", 1)[-1]
            if first.startswith("python") and len(words) > 1:
                first = words[1].rsplit("/", 1)[-1]
            # a name made from the command is data too: what a #SBATCH line cannot hold becomes "_"
            return "".join("_" if unsafe_character(char) else char for char in first) or "job"
        return "wrap"

    @property
    def task_cpus(self) -> int:
        """Cores one array task (one job) occupies: tasks times cores per task."""
        return (self.ntasks or 1) * (self.cpus_per_task or 1)

    @property
    def task_memory(self) -> int:
        """MB one job occupies (0 when it did not ask)."""
        if self.mem is not None:
            return self.mem
        if self.mem_per_cpu is not None:
            return self.mem_per_cpu * self.task_cpus
        return 0

    @property
    def task_gpus(self) -> int:
        total = gpu_count(self.gpus, self.gres)
        if self.directives:  # --directive=--gpus-per-node=4, or a script's #SBATCH --gpus-per-task=1
            from roost.jobs.directives import gpus_in

            total += gpus_in(self.directives, self.ntasks or 1)
        return total

    def default_output(self) -> str:
        prefix = "slurm" if self.script is not None else "roost"  # a user's script keeps sbatch's default
        return f"{prefix}-%A_%a.out" if self.array else f"{prefix}-%j.out"

    def default_error(self) -> str:
        if self.script is not None:  # as sbatch: stderr joins stdout
            return self.output or self.default_output()
        return "roost-%A_%a.err" if self.array else "roost-%j.err"

    def with_changes(self, **changes: Any) -> JobSpec:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = dataclasses.asdict(self)
        data["array"] = self.array.text if self.array else None
        data["dependency"] = str(self.dependency) if self.dependency else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        values = dict(data)
        values["array"] = ArraySpec.parse(values["array"]) if values.get("array") else None
        values["dependency"] = Dependency.parse(values["dependency"]) if values.get("dependency") else None
        for name in ("command", "directives", "modules", "commands", "script_args"):
            values[name] = tuple(values.get(name) or ())
        values["environment"] = tuple(tuple(pair) for pair in values.get("environment") or ())
        return cls(**values)


# The string fields that become #SBATCH values (workdir is checked as --chdir in create(): the directory a
# job is submitted from may have any name, and is quoted wherever it appears).
_TEXT_OPTIONS = (
    "job_name", "partition", "account", "qos", "gpus", "gres", "output", "error", "constraint",
    "mail_type", "mail_user", "env",
)  # fmt: skip


def _check_directive(directive: str) -> None:
    flag, _, _ = directive.partition("=")
    if len(flag) >= 2 and flag[0] == "-" and flag[1].isascii() and flag[1].isalpha():
        return  # a short option with its value (-wnode1), kept from a script's #SBATCH line
    name = flag[2:]
    if not flag.startswith("--") or not name or not all(char.isascii() and (char.isalnum() or char == "-")
                                                         for char in name):
        raise JobError(f"--directive {directive!r} is not an sbatch option", "write it as --option=value")


def read_command_file(path: str) -> Tuple[str, ...]:
    """The command lines of an --array-from file ("-": standard input): one per line; blank lines and # comments
    are skipped."""
    try:
        if path == "-":
            import sys

            lines = [line.strip() for line in sys.stdin.read().splitlines()]
        else:
            with open(path, encoding="utf-8") as handle:
                lines = [line.strip() for line in handle.read().splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"cannot read the command file {path}: {exc}", "give a text file, one command per line") from exc
    commands = tuple(line for line in lines if line and not line.startswith("#"))
    if not commands:
        raise JobError(f"the command file {path} has no commands", "write one shell command per line")
    return commands


def _array_for(commands: Sequence[str], limit: Optional[str]) -> str:
    if limit is not None and (not str(limit).isdigit() or int(limit) <= 0):
        raise JobError(f"--array-limit {limit!r} is not a positive whole number", "use e.g. --array-limit 10")
    return f"0-{len(commands) - 1}" + (f"%{limit}" if limit is not None else "")


def _check_command_lines(commands: Sequence[str], array: Optional[ArraySpec]) -> None:
    if array is None or array.indices != tuple(range(len(commands))):
        raise JobError("--array-from makes the array itself (one task per line)", "drop --array; use --array-limit N")
    if len(commands) > MAX_ARRAY_TASKS:
        raise JobError(f"the command file has more than {MAX_ARRAY_TASKS} lines", "split it into several files")


def _parse_count(name: str, text: str) -> int:
    if not text.strip().isdigit() or int(text) <= 0:
        raise JobError(f"--{name.replace('_', '-')} {text!r} is not a positive whole number", "use e.g. 4")
    return int(text)
