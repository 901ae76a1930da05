"""The local backend: batch jobs on this machine, without a scheduler daemon to install.

How it works
  * ``submit`` records the job (state PENDING, one row per array task) with the submitter's environment,
    then makes sure a *runner* (:mod:`roost.jobs.runner`) is alive and wakes it.
  * The runner is one detached process per user (double fork + setsid, so it outlives the CLI; an flock
    keeps it unique).  It exits when nothing is pending or running, and is restarted by the next submit
    or status call.
  * Each task gets a small *supervisor* forked from the runner, which records how the task ended.
    ``status`` reads the job store; a task whose supervisor vanished without a word becomes NODE_FAIL.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from roost import envvars
from roost.errors import JobError
from roost.jobs.backend import JobState, JobStatus
from roost.jobs.processes import ignore_missing_process, is_supervisor
from roost.jobs.spec import Dependency, JobSpec, parse_memory
from roost.jobs.store import Store

ID_PREFIX = "L"

ROOST_LOCAL_CPUS = envvars.ROOST_LOCAL_CPUS
ROOST_LOCAL_MEMORY = envvars.ROOST_LOCAL_MEMORY
ROOST_LOCAL_GPUS = envvars.ROOST_LOCAL_GPUS


# ----------------------------------------------------------------------------------------- capacity


@dataclass(frozen=True)
class Capacity:
    cpus: int
    memory: int  # MB
    gpus: Tuple[str, ...]

    @classmethod
    def detect(cls, environ: Mapping[str, str]) -> Capacity:
        """ROOST_LOCAL_* variables, else ``[jobs] local_cpus/local_memory/local_gpus`` in the config files,
        else what the machine has."""
        from roost import config

        settings = config.load(environ).section("jobs")

        def setting(variable: str, key: str) -> str:
            return environ.get(variable) or str(settings.get(key) or "")

        cpus_text = setting(ROOST_LOCAL_CPUS, "local_cpus")
        if cpus_text and not (cpus_text.isdigit() and int(cpus_text) > 0):
            raise JobError(f"local_cpus / {ROOST_LOCAL_CPUS} {cpus_text!r} is not a core count", "use e.g. 4")
        cpus = int(cpus_text) if cpus_text else _usable_cores()
        memory_text = setting(ROOST_LOCAL_MEMORY, "local_memory")
        memory = parse_memory(memory_text, ROOST_LOCAL_MEMORY) if memory_text else _physical_memory()
        return cls(cpus, memory, _gpu_ids(setting(ROOST_LOCAL_GPUS, "local_gpus")))

    def check_fits(self, spec: JobSpec) -> None:
        """Refuse at submit time what could never start here (as sbatch does)."""
        if spec.nodes and spec.nodes > 1:
            raise JobError(
                f"the local backend has one node; the job asks for {spec.nodes}",
                "drop --nodes, or submit with --backend slurm",
            )
        if spec.task_cpus > self.cpus:
            raise JobError(
                f"the job asks for {spec.task_cpus} cores; this machine offers {self.cpus}",
                f"lower --ntasks/--cpus-per-task, or set {ROOST_LOCAL_CPUS}",
            )
        if spec.task_memory > self.memory:
            raise JobError(
                f"the job asks for {spec.task_memory} MB; this machine offers {self.memory} MB",
                f"lower --mem, or set {ROOST_LOCAL_MEMORY}",
            )
        if spec.task_gpus > len(self.gpus):
            raise JobError(
                f"the job asks for {spec.task_gpus} GPUs; this machine offers {len(self.gpus)}",
                f"lower --gpus, or set {ROOST_LOCAL_GPUS}",
            )


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024))
    except (ValueError, OSError, AttributeError):
        return 1024 * 1024


def _gpu_ids(setting: Optional[str]) -> Tuple[str, ...]:
    if setting:
        if setting.isdigit():
            return tuple(str(i) for i in range(int(setting)))
        return tuple(part.strip() for part in setting.split(",") if part.strip())
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ()
        return tuple(str(i) for i, line in enumerate(out.splitlines()) if line.startswith("GPU "))
    return ()


# ------------------------------------------------------------------------------------------ backend


class LocalBackend:
    name = "local"
    records_states = True

    def __init__(self, store: Store, environ: Optional[Mapping[str, str]] = None) -> None:
        self.store = store
        self.environ = dict(os.environ if environ is None else environ)

    def available(self) -> bool:
        return True

    def launcher(self) -> str:
        return "local"

    @property
    def directory(self) -> Path:
        return self.store.directory

    def submit(self, spec: JobSpec, script: str, job_id: Optional[str] = None) -> str:
        Capacity.detect(self.environ).check_fits(spec)
        self._check_dependencies(spec.dependency)
        workdir = spec.workdir or os.getcwd()
        environ = dict(self.environ, SLURM_SUBMIT_DIR=os.getcwd(), SLURM_SUBMIT_HOST=_short_hostname())
        new_id = self.store.add(
            backend=self.name,
            native_id=None,
            spec=spec,
            script=script,
            workdir=workdir,
            id_prefix=ID_PREFIX,
            environ=environ,
        )
        try:
            ensure_runner(self.store.path)
        except OSError as exc:  # a job nobody will run must not stay queued
            self.store.remove(new_id)
            raise JobError(
                f"cannot start the local job runner in {self.store.directory}: {exc}",
                "free some space there, or set ROOST_DATA_DIR to a writable directory",
            ) from exc
        return new_id

    def _check_dependencies(self, dependency: Optional[Dependency]) -> None:
        if dependency is None:
            return
        for job_id in dependency.job_ids():
            record = self.store.get(job_id.split("_")[0])
            if record.backend != self.name:
                raise JobError(
                    f"job {job_id} ran on {record.backend}; a local job can only depend on local jobs",
                    "submit both jobs to the same backend",
                )

    def status(self, job_ids: Sequence[str]) -> Dict[str, JobStatus]:
        result: Dict[str, JobStatus] = {}
        fail_dead_supervisors(self.store, job_ids)
        pending = False
        for job_id in job_ids:
            tasks = self.store.tasks(job_id)
            result[job_id] = JobStatus(job_id, tasks)
            pending = pending or any(t.state is JobState.PENDING for t in tasks)
        if pending:
            ensure_runner(self.store.path)  # a runner may have been killed: the queue must still move
        return result

    def cancel(self, job_ids: Sequence[str]) -> None:
        supervisors: List[int] = []
        with self.store.transaction() as db:
            for job_id in job_ids:
                base, _, task = job_id.partition("_")
                if task and not task.isdigit():
                    raise JobError(f"{job_id!r} is not a job id", "use ID, or ID_TASK for one array task")
                where, params = ("job_id = ?", [base]) if not task else ("job_id = ? AND task = ?", [base, int(task)])
                db.execute(
                    f"UPDATE tasks SET state = 'CANCELLED', reason = 'cancelled before it started', "
                    f"ended = ? WHERE {where} AND state = 'PENDING'",
                    [time.time(), *params],
                )
                rows = db.execute(f"SELECT pid FROM tasks WHERE {where} AND state = 'RUNNING'", params).fetchall()
                supervisors += [pid for (pid,) in rows if pid]
        for pid in supervisors:
            if is_supervisor(pid):
                with ignore_missing_process():
                    os.kill(pid, signal.SIGTERM)
        self.store.refresh_summary({job_id.partition("_")[0] for job_id in job_ids})
        wake_runner(self.store.path)


def _short_hostname() -> str:
    import socket

    return socket.gethostname().split(".")[0]


def script_path(directory: Path, job_id: str) -> Path:
    return directory / "scripts" / f"{job_id}.sh"


def write_script(directory: Path, job_id: str, text: str) -> Path:
    """The job's script as a file (from its record; array tasks share one, replaced atomically)."""
    path = script_path(directory, job_id)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(text)
        os.replace(partial, path)
    return path


# ------------------------------------------------------------------------------------------- runner


def lock_path(store_path: Path) -> Path:
    return store_path.parent / "runner.lock"


def _runner_pid(store_path: Path) -> Optional[int]:
    try:
        text = (store_path.parent / "runner.pid").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def runner_alive(store_path: Path) -> bool:
    path = lock_path(store_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def wake_runner(store_path: Path) -> None:
    pid = _runner_pid(store_path)
    if pid:
        with ignore_missing_process():
            os.kill(pid, signal.SIGUSR1)


def ensure_runner(store_path: Path) -> None:
    """Start the runner unless one holds the lock; either way, wake it to look at the queue now."""
    if runner_alive(store_path):
        wake_runner(store_path)
        return
    # The runner imports roost from wherever this process did (a source checkout works too).
    package_root = str(Path(__file__).resolve().parents[2])
    environ = dict(os.environ)
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, environ.get("PYTHONPATH")]))
    spawn_detached(
        [sys.executable, "-m", "roost.jobs.runner", str(store_path)],
        log=store_path.parent / "runner.log",
        environ=environ,
    )


def spawn_detached(argv: List[str], log: Path, environ: Mapping[str, str]) -> None:
    """Double fork + setsid: the process is nobody's child, so it outlives us and leaves no zombie.
    It runs in / so that it keeps no directory of ours busy."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.setsid()
            if os.fork() != 0:
                os._exit(0)
            null = os.open(os.devnull, os.O_RDWR)
            log_fd = os.open(str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(null, 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.chdir("/")
            os.execve(argv[0], argv, environ)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


def fail_if_still_running(store: Store, key: Tuple[str, int], pid: int, seen_by: str = "") -> None:
    """A supervisor that exits without recording an end crashed: say so instead of RUNNING forever."""
    row = (
        store.connection()
        .execute("SELECT state, pid FROM tasks WHERE job_id = ? AND task = ?", (key[0], key[1]))
        .fetchone()
    )
    if row is None or row[0] not in ("RUNNING", "PENDING") or row[1] not in (pid, None):
        return  # the usual case: the supervisor recorded the end itself
    with store.transaction() as db:
        changed = db.execute(
            f"UPDATE tasks SET state = 'NODE_FAIL', reason = 'the supervisor died{seen_by}', ended = ?"
            " WHERE job_id = ? AND task = ? AND state IN ('RUNNING', 'PENDING') AND (pid = ? OR pid IS NULL)",
            (time.time(), key[0], key[1], pid),
        ).rowcount
    if changed:
        store.refresh_summary([key[0]])


def fail_dead_supervisors(store: Store, job_ids: Sequence[str]) -> None:
    db = store.connection()
    dead: List[Tuple[str, int, int]] = []
    for job_id in job_ids:
        for task, pid in db.execute("SELECT task, pid FROM tasks WHERE job_id = ? AND state = 'RUNNING'", (job_id,)):
            if pid and not is_supervisor(pid):
                dead.append((job_id, task, pid))
    for job_id, task, pid in dead:
        fail_if_still_running(store, (job_id, task), pid, " (status)")
