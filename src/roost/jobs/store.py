"""Job records: a small SQLite database in the user data dir, safe under concurrent CLI calls.

Every write is one ``BEGIN IMMEDIATE`` transaction (writers queue on SQLite's lock, with a generous busy
timeout), so fifty ``roost submit`` processes at once each get their own record and id.  The local
backend keeps its queue here too: one row per task with its state, resources and supervisor pid.
WAL mode keeps readers (``roost jobs``) from blocking writers, but its index lives in memory shared only
by processes on one host: on a file system that other hosts mount too (a cluster's NFS or GPFS home, where the
default data dir is, used from several login nodes) the database uses a rollback journal, whose file locks
those file systems honour.  The choice is made when the database is created.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from roost.errors import JobError
from roost.jobs.backend import JobState, JobStatus, TaskStatus
from roost.jobs.spec import JobSpec

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE,
    backend TEXT NOT NULL,
    native_id TEXT,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    workdir TEXT NOT NULL,
    script TEXT NOT NULL,
    submitted REAL NOT NULL,
    state TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    environ TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
    job_id TEXT NOT NULL,
    task INTEGER NOT NULL,
    state TEXT NOT NULL,
    exit_code INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    pid INTEGER,
    started REAL,
    ended REAL,
    cpus INTEGER NOT NULL DEFAULT 1,
    mem INTEGER NOT NULL DEFAULT 0,
    gpus TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, task)
);
CREATE INDEX IF NOT EXISTS tasks_by_state ON tasks (state);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state);
"""

SCHEMA_VERSION = 1  # PRAGMA user_version once SCHEMA is in place
NO_TASK = -1  # the task index of a job that is not an array


@dataclass
class JobRecord:
    id: str
    backend: str
    native_id: str
    name: str
    spec: JobSpec
    workdir: str
    script: str
    submitted: float
    state: JobState
    exit_code: Optional[int] = None
    reason: str = ""
    tasks: List[TaskStatus] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state.finished

    def status(self) -> JobStatus:
        return JobStatus(self.id, list(self.tasks))

    def to_json(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "backend": self.backend,
            "native_id": self.native_id,
            "name": self.name,
            "state": self.state.value,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "submitted": self.submitted,
            "workdir": self.workdir,
            "tasks": [
                {"task": t.task, "state": t.state.value, "exit_code": t.exit_code, "reason": t.reason}
                for t in self.tasks
            ],
            "spec": self.spec.to_json(),
        }


def default_path() -> str:
    from roost import paths

    return os.path.join(paths.data_dir_text(), "jobs", "jobs.sqlite")


class Store:
    """The job database.  Open one per process; a forked child must open its own."""

    def __init__(self, path: Optional[Path] = None, *, initialise: bool = True, journal: str = "auto") -> None:
        """``journal``: "wal", "delete" (a rollback journal), or "auto" (wal unless other hosts share the
        file system); it applies when the database is created."""
        self._path = os.fspath(path) if path else default_path()
        self._connection: Optional[sqlite3.Connection] = None
        self._needs_schema = initialise  # processes started after the schema exists (supervisors) skip it
        self._journal = journal
        self._read_only_because: Optional[Exception] = None

    @property
    def path(self) -> Path:
        return Path(self._path)

    @property
    def directory(self) -> Path:
        return self.path.parent

    def connection(self) -> sqlite3.Connection:
        if self._connection is None:
            try:
                if self._needs_schema:
                    _create_private(self._path)
                connection = sqlite3.connect(self._path, timeout=60, isolation_level=None)
                connection.execute("PRAGMA busy_timeout = 60000")
                # In WAL mode NORMAL syncs at checkpoints, not at every commit: safe against crashes of roost
                # (not of the machine), and it keeps a 1,000-task array from waiting on 2,000 fsyncs.
                connection.execute("PRAGMA synchronous = NORMAL")
                if self._needs_schema:
                    self._initialise(connection)
            except (OSError, sqlite3.Error) as exc:  # a read-only HOME, a full disk, a file that is no database
                connection = _open_for_reading(self._path, exc)
                self._read_only_because = exc  # what a write will report
            self._connection = connection
        return self._connection

    def _initialise(self, connection: sqlite3.Connection) -> None:
        # The schema is written once (a write transaction); later processes read its version and go on.
        if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        mode = self._journal_mode_for_new_database()
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != mode:
            _retry_locked(lambda: connection.execute(f"PRAGMA journal_mode = {mode}"))
        with _Transaction(connection, self._path, None):
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _journal_mode_for_new_database(self) -> str:
        if self._journal != "auto":
            return self._journal
        from roost import fs

        return "delete" if fs.is_shared(os.path.dirname(self._path)) else "wal"

    def journal_mode(self) -> str:
        """The journal mode the database uses: "wal" or "delete"."""
        return str(self.connection().execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def transaction(self) -> _Transaction:
        """``with store.transaction() as db:`` one BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any exception).
        A database that cannot be written (a full disk, a read-only HOME) raises JobError, having changed
        nothing."""
        connection = self._connection if self._connection is not None else self.connection()
        return _Transaction(connection, self._path, self._read_only_because)

    def check_writable(self) -> None:
        """Raise JobError now if a record could not be written (before anything is submitted)."""
        with self.transaction() as db:
            db.execute("DELETE FROM jobs WHERE 0")  # takes the write lock, writes nothing

    # ------------------------------------------------------------------------------------- records

    def add(
        self,
        *,
        backend: str,
        native_id: Optional[str],
        spec: JobSpec,
        script: str,
        workdir: str,
        job_id: Optional[str] = None,
        id_prefix: str = "",
        environ: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Record a new job with its tasks, all PENDING.  Without ``job_id``, the id is prefix + a serial."""
        task_indices: Sequence[int] = spec.array.indices if spec.array else (NO_TASK,)
        now = time.time()
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO jobs (id, backend, native_id, name, spec, workdir, script, submitted, state,"
                " environ)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    backend,
                    native_id,
                    spec.name,
                    json.dumps(spec.to_json()),
                    _path_value(workdir),
                    script,
                    now,
                    JobState.PENDING.value,
                    json.dumps(dict(environ)) if environ is not None else None,
                ),
            )
            if job_id is None:
                job_id = f"{id_prefix}{cursor.lastrowid}"
                db.execute(
                    "UPDATE jobs SET id = ?, native_id = COALESCE(native_id, ?) WHERE seq = ?",
                    (job_id, job_id, cursor.lastrowid),
                )
            db.executemany(
                "INSERT INTO tasks (job_id, task, state, cpus, mem) VALUES (?, ?, ?, ?, ?)",
                [(job_id, index, JobState.PENDING.value, spec.task_cpus, spec.task_memory) for index in task_indices],
            )
        return job_id

    def remove(self, job_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM tasks WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def get(self, job_id: str, *, with_tasks: bool = True) -> JobRecord:
        db = self.connection()
        row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (_id_text(job_id),)).fetchone()
        if row is None:
            raise _no_job(job_id)
        record = _record_from_row(row)
        if with_tasks:
            record.tasks = self.tasks(job_id)
        return record

    def get_spec(self, job_id: str) -> JobSpec:
        row = self.connection().execute("SELECT spec FROM jobs WHERE id = ?", (_id_text(job_id),)).fetchone()
        if row is None:
            raise _no_job(job_id)
        return JobSpec.from_json(json.loads(row[0]))

    def get_environ(self, job_id: str) -> Optional[Dict[str, str]]:
        """The environment the job was submitted from (local jobs run in it, as sbatch's --export=ALL)."""
        row = self.connection().execute("SELECT environ FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def find(self, job_ids: Iterable[str]) -> List[JobRecord]:
        return [self.get(job_id) for job_id in job_ids]

    def list(self, *, include_finished: bool = False, limit: int = 1000) -> List[JobRecord]:
        db = self.connection()
        where = "" if include_finished else " WHERE state IN ('PENDING', 'RUNNING')"
        rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs{where} ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        records = [_record_from_row(row) for row in reversed(rows)]
        for record in records:
            record.tasks = self.tasks(record.id)
        return records

    def ids(self) -> List[str]:
        return [row[0] for row in self.connection().execute("SELECT id FROM jobs ORDER BY seq")]

    def tasks(self, job_id: str) -> List[TaskStatus]:
        rows = (
            self.connection()
            .execute("SELECT task, state, exit_code, reason FROM tasks WHERE job_id = ? ORDER BY task", (job_id,))
            .fetchall()
        )
        return [
            TaskStatus(None if task == NO_TASK else task, JobState(state), code, reason)
            for task, state, code, reason in rows
        ]

    def update_status(self, status: JobStatus) -> None:
        """Store what a backend reported (task by task) and the job's summary state."""
        with self.transaction() as db:
            for task in status.tasks:
                db.execute(
                    "UPDATE tasks SET state = ?, exit_code = ?, reason = ? WHERE job_id = ? AND task = ?",
                    (
                        task.state.value,
                        task.exit_code,
                        task.reason,
                        status.job_id,
                        NO_TASK if task.task is None else task.task,
                    ),
                )
            _refresh_summary(db, status.job_id)

    def finish_task(self, job_id: str, task: int, state: JobState, exit_code: Optional[int], reason: str) -> None:
        """Record how a task ended and refresh its job's summary, in one transaction."""
        with self.transaction() as db:
            db.execute(
                "UPDATE tasks SET state = ?, exit_code = ?, reason = ?, ended = ? WHERE job_id = ? AND task = ?",
                (state.value, exit_code, reason, time.time(), job_id, task),
            )
            _refresh_summary(db, job_id)

    def set_reason(self, job_id: str, reason: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE jobs SET reason = ? WHERE id = ?", (reason, job_id))

    def refresh_summary(self, job_ids: Iterable[str]) -> None:
        with self.transaction() as db:
            for job_id in job_ids:
                _refresh_summary(db, job_id)


_JOB_COLUMNS = "id, backend, native_id, name, spec, workdir, script, submitted, state, exit_code, reason"


def _record_from_row(row: Tuple[Any, ...]) -> JobRecord:
    job_id, backend, native_id, name, spec, workdir, script, submitted, state, exit_code, reason = row
    return JobRecord(
        job_id,
        backend,
        native_id or job_id,
        name,
        JobSpec.from_json(json.loads(spec)),
        os.fsdecode(workdir),
        script,
        submitted,
        JobState(state),
        exit_code,
        reason,
    )


def _path_value(path: str) -> Any:
    """A path as SQLite can hold it: text, or its bytes when its name is not UTF-8 (os.fsdecode reads both)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _refresh_summary(db: sqlite3.Connection, job_id: str) -> None:
    """Recompute a job's state, exit code and reason from its tasks (aggregated in SQL: arrays are big)."""
    counts = dict(db.execute("SELECT state, COUNT(*) FROM tasks WHERE job_id = ? GROUP BY state", (job_id,)))
    status = JobStatus(job_id, [TaskStatus(None, JobState(state)) for state in counts])
    state = status.state
    exit_code: Optional[int] = None
    if status.finished:
        row = db.execute(
            "SELECT exit_code FROM tasks WHERE job_id = ? AND (exit_code IS NULL OR exit_code != 0)"
            " ORDER BY task LIMIT 1",
            (job_id,),
        ).fetchone()
        exit_code = 0 if row is None else row[0]
    row = db.execute(
        "SELECT reason FROM tasks WHERE job_id = ? AND state = ? AND reason != '' ORDER BY task LIMIT 1",
        (job_id, state.value),
    ).fetchone()
    db.execute(
        "UPDATE jobs SET state = ?, exit_code = ?, reason = ? WHERE id = ?",
        (state.value, exit_code, row[0] if row else "", job_id),
    )


def _no_job(job_id: str) -> JobError:
    return JobError(f"no job {job_id!r} in roost's records", "list your jobs with: roost jobs --all")


def _id_text(job_id: str) -> str:
    """A job id as SQLite can look it up; an id that is not even text (bytes from the command line that are
    not UTF-8) names no job."""
    try:
        job_id.encode("utf-8")
    except UnicodeEncodeError:
        raise _no_job(job_id) from None
    return job_id


class _Transaction:
    def __init__(self, connection: sqlite3.Connection, path: str, read_only_because: Optional[Exception]) -> None:
        self.connection = connection
        self.path = path
        self.read_only_because = read_only_because  # why the store could only be opened for reading

    def __enter__(self) -> sqlite3.Connection:
        try:
            _retry_locked(lambda: self.connection.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise _database_error("write", self.path, self.read_only_because or exc) from exc
        return self.connection

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if kind is None:
            try:
                self.connection.execute("COMMIT")
                return
            except sqlite3.Error as exc:
                error = exc
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already (it does on a full disk)
            self.connection.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error):
            raise _database_error("write", self.path, self.read_only_because or error) from error


def _open_for_reading(path: str, error: Exception) -> sqlite3.Connection:
    """The records of a read-only HOME or a full disk can still be read (`roost jobs`, `roost status`).
    Read-only; where SQLite cannot create its shared WAL index there, it keeps the index in memory
    (exclusive locking: writers wait until this short-lived reader is done).  Writing through this
    connection fails as a JobError naming the cause; so does a missing database."""
    from urllib.parse import quote

    wal_pages = os.path.exists(path + "-wal") and os.path.getsize(path + "-wal") > 0
    attempts = ["mode=ro", "mode=ro&exclusive"] if wal_pages else ["immutable=1"]  # all in the file itself
    for flags in attempts if os.path.exists(path) else []:
        try:
            uri_flags, _, exclusive = flags.partition("&")
            connection = sqlite3.connect(f"file:{quote(path)}?{uri_flags}", uri=True, isolation_level=None)
            if exclusive:
                connection.execute("PRAGMA locking_mode = EXCLUSIVE")
            if connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return connection
        except sqlite3.Error:
            continue
    raise _database_error("open", path, error) from error


def _database_error(verb: str, path: str, error: Exception) -> JobError:
    lowered = str(error).lower()
    if "full" in lowered or getattr(error, "errno", None) == 28:  # ENOSPC
        hint = f"free some space on the file system holding {os.path.dirname(path)} (df -h), then try again"
    elif "readonly" in lowered or "read-only" in lowered or not os.access(os.path.dirname(path), os.W_OK):
        hint = f"{os.path.dirname(path)} is read-only: set ROOST_DATA_DIR to a writable directory"
    else:
        hint = "check that ROOST_DATA_DIR (or ~/.local/share/roost) is writable and its disk has free space"
    return JobError(f"cannot {verb} the job database {path}: {error}", hint)


def _create_private(path: str) -> None:
    """The records hold each job's environment (tokens included, as sbatch's spool does): only the user may
    read them.  SQLite gives its -wal and -shm files the database file's mode."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if not os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _retry_locked(action: Any, attempts: int = 100) -> Any:
    """Run ``action``; if SQLite still reports a lock after its busy timeout, try again a little later."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    return None
