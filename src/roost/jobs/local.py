"""The local backend: batch jobs on this machine, without a scheduler daemon to install.

How it works
  * ``submit`` records the job (state PENDING, one row per array task) with the submitter's environment
    and writes the script, then makes sure a *runner* is alive.
  * The runner is one detached process per user (double fork + setsid, so it outlives the CLI; an flock
    keeps it unique).  It starts tasks first-in first-out within the machine's cores, memory and GPUs and
    each array's ``%limit``; jobs waiting on a dependency or a limit do not hold others back.  It exits
    when nothing is pending or running, and is restarted by the next submit or status call.
  * Each task gets a small *supervisor*: a process forked from the runner that claims the task, starts
    the script in a new session, enforces the time limit (TIMEOUT), kills the whole process tree on
    ``cancel`` (SIGTERM, then SIGKILL after a grace period), and records the exit code and state.
    Supervisors do not depend on the runner: killing the runner (or the CLI) loses no job.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from roost import envvars
from roost.errors import JobError
from roost.jobs.backend import JobState, JobStatus, exit_code_from_wait_status
from roost.jobs.logs import log_path
from roost.jobs.spec import Dependency, JobSpec, format_time, parse_memory
from roost.jobs.store import NO_TASK, JobRecord, Store

ID_PREFIX = "L"
KILL_GRACE_SECONDS = 2.0
RUNNER_IDLE_SECONDS = 1.0
RUNNER_POLL_SECONDS = 0.5

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
        cpus_text = environ.get(ROOST_LOCAL_CPUS, "")
        cpus = int(cpus_text) if cpus_text.isdigit() and int(cpus_text) > 0 else _usable_cores()
        memory_text = environ.get(ROOST_LOCAL_MEMORY, "")
        memory = parse_memory(memory_text, ROOST_LOCAL_MEMORY) if memory_text else _physical_memory()
        return cls(cpus, memory, _gpu_ids(environ.get(ROOST_LOCAL_GPUS)))

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
        new_id = self.store.add(
            backend=self.name,
            native_id=None,
            spec=spec,
            script=script,
            workdir=workdir,
            id_prefix=ID_PREFIX,
            environ=self.environ,
        )
        ensure_runner(self.store.path)
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
            if _is_supervisor(pid):
                with _ignore_missing_process():
                    os.kill(pid, signal.SIGTERM)
        self.store.refresh_summary({job_id.partition("_")[0] for job_id in job_ids})
        wake_runner(self.store.path)


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


def _lock_path(store_path: Path) -> Path:
    return store_path.parent / "runner.lock"


def _runner_pid(store_path: Path) -> Optional[int]:
    try:
        text = (store_path.parent / "runner.pid").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def runner_alive(store_path: Path) -> bool:
    lock_path = _lock_path(store_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def wake_runner(store_path: Path) -> None:
    pid = _runner_pid(store_path)
    if pid:
        with _ignore_missing_process():
            os.kill(pid, signal.SIGUSR1)


def ensure_runner(store_path: Path) -> None:
    """Start the runner unless one holds the lock; either way, wake it to look at the queue now."""
    if runner_alive(store_path):
        wake_runner(store_path)
        return
    spawn_detached(
        [sys.executable, "-m", "roost.jobs.local", "runner", str(store_path)],
        log=store_path.parent / "runner.log",
    )


def spawn_detached(argv: List[str], log: Path) -> None:
    """Double fork + setsid: the process is nobody's child, so it outlives us and leaves no zombie."""
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
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    os.waitpid(pid, 0)


class Runner:
    """The per-user queue: starts tasks when they fit, forks a supervisor for each."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.store = Store(store_path)
        self.capacity = Capacity.detect(os.environ)
        self.children: Dict[int, Tuple[str, int]] = {}  # supervisor pid -> (job id, task)
        self.launched: Dict[Tuple[str, int], Tuple[int, int, Tuple[str, ...]]] = {}  # cpus, mem, gpus
        self.jobs: Dict[str, Tuple[JobRecord, Dict[str, str]]] = {}
        self.wakeup_read = -1
        self.wakeup_write = -1
        self.lock: Optional[Any] = None

    def serve(self) -> None:
        lock = self.lock = open(_lock_path(self.store_path), "a")  # noqa: SIM115 - held for life
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # another runner has the queue
        (self.store_path.parent / "runner.pid").write_text(str(os.getpid()))
        self._install_signals()
        gc.freeze()  # objects alive now are never collected: forked supervisors copy fewer pages
        idle_since: Optional[float] = None
        while True:
            self._reap()
            busy = self._schedule()
            if busy or self.children:
                idle_since = None
            else:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since >= RUNNER_IDLE_SECONDS and self._retire(lock):
                    return
            self._sleep(RUNNER_POLL_SECONDS)

    def _retire(self, lock: Any) -> bool:
        """Give up the lock, then look once more: a submit that saw the lock held relies on this."""
        fcntl.flock(lock, fcntl.LOCK_UN)
        if not self._has_work():
            return True
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True  # a new runner took over
        (self.store_path.parent / "runner.pid").write_text(str(os.getpid()))
        return False

    def _has_work(self) -> bool:
        row = (
            self.store.connection()
            .execute("SELECT COUNT(*) FROM tasks WHERE state IN ('PENDING', 'RUNNING')")
            .fetchone()
        )
        return bool(row[0])

    def _install_signals(self) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        os.set_blocking(write_fd, False)
        self.wakeup_read, self.wakeup_write = read_fd, write_fd
        signal.set_wakeup_fd(write_fd)
        for signum in (signal.SIGCHLD, signal.SIGUSR1):
            signal.signal(signum, lambda *_: None)

    def _sleep(self, seconds: float) -> None:
        try:
            select.select([self.wakeup_read], [], [], seconds)
            os.read(self.wakeup_read, 4096)
        except (BlockingIOError, InterruptedError):
            pass

    def _reap(self) -> None:
        while self.children:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            key = self.children.pop(pid, None)
            if key is not None:
                self.launched.pop(key, None)
                _fail_if_still_running(self.store, key, pid, f" (wait status {wait_status})")

    # -- scheduling

    def _schedule(self) -> bool:
        """Start what fits; True while anything is pending or running."""
        db = self.store.connection()
        running = db.execute("SELECT job_id, task, cpus, mem, gpus, pid FROM tasks WHERE state = 'RUNNING'").fetchall()
        used_cpus, used_memory = 0, 0
        used_gpus: Set[str] = set()
        seen: Set[Tuple[str, int]] = set()
        for job_id, task, cpus, mem, gpus, _pid in running:
            seen.add((job_id, task))
            used_cpus += cpus
            used_memory += mem
            used_gpus.update(g for g in gpus.split(",") if g)
        for key, (cpus, mem, gpus) in self.launched.items():
            if key not in seen:
                used_cpus += cpus
                used_memory += mem
                used_gpus.update(gpus)
        # A job with a pending task is itself PENDING or RUNNING (its summary state), so scan jobs, not tasks.
        waiting = [
            job_id
            for (job_id,) in db.execute(
                "SELECT id FROM jobs WHERE backend = 'local' AND state IN ('PENDING', 'RUNNING') ORDER BY seq"
            )
        ]
        if not waiting:
            return bool(running)
        for job_id in waiting:
            spec = self._spec(job_id)
            verdict = dependency_verdict(self.store, spec.dependency, spec.name, job_id)
            if verdict is False:
                self._cancel_pending(job_id, "DependencyNeverSatisfied")
                continue
            if verdict is None:
                continue
            try:
                self.capacity.check_fits(spec)
            except JobError as exc:  # this runner was started with a smaller machine than the submit saw
                self._cancel_pending(job_id, exc.message)
                continue
            slots = self._array_slots(job_id, spec, running)
            for task in self._pending_tasks(job_id, slots):
                if (
                    used_cpus + spec.task_cpus > self.capacity.cpus
                    or used_memory + spec.task_memory > self.capacity.memory
                    or len(used_gpus) + spec.task_gpus > len(self.capacity.gpus)
                ):
                    return True  # first in, first out: nothing overtakes a job that does not fit yet
                gpus = tuple(g for g in self.capacity.gpus if g not in used_gpus)[: spec.task_gpus]
                self._launch(job_id, task, spec, gpus)
                used_cpus += spec.task_cpus
                used_memory += spec.task_memory
                used_gpus.update(gpus)
        return True

    def _spec(self, job_id: str) -> JobSpec:
        return self._job(job_id)[0].spec

    def _job(self, job_id: str) -> Tuple[JobRecord, Dict[str, str]]:
        """A job's record and environment, read once: every task of an array shares them."""
        if job_id not in self.jobs:
            record = self.store.get(job_id, with_tasks=False)
            self.jobs[job_id] = (record, self.store.get_environ(job_id) or dict(os.environ))
        return self.jobs[job_id]

    def _array_slots(self, job_id: str, spec: JobSpec, running: Sequence[Tuple[Any, ...]]) -> Optional[int]:
        if not spec.array or not spec.array.limit:
            return None
        active = {row[1] for row in running if row[0] == job_id}
        active |= {task for (jid, task) in self.launched if jid == job_id}
        return max(spec.array.limit - len(active), 0)

    def _pending_tasks(self, job_id: str, slots: Optional[int]) -> List[int]:
        if slots == 0:
            return []
        rows = (
            self.store.connection()
            .execute(
                "SELECT task FROM tasks WHERE job_id = ? AND state = 'PENDING' ORDER BY task LIMIT ?",
                (job_id, slots if slots is not None else self.capacity.cpus + 1),
            )
            .fetchall()
        )
        return [task for (task,) in rows if (job_id, task) not in self.launched]

    def _cancel_pending(self, job_id: str, reason: str) -> None:
        """End the job's pending tasks that can never start, with the reason."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE tasks SET state = 'CANCELLED', reason = ?, ended = ? WHERE job_id = ? AND state = 'PENDING'",
                (reason, time.time(), job_id),
            )
        self.store.refresh_summary([job_id])

    def _detach_from_runner(self) -> None:
        """In a fresh supervisor: drop the runner's lock and wake-up pipe (closing, not unlocking)."""
        signal.set_wakeup_fd(-1)
        for fd in (self.wakeup_read, self.wakeup_write, self.lock.fileno() if self.lock else -1):
            if fd >= 0:
                os.close(fd)

    def _launch(self, job_id: str, task: int, spec: JobSpec, gpus: Tuple[str, ...]) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the supervisor
            code = 1
            try:
                gc.disable()  # a short-lived child: collecting would only touch (and copy) shared pages
                self._detach_from_runner()
                record, environ = self._job(job_id)
                code = Supervisor(self.store_path, record, environ, task, gpus, bool(self.capacity.gpus)).run()
            except BaseException:
                traceback.print_exc()  # into runner.log; the task becomes NODE_FAIL when the runner reaps us
                sys.stderr.flush()
            finally:
                os._exit(code)
        self.children[pid] = (job_id, task)
        self.launched[(job_id, task)] = (spec.task_cpus, spec.task_memory, gpus)


def dependency_verdict(store: Store, dependency: Optional[Dependency], name: str, job_id: str) -> Optional[bool]:
    """True when the job may start, None while it must wait, False when it never can."""
    if dependency is None:
        return True
    verdicts = [_condition_verdict(store, kind, ids, name, job_id) for kind, ids in dependency.conditions]
    if dependency.any_of:
        return True if True in verdicts else (None if None in verdicts else False)
    return False if False in verdicts else (None if None in verdicts else True)


def _condition_verdict(store: Store, kind: str, ids: Sequence[str], name: str, job_id: str) -> Optional[bool]:
    db = store.connection()
    if kind == "singleton":
        row = db.execute(
            "SELECT COUNT(*) FROM jobs WHERE name = ? AND state = 'RUNNING' AND id != ? AND backend = 'local'",
            (name, job_id),
        ).fetchone()
        return None if row[0] else True
    verdict: Optional[bool] = True
    for other in ids:
        row = db.execute("SELECT state FROM jobs WHERE id = ?", (other.split("_")[0],)).fetchone()
        if row is None:
            return False
        state = JobState(row[0])
        if kind == "after":
            ok: Optional[bool] = True if state is not JobState.PENDING else None
        elif not state.finished:
            ok = None
        elif kind == "afterany":
            ok = True
        elif kind == "afternotok":
            ok = state is not JobState.COMPLETED
        else:  # afterok, aftercorr
            ok = state is JobState.COMPLETED
        if ok is False:
            return False
        if ok is None:
            verdict = None
    return verdict


# --------------------------------------------------------------------------------------- supervisor


class _Interrupted(Exception):
    pass


class Supervisor:
    """Runs one task to the end and records how it ended."""

    def __init__(
        self,
        store_path: Path,
        record: JobRecord,
        environ: Dict[str, str],
        task: int,
        gpus: Tuple[str, ...],
        machine_has_gpus: bool,
    ) -> None:
        self.store_path = store_path
        self.record = record
        self.environ = environ
        self.job_id = record.id
        self.task = task
        self.spec = record.spec
        self.gpus = gpus
        self.machine_has_gpus = machine_has_gpus
        self.outcome: Optional[JobState] = None
        self.kill_at: Optional[float] = None
        self.process: Optional[subprocess.Popen[bytes]] = None

    def run(self) -> int:
        for signum in (signal.SIGCHLD, signal.SIGUSR1):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, self._on_cancel)
        store = Store(self.store_path, initialise=False)
        if not self._claim(store):
            return 0
        try:
            state, exit_code, reason = self._run_script(self.record)
        except OSError as exc:
            state, exit_code, reason = JobState.FAILED, 1, f"could not start: {exc}"
        store.finish_task(self.job_id, self.task, state, exit_code, reason)
        store.close()
        return 0

    def _claim(self, store: Store) -> bool:
        with store.transaction() as db:
            claimed = db.execute(
                "UPDATE tasks SET state = 'RUNNING', pid = ?, started = ?, gpus = ? "
                "WHERE job_id = ? AND task = ? AND state = 'PENDING'",
                (os.getpid(), time.time(), ",".join(self.gpus), self.job_id, self.task),
            ).rowcount
            if claimed:
                db.execute("UPDATE jobs SET state = 'RUNNING' WHERE id = ? AND state = 'PENDING'", (self.job_id,))
        return bool(claimed)

    def _environment(self, record: JobRecord) -> Dict[str, str]:
        environ = dict(self.environ)
        task = None if self.task == NO_TASK else self.task
        environ["ROOST_JOB_ID"] = self.job_id if task is None else f"{self.job_id}_{task}"
        environ["ROOST_JOB_NAME"] = record.name
        environ["ROOST_CPUS"] = str(self.spec.task_cpus)
        if task is not None:
            environ["ROOST_ARRAY_JOB_ID"] = self.job_id
            environ["ROOST_ARRAY_TASK_ID"] = str(task)
            environ["SLURM_ARRAY_TASK_ID"] = str(task)  # scripts written for Slurm read this one
        if self.machine_has_gpus:
            environ["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        return environ

    def _run_script(self, record: JobRecord) -> Tuple[JobState, Optional[int], str]:
        environ = self._environment(record)
        script = write_script(self.store_path.parent, self.job_id, record.script)
        task = None if self.task == NO_TASK else self.task
        out_path, err_path = log_path(record, task, "stdout"), log_path(record, task, "stderr")
        # Truncate, as sbatch's default --open-mode does.
        with open(out_path, "wb") as out:
            err = out if err_path == out_path else open(err_path, "wb")  # noqa: SIM115
            try:
                self.process = subprocess.Popen(
                    ["bash", str(script)],
                    cwd=record.workdir,
                    env=environ,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                )
            finally:
                if err is not out:
                    err.close()
        returncode = self._wait()
        # Nothing of a finished job keeps running: its process group goes (the pid itself is reaped, so
        # only the group is signalled; cancel and timeout also walk /proc for escaped descendants).
        with _ignore_missing_process():
            os.killpg(self.process.pid, signal.SIGKILL)
        code = exit_code_from_wait_status(-returncode if returncode < 0 else returncode << 8)
        if self.outcome is JobState.CANCELLED:
            return JobState.CANCELLED, code, "cancelled"
        if self.outcome is JobState.TIMEOUT:
            return JobState.TIMEOUT, code, f"time limit of {format_time(self.spec.time or 0)} reached"
        if returncode == 0:
            return JobState.COMPLETED, 0, ""
        reason = f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
        return JobState.FAILED, code, reason

    def _wait(self) -> int:
        assert self.process is not None
        deadline = time.monotonic() + self.spec.time if self.spec.time else None
        while True:
            now = time.monotonic()
            timeouts = [t - now for t in (deadline if self.outcome is None else None, self.kill_at) if t is not None]
            try:
                return self.process.wait(max(min(timeouts), 0) if timeouts else None)
            except (subprocess.TimeoutExpired, _Interrupted):
                pass
            now = time.monotonic()
            if self.outcome is None and deadline is not None and now >= deadline:
                self._stop(JobState.TIMEOUT)
            elif self.kill_at is not None and now >= self.kill_at:
                kill_tree(self.process.pid, signal.SIGKILL)
                self.kill_at = None

    def _stop(self, outcome: JobState) -> None:
        self.outcome = outcome
        if self.process is not None:
            kill_tree(self.process.pid, signal.SIGTERM)
        self.kill_at = time.monotonic() + KILL_GRACE_SECONDS

    def _on_cancel(self, signum: int, frame: Any) -> None:
        if self.outcome is None:
            self._stop(JobState.CANCELLED)
            raise _Interrupted()


def kill_tree(root: int, signum: int) -> None:
    """Signal a process, its process group and every descendant found in /proc."""
    targets = [root, *_descendants(root)]
    with _ignore_missing_process():
        os.killpg(root, signum)
    for pid in targets:
        with _ignore_missing_process():
            os.kill(pid, signum)


def _descendants(root: int) -> List[int]:
    children: Dict[int, List[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        parent = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: List[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class _ignore_missing_process:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return isinstance(value, ProcessLookupError) or (
            isinstance(value, PermissionError) and value.errno == errno.EPERM
        )


def _is_supervisor(pid: int) -> bool:
    """Guard against a recycled pid: only signal a process that is one of our supervisors."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"roost.jobs.local" in handle.read()
    except FileNotFoundError:
        return False
    except OSError:
        return True  # no /proc (macOS): trust the record


def _fail_if_still_running(store: Store, key: Tuple[str, int], pid: int, seen_by: str = "") -> None:
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
            if pid and not _is_supervisor(pid):
                dead.append((job_id, task, pid))
    for job_id, task, pid in dead:
        _fail_if_still_running(store, (job_id, task), pid, " (status)")


def main(argv: List[str]) -> int:
    if len(argv) == 2 and argv[0] == "runner":
        Runner(Path(argv[1])).serve()
        return 0
    print("usage: python -m roost.jobs.local runner STORE_PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
