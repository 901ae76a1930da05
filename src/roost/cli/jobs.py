"""``roost submit / jobs / status / logs / cancel / wait / shell``: parse, call roost.jobs.api, render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import click

from roost.errors import JobError
from roost.jobs import api
from roost.jobs.backend import JobState
from roost.jobs.spec import JobSpec
from roost.jobs.store import JobRecord, Store

# (option names, keyword, help) of the resource options submit and shell share; named as sbatch names them.
RESOURCE_OPTIONS: List[Tuple[Tuple[str, ...], str, str]] = [
    (("-p", "--partition"), "partition", "Partition (queue) to run in."),
    (("-A", "--account"), "account", "Account to charge."),
    (("-q", "--qos"), "qos", "Quality of service."),
    (("-t", "--time"), "time", "Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS."),
    (("-N", "--nodes"), "nodes", "Number of nodes."),
    (("-n", "--ntasks"), "ntasks", "Number of tasks (MPI ranks)."),
    (("--ntasks-per-node",), "ntasks_per_node", "Tasks per node."),
    (("-c", "--cpus-per-task"), "cpus_per_task", "Cores per task; also sets OMP_NUM_THREADS and friends."),
    (("--mem",), "mem", "Memory per node, e.g. 4G or 500M."),
    (("--mem-per-cpu",), "mem_per_cpu", "Memory per core, e.g. 2G."),
    (("-G", "--gpus"), "gpus", "GPUs: N or TYPE:N."),
    (("--gres",), "gres", "Generic resources, e.g. gpu:2."),
    (("-C", "--constraint"), "constraint", "Node features required."),
]


METAVARS = {
    "partition": "NAME",
    "account": "NAME",
    "qos": "NAME",
    "time": "TIME",
    "nodes": "N",
    "ntasks": "N",
    "ntasks_per_node": "N",
    "cpus_per_task": "N",
    "mem": "SIZE",
    "mem_per_cpu": "SIZE",
    "gpus": "[TYPE:]N",
    "gres": "LIST",
    "constraint": "FEATURES",
}


def resource_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for names, keyword, help_text in reversed(RESOURCE_OPTIONS):
        function = click.option(*names, keyword, default=None, metavar=METAVARS[keyword], help=help_text)(function)
    function = click.option(
        "--backend",
        type=click.Choice(api.BACKENDS),
        default=None,
        help="slurm or local (default: slurm where sbatch exists).",
    )(function)
    function = click.option(
        "-m", "--module", "modules", multiple=True, metavar="MODULE", help="Load this module in the job (repeatable)."
    )(function)
    function = click.option(
        "-e",
        "--env",
        "env",
        default=None,
        metavar="ENV",
        help="Activate this roost environment (and its modules) in the job.",
    )(function)
    return function


@click.command(context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]})
@resource_options
@click.option("-J", "--job-name", default=None, metavar="NAME", help="Job name (default: the command's name).")
@click.option("-a", "--array", default=None, metavar="INDICES", help="Array indices with an optional %limit: 0-99%10.")
@click.option(
    "-d", "--dependency", default=None, metavar="TYPE:ID", help="afterok:ID, afterany:ID, ... joined by ',' or '?'."
)
@click.option(
    "-o", "--output", default=None, metavar="PATTERN", help="stdout file pattern (%j %A %a %x); default roost-%j.out."
)
@click.option(
    "--error", default=None, metavar="PATTERN", help="stderr file pattern; default roost-%j.err (or --output's file)."
)
@click.option("--exclusive", is_flag=True, help="Whole nodes only.")
@click.option("--mail-type", default=None, metavar="TYPE", help="When to send mail: BEGIN, END, FAIL, ALL.")
@click.option("--mail-user", default=None, metavar="ADDRESS", help="Where to send mail.")
@click.option(
    "--directive",
    "directives",
    multiple=True,
    metavar="OPTION",
    help="Any other sbatch option, e.g. --directive=--reservation=x.",
)
@click.option(
    "-D", "--chdir", "workdir", default=None, metavar="DIR", help="Working directory of the job (default: here)."
)
@click.option("--wrap", default=None, metavar="CMDLINE", help="Run this shell command line instead of CMD.")
@click.option("--mpi", is_flag=True, help="Launch with srun --mpi=pmi2 (Slurm) or mpiexec (local).")
@click.option("--dry-run", is_flag=True, help="Print the batch script and submit nothing.")
@click.option("--wait", "wait_for_it", is_flag=True, help="Follow the job, stream its output, exit with its code.")
@click.option("--parsable", is_flag=True, help="Print only the job id.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def submit(
    command: Tuple[str, ...],
    backend: Optional[str],
    dry_run: bool,
    wait_for_it: bool,
    parsable: bool,
    **options: Any,
) -> None:
    """Submit a batch job: roost submit [OPTIONS] -- CMD... or roost submit script.py ARGS...

    \b
    Examples:
      roost submit -t 10:00 -c 4 -e myenv -- python train.py --epochs 3
      roost submit -n 4 --mpi -e myenv hello_mpi.py
      roost submit -a 0-99%10 --wrap 'python task.py $SLURM_ARRAY_TASK_ID'
    """
    argv = list(command)
    options["workdir"] = str(Path(options["workdir"]).resolve()) if options.get("workdir") else os.getcwd()
    if argv and argv[0].endswith(".py") and not argv[0].startswith("-"):
        if not (Path(options["workdir"]) / argv[0]).is_file():
            raise JobError(
                f"no Python script {argv[0]} in {options['workdir']}",
                "check the name, or give the command after --: roost submit -- CMD",
            )
        argv = [api.python_for(options.get("env")), *argv]
    spec = JobSpec.create(argv, **options)
    name = api.backend_name(backend)
    if dry_run:
        click.echo(api.prepare(spec, name), nl=False)
        return
    store = Store()
    job = api.submit_spec(spec, backend=name, store=store)
    if parsable:
        click.echo(job.id)
    else:
        click.echo(f"Submitted job {job.id} ({name})")
    if wait_for_it:
        record = follow(store, job.id)
        sys.exit(_exit_code_of([record]))


def follow(store: Store, job_id: str) -> JobRecord:
    """Stream a job's output while it runs, with a live state line for people; return the final record."""
    offsets: Dict[str, int] = {"stdout": 0, "stderr": 0}
    delay, next_refresh = 0.1, 0.0
    record = api.refresh(store, [job_id])[0]
    streams = {"stdout": sys.stdout.buffer, "stderr": sys.stderr.buffer}
    ceiling = 1.0 if record.backend == "local" else 10.0
    status_line = _StatusLine()
    while True:
        if time.monotonic() >= next_refresh:
            record = api.refresh(store, [job_id])[0]
            next_refresh = time.monotonic() + delay
            delay = min(delay * 1.5, ceiling)
            status_line.show(record)
        # A log file from an earlier job of the same id may linger until this one starts and truncates it.
        if not record.spec.array and record.state is not JobState.PENDING:
            for stream, target in streams.items():
                data, offsets[stream] = api.stream_chunks(api.log_file(record, stream=stream), offsets[stream])
                if data:
                    status_line.clear()
                    target.write(data)
                    target.flush()
        if record.finished:
            status_line.clear()
            _report_end(record)
            return record
        time.sleep(0.2)


class _StatusLine:
    """One transient line on stderr (only when it is a terminal) saying where the job is."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty() and not os.environ.get("NO_COLOR_STATUS")
        self.shown = False

    def show(self, record: JobRecord) -> None:
        if self.enabled:
            sys.stderr.write(f"\r\x1b[2K[{record.id}] {_summary(record)}")
            sys.stderr.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self.shown = False


def _report_end(record: JobRecord) -> None:
    code = "" if record.exit_code is None else f", exit code {record.exit_code}"
    click.echo(f"job {record.id} {record.state.value}{code}", err=True)


def _summary(record: JobRecord) -> str:
    if record.spec.array:
        counts = record.status().counts()
        return " ".join(f"{state}={count}" for state, count in sorted(counts.items()))
    return record.state.value


def _exit_code_of(records: Sequence[JobRecord]) -> int:
    for record in records:
        if record.state is not JobState.COMPLETED:
            return record.exit_code or 1
    return 0


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "show_all", is_flag=True, help="Include finished jobs.")
def jobs(as_json: bool, show_all: bool) -> None:
    """List your jobs (pending and running; --all for finished ones too)."""
    store = Store()
    listed = store.list(include_finished=True)
    records = api.refresh(store, [r.id for r in listed if not r.finished]) if listed else []
    fresh = {r.id: r for r in records}
    shown = [fresh.get(r.id, r) for r in listed]
    if not show_all:
        shown = [r for r in shown if not r.finished]
    if as_json:
        click.echo(json.dumps([r.to_json() for r in shown], indent=2))
        return
    if not shown:
        click.echo(
            "no jobs" if show_all else "no pending or running jobs (roost jobs --all shows finished ones)",
            err=True,
        )
        return
    rows = [("ID", "NAME", "BACKEND", "STATE", "EXIT", "SUBMITTED")]
    for record in shown:
        exit_code = "" if record.exit_code is None else str(record.exit_code)
        submitted = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.submitted))
        rows.append((record.id, record.name, record.backend, _summary(record), exit_code, submitted))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(job_id: str, as_json: bool) -> None:
    """Show a job's state, exit code, tasks and log files (and the tail of stderr if it failed)."""
    store = Store()
    record = api.refresh(store, [job_id])[0]
    failed = record.finished and record.state is not JobState.COMPLETED
    tail = api.stderr_tail(record) if failed else []
    # For an array, show the files of the task that explains a failure (else the first task).
    task = api.first_failed_task(record) if record.spec.array else None
    if as_json:
        data = record.to_json()
        data["stdout"] = str(api.log_file(record, task=task))
        data["stderr"] = str(api.log_file(record, task=task, stream="stderr"))
        data["stderr_tail"] = tail
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(f"job       {record.id} ({record.backend}) {record.name}")
    click.echo(f"state     {record.state.value}" + (f" ({record.reason})" if record.reason else ""))
    if record.exit_code is not None:
        click.echo(f"exit code {record.exit_code}")
    if record.spec.array:
        click.echo(f"tasks     {_summary(record)}")
    which = "" if not record.spec.array else f" (task {task if task is not None else record.spec.array.indices[0]})"
    click.echo(f"stdout    {api.log_file(record, task=task)}{which}")
    click.echo(f"stderr    {api.log_file(record, task=task, stream='stderr')}{which}")
    if tail:
        click.echo(f"stderr{which} (last lines):")
        for line in tail:
            click.echo(f"  {line}")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("job_id")
@click.option("-f", "--follow", "follow_output", is_flag=True, help="Keep printing until the job ends.")
@click.option("--err", is_flag=True, help="Show stderr instead of stdout.")
@click.option("--task", type=int, default=None, metavar="N", help="Array task (default: the first).")
def logs(job_id: str, follow_output: bool, err: bool, task: Optional[int]) -> None:
    """Show a job's output."""
    store = Store()
    record = store.get(job_id)
    stream = "stderr" if err else "stdout"
    path = api.log_file(record, task=task, stream=stream)
    target = sys.stderr.buffer if err else sys.stdout.buffer
    offset = 0
    # The file is read every 0.2 s (free); the scheduler is asked with growing pauses (see follow()).
    delay, next_refresh, finished = 0.2, 0.0, False
    while True:
        if follow_output and time.monotonic() >= next_refresh:
            finished = api.refresh(store, [job_id])[0].finished
            next_refresh = time.monotonic() + delay
            delay = min(delay * 1.5, 1.0 if record.backend == "local" else 10.0)
        data, offset = api.stream_chunks(path, offset)
        if data:
            target.write(data)
            target.flush()
        if not follow_output:
            if offset == 0 and not path.exists():
                raise JobError(
                    f"job {job_id} has no {stream} file yet ({path})",
                    "it may still be pending: roost status " + job_id,
                )
            return
        if finished:
            return
        time.sleep(0.2)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("job_ids", nargs=-1, required=True)
def cancel(job_ids: Tuple[str, ...]) -> None:
    """Cancel jobs (ID, or ID_TASK for one array task)."""
    store = Store()
    api.cancel(store, list(job_ids))
    for job_id in job_ids:
        click.echo(f"cancelled {job_id}", err=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("job_ids", nargs=-1, required=True)
@click.option(
    "--timeout", type=float, default=None, metavar="SECONDS", help="Give up after this many seconds (exit 1)."
)
def wait(job_ids: Tuple[str, ...], timeout: Optional[float]) -> None:
    """Wait for jobs to finish; exit 0 if all completed, else the first failing job's exit code."""
    store = Store()
    records = api.wait(store, list(job_ids), timeout=timeout)
    for record in records:
        _report_end(record)
    sys.exit(_exit_code_of(records))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@resource_options
def shell(backend: Optional[str], **options: Any) -> None:
    """An interactive shell with an env and modules: on a compute node (srun --pty), or a local subshell."""
    name = api.backend_name(backend)
    spec = JobSpec.create(("shell",), **options)
    argv, environ = api.shell_command(spec, name, os.environ)
    if name == "local":
        click.echo("roost: local subshell; exit to leave", err=True)
    try:
        sys.exit(subprocess.call(argv, env=environ))
    except FileNotFoundError as exc:
        raise JobError(f"cannot start {argv[0]}", "is it installed and on PATH?") from exc
