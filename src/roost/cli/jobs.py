"""``roost submit / jobs / status / logs / cancel / wait / shell``: parse, call roost.jobs.api, render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Optional, Sequence, Set, Tuple

import click

from roost.errors import JobError
from roost.jobs import api
from roost.jobs.backend import JobState
from roost.jobs.command import run_submit
from roost.jobs.options import BACKENDS, RESOURCE_OPTIONS, SUBMIT_OPTIONS, Option
from roost.jobs.spec import JobSpec
from roost.jobs.store import JobRecord, Store


def _click_option(option: Option) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if option.is_flag:
        return click.option(*option.names, option.keyword, is_flag=True, help=option.help)
    if option.keyword == "backend":
        return click.option(*option.names, type=click.Choice(BACKENDS), default=None, help=option.help)
    return click.option(
        *option.names, option.keyword, default=None, multiple=option.multiple, metavar=option.metavar, help=option.help
    )


def _with_options(options: Sequence[Option]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = _click_option(option)(function)
        return function

    return decorate


resource_options = _with_options(RESOURCE_OPTIONS)


@click.command(context_settings={"allow_interspersed_args": False, "help_option_names": ["-h", "--help"]})
@_with_options(SUBMIT_OPTIONS)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def submit(command: Tuple[str, ...], **values: Any) -> None:
    """Submit a batch job: roost submit [OPTIONS] -- CMD..., roost submit script.py ARGS..., or an sbatch
    script as it is: roost submit [OPTIONS] job.sh ARGS... (its #SBATCH lines under these options).

    \b
    Examples:
      roost submit job.sh input.csv
      roost submit -t 10:00 -c 4 -e myenv -- python train.py --epochs 3
      roost submit -n 4 --mpi -e myenv hello_mpi.py
      roost submit -a 0-99%10 --wrap 'python task.py $SLURM_ARRAY_TASK_ID'
    """
    submitted = run_submit(command, values)
    if submitted is not None and values["wait_for_it"]:
        store, job_id = submitted
        record = follow(store, job_id)
        sys.exit(_exit_code_of([record]))


def follow(store: Store, job_id: str) -> JobRecord:
    """Stream a job's output while it runs, with a live state line for people; return the final record."""
    offsets: Dict[str, int] = {}
    delay, next_refresh = 0.1, 0.0
    record = api.refresh(store, [job_id])[0]
    ceiling = 1.0 if record.backend == "local" else 10.0
    status_line = _StatusLine()
    shown_tasks: Set[int] = set()
    while True:
        if time.monotonic() >= next_refresh:
            record = api.refresh(store, [job_id])[0]
            next_refresh = time.monotonic() + delay
            delay = min(delay * 1.5, ceiling)
            status_line.show(record)
        # A log file from an earlier job of the same id may linger until this one starts and truncates it.
        if not record.spec.array and record.state is not JobState.PENDING:
            _stream_new_output(record, None, offsets, status_line)
        elif record.spec.array:
            # Each task's output whole once it has ended, in the order tasks end: lines of tasks running side
            # by side would otherwise interleave.
            for task in record.tasks:
                if task.task is not None and task.state.finished and task.task not in shown_tasks:
                    shown_tasks.add(task.task)
                    _stream_new_output(record, task.task, {}, status_line)
        if record.finished:
            status_line.clear()
            _report_end(record)
            return record
        time.sleep(0.2)


def _stream_new_output(record: JobRecord, task: Optional[int], offsets: Dict[str, int], line: _StatusLine) -> None:
    """Copy what a job (or task) wrote since ``offsets`` to our stdout/stderr (a file both share once)."""
    out_path = api.log_file(record, task=task)
    err_path = api.log_file(record, task=task, stream="stderr")
    streams = [("stdout", out_path, sys.stdout.buffer)]
    if err_path != out_path:
        streams.append(("stderr", err_path, sys.stderr.buffer))
    for stream, path, target in streams:
        data, offsets[stream] = api.stream_chunks(path, offsets.get(stream, 0))
        if data:
            line.clear()
            target.write(data)
            target.flush()


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
