"""The local backend's runner and supervisors: ``python -m roost.jobs.runner STORE_PATH``.

* The runner starts tasks first-in first-out within the machine's cores, memory and GPUs and each array's
  ``%limit``; jobs waiting on a dependency or a limit do not hold others back.  It forks a supervisor per
  task and reaps them; everything it knows is in the job store, so a new runner picks up where a killed
  one stopped.
* A supervisor claims its task, starts the script in a new session, enforces the time limit (TIMEOUT),
  kills the whole process tree on ``cancel`` (SIGTERM, then SIGKILL after a grace period), and records
  the exit code and state.  Supervisors do not depend on the runner: killing it loses no job.
"""

from __future__ import annotations

import fcntl
import gc
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from roost.errors import JobError
from roost.jobs.backend import JobState, exit_code_from_wait_status
from roost.jobs.local import (
    Capacity,
    fail_if_still_running,
    lock_path,
    write_script,
)
from roost.jobs.logs import log_path
from roost.jobs.processes import ignore_missing_process, is_supervisor, kill_tree, tree_rss
from roost.jobs.spec import Dependency, JobSpec, format_time
from roost.jobs.store import NO_TASK, JobRecord, Store

KILL_GRACE_SECONDS = 2.0
RUNNER_IDLE_SECONDS = 1.0
RUNNER_POLL_SECONDS = 0.5
MEMORY_POLL_SECONDS = 0.25  # jobs that ask for memory have their process tree's RSS checked this often


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
        from roost.jobs.shims import IN_JOB_COMMANDS, shim_directory

        self.shims = str(shim_directory(IN_JOB_COMMANDS, sys.executable, store_path.parent / "shims"))

    def serve(self) -> None:
        lock = self.lock = open(lock_path(self.store_path), "a")  # noqa: SIM115 - held for life
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
                fail_if_still_running(self.store, key, pid, f" (wait status {wait_status})")

    # -- scheduling

    def _schedule(self) -> bool:
        """Start what fits; True while anything is pending or running."""
        db = self.store.connection()
        running = db.execute("SELECT job_id, task, cpus, mem, gpus, pid FROM tasks WHERE state = 'RUNNING'").fetchall()
        used_cpus, used_memory = 0, 0
        used_gpus: Set[str] = set()
        seen: Set[Tuple[str, int]] = set()
        for job_id, task, cpus, mem, gpus, pid in running:
            if (job_id, task) not in self.launched and pid and not is_supervisor(pid):
                # Left RUNNING by a supervisor that died unrecorded (say, with a runner before a reboot).
                fail_if_still_running(self.store, (job_id, task), pid, " (seen by the runner)")
                continue
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
                code = Supervisor(
                    self.store_path, record, environ, task, gpus, bool(self.capacity.gpus), self.shims
                ).run()
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
        shims: str = "",
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
        self.peak_memory = 0  # bytes, summed over the job's process tree
        self.scratch: Optional[Path] = None
        self.shims = shims

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
        environ.update(slurm_variables(record, task, self.gpus))
        if self.machine_has_gpus:
            environ["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        if self.scratch is not None:
            environ["SLURM_TMPDIR"] = str(self.scratch)
        # srun inside the job starts the job's tasks here (a real srun would ask a controller for nodes)
        environ["PATH"] = os.pathsep.join(filter(None, [self.shims, environ.get("PATH")]))
        for name, value in MPI_ON_ONE_NODE.items():
            environ.setdefault(name, value)
        return environ

    def _run_script(self, record: JobRecord) -> Tuple[JobState, Optional[int], str]:
        self.scratch = self._make_scratch()
        try:
            return self._run_in_scratch(record)
        finally:
            import shutil

            shutil.rmtree(self.scratch, ignore_errors=True)

    def _make_scratch(self) -> Path:
        """A private per-task scratch directory (SLURM_TMPDIR), removed when the task ends."""
        name = self.job_id if self.task == NO_TASK else f"{self.job_id}_{self.task}"
        path = self.store_path.parent / "scratch" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def _run_in_scratch(self, record: JobRecord) -> Tuple[JobState, Optional[int], str]:
        environ = self._environment(record)
        script = write_script(self.store_path.parent, self.job_id, record.script)
        task = None if self.task == NO_TASK else self.task
        out_path, err_path = log_path(record, task, "stdout"), log_path(record, task, "stderr")
        # Truncate, as sbatch's default --open-mode does.
        with open(out_path, "wb") as out:
            err = out if err_path == out_path else open(err_path, "wb")  # noqa: SIM115
            try:
                self.process = subprocess.Popen(
                    self._argv(script),
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
        with ignore_missing_process():
            os.killpg(self.process.pid, signal.SIGKILL)
        code = exit_code_from_wait_status(-returncode if returncode < 0 else returncode << 8)
        if self.outcome is JobState.CANCELLED:
            return JobState.CANCELLED, code, "cancelled"
        if self.outcome is JobState.TIMEOUT:
            return JobState.TIMEOUT, code, f"time limit of {format_time(self.spec.time or 0)} reached"
        if self.outcome is JobState.OUT_OF_MEMORY:
            used, asked = self.peak_memory // (1024 * 1024), self.spec.task_memory
            return JobState.OUT_OF_MEMORY, code, f"used {used} MB, more than the {asked} MB asked for"
        if returncode == 0:
            return JobState.COMPLETED, 0, ""
        reason = f"killed by signal {-returncode}" if returncode < 0 else f"exit code {returncode}"
        return JobState.FAILED, code, reason

    def _argv(self, script: Path) -> List[str]:
        """A user's script runs as written (its #! line picks the interpreter); roost's own with bash."""
        if self.spec.script is None:
            return ["bash", str(script)]
        script.chmod(0o700)
        return [str(script), *self.spec.script_args]

    def _wait(self) -> int:
        assert self.process is not None
        deadline = time.monotonic() + self.spec.time if self.spec.time else None
        memory_limit = self.spec.task_memory * 1024 * 1024  # bytes; 0: the job asked for no memory
        while True:
            now = time.monotonic()
            timeouts = [t - now for t in (deadline if self.outcome is None else None, self.kill_at) if t is not None]
            if memory_limit and self.outcome is None:
                timeouts.append(MEMORY_POLL_SECONDS)
            try:
                return self.process.wait(max(min(timeouts), 0) if timeouts else None)
            except (subprocess.TimeoutExpired, _Interrupted):
                pass
            now = time.monotonic()
            if self.outcome is None and deadline is not None and now >= deadline:
                self._stop(JobState.TIMEOUT)
            elif self.outcome is None and memory_limit and self._over_memory(memory_limit):
                # As a cgroup's OOM killer does: no grace period, the whole tree goes at once.
                self.outcome = JobState.OUT_OF_MEMORY
                kill_tree(self.process.pid, signal.SIGKILL)
            elif self.kill_at is not None and now >= self.kill_at:
                kill_tree(self.process.pid, signal.SIGKILL)
                self.kill_at = None

    def _over_memory(self, limit: int) -> bool:
        assert self.process is not None
        self.peak_memory = max(self.peak_memory, tree_rss(self.process.pid))
        return self.peak_memory > limit

    def _stop(self, outcome: JobState) -> None:
        self.outcome = outcome
        if self.process is not None:
            kill_tree(self.process.pid, signal.SIGTERM)
        self.kill_at = time.monotonic() + KILL_GRACE_SECONDS

    def _on_cancel(self, signum: int, frame: Any) -> None:
        if self.outcome is None:
            self._stop(JobState.CANCELLED)
            raise _Interrupted()


# MPICH's and Open MPI's launchers see SLURM_JOB_ID and would start ranks through srun (here: roost's, which
# would start them through mpiexec again); in a local job they start ranks on this node themselves.
MPI_ON_ONE_NODE = {
    "HYDRA_LAUNCHER": "fork",
    "HYDRA_RMK": "user",
    "OMPI_MCA_plm": "^slurm",
    "OMPI_MCA_ras": "^slurm",
    "PRTE_MCA_plm": "^slurm",
    "PRTE_MCA_ras": "^slurm",
}


def slurm_variables(record: JobRecord, task: Optional[int], gpus: Sequence[str]) -> Dict[str, str]:
    """What Slurm sets in a batch job on one node, for scripts written for Slurm (man sbatch, OUTPUT
    ENVIRONMENT VARIABLES); SLURM_SUBMIT_DIR comes with the job's recorded environment."""
    import socket

    spec = record.spec
    job_id = record.id if task is None else f"{record.id}_{task}"
    node = socket.gethostname().split(".")[0]
    values = {
        "SLURM_JOB_ID": job_id,
        "SLURM_JOBID": job_id,
        "SLURM_JOB_NAME": record.name,
        "SLURM_NTASKS": str(spec.ntasks or 1),
        "SLURM_NPROCS": str(spec.ntasks or 1),
        "SLURM_CPUS_ON_NODE": str(spec.task_cpus),
        "SLURM_JOB_CPUS_PER_NODE": str(spec.task_cpus),
        "SLURM_JOB_NODELIST": node,
        "SLURM_NODELIST": node,
        "SLURMD_NODENAME": node,
        "SLURM_NNODES": "1",
        "SLURM_JOB_NUM_NODES": "1",
        "SLURM_TASKS_PER_NODE": str(spec.ntasks or 1),
        "SLURM_CLUSTER_NAME": "local",
        "SLURM_JOB_PARTITION": "local",
    }
    if spec.cpus_per_task:
        values["SLURM_CPUS_PER_TASK"] = str(spec.cpus_per_task)
    if spec.mem:
        values["SLURM_MEM_PER_NODE"] = str(spec.mem)
    if spec.mem_per_cpu:
        values["SLURM_MEM_PER_CPU"] = str(spec.mem_per_cpu)
    if gpus:
        values["SLURM_GPUS"] = str(len(gpus))
        values["SLURM_JOB_GPUS"] = values["GPU_DEVICE_ORDINAL"] = ",".join(gpus)
    if spec.time:
        values["SLURM_JOB_END_TIME"] = str(int(time.time()) + spec.time)
    if task is not None and spec.array:
        indices = spec.array.indices
        steps = {b - a for a, b in zip(indices, indices[1:])}
        values.update(
            SLURM_ARRAY_JOB_ID=record.id,
            SLURM_ARRAY_TASK_ID=str(task),
            SLURM_ARRAY_TASK_COUNT=str(len(indices)),
            SLURM_ARRAY_TASK_MIN=str(indices[0]),
            SLURM_ARRAY_TASK_MAX=str(indices[-1]),
            SLURM_ARRAY_TASK_STEP=str(steps.pop() if len(steps) == 1 else 1),
        )
    return values


def main(argv: List[str]) -> int:
    if len(argv) == 1:
        Runner(Path(argv[0])).serve()
        return 0
    print("usage: python -m roost.jobs.runner STORE_PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
