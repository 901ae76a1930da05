"""The Slurm backend: sbatch, squeue, scancel, and sacct when accounting is on.

Polling is polite: one ``squeue --json`` call answers for every job asked about (22.05 ignores filters
with --json, so roost filters; newer versions honour ``--me``), jobs already known to be finished are never
asked about again, and ``wait`` backs off (see :func:`roost.jobs.api.wait`).  Jobs that slurmctld has
forgotten (after MinJobAge) are looked up with one ``sacct`` call when accounting is enabled.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from roost import paths
from roost.errors import JobError
from roost.jobs.backend import JobState, JobStatus, TaskStatus, exit_code_from_wait_status
from roost.jobs.script import header_holds_workdir
from roost.jobs.spec import JobSpec
from roost.jobs.store import Store

SUBMIT_TIMEOUT = 60
QUERY_TIMEOUT = 60

# Slurm's many states, folded into roost's eight.
_STATE_MAP: Dict[str, JobState] = {
    "PENDING": JobState.PENDING,
    "REQUEUED": JobState.PENDING,
    "REQUEUE_FED": JobState.PENDING,
    "REQUEUE_HOLD": JobState.PENDING,
    "RESV_DEL_HOLD": JobState.PENDING,
    "SPECIAL_EXIT": JobState.PENDING,
    "CONFIGURING": JobState.RUNNING,
    "RUNNING": JobState.RUNNING,
    "COMPLETING": JobState.RUNNING,
    "SUSPENDED": JobState.RUNNING,
    "STOPPED": JobState.RUNNING,
    "SIGNALING": JobState.RUNNING,
    "STAGE_OUT": JobState.RUNNING,
    "RESIZING": JobState.RUNNING,
    "COMPLETED": JobState.COMPLETED,
    "FAILED": JobState.FAILED,
    "BOOT_FAIL": JobState.NODE_FAIL,
    "DEADLINE": JobState.TIMEOUT,
    "CANCELLED": JobState.CANCELLED,
    "REVOKED": JobState.CANCELLED,
    "PREEMPTED": JobState.CANCELLED,
    "TIMEOUT": JobState.TIMEOUT,
    "OUT_OF_MEMORY": JobState.OUT_OF_MEMORY,
    "NODE_FAIL": JobState.NODE_FAIL,
}


def map_state(slurm_state: str) -> JobState:
    word = slurm_state.split()[0].rstrip("+") if slurm_state.strip() else "PENDING"
    return _STATE_MAP.get(word, JobState.FAILED if word else JobState.PENDING)


class SlurmBackend:
    name = "slurm"
    records_states = False

    def __init__(self, store: Store, environ: Optional[Mapping[str, str]] = None) -> None:
        self.store = store
        self.environ = dict(os.environ if environ is None else environ)
        self.queries = 0  # scheduler calls made, for tests and benchmarks that count them
        self._accounting: Optional[bool] = None

    def available(self) -> bool:
        return paths.which("sbatch", self.environ.get("PATH", "")) is not None

    def launcher(self) -> str:
        return "slurm"

    def _run(
        self,
        argv: List[str],
        *,
        timeout: int,
        stdin: str = "",
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> subprocess.CompletedProcess[str]:
        self.queries += 1
        try:
            return subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                env=self.environ if env is None else env,
                cwd=cwd,
                timeout=timeout,
            )
        except FileNotFoundError as exc:
            raise JobError(f"{argv[0]} is not on PATH", "load Slurm's module, or use --backend local") from exc
        except subprocess.TimeoutExpired as exc:
            raise JobError(
                f"{argv[0]} did not answer within {timeout} s",
                "the Slurm controller may be down; try again later or ask your admins",
            ) from exc

    # -- submit

    def submit(self, spec: JobSpec, script: str, job_id: Optional[str] = None) -> str:
        workdir = spec.workdir or os.getcwd()
        self.store.check_writable()  # a job Slurm runs but roost cannot record would be lost to roost
        if spec.script is not None:
            done = self._submit_user_script(spec, script, workdir)
        else:
            # The script goes on stdin: sbatch stores it with the job, so no file needs to outlive the call.
            # A directory no #SBATCH line can name is the job's directory by being sbatch's own.
            cwd = None if header_holds_workdir(spec) else workdir
            done = self._run(
                ["sbatch", "--parsable"], timeout=SUBMIT_TIMEOUT, stdin=script, cwd=cwd, env=self._sbatch_environ()
            )
        if done.returncode != 0:
            message = done.stderr.strip().replace("sbatch: error: ", "") or f"sbatch exited with {done.returncode}"
            raise JobError(f"Slurm refused the job: {message}", _sbatch_hint(message))
        native = done.stdout.strip().split(";")[0]
        try:
            return self.store.add(
                backend=self.name, native_id=native, spec=spec, script=script, workdir=workdir, job_id=native
            )
        except JobError as exc:  # all or nothing: the job goes again
            self._run(["scancel", native], timeout=QUERY_TIMEOUT)
            raise JobError(f"{exc.message} (Slurm job {native} was cancelled again)", exc.hint) from exc

    def _sbatch_environ(self) -> Dict[str, str]:
        """sbatch's environment without the SBATCH_* variables roost resolved into the job (roost submit merged
        them under its command line): they would override the script's #SBATCH lines, and with them the
        command line's options and what roost recorded."""
        from roost.jobs.directives import INPUT_VARIABLES

        return {name: value for name, value in self.environ.items() if name not in INPUT_VARIABLES}

    def _submit_user_script(self, spec: JobSpec, script: str, workdir: str) -> subprocess.CompletedProcess[str]:
        """A user's script goes to sbatch as a file named as the user's (its arguments follow it), with roost's
        resolved options on the command line; sbatch copies the file, so it is removed right after."""
        import shutil
        import tempfile

        from roost.jobs.userscript import sbatch_arguments

        directory = tempfile.mkdtemp(prefix="roost-")
        path = os.path.join(directory, os.path.basename(spec.script_name or "") or "script.sh")
        try:
            with open(path, "w", encoding="utf-8") as file:
                file.write(script)
            argv = ["sbatch", "--parsable", *sbatch_arguments(spec), path, *spec.script_args]
            return self._run(argv, timeout=SUBMIT_TIMEOUT, cwd=workdir, env=self._sbatch_environ())
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    # -- status

    def status(self, job_ids: Sequence[str]) -> Dict[str, JobStatus]:
        if not job_ids:
            return {}
        found = self._squeue(job_ids)
        missing = [j for j in job_ids if j not in found]
        if missing and self._has_accounting():
            found.update(self._sacct(missing))
        return found

    def _squeue(self, job_ids: Sequence[str]) -> Dict[str, JobStatus]:
        wanted = set(job_ids)
        done = self._run(
            ["squeue", "--json", "--me", "-t", "all", "--jobs", ",".join(sorted(wanted))],
            timeout=QUERY_TIMEOUT,
        )
        if done.returncode != 0:
            if "Invalid job id" in done.stderr:  # versions that filter --json: every job asked for is gone
                return {}
            raise JobError(f"squeue failed: {done.stderr.strip()}", "check that Slurm is reachable: sinfo")
        try:
            jobs = json.loads(done.stdout).get("jobs", [])
        except ValueError as exc:
            raise JobError(
                "squeue --json printed something that is not JSON", "this needs Slurm 21.08 or later"
            ) from exc
        result: Dict[str, JobStatus] = {}
        for job in jobs:
            key, task = _job_key(job)
            if key not in wanted:
                continue
            status = result.setdefault(key, JobStatus(key))
            status.tasks.extend(_tasks_of(job, task))
        for status in result.values():
            status.tasks.sort(key=lambda t: -1 if t.task is None else t.task)
        return result

    def _has_accounting(self) -> bool:
        if self._accounting is None:
            if not paths.which("sacct", self.environ.get("PATH", "")):
                self._accounting = False
            else:
                done = self._run(["sacct", "-n", "-X", "-j", "1", "-o", "JobID"], timeout=QUERY_TIMEOUT)
                self._accounting = done.returncode == 0 and "disabled" not in done.stderr
        return self._accounting

    def _sacct(self, job_ids: Sequence[str]) -> Dict[str, JobStatus]:
        """States of jobs slurmctld no longer lists, from the accounting database, in one call.

        One line per job or array task (``123``, ``123_4``; the not-yet-started rest of an array is one
        line, ``123_[5-9%2]``), then its steps (``123_4.batch``...).  ExitCode reads ``exit:signal``; a
        signal counts as 128 + signal, as in squeue's answers.  A cancelled or timed-out job's own line says
        0:0, so its batch step's code is used then (squeue reports that one too).  Reason is only a pending
        reason: finished jobs keep a stale one, so it is dropped.
        """
        done = self._run(
            ["sacct", "-n", "-P", "-o", "JobID,State,ExitCode,Reason", "-j", ",".join(job_ids)],
            timeout=QUERY_TIMEOUT,
        )
        if done.returncode != 0:
            # Not "forgotten": an unreachable slurmdbd must not turn every job into an unknown end.
            raise JobError(
                f"sacct failed: {done.stderr.strip() or f'exit code {done.returncode}'}",
                "Slurm's accounting daemon (slurmdbd) may be down; try again later or ask your admins",
            )
        from roost.jobs.spec import ArraySpec

        def exit_code(text: str) -> int:
            exit_status, _, signal_text = text.partition(":")
            signal = int(signal_text) if signal_text.isdigit() else 0
            return 128 + signal if signal else int(exit_status or 0)

        lines = [line.split("|") for line in done.stdout.splitlines()]
        batch_codes = {
            parts[0][: -len(".batch")]: exit_code(parts[2])
            for parts in lines
            if len(parts) >= 4 and parts[0].endswith(".batch")
        }
        result: Dict[str, JobStatus] = {}
        for parts in lines:
            if len(parts) < 4 or "." in parts[0]:
                continue  # steps: only the batch step's exit code matters, read above
            job_text, state_text, exit_text, reason = parts[:4]
            job, _, task_text = job_text.partition("_")
            state = map_state(state_text)
            code = (exit_code(exit_text) or batch_codes.get(job_text, 0)) if state.finished else None
            code = _same_oom_code(state, code)
            reason = "" if state.finished or reason == "None" else reason
            if task_text.startswith("["):
                tasks: List[Optional[int]] = list(ArraySpec.parse(task_text.strip("[]")).indices)
            else:
                tasks = [int(task_text) if task_text.isdigit() else None]
            result.setdefault(job, JobStatus(job)).tasks.extend(TaskStatus(t, state, code, reason) for t in tasks)
        for status in result.values():
            status.tasks.sort(key=lambda t: -1 if t.task is None else t.task)
        return result

    # -- cancel

    def cancel(self, job_ids: Sequence[str]) -> None:
        if not job_ids:
            return
        done = self._run(["scancel", *job_ids], timeout=QUERY_TIMEOUT)
        if done.returncode != 0 and "already completing or completed" not in done.stderr:
            raise JobError(f"scancel failed: {done.stderr.strip()}", "check the job ids with: roost jobs")


def _job_key(job: Mapping[str, Any]) -> Tuple[str, Optional[int]]:
    """(roost id, array task) of one squeue entry: array tasks belong to their array job."""
    array_job = job.get("array_job_id") or 0
    if array_job:
        task = job.get("array_task_id")
        return str(array_job), task if isinstance(task, int) else None
    return str(job["job_id"]), None


def _tasks_of(job: Mapping[str, Any], task: Optional[int]) -> List[TaskStatus]:
    slurm_state = str(job.get("job_state", ""))
    state = map_state(slurm_state)
    reason = str(job.get("state_reason") or "")
    reason = "" if reason == "None" else reason
    if slurm_state.startswith("COMPLETING") and not reason:
        # still RUNNING for roost, but ending: after scancel, cgroup clean-up takes a second or two
        reason = "completing: Slurm is ending the job"
    raw_exit = job.get("exit_code")
    code = exit_code_from_wait_status(raw_exit) if isinstance(raw_exit, int) and state.finished else None
    code = _same_oom_code(state, code)
    pending_range = str(job.get("array_task_string") or "")
    if job.get("array_job_id") and task is None and pending_range:
        # The not-yet-started rest of an array is one entry: "5-99%10".
        from roost.jobs.spec import ArraySpec

        indices = ArraySpec.parse(pending_range.split("%")[0]).indices
        return [TaskStatus(i, state, code, reason) for i in indices]
    return [TaskStatus(task, state, code, reason)]


# Slurm ends a job its cgroup killed for memory with exit code 253, its own mark; the processes died of SIGKILL,
# which roost reports as 137 (128 + 9) on every backend, as the local one does.
_SLURM_OOM_EXIT = 253


def _same_oom_code(state: JobState, code: Optional[int]) -> Optional[int]:
    return 128 + 9 if state is JobState.OUT_OF_MEMORY and code == _SLURM_OOM_EXIT else code


def _sbatch_hint(message: str) -> str:
    lowered = message.lower()
    if "partition" in lowered:
        return "list the partitions with: sinfo -s"
    if "account" in lowered:
        return "list your accounts with: sacctmgr show assoc user=$USER format=account"
    if "time limit" in lowered:
        return "lower --time below the partition's limit (sinfo -o '%P %l')"
    if "node configuration" in lowered or "memory" in lowered:
        return "ask for fewer cores, less memory or fewer GPUs than the largest node has (sinfo -N -l)"
    return "fix the option sbatch names above, then submit again"
