"""The login side of ``roost jupyter``: a session, its job, waiting until Jupyter answers, how to reach it.

A session is a directory ``<data_dir>/jupyter/<id>`` (mode 0700) holding ``session.json`` (mode 0600: the
token, what to start, and once ready the node, port, URL and ssh command).  The job runs
``python -m roost.kernels.serve SESSION_DIR`` (see serve.py), which writes ``endpoint.json`` with the node
and port it chose.  :func:`wait_until_ready` polls that file and ``GET /api/status`` with the token until
the server answers 200, then checks that requests *without* the token are refused (:func:`open_doors`): a
server that serves strangers is stopped at once.  If the job ends first, the error carries the tail of its
log; on timeout the job is cancelled and the session removed, so nothing is left half-started.

Where the server listens is the session's ``bind``: loopback on the local backend (the server runs on this
machine), the node's own address on a scheduler (where the printed tunnel connects); a site may widen it
with ``[jupyter] bind`` in roost's config.

How the job is submitted, watched and cancelled is a :class:`ServerJob` given by the caller: the jobs
capability (local or Slurm backend) in production, a plain subprocess in tests.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol

from roost import envvars, paths
from roost.errors import ConfigError, KernelError
from roost.kernels.serve import ENDPOINT_FILE, SERVER_MODULES, SESSION_FILE, write_private_json
from roost.kernels.spec import Recipe

LOGIN_HOST_VARIABLE = envvars.declare(
    "ROOST_LOGIN_HOST", "Host named in the ssh tunnel command `roost jupyter` prints (default: this machine's FQDN)."
)
Progress = Callable[[str], None]


def no_progress(message: str) -> None:
    pass


class ServerJob(Protocol):
    """What the session needs from the job running the server."""

    backend: str
    job_id: str

    def ended(self) -> Optional[str]:
        """None while the job is pending or running; else a short description such as 'FAILED (exit 1)'."""
        ...

    def log_tail(self, lines: int = 20) -> str:
        ...

    def cancel(self) -> None:
        ...


# ---------------------------------------------------------------------------------------------- session


@dataclass
class Session:
    id: str
    directory: Path
    token: str
    mode: str
    root_dir: str
    recipe: Recipe
    server_python: str
    kernel_display_name: str
    user: str
    login_host: str
    bind: str = "node"
    created: float = field(default_factory=time.time)
    backend: Optional[str] = None
    job_id: Optional[str] = None
    node: Optional[str] = None
    port: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return "lab" if self.mode == "lab" else "tree"

    @property
    def url(self) -> Optional[str]:
        """The URL on the node itself (works from the login node)."""
        if self.node is None or self.port is None:
            return None
        return f"http://{self.node}:{self.port}/{self.path}?token={self.token}"

    @property
    def local_url(self) -> Optional[str]:
        """The URL to open on the user's own computer once the ssh tunnel runs."""
        if self.port is None:
            return None
        return f"http://localhost:{self.port}/{self.path}?token={self.token}"

    @property
    def ssh_command(self) -> Optional[str]:
        """The tunnel to run on the user's own computer: local port -> node:port through the login host."""
        if self.node is None or self.port is None:
            return None
        return f"ssh -N -L {self.port}:{self.node}:{self.port} {self.user}@{self.login_host}"

    def to_json(self) -> Dict[str, Any]:
        return {
            "id": self.id, "token": self.token, "mode": self.mode, "root_dir": self.root_dir,
            "recipe": self.recipe.to_json(), "server_python": self.server_python,
            "kernel_display_name": self.kernel_display_name, "user": self.user, "login_host": self.login_host,
            "bind": self.bind, "created": self.created, "backend": self.backend, "job_id": self.job_id,
            "node": self.node, "port": self.port, "url": self.url, "local_url": self.local_url,
            "ssh_command": self.ssh_command,
            **self.extra,
        }

    @classmethod
    def from_json(cls, directory: Path, data: Dict[str, Any]) -> Session:
        known = {
            "id", "token", "mode", "root_dir", "recipe", "server_python", "kernel_display_name", "user",
            "login_host", "bind", "created", "backend", "job_id", "node", "port", "url", "local_url", "ssh_command",
        }
        return cls(
            id=data["id"], directory=directory, token=data["token"], mode=data["mode"],
            root_dir=data["root_dir"], recipe=Recipe.from_json(data["recipe"]),
            server_python=data["server_python"], kernel_display_name=data["kernel_display_name"],
            user=data["user"], login_host=data["login_host"], bind=data.get("bind", "node"),
            created=data.get("created", 0.0),
            backend=data.get("backend"), job_id=data.get("job_id"), node=data.get("node"),
            port=data.get("port"), extra={k: v for k, v in data.items() if k not in known},
        )

    def save(self) -> None:
        write_private_json(str(self.directory / SESSION_FILE), self.to_json())


def sessions_dir() -> Path:
    return paths.data_dir() / "jupyter"


def login_host(environ: Optional[Dict[str, str]] = None) -> str:
    """The host users ssh to: ROOST_LOGIN_HOST, else this machine's fully qualified name."""
    environ = environ if environ is not None else dict(os.environ)
    configured = environ.get(LOGIN_HOST_VARIABLE)
    if configured:
        return configured
    fqdn = socket.getfqdn()
    return socket.gethostname() if fqdn.startswith("localhost") else fqdn


BIND_WORDS = ("node", "loopback", "all")


def bind_for(backend: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """Where the session's server listens: ``[jupyter] bind`` from roost's config when a site set it, else
    loopback on the local backend (the server runs here) and the node's own address on a scheduler.

    The setting is "node", "loopback", "all" (every interface: anyone who can reach the node can try the
    token) or one IPv4 address.
    """
    from roost import config

    value = config.load(environ).section("jupyter").get("bind")
    if value is None:
        return "loopback" if backend == "local" else "node"
    if value in BIND_WORDS or _is_ipv4(value):
        return str(value)
    raise ConfigError(
        f"config key jupyter.bind must be one of {', '.join(BIND_WORDS)} or an IPv4 address, not {value!r}",
        'set jupyter.bind = "node" (the node\'s own address, where the ssh tunnel connects)',
    )


def _is_ipv4(value: object) -> bool:
    import ipaddress

    try:
        ipaddress.IPv4Address(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def new_session(recipe: Recipe, *, mode: str, root_dir: str, kernel_display_name: str,
                server_python: Optional[str] = None, bind: str = "node") -> Session:
    """Create the session directory (0700) and its private session.json (0600) with a fresh token."""
    if mode not in SERVER_MODULES:
        raise KernelError(f"unknown Jupyter mode {mode!r}", "use --lab or --notebook")
    if server_python is None:
        from roost.kernels.toolenv import server_python as choose_server_python

        server_python = choose_server_python(mode, no_progress)
    root = sessions_dir()
    session_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    directory = root / session_id
    session = Session(
        id=session_id, directory=directory, token=secrets.token_urlsafe(32), mode=mode, root_dir=root_dir,
        recipe=recipe, server_python=server_python, kernel_display_name=kernel_display_name,
        user=getpass.getuser(), login_host=login_host(), bind=bind,
    )
    try:
        root.mkdir(parents=True, exist_ok=True)
        directory.mkdir(mode=0o700)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        session.save()
    except OSError as exc:
        discard(session)
        raise KernelError(
            f"cannot write the Jupyter session in {root}: {exc.strerror}",
            "free some space there, or set ROOST_DATA_DIR to a directory on a file system with room",
        ) from None
    return session


def load_session(directory: Path) -> Session:
    with open(directory / SESSION_FILE, encoding="utf-8") as handle:
        return Session.from_json(directory, json.load(handle))


def list_sessions() -> List[Session]:
    root = sessions_dir()
    found: List[Session] = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            found.append(load_session(directory))
        except (OSError, ValueError, KeyError):
            continue
    return found


def find_session(key: Optional[str]) -> Session:
    """A session by id, job id or unique id prefix; without a key, the only one."""
    sessions = list_sessions()
    if not sessions:
        raise KernelError("no Jupyter sessions", "start one with: roost jupyter")
    if key is None:
        if len(sessions) == 1:
            return sessions[0]
        raise KernelError(
            f"{len(sessions)} Jupyter sessions are recorded",
            "name one by its id or job id (see: roost jupyter --list)",
        )
    matches = [s for s in sessions if key in (s.id, s.job_id) or s.id.startswith(key)]
    if len(matches) != 1:
        known = ", ".join(f"{s.id} (job {s.job_id})" for s in sessions)
        what = "no" if not matches else "more than one"
        raise KernelError(f"{what} Jupyter session matches {key!r}", f"sessions: {known}")
    return matches[0]


def server_command(session: Session) -> List[str]:
    """The job's command: roost's interpreter running the node-side starter on the session directory."""
    return [sys.executable, "-m", "roost.kernels.serve", str(session.directory)]


def discard(session: Session) -> None:
    shutil.rmtree(session.directory, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- readiness


def http_status(url: str, token: Optional[str], timeout: float = 5) -> Optional[int]:
    """The HTTP status of GET ``url`` (with ``Authorization: token ...`` when a token is given); None when
    nothing answers."""
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def read_endpoint(session: Session) -> Optional[Dict[str, Any]]:
    try:
        with open(session.directory / ENDPOINT_FILE, encoding="utf-8") as handle:
            data: Dict[str, Any] = json.load(handle)
            return data
    except (OSError, ValueError):
        return None


def answering_host(endpoint: Dict[str, Any], token: str) -> Optional[str]:
    """The node's name if Jupyter answers there with the token, else the first of its addresses that does
    (the one it listens on last: loopback answers only on the node itself)."""
    listening = endpoint.get("address")
    specific = [listening] if listening and listening != "0.0.0.0" else []
    for host in [endpoint["node"], *endpoint.get("addresses", []), *specific]:
        if http_status(f"http://{host}:{endpoint['port']}/api/status", token) == 200:
            return str(host)
    return None


def open_doors(base: str) -> List[str]:
    """The requests without the token that ``base`` (``http://host:port``) does not refuse, described.

    Two are tried: reading files (``GET /api/contents``), and starting a kernel with the ``_xsrf`` cookie
    (and its matching header) that ``GET /lab`` hands out to anyone, which a server with XSRF checks off, or
    without a token, lets through.
    """
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    found: List[str] = []
    contents = _status(opener, urllib.request.Request(f"{base}/api/contents"))
    if contents not in REFUSED:
        found.append(f"GET /api/contents answered {contents}")
    _status(opener, urllib.request.Request(f"{base}/lab"))
    xsrf = next((cookie.value for cookie in jar if cookie.name == "_xsrf"), None)
    start = urllib.request.Request(f"{base}/api/kernels", data=b"{}", method="POST",
                                   headers={"Content-Type": "application/json"})
    if xsrf:
        start.add_header("X-XSRFToken", xsrf)
    started = _status(opener, start)
    if started not in REFUSED:
        found.append(f"POST /api/kernels with only the _xsrf cookie answered {started}")
    return found


REFUSED = (401, 403, None)  # None: no answer at all, which lets nobody in either


def _status(opener: urllib.request.OpenerDirector, request: urllib.request.Request) -> Optional[int]:
    try:
        with opener.open(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def refuse_if_open(session: Session, job: ServerJob, host: str, port: int) -> None:
    """Stop the server (and drop the session) when it answers a request that carries no token."""
    doors = open_doors(f"http://{host}:{port}")
    if not doors:
        return
    job.cancel()
    discard(session)
    raise KernelError(
        f"Jupyter on {host}:{port} (job {job.job_id}) served requests without the token "
        f"({'; '.join(doors)}), so roost stopped it",
        "a Jupyter config file or extension replaces the server's authentication (identity_provider_class, "
        "tornado_settings, ...): look in the config directories `jupyter --paths` lists",
    )


def _died(session: Session, job: ServerJob, how: str) -> KernelError:
    tail = job.log_tail(20).rstrip()
    discard(session)
    return KernelError(
        f"the Jupyter job {job.job_id} ended ({how}) before Jupyter answered"
        + (f"; the end of its log:\n{tail}" if tail else " and left no log"),
        None if job.backend == "process" else f"see all of it with: roost logs {job.job_id} --err",
    )


def wait_until_ready(session: Session, job: ServerJob, *, timeout: float = 600,
                     progress: Progress = no_progress) -> Session:
    """Poll until ``GET /api/status`` with the token answers 200; record node, port and URL in the session."""
    deadline = time.monotonic() + timeout
    delay, announced = 0.2, ""
    # The endpoint file is cheap to look at; asking the scheduler is not (Slurm's RPC limits), so the job's
    # state is polled on its own, slower schedule: 0.5 s growing to 10 s.
    job_interval, next_job_check = 0.5, 0.0
    while True:
        if time.monotonic() >= next_job_check:
            how = job.ended()
            if how is not None:
                raise _died(session, job, how)
            next_job_check = time.monotonic() + job_interval
            job_interval = min(job_interval * 1.5, 10.0)
        endpoint = read_endpoint(session)
        if endpoint is not None:
            host = answering_host(endpoint, session.token)
            if host is not None:
                refuse_if_open(session, job, host, int(endpoint["port"]))
                session.node, session.port = host, int(endpoint["port"])
                session.save()
                return session
            message = f"job {job.job_id}: Jupyter is starting on {endpoint['node']}:{endpoint['port']}"
        else:
            message = f"job {job.job_id}: waiting for it to start"
        if message != announced:
            progress(message)
            announced = message
        if time.monotonic() > deadline:
            job.cancel()
            discard(session)
            raise KernelError(
                f"Jupyter did not answer within {timeout:.0f} s (job {job.job_id} cancelled)",
                "the queue may be busy: try again with a longer --timeout, or fewer resources",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def check_timeout(timeout: float) -> None:
    if not timeout > 0:  # also refuses NaN
        raise KernelError(f"--timeout must be a positive number of seconds, not {timeout:g}",
                          "give the queue time: the default is --timeout 600")


def start(recipe: Recipe, submit: Callable[[Session], ServerJob], *, mode: str = "lab",
          root_dir: Optional[str] = None, kernel_display_name: str = "Python", timeout: float = 600,
          progress: Progress = no_progress, server_python: Optional[str] = None,
          bind: str = "node") -> Session:
    """New session, submit its job, wait until Jupyter answers without letting strangers in.  Any failure
    removes the session."""
    check_timeout(timeout)
    session = new_session(recipe, mode=mode, root_dir=root_dir or os.getcwd(),
                          kernel_display_name=kernel_display_name, server_python=server_python, bind=bind)
    try:
        job = submit(session)
    except BaseException:
        discard(session)
        raise
    session.backend, session.job_id = job.backend, job.job_id
    session.save()
    try:
        return wait_until_ready(session, job, timeout=timeout, progress=progress)
    except KeyboardInterrupt:
        job.cancel()
        discard(session)
        raise


# ---------------------------------------------------------------------------------------------- a process


class ProcessJob:
    """The server as a plain detached subprocess of this machine (tests; no scheduler involved)."""

    backend = "process"

    def __init__(self, session: Session, environ: Optional[Dict[str, str]] = None) -> None:
        self.log = session.directory / "server.log"
        with open(self.log, "wb") as handle:
            self.process = subprocess.Popen(
                server_command(session), stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=session.root_dir, env=environ, start_new_session=True,
            )
        self.job_id = str(self.process.pid)

    def ended(self) -> Optional[str]:
        code = self.process.poll()
        return None if code is None else f"exit {code}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def cancel(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ---------------------------------------------------------------------------------------------- a batch job


class BatchJob:
    """The server as a job of roost's jobs capability (Slurm or the local backend)."""

    def __init__(self, job: Any, backend: str) -> None:
        self.job = job
        self.backend = backend
        self.job_id = str(job.id)

    def ended(self) -> Optional[str]:
        record = self.job.record()
        if not record.finished:
            return None
        code = record.exit_code
        return f"{record.state.value}" + (f", exit {code}" if code is not None else "")

    def log_tail(self, lines: int = 20) -> str:
        text = self.job.stderr() or self.job.stdout()
        return "\n".join(text.splitlines()[-lines:])

    def cancel(self) -> None:
        self.job.cancel()


def batch_submitter(
    resources: Dict[str, Any], backend: Optional[str] = None
) -> Callable[[Session], ServerJob]:
    """Submit the session's server with ``resources`` (sbatch-named options, as ``roost submit`` takes them);
    its logs go into the session directory."""

    def submit(session: Session) -> ServerJob:
        from roost.jobs import api as jobs_api

        options = {k: v for k, v in resources.items() if v not in (None, (), [])}
        options.setdefault("job_name", "jupyter")
        options["output"] = str(session.directory / "jupyter-%j.out")
        options["error"] = str(session.directory / "jupyter-%j.err")
        options["workdir"] = session.root_dir
        name = jobs_api.backend_name(backend)
        job = jobs_api.submit(server_command(session), backend=name, **options)
        return BatchJob(job, name)

    return submit


def job_state(session: Session) -> str:
    """The session's job state now (RUNNING, PENDING, COMPLETED, ...), or 'unknown'."""
    if session.job_id is None or session.backend is None:
        return "unknown"
    if session.backend == "process":
        try:
            os.kill(int(session.job_id), 0)
        except (ProcessLookupError, ValueError):
            return "ENDED"
        except PermissionError:
            pass
        return "RUNNING"
    from roost.errors import RoostError
    from roost.jobs import api as jobs_api

    try:
        return str(jobs_api.Job(session.job_id).state.value)
    except RoostError:
        return "unknown"


def stop(session: Session) -> Session:
    """Cancel the session's job (if it still runs) and remove its directory, token included."""
    if session.job_id is not None and session.backend not in (None, "process"):
        from roost.jobs import api as jobs_api

        if job_state(session) in ("PENDING", "RUNNING"):
            jobs_api.Job(session.job_id).cancel()
    elif session.backend == "process" and session.job_id is not None:
        import contextlib
        import signal

        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(session.job_id), signal.SIGTERM)
    discard(session)
    return session
