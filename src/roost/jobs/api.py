"""What the CLI and Python programs call: submit, look up, wait for and cancel jobs on either backend.

from roost.jobs import api
job = api.submit(["python", "train.py"], time="1:00:00", cpus_per_task=4)
job.wait(); print(job.state, job.exit_code)

executor = api.Executor(backend="local", time="10:00")
job = executor.submit(sum, [1, 2, 3])      # a Python callable, sent with cloudpickle
job.result()                               # 6
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from roost import paths
from roost.errors import JobError
from roost.jobs.backend import Backend, JobState, JobStatus
from roost.jobs.options import BACKENDS
from roost.jobs.script import render_script, sbatch_options, thread_change
from roost.jobs.spec import JobSpec
from roost.jobs.store import JobRecord, Store
from roost.shell.change import EnvChange
from roost.shell.functions import job_preamble

ROOST_JOBS_BACKEND = "ROOST_JOBS_BACKEND"  # declared in roost.envvars (a literal: the registry is slow to import)
CALL_DIR_VARIABLE = "ROOST_CALL_DIR"


# ------------------------------------------------------------------------------------------ backends


def backend_name(requested: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> str:
    """--backend, else ROOST_JOBS_BACKEND, else ``[jobs] backend`` in the config files, else slurm where
    sbatch exists, else local."""
    environ = os.environ if environ is None else environ
    name = requested or environ.get(ROOST_JOBS_BACKEND) or str(jobs_settings(environ).get("backend") or "")
    if not name or name == "auto":
        return "slurm" if paths.which("sbatch", environ.get("PATH", "")) else "local"
    if name not in BACKENDS:
        raise JobError(f"unknown job backend {name!r}", f"use one of: {', '.join(BACKENDS)} (or auto)")
    return name


def jobs_settings(environ: Mapping[str, str]) -> Mapping[str, Any]:
    """The ``[jobs]`` table of roost's config files (site, then user)."""
    from roost import config

    return config.load(environ).section("jobs")


def open_backend(name: str, store: Store, environ: Optional[Mapping[str, str]] = None) -> Backend:
    # Imported here: a CLI call needs only one of them.
    if name == "slurm":
        from roost.jobs.slurm import SlurmBackend as factory
    else:
        from roost.jobs.local import LocalBackend as factory  # type: ignore[assignment]
    backend: Backend = factory(store, environ)
    if not backend.available():
        raise JobError(
            f"the {name} backend is not available here (no sbatch on PATH)",
            "load Slurm's module, or use --backend local",
        )
    return backend


# --------------------------------------------------------------------------------- environment setup


def environment_setup(spec: JobSpec, environ: Mapping[str, str]) -> Optional[EnvChange]:
    """The change a job applies before its command: modules loaded, then the environment activated."""
    if not spec.modules and not spec.env:
        return None
    change = EnvChange()
    current: Mapping[str, str] = environ
    if spec.modules:
        try:
            from roost.modules import api as modules_api
        except ImportError as exc:
            raise JobError("modules are not available in this roost installation", "submit without --module") from exc
        loaded = modules_api.load(list(spec.modules), current).change
        change.extend(loaded.ops)
        current = loaded.applied_to(current)
    if spec.env:
        try:
            from roost.envs.api import activation_change
        except ImportError as exc:
            raise JobError("environments are not available in this roost installation", "submit without -e") from exc
        change.extend(activation_change(spec.env, current, restorable=False).ops)
    return change


def task_wrapper(spec: JobSpec, environ: Mapping[str, str]) -> List[str]:
    """The words that start each task from the env's start-up image, when it is packed (else none)."""
    if not spec.env:
        return []
    from roost.envs.nodeimage import wrapper_for

    return wrapper_for(spec.env, environ)


def python_for(spec_env: Optional[str]) -> str:
    """The interpreter that ``roost submit script.py`` runs: the env's python, else python3 on PATH."""
    if spec_env:
        return "python"
    return paths.which("python3") or sys.executable


# --------------------------------------------------------------------------------------- submitting


def prepare(spec: JobSpec, backend: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The batch script for ``spec`` under ``backend`` (what --dry-run prints), once what can be checked at
    submit time holds (as sbatch checks what it can): the directories exist, the command is no directory,
    the MPI launcher is reachable."""
    environ = os.environ if environ is None else environ
    check_paths(spec)
    setup = environment_setup(spec, environ)
    if spec.script is not None:
        return _prepare_user_script(spec, setup, environ)
    launcher = "slurm" if backend == "slurm" else "local"
    check_mpi_launcher(spec, launcher, setup.applied_to(environ) if setup else environ)
    with_functions = job_preamble("bash", sys.executable, environ)
    with_functions.extend(setup.ops if setup else ())
    return render_script(spec, launcher=launcher, setup=with_functions, task_wrapper=task_wrapper(spec, environ))


def check_paths(spec: JobSpec) -> None:
    """The job's directory, its output directories and its program, before the job can fail on them
    unseen (Slurm runs a job whose --chdir is missing in /tmp, and one whose log directory is missing
    fails without a log)."""
    workdir = spec.workdir or submit_directory()
    if not os.path.isdir(workdir):
        what = "does not exist" if not os.path.exists(workdir) else "is not a directory"
        raise JobError(f"-D/--chdir {workdir} {what}", "give an existing directory: the job starts there")
    for label, pattern in (("-o/--output", spec.output), ("--error", spec.error)):
        if pattern:
            _check_log_pattern(label, pattern, workdir)
    program = spec.command[0] if spec.command else ""
    if program and os.path.isdir(os.path.join(workdir, program)) and ("/" in program or not paths.which(program)):
        raise JobError(
            f"{program} is a directory, not a program or script",
            "give the script inside it, e.g. roost submit -- ./dir/run.sh",
        )


def _check_log_pattern(label: str, pattern: str, workdir: str) -> None:
    literal = "\\" in pattern  # Slurm takes such a pattern as it is, without its backslashes
    path = os.path.join(workdir, pattern.replace("\\", "") if literal else pattern)
    directory = os.path.dirname(path)
    if "%" in directory and not literal:
        return  # a directory per job or task (%j, %x ...): nothing to look at before it has an id
    if not os.path.isdir(directory):
        raise JobError(
            f"{label} {pattern}: the directory {directory} does not exist",
            f"create it first (mkdir -p {directory}): Slurm does not, and the job would run without its log",
        )
    if (literal or "%" not in path) and os.path.isdir(path):
        raise JobError(f"{label} {pattern} is a directory", f"name a file in it: {os.path.join(pattern, '%j.out')}")


def check_mpi_launcher(spec: JobSpec, launcher: str, job_environ: Mapping[str, str]) -> None:
    """``--mpi`` needs srun (Slurm) or mpiexec (local) on the job's PATH, after its modules and env."""
    if not spec.mpi:
        return
    program = "srun" if launcher == "slurm" else "mpiexec"
    if not paths.which(program, job_environ.get("PATH", "")):
        raise JobError(
            f"--mpi launches with {program}, and the job's PATH has none",
            "load an MPI module (-m openmpi), install one into the env (pip install mpich), or drop --mpi"
            if program == "mpiexec"
            else "load Slurm's module, or drop --mpi",
        )


def submit_directory() -> str:
    """The directory a job is submitted from (its default working directory), whatever its name."""
    try:
        return os.getcwd()
    except FileNotFoundError as exc:
        raise JobError(
            "the current directory no longer exists", "cd to an existing directory, or give --chdir DIR"
        ) from exc


def _prepare_user_script(spec: JobSpec, setup: Optional[EnvChange], environ: Mapping[str, str]) -> str:
    """A user's batch script with roost's additions after its directives."""
    from roost.jobs import userscript

    shell = userscript.interpreter(spec.script or "")
    preamble = job_preamble(shell, sys.executable, environ) if shell else EnvChange()
    extra = EnvChange()
    for name, value in spec.environment:
        extra.set(name, value)
    what = ", ".join(filter(None, [f"modules {' '.join(spec.modules)}" if spec.modules else "",
                                   f"environment {spec.env}" if spec.env else ""]))
    return userscript.render_script(
        spec,
        [preamble, setup or EnvChange(), extra, thread_change(spec)],
        ["module and ml, with your MODULEPATH", what or "environment", "variables", "threads from --cpus-per-task"],
    )


def submit_spec(
    spec: JobSpec,
    *,
    backend: Optional[str] = None,
    store: Optional[Store] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Job:
    environ = dict(os.environ if environ is None else environ)
    name = backend_name(backend, environ)
    if spec.workdir is None:
        spec = spec.with_changes(workdir=submit_directory())
    store = store or Store()
    script = prepare(spec, name, environ)
    job_id = open_backend(name, store, environ).submit(spec, script)
    return Job(job_id, store)


def submit(
    command: Union[str, Sequence[str]],
    *,
    backend: Optional[str] = None,
    store: Optional[Store] = None,
    **options: Any,
) -> Job:
    """Submit a command (a list of arguments, or one shell string) with sbatch-named options."""
    if isinstance(command, str):
        spec = JobSpec.create((), wrap=command, **options)
    else:
        spec = JobSpec.create(command, **options)
    return submit_spec(spec, backend=backend, store=store)


def submit_commands(
    lines: Sequence[str],
    *,
    backend: Optional[str] = None,
    store: Optional[Store] = None,
    array_limit: Optional[int] = None,
    **options: Any,
) -> Job:
    """One array job whose task i runs the shell command line ``lines[i]`` (what ``--array-from FILE`` does)."""
    spec = JobSpec.create((), commands=list(lines), array_limit=array_limit, **options)
    return submit_spec(spec, backend=backend, store=store)


class Executor:
    """Submit Python callables (as submitit does): ``Executor(time="10:00").submit(fn, *args, **kwargs)``."""

    def __init__(
        self,
        *,
        backend: Optional[str] = None,
        store: Optional[Store] = None,
        array_limit: Optional[int] = None,
        **options: Any,
    ) -> None:
        """``options`` as for :func:`submit`; ``array_limit`` caps how many tasks of a map_array run at once."""
        JobSpec.create(("true",), **options)  # validate now, not at the first submit
        self.backend = backend
        self.store = store
        self.array_limit = array_limit
        self.options = options

    def submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Job:
        """One job running ``function(*args, **kwargs)``."""
        return self._submit(function, [(args, kwargs)], array=False)[0]

    def map_array(self, function: Callable[..., Any], *iterables: Iterable[Any]) -> List[Job]:
        """One array job, task i running ``function(*items_i)`` (as submitit's map_array); a handle per task."""
        calls: List[Tuple[Tuple[Any, ...], Dict[str, Any]]] = [(tuple(items), {}) for items in zip(*iterables)]
        if not calls:
            return []
        return self._submit(function, calls, array=True)

    def _submit(
        self, function: Callable[..., Any], calls: List[Tuple[Tuple[Any, ...], Dict[str, Any]]], array: bool
    ) -> List[Job]:
        import cloudpickle  # only for callables

        call_dir = paths.data_dir() / "jobs" / "calls" / uuid.uuid4().hex
        call_dir.mkdir(parents=True)
        # The submitter's sys.path travels along, so functions from its own modules unpickle in the job.
        payload = cloudpickle.dumps((function, calls))
        (call_dir / "call.pkl").write_bytes(cloudpickle.dumps((list(sys.path), payload)))
        options = dict(self.options)
        options.setdefault("job_name", getattr(function, "__name__", "call"))
        if array:
            limit = f"%{self.array_limit}" if self.array_limit else ""
            options["array"] = f"0-{len(calls) - 1}{limit}"
        environment = dict(options.pop("environment", None) or {})
        environment[CALL_DIR_VARIABLE] = str(call_dir)
        if array:
            environment["ROOST_CALL_ARRAY"] = "1"
        command = (sys.executable, "-m", "roost.jobs.call", str(call_dir))
        try:
            spec = JobSpec.create(command, environment=environment, **options)
            job = submit_spec(spec, backend=self.backend, store=self.store)
        except BaseException:
            shutil.rmtree(call_dir, ignore_errors=True)
            raise
        if not array:
            return [job]
        return [Job(job.id, job.store, task=index) for index in range(len(calls))]


# ------------------------------------------------------------------------------------------ looking


def refresh(store: Store, job_ids: Iterable[str]) -> List[JobRecord]:
    """Records for ``job_ids`` with fresh states: one query per backend for all unfinished jobs."""
    records = store.find(job_ids)
    unfinished: Dict[str, List[str]] = {}
    for record in records:
        if not record.finished:
            unfinished.setdefault(record.backend, []).append(record.id)
    for name, ids in unfinished.items():
        backend = open_backend(name, store)
        statuses = backend.status(ids)
        if backend.records_states:
            continue
        for status in statuses.values():
            if status.tasks:
                store.update_status(status)
        for job_id in ids:
            if job_id not in statuses:
                store.set_reason(job_id, LOST_REASON)
    return store.find(record.id for record in records) if unfinished else records


# slurmctld forgets finished jobs after MinJobAge; without accounting nobody can say how they ended.
LOST_REASON = "unknown to the scheduler now (no accounting to ask); the end state is unknown"


def wait(
    store: Store,
    job_ids: Sequence[str],
    *,
    timeout: Optional[float] = None,
    on_update: Optional[Callable[[List[JobRecord]], None]] = None,
) -> List[JobRecord]:
    """Poll until every job has finished, backing off (local: up to 1 s, Slurm: up to 10 s between calls)."""
    check_timeout(timeout)
    start = time.monotonic()
    records = refresh(store, job_ids)
    delay, ceiling = (0.05, 1.0) if all(r.backend == "local" for r in records) else (0.5, 10.0)
    while True:
        if on_update is not None:
            on_update(records)
        if all(r.finished for r in records):
            return records
        lost = [r.id for r in records if not r.finished and r.reason == LOST_REASON]
        if lost:
            raise JobError(
                f"the scheduler no longer knows job(s) {', '.join(lost)} and keeps no accounting",
                "look at their output files (roost status ID shows where they are)",
            )
        if timeout is not None and time.monotonic() - start >= timeout:
            raise JobError(
                f"jobs still running after {timeout:g} s: {', '.join(r.id for r in records if not r.finished)}",
                "wait longer, or check them with: roost status ID",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, ceiling)
        records = refresh(store, job_ids)


def check_timeout(timeout: Optional[float]) -> None:
    if timeout is not None and not timeout >= 0:  # NaN too
        raise JobError(f"--timeout {timeout:g} is not a number of seconds", "give 0 or more seconds, e.g. --timeout 60")


def cancel(store: Store, job_ids: Sequence[str]) -> None:
    """Cancel jobs (``ID``) or array tasks (``ID_TASK``); an id or task that does not exist is refused before
    anything is cancelled."""
    by_backend: Dict[str, List[str]] = {}
    for job_id in job_ids:
        base, underscore, task = job_id.partition("_")
        record = store.get(base, with_tasks=False)
        if underscore:
            _check_task(record, job_id, task)
        by_backend.setdefault(record.backend, []).append(job_id)
    for name, ids in by_backend.items():
        open_backend(name, store).cancel(ids)


def _check_task(record: JobRecord, job_id: str, task: str) -> None:
    if not task.isascii() or not task.isdigit():
        raise JobError(f"{job_id!r} is not a job id", "use ID, or ID_TASK for one array task")
    array = record.spec.array
    if array is None:
        raise JobError(
            f"job {record.id} is not an array: it has no task {task}", f"cancel the job: roost cancel {record.id}"
        )
    if int(task) not in array.indices:
        raise JobError(f"array job {record.id} has no task {task}", f"its tasks are {array.text}")


def log_file(record: JobRecord, *, task: Optional[int] = None, stream: str = "stdout") -> Path:
    if record.spec.array and task is None:
        task = record.spec.array.indices[0]
    from roost.jobs.logs import log_path

    return log_path(record, task, stream)


def first_failed_task(record: JobRecord) -> Optional[int]:
    """The array task whose logs explain a failure (None for a plain job or when none failed)."""
    unsuccessful = (JobState.COMPLETED, JobState.PENDING, JobState.RUNNING)
    return next((t.task for t in record.tasks if t.state not in unsuccessful), None)


def stderr_tail(record: JobRecord, lines: int = 10) -> List[str]:
    """The last lines of a failed job's stderr (the first failed task of an array)."""
    path = log_file(record, task=first_failed_task(record), stream="stderr")
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - 16384, 0))
            text = handle.read().decode(errors="replace")
    except OSError:
        return []
    return text.splitlines()[-lines:]


# ------------------------------------------------------------------------------------------ handles


class Job:
    """A handle on one job record: status, wait, result (for callables), cancel, logs."""

    def __init__(self, job_id: str, store: Optional[Store] = None, *, task: Optional[int] = None) -> None:
        self.id = job_id
        self.task = task  # one task of an array job, or None for the whole job
        self.store = store or Store()

    def __repr__(self) -> str:
        return f"Job({self.id!r})" if self.task is None else f"Job({self.id!r}, task={self.task})"

    def record(self) -> JobRecord:
        return refresh(self.store, [self.id])[0]

    def status(self) -> JobStatus:
        status = self.record().status()
        if self.task is not None:
            status.tasks = [t for t in status.tasks if t.task == self.task]
        return status

    @property
    def state(self) -> JobState:
        return self.status().state

    @property
    def exit_code(self) -> Optional[int]:
        return self.status().exit_code

    def done(self) -> bool:
        return self.status().finished

    def wait(self, timeout: Optional[float] = None) -> JobRecord:
        check_timeout(timeout)
        if self.task is None:
            return wait(self.store, [self.id], timeout=timeout)[0]
        start, delay = time.monotonic(), 0.05
        while not self.done():  # one task of an array: the rest need not have finished
            if timeout is not None and time.monotonic() - start >= timeout:
                raise JobError(
                    f"task {self.id}_{self.task} still running after {timeout:g} s",
                    "wait longer, or check it with: roost status ID",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)
        return self.store.get(self.id)

    def cancel(self) -> None:
        cancel(self.store, [self.id if self.task is None else f"{self.id}_{self.task}"])

    def stdout(self, task: Optional[int] = None) -> str:
        return _read(log_file(self.store.get(self.id), task=self.task if task is None else task))

    def stderr(self, task: Optional[int] = None) -> str:
        return _read(log_file(self.store.get(self.id), task=self.task if task is None else task, stream="stderr"))

    def result(self, timeout: Optional[float] = None) -> Any:
        """Wait, then return what the submitted callable returned (or raise JobFailed with its traceback)."""
        import cloudpickle

        record = self.wait(timeout)
        call_dir = dict(record.spec.environment).get(CALL_DIR_VARIABLE)
        if not call_dir:
            raise JobError(f"job {self.id} runs a command, not a Python callable", "read its output: roost logs ID")
        result_path = Path(call_dir) / ("result.pkl" if self.task is None else f"result-{self.task}.pkl")
        if not result_path.exists():
            tail = "\n".join(stderr_tail(record))
            raise JobFailed(
                f"job {self.id} ended {record.state.value} without a result\n{tail}".rstrip(),
                f"see the whole log: roost logs {self.id} --err",
            )
        outcome: Tuple[str, Any, str] = cloudpickle.loads(result_path.read_bytes())
        kind, value, trace = outcome
        if kind == "ok":
            return value
        name = self.id if self.task is None else f"{self.id}_{self.task}"
        raise JobFailed(
            f"job {name} raised {type(value).__name__}: {value}\n{trace}".rstrip(),
            f"see the whole log: roost logs {self.id} --err",
        ) from value


class JobFailed(JobError):
    """A submitted callable raised, or its job died before returning."""


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""


# ------------------------------------------------------------------------------------------- shells


def shell_command(spec: JobSpec, backend: str, environ: Mapping[str, str]) -> Tuple[List[str], Dict[str, str]]:
    """argv and environment of an interactive shell with the job's resources, env and modules."""
    setup = environment_setup(spec, environ) or EnvChange()
    setup.extend(thread_change(spec).ops)
    env = setup.applied_to(environ)
    shell = env.get("SHELL") or "bash"
    if backend == "local":
        env["ROOST_SHELL"] = "local"
        return [shell, "-i"], env
    skip = {"output", "error", "chdir", "array", "dependency", "mail-type", "mail-user"}
    flags = [
        f"--{flag}" if value is None else f"--{flag}={value}"
        for flag, value in sbatch_options(spec)
        if flag not in skip
    ]
    return ["srun", *flags, "--pty", shell, "-i"], env


def stream_chunks(path: Path, offset: int) -> Tuple[bytes, int]:
    """New bytes of a growing log file since ``offset``."""
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return b"", offset
    return data, offset + len(data)
