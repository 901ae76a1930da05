"""Slurm's commands where no Slurm exists: ``sbatch squeue scancel sacct srun salloc`` over the local backend.

They are ``roost slurm NAME ARGS`` (roost.cli.slurm), and become commands named as Slurm's only when a user
opts in (``roost shell-init --slurm-shims`` or ``[jobs] slurm_shims = true``): their directory is then
*appended* to PATH, so a real Slurm earlier on PATH always wins.  Inside a local job, ``srun`` is put first
on PATH (a real srun there would ask a controller for a new allocation): it starts ``--ntasks`` copies
through ``mpiexec`` when the env has one (so MPI programs see their size and rank), else plain copies with
SLURM_PROCID set.  Output formats follow Slurm's closely enough for scripts that parse ``sbatch --parsable``,
``squeue -h -o %i`` and ``sacct -n -P -o JobID,State,ExitCode``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from roost import paths
from roost.errors import JobError
from roost.jobs import directives

if TYPE_CHECKING:
    from roost.jobs.spec import JobSpec
    from roost.jobs.store import JobRecord, Store

COMMANDS = ("sbatch", "squeue", "scancel", "sacct", "srun", "salloc")
IN_JOB_COMMANDS = ("srun",)

# srun options that take no value (beyond sbatch's)
_SRUN_FLAGS = ("l", "label", "u", "unbuffered", "pty", "K", "kill-on-bad-exit", "X", "disable-status", "overlap")
# srun options a local job can honour
_SRUN_HONOURED = ("ntasks", "cpus-per-task", "mpi", "nodes", "job-name", "label", "l", "overlap", "time", "mem")


class Streams:
    """Where a command's output goes: the CLI passes the process's own; a Python caller may collect it.  (The
    programs srun and salloc start write to the inherited stdout and stderr themselves.)"""

    def __init__(self, out: Callable[[str], None], err: Callable[[str], None],
                 read_input: Optional[Callable[[], Optional[bytes]]] = None) -> None:
        self.out = out
        self.err = err
        self.read_input = read_input or _standard_input  # a script on stdin: `sbatch <<EOF`


def _standard_input() -> Optional[bytes]:
    """What sbatch reads when it is given no script: standard input (as bytes), unless it is a terminal."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    return sys.stdin.buffer.read()


# ------------------------------------------------------------------------------------------- PATH


def shim_directory(names: Sequence[str], python: str, directory: Optional[Path] = None) -> Path:
    """A directory holding one small executable per name, each running ``roost slurm NAME``."""
    from pathlib import Path

    kind = "job" if tuple(names) == IN_JOB_COMMANDS else "all"
    target = directory or Path(paths.data_dir()) / "slurm-shims" / kind
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = target / name
        text = f"#!{python}\nimport sys\nfrom roost.cli.main import main\nmain(['slurm', {name!r}, *sys.argv[1:]])\n"
        if not path.exists() or path.read_text() != text:
            partial = path.with_name(f".{name}.{os.getpid()}")
            partial.write_text(text)
            partial.chmod(0o755)
            os.replace(partial, path)
    return target


# ---------------------------------------------------------------------------------------------- srun


def srun(argv: Sequence[str], environ: Mapping[str, str], streams: Streams) -> int:
    """``srun [OPTIONS] CMD...``: inside a local job, CMD as ``--ntasks`` tasks; outside one, a new job."""
    options, command = directives.parse_command_line(argv, _SRUN_FLAGS)
    if not command:
        raise JobError("srun needs a command", "e.g. srun -n 2 python hello.py")
    if "ROOST_JOB_ID" not in environ:
        return _submit_and_follow(argv, options, streams)
    values = {option.name: option.value for option in options}
    ntasks = _count(values.get("ntasks") or environ.get("SLURM_NTASKS") or "1", "--ntasks")
    allocated = _count(environ.get("SLURM_NTASKS") or "1", "SLURM_NTASKS")
    cpus = _count(values.get("cpus-per-task") or "1", "--cpus-per-task")
    if ntasks * cpus > max(allocated * _count(environ.get("SLURM_CPUS_PER_TASK") or "1", "cpus"), allocated):
        raise JobError(
            f"srun asks for {ntasks} tasks of {cpus} cores; the job has {environ.get('SLURM_CPUS_ON_NODE')} cores",
            "ask for fewer tasks, or submit the job with more (#SBATCH --ntasks)",
        )
    ignored = [o.text for o in options if o.name not in _SRUN_HONOURED]
    if ignored:
        streams.err(f"srun: warning: the local backend ignores {' '.join(ignored)}\n")
    return _launch(command, ntasks, environ)


def _count(text: str, what: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise JobError(f"{what} {text!r} is not a positive whole number", "use e.g. 2")
    return int(text)


def _launch(command: List[str], ntasks: int, environ: Mapping[str, str]) -> int:
    import subprocess

    env = dict(environ, SLURM_NTASKS=str(ntasks), SLURM_NPROCS=str(ntasks), SLURM_STEP_NUM_TASKS=str(ntasks))
    if ntasks == 1:
        env.update(SLURM_PROCID="0", SLURM_LOCALID="0", SLURM_NODEID="0")
        return subprocess.call(command, env=env)
    mpiexec = paths.which("mpiexec", env.get("PATH", ""))
    if mpiexec:  # the launcher --mpi uses on the local backend: MPI programs see size and rank
        return subprocess.call([mpiexec, "-n", str(ntasks), *command], env=env)
    processes = [
        subprocess.Popen(command, env=dict(env, SLURM_PROCID=str(rank), SLURM_LOCALID=str(rank), SLURM_NODEID="0"))
        for rank in range(ntasks)
    ]
    codes = [process.wait() for process in processes]
    return next((code for code in codes if code), 0)


# -------------------------------------------------------------------------------------- submitting


def _submit_values(options: Sequence[directives.Option], *, wrap: Optional[str]) -> Dict[str, Any]:
    """roost submit's keyword values from sbatch-style options."""
    from roost.jobs.options import SUBMIT_OPTIONS, defaults

    keywords, unknown = directives.spec_options(
        [o for o in options if o.name not in ("parsable", "wait", "W", "wrap")], source="command line"
    )
    values = defaults(SUBMIT_OPTIONS)
    values.update(keywords)
    values.update(backend="local", directives=tuple(unknown), wrap=wrap)
    return values


def sbatch(argv: Sequence[str], environ: Mapping[str, str], streams: Streams) -> int:
    """``sbatch [OPTIONS] SCRIPT [ARGS]`` or ``sbatch [OPTIONS] --wrap CMD`` on the local backend."""
    from roost.jobs import api
    from roost.jobs.command import build_spec
    from roost.jobs.store import Store

    options, command = directives.parse_command_line(argv)
    names = {option.name for option in options}
    wrap = next((o.value for o in options if o.name == "wrap"), None)
    values = _submit_values(options, wrap=wrap)
    from_input = not command and wrap is None  # `sbatch <<EOF`: the script is on standard input
    spec = _spec_from_standard_input(values, streams) if from_input else build_spec(command, values)
    from roost.jobs.userscript import local_ignored

    ignored = local_ignored(spec)
    if ignored:
        streams.err(f"sbatch: warning: the local backend ignores {' '.join(ignored)}\n")
    store = Store()
    job = api.submit_spec(spec, backend="local", store=store)
    streams.out(f"{job.id}\n" if "parsable" in names else f"Submitted batch job {job.id}\n")
    if "wait" in names or "W" in names:
        record = api.wait(store, [job.id])[0]
        return 0 if record.state.value == "COMPLETED" else (record.exit_code or 1)
    return 0


def _spec_from_standard_input(values: Dict[str, Any], streams: Streams) -> JobSpec:
    """``sbatch <<EOF ... EOF``: the script comes on standard input; as Slurm, the job is named "sbatch"."""
    import tempfile

    from roost.jobs.command import build_spec

    data = streams.read_input()
    if not data:
        raise JobError("sbatch needs a script: none was named and standard input is empty (or a terminal)",
                       "give the file: sbatch job.sh, a command: sbatch --wrap 'python x.py', "
                       "or the script itself: sbatch <<'EOF' ... EOF")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # as a script file that is not UTF-8: refused, with what to do
        raise JobError(f"the script on standard input is not UTF-8 text ({exc})",
                       "convert it first, e.g. iconv -f latin1 -t utf-8 job.sh | sbatch") from None
    with tempfile.TemporaryDirectory(prefix="roost-sbatch-") as directory:
        path = os.path.join(directory, "sbatch")
        Path(path).write_text(text, encoding="utf-8")
        spec = build_spec([path], values)  # the spec holds the script's text: the file may go
    return spec.with_changes(script_name="sbatch")


def _submit_and_follow(argv: Sequence[str], options: Sequence[directives.Option], streams: Streams) -> int:
    """srun outside a job: a job of its own running this same srun inside it (which starts the tasks), its
    output copied here when it ends, its exit code returned."""
    from roost.jobs import api
    from roost.jobs.command import build_spec
    from roost.jobs.store import Store

    values = _submit_values([o for o in options if o.keyword is not None], wrap=None)
    spec = build_spec(["srun", *argv], values)
    store = Store()
    job = api.submit_spec(spec, backend="local", store=store)
    record = api.wait(store, [job.id])[0]
    targets = [("stdout", streams.out), ("stderr", streams.err)]
    for stream, write in targets[: 1 if api.log_file(record) == api.log_file(record, stream="stderr") else 2]:
        data, _ = api.stream_chunks(api.log_file(record, stream=stream), 0)
        write(data.decode(errors="replace"))
    api.log_file(record).unlink(missing_ok=True)
    api.log_file(record, stream="stderr").unlink(missing_ok=True)
    return 0 if record.state.value == "COMPLETED" else (record.exit_code or 1)


def salloc(argv: Sequence[str], environ: Mapping[str, str], streams: Streams) -> int:
    """``salloc [OPTIONS] [CMD]``: CMD (default: your shell) here, with the allocation's SLURM_* variables."""
    import subprocess

    from roost.jobs.spec import JobSpec

    options, command = directives.parse_command_line(argv)
    keywords, _ = directives.spec_options(options, source="command line")
    spec = JobSpec.create(["salloc"], **keywords)
    from roost.jobs.local import Capacity

    Capacity.detect(environ).check_fits(spec)
    env = dict(environ)
    env.update(
        ROOST_JOB_ID="salloc",
        SLURM_JOB_ID="salloc",
        SLURM_NTASKS=str(spec.ntasks or 1),
        SLURM_CPUS_ON_NODE=str(spec.task_cpus),
        SLURM_NNODES="1",
        SLURM_JOB_NAME=spec.job_name or "interactive",
    )
    if spec.cpus_per_task:
        env["SLURM_CPUS_PER_TASK"] = str(spec.cpus_per_task)
    env["PATH"] = os.pathsep.join([str(shim_directory(IN_JOB_COMMANDS, sys.executable)), env.get("PATH", "")])
    streams.err("salloc: Granted job allocation salloc (local backend)\n")
    return subprocess.call(command or [environ.get("SHELL") or "bash"], env=env)


# --------------------------------------------------------------------------------------- looking


def scancel(argv: Sequence[str], environ: Mapping[str, str], streams: Streams) -> int:
    from roost.jobs import api
    from roost.jobs.store import Store

    ids = [word for word in argv if not word.startswith("-")]
    if not ids:
        raise JobError("scancel needs job ids", "e.g. scancel L12, or L12_3 for one array task")
    api.cancel(Store(), ids)
    return 0


_SQUEUE_DEFAULT = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
_STATE_CODES = {"PENDING": "PD", "RUNNING": "R", "COMPLETED": "CD", "FAILED": "F", "CANCELLED": "CA",
                "TIMEOUT": "TO", "OUT_OF_MEMORY": "OOM", "NODE_FAIL": "NF"}


def squeue(argv: Sequence[str], environ: Mapping[str, str], streams: Streams) -> int:
    """``squeue [-h] [-o FORMAT] [-j IDS] [-t STATES] [-n NAMES] [--me] [-u USER]``: local jobs, one line per
    job (a pending array as one line, its running tasks one each)."""
    values = _query_options(argv, ("h", "noheader", "me", "a", "all", "l", "long", "r", "array"))
    fmt = values.get("o") or values.get("format") or _SQUEUE_DEFAULT
    header = not ({"h", "noheader"} & set(values))
    wanted_ids = _split(values.get("j") or values.get("jobs"))
    wanted_states = {s.upper() for s in _split(values.get("t") or values.get("states"))}
    wanted_names = _split(values.get("n") or values.get("name"))
    rows = []
    for record, task, state, started in _queue_rows():
        if wanted_ids and record.id not in wanted_ids and f"{record.id}_{task}" not in wanted_ids:
            continue
        if wanted_states and not ({state, _STATE_CODES[state]} & wanted_states) and "ALL" not in wanted_states:
            continue
        if wanted_names and record.name not in wanted_names:
            continue
        rows.append(_squeue_fields(record, task, state, started))
    lines = [_format(fmt, _SQUEUE_HEADERS)] if header else []
    lines += [_format(fmt, row) for row in rows]
    streams.out("".join(line.rstrip() + "\n" for line in lines))
    return 0


def _query_options(argv: Sequence[str], flags: Sequence[str]) -> Dict[str, Optional[str]]:
    """squeue's and sacct's options (their letters mean other things than sbatch's): name -> value; an
    option not in ``flags`` takes a value (``-o %i``, ``-o%i``, ``--format=%i``, ``--format %i``)."""
    values: Dict[str, Optional[str]] = {}
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        long = word.startswith("--")
        name, equals, inline = (word[2:].partition("=") if long else (word[1:2], bool(word[2:]), word[2:]))
        if not word.startswith("-") or not name:
            continue
        if name in flags:
            values[name] = None
        elif equals:
            values[name] = inline
        elif index < len(argv):
            values[name] = argv[index]
            index += 1
        else:
            raise JobError(f"option {word} needs a value", f"e.g. {word} VALUE")
    return values


def _split(value: Optional[str]) -> List[str]:
    return [part for part in (value or "").split(",") if part]


def _queue_rows() -> List[Tuple[JobRecord, Optional[str], str, Optional[float]]]:
    from roost.jobs import api
    from roost.jobs.store import Store

    store = Store()
    listed = [r for r in store.list(include_finished=False) if r.backend == "local"]
    rows: List[Tuple[JobRecord, Optional[str], str, Optional[float]]] = []
    for record in api.refresh(store, [r.id for r in listed]) if listed else []:
        if record.finished:
            continue
        started = _started(store, record.id)
        if not record.spec.array:
            rows.append((record, None, record.state.value, started.get(-1)))
            continue
        pending = [t.task for t in record.tasks if t.state.value == "PENDING" and t.task is not None]
        for task in record.tasks:
            if task.state.value == "RUNNING":
                key = task.task if task.task is not None else -1
                rows.append((record, str(task.task), "RUNNING", started.get(key)))
        if pending:
            rows.append((record, f"[{_ranges(pending)}]", "PENDING", None))
    return rows


def _started(store: Store, job_id: str) -> Dict[int, float]:
    rows = store.connection().execute("SELECT task, started FROM tasks WHERE job_id = ?", (job_id,)).fetchall()
    return {task: started for task, started in rows if started}


def _ranges(indices: Sequence[int]) -> str:
    """1,2,3,7 -> 1-3,7"""
    parts: List[str] = []
    start = previous = indices[0]
    for index in [*indices[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if index is not None:
            start = previous = index
    return ",".join(parts)


_SQUEUE_HEADERS = {"i": "JOBID", "A": "ARRAY_JOB_ID", "a": "ACCOUNT", "j": "NAME", "u": "USER", "t": "ST",
                   "T": "STATE", "M": "TIME", "l": "TIME_LIMIT", "D": "NODES", "C": "CPUS", "P": "PARTITION",
                   "R": "NODELIST(REASON)", "N": "NODELIST", "K": "ARRAY_TASK_ID", "Z": "WORK_DIR", "m": "MIN_MEMORY"}


def _squeue_fields(record: JobRecord, task: Optional[str], state: str, started: Optional[float]) -> Dict[str, str]:
    import getpass
    import socket

    from roost.jobs.spec import format_memory, format_time

    spec = record.spec
    elapsed = format_time(int(time.time() - started)) if started else "0:00"
    node = socket.gethostname().split(".")[0]
    return {
        "i": record.id if task is None else f"{record.id}_{task}",
        "A": record.id,
        "a": spec.account or "(null)",
        "j": record.name,
        "u": getpass.getuser(),
        "t": _STATE_CODES[state],
        "T": state,
        "M": elapsed,
        "l": format_time(spec.time) if spec.time else "UNLIMITED",
        "D": "1",
        "C": str(spec.task_cpus),
        "P": "local",
        "R": node if state == "RUNNING" else f"({record.reason or 'Resources'})",
        "N": node if state == "RUNNING" else "",
        "K": task or "N/A",
        "Z": record.workdir,
        "m": format_memory(spec.task_memory) if spec.task_memory else "0",
    }


def _format(fmt: str, values: Mapping[str, str]) -> str:
    """Slurm's ``%[.][width]X`` fields (a dot right-aligns); anything else is copied."""
    out: List[str] = []
    index = 0
    while index < len(fmt):
        char = fmt[index]
        if char != "%" or index + 1 >= len(fmt):
            out.append(char)
            index += 1
            continue
        end = index + 1
        right = fmt[end] == "."
        end += right
        digits = end
        while end < len(fmt) and fmt[end].isdigit():
            end += 1
        width = int(fmt[digits:end] or 0)
        letter = fmt[end] if end < len(fmt) else ""
        value = values.get(letter, "") if letter != "%" else "%"
        if width:
            value = value[:width].rjust(width) if right else value[:width].ljust(width)
        out.append(value)
        index = end + 1
    return "".join(out)


_SACCT_DEFAULT = ("JobID", "JobName", "Partition", "Account", "AllocCPUS", "State", "ExitCode")


def sacct(argv: Sequence[str], environ: Mapping[str, str], streams: Streams) -> int:
    """``sacct [-j IDS] [-X] [-n] [-P|-p] [-o FIELDS]``: local jobs with their end states."""
    from roost.jobs import api
    from roost.jobs.store import Store

    flags = ("X", "allocations", "n", "noheader", "P", "parsable2", "p", "parsable", "a", "allusers", "b", "brief")
    values = _query_options(argv, flags)
    fields = _split(values.get("o") or values.get("format")) or list(_SACCT_DEFAULT)
    if {"b", "brief"} & set(values):
        fields = ["JobID", "State", "ExitCode"]
    store = Store()
    ids = _split(values.get("j") or values.get("jobs"))
    records = [r for r in store.list(include_finished=True) if r.backend == "local"]
    if ids:
        records = [r for r in records if r.id in {i.split("_")[0] for i in ids}]
    records = api.refresh(store, [r.id for r in records]) if records else []
    rows = [_sacct_fields(record, task) for record in reversed(records) for task in _tasks_or_job(record)]
    parsable = {"P", "parsable2", "p", "parsable"} & set(values)
    header = not ({"n", "noheader"} & set(values))
    lines: List[List[str]] = ([fields] if header else []) + [[row.get(f.lower(), "") for f in fields] for row in rows]
    for line in lines:
        if parsable:
            streams.out("|".join(line) + ("|" if {"p", "parsable"} & set(values) else "") + "\n")
        else:
            streams.out(" ".join(cell[:10].rjust(10) for cell in line).rstrip() + "\n")
    return 0


def _tasks_or_job(record: JobRecord) -> List[Optional[int]]:
    return [t.task for t in record.tasks] if record.spec.array else [None]


def _sacct_fields(record: JobRecord, task: Optional[int]) -> Dict[str, str]:
    status = next((t for t in record.tasks if t.task == task), None) if task is not None else None
    state = status.state.value if status else record.state.value
    code = status.exit_code if status else record.exit_code
    signal = code - 128 if code is not None and code > 128 else 0
    return {
        "jobid": record.id if task is None else f"{record.id}_{task}",
        "jobname": record.name,
        "partition": "local",
        "account": record.spec.account or "",
        "alloccpus": str(record.spec.task_cpus),
        "state": state,
        "exitcode": "" if code is None else (f"0:{signal}" if signal else f"{code}:0"),
        "workdir": record.workdir,
        "timelimit": _time_limit(record),
    }


def _time_limit(record: JobRecord) -> str:
    from roost.jobs.spec import format_time

    return format_time(record.spec.time) if record.spec.time else "UNLIMITED"


HANDLERS: Dict[str, Callable[[Sequence[str], Mapping[str, str], Streams], int]] = {
    "sbatch": sbatch,
    "squeue": squeue,
    "scancel": scancel,
    "sacct": sacct,
    "srun": srun,
    "salloc": salloc,
}
