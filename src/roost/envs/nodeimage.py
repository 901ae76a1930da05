"""The job side of start-up images: make a packed env available on node-local storage, once per node.

Every task of a job whose env is packed (see :mod:`roost.envs.pack`) starts through this module::

    python -E -S -c 'import sys;sys.path[:0]=[...];from roost.envs.nodeimage import main;sys.exit(main())' \\
        --env NAME --prefix /shared/envs/NAME --image /shared/envs/NAME/.roost/pack/D.sqfs ... -- python x.py

Under an flock in ``<node dir>/roost-<uid>/<node>/``, the first task on a node mounts the image with
squashfuse (no root needed) or, where FUSE is unavailable, extracts it there ("stage"); the others find it
ready.  Each task records itself as a holder, runs the command with the env pointed at the node-local copy
(an :class:`~roost.shell.change.EnvChange` applied to its environment), and on exit drops its hold; the last
holder unmounts or deletes.  Holders are process ids, so those of killed tasks are pruned by the next task,
which also removes what dead jobs left behind.

Nothing here may fail a job: a stale image (the env changed after packing), no FUSE and no space, or a mount
that fails all end in running from the shared copy, with a warning in the job's log.

Kept import-light (no typing, pathlib, subprocess at import): it runs once per task, and ``roost submit``
imports :func:`job_plan`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

from roost.shell.change import EnvChange

TYPE_CHECKING = False  # typing is not imported at run time: this runs in front of every task of a job
if TYPE_CHECKING:
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

    from roost.config import PackConfig

PACK_DIR = os.path.join(".roost", "pack")  # inside an env prefix: the image and its description
INFO_FILE = "image.json"
FORMATS = {"squashfs": ".sqfs", "tar": ".tar.gz"}

# Declared (and documented) in roost.envvars; literals to keep the registry off this path.
ROOST_ENV_IMAGE = "ROOST_ENV_IMAGE"  # where the task's env runs from (set in the task's environment)
VARIABLE_NAMES = (ROOST_ENV_IMAGE,)


# ------------------------------------------------------------------------------------------- digests


def lock_digest(manifest: Mapping[str, Any]) -> str:
    """What an image must agree with: the env's kind, Python and locked packages (as in its manifest)."""
    import hashlib

    python = manifest.get("python") or {}
    identity = {
        "kind": manifest.get("kind", "venv"),
        "python": python.get("path") if isinstance(python, dict) else None,
        "lock": manifest.get("lock", []),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def read_info(prefix: str) -> Optional[Dict[str, Any]]:
    """The description of an env's image (written by ``roost env pack``), or None when it has none."""
    try:
        with open(os.path.join(prefix, PACK_DIR, INFO_FILE)) as handle:
            data: Dict[str, Any] = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# ------------------------------------------------------------------------------------------- the plan


class ImagePlan:
    """What a job needs to use an env's image: written into its script as the arguments of :func:`main`."""

    __slots__ = ("digest", "env", "fmt", "image", "kind", "method", "node_dir", "prefix", "unpacked_bytes")

    def __init__(
        self,
        *,
        env: str,
        prefix: str,
        kind: str,
        image: str,
        fmt: str,
        digest: str,
        unpacked_bytes: int,
        node_dir: str = "",
        method: str = "auto",
    ) -> None:
        self.env = env
        self.prefix = prefix
        self.kind = kind
        self.image = image
        self.fmt = fmt
        self.digest = digest
        self.unpacked_bytes = unpacked_bytes
        self.node_dir = node_dir
        self.method = method

    def arguments(self) -> List[str]:
        return [
            "--env", self.env, "--prefix", self.prefix, "--kind", self.kind, "--image", self.image,
            "--format", self.fmt, "--digest", self.digest, "--unpacked-bytes", str(self.unpacked_bytes),
            "--node-dir", self.node_dir, "--method", self.method,
        ]  # fmt: skip

    @classmethod
    def from_arguments(cls, argv: Sequence[str]) -> Tuple[ImagePlan, List[str]]:
        """(plan, command) from ``--key value ... -- command...``."""
        values: Dict[str, str] = {}
        index = 0
        while index < len(argv) and argv[index] != "--":
            key = argv[index]
            if not key.startswith("--") or index + 1 >= len(argv):
                raise ValueError(f"unexpected argument {key!r}")
            values[key[2:].replace("-", "_")] = argv[index + 1]
            index += 2
        command = list(argv[index + 1 :])
        if not command:
            raise ValueError("no command after --")
        plan = cls(
            env=values["env"],
            prefix=values["prefix"],
            kind=values.get("kind", "venv"),
            image=values["image"],
            fmt=values.get("format", "squashfs"),
            digest=values["digest"],
            unpacked_bytes=int(values.get("unpacked_bytes", "0")),
            node_dir=values.get("node_dir", ""),
            method=values.get("method", "auto"),
        )
        return plan, command


def job_plan(env: str, prefix: str, settings: PackConfig, environ: Mapping[str, str]) -> Optional[ImagePlan]:
    """The plan for a job in ``env`` (at ``prefix``), or None when it runs from the shared copy.

    ``settings`` is the ``[pack]`` config (``ROOST_PACK_METHOD=off`` at submit time opts one job out).
    """
    method = settings.method
    if method == "off":
        return None
    info = read_info(prefix)
    if info is None or info.get("format") not in FORMATS:
        return None
    image = os.path.join(prefix, PACK_DIR, str(info.get("image", "")))
    if not os.path.isfile(image):
        return None
    return ImagePlan(
        env=env,
        prefix=prefix,
        kind=str(info.get("kind", "venv")),
        image=image,
        fmt=str(info["format"]),
        digest=str(info.get("digest", "")),
        unpacked_bytes=int(info.get("unpacked_bytes", 0)),
        node_dir=settings.node_dir,
        method=method,
    )


def wrapper_argv(plan: ImagePlan, python: Optional[str] = None) -> List[str]:
    """The words a job script puts in front of a task's command (then ``--`` and the command)."""
    import roost

    root = os.path.dirname(os.path.dirname(os.path.abspath(roost.__file__ or "")))
    # -E -S: no PYTHONPATH/PYTHONHOME from the job's modules, no site-packages scan before the task starts.
    boot = f"import sys;sys.path[:0]=[{root!r}];from roost.envs.nodeimage import main;sys.exit(main())"
    return [python or sys.executable, "-E", "-S", "-c", boot, *plan.arguments(), "--"]


def wrapper_for(env: str, environ: Mapping[str, str]) -> List[str]:
    """:func:`wrapper_argv` for env ``env`` when it is packed (and not opted out), else no words."""
    from roost import config
    from roost.envs.activation import envs_dir

    settings = config.load(environ)
    prefix = os.path.realpath(os.path.join(envs_dir(environ, settings), env))
    plan = job_plan(env, prefix, settings.pack, environ)
    return wrapper_argv(plan) if plan is not None else []


def in_batch_job(environ: Mapping[str, str]) -> bool:
    """Inside a Slurm job: where ``roost run`` and kernels use the start-up image (not on a login node)."""
    return bool(environ.get("SLURM_JOB_ID"))


# ------------------------------------------------------------------------------------- the node side


def node_name(environ: Mapping[str, str]) -> str:
    """Slurm's name for this node (several slurmd on one host differ only by it), else the host name."""
    import socket

    return environ.get("SLURMD_NODENAME") or socket.gethostname()


def node_base(plan: ImagePlan, environ: Mapping[str, str]) -> str:
    """``<node dir>/roost-<uid>/<node>``: per user (a shared /tmp), per node (slurmd's sharing one host)."""
    configured = os.path.expandvars(plan.node_dir) if plan.node_dir else ""
    if not configured or "$" in configured:
        configured = environ.get("TMPDIR") or "/tmp"
    return os.path.join(configured, f"roost-{os.getuid()}", node_name(environ))


def warn(message: str) -> None:
    sys.stderr.write(f"roost: warning: {message}\n")
    sys.stderr.flush()


def note(message: str) -> None:
    sys.stderr.write(f"roost: {message}\n")
    sys.stderr.flush()


def image_is_current(plan: ImagePlan) -> bool:
    """Whether the env's lock is still the one the image was built from (one read of its manifest)."""
    try:
        with open(os.path.join(plan.prefix, ".roost", "manifest.json")) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        return False
    return lock_digest(manifest) == plan.digest


class Holders:
    """The state file of one image on one node: how it is made available, and which processes use it."""

    def __init__(self, base: str, digest: str) -> None:
        self.base = base
        self.digest = digest
        self.path = os.path.join(base, f"{digest}.json")
        self.target = os.path.join(base, digest)

    def read(self) -> Dict[str, Any]:
        try:
            with open(self.path) as handle:
                data: Dict[str, Any] = json.load(handle)
        except (OSError, ValueError):
            return {"method": None, "holders": []}
        data["holders"] = [pid for pid in data.get("holders", []) if _alive(pid)]
        return data

    def write(self, data: Mapping[str, Any]) -> None:
        partial = f"{self.path}.{os.getpid()}"
        with open(partial, "w") as handle:
            json.dump(data, handle)
        os.replace(partial, self.path)


def _alive(pid: object) -> bool:
    from roost.pids import pid_alive

    return isinstance(pid, int) and pid > 0 and pid_alive(pid)


class NodeLock:
    """An flock on ``<base>/<digest>.lock``: one task at a time sets up, joins or tears down an image."""

    def __init__(self, base: str, digest: str) -> None:
        self.path = os.path.join(base, f"{digest}.lock")
        self.fd = -1

    def __enter__(self) -> NodeLock:
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing the descriptor releases the lock


def _run(argv: Sequence[str], timeout: float = 600) -> Tuple[bool, str]:
    import subprocess

    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    return done.returncode == 0, (done.stderr or done.stdout).strip()


def _which(name: str, environ: Mapping[str, str]) -> Optional[str]:
    for directory in [*(environ.get("PATH") or "/usr/bin:/bin").split(":"), "/usr/bin", "/usr/sbin", "/sbin"]:
        candidate = os.path.join(directory or ".", name)
        if os.access(candidate, os.X_OK) and not os.path.isdir(candidate):
            return candidate
    return None


def _squashfuse(environ: Mapping[str, str]) -> Optional[str]:
    # squashfuse_ll (same package, FUSE's low-level API) serves many readers faster than squashfuse.
    return _which("squashfuse_ll", environ) or _which("squashfuse", environ)


def fuse_usable(environ: Mapping[str, str]) -> bool:
    return os.access("/dev/fuse", os.R_OK | os.W_OK) and _squashfuse(environ) is not None


def mount(plan: ImagePlan, target: str, environ: Mapping[str, str]) -> Optional[str]:
    """Mount the image at ``target`` with squashfuse; None on success, else why not."""
    squashfuse = _squashfuse(environ)
    if squashfuse is None:
        return "squashfuse is not installed"
    os.makedirs(target, exist_ok=True)
    ok, output = _run([squashfuse, plan.image, target], timeout=120)
    if ok and os.path.ismount(target):
        return None
    _rmdir(target)
    return f"squashfuse failed: {output or 'no mount appeared'}"


def unmount(target: str, environ: Mapping[str, str]) -> None:
    for tool in ("fusermount3", "fusermount"):
        path = _which(tool, environ)
        if path and _run([path, "-u", target], timeout=60)[0]:
            break
    else:
        for argv in (["fusermount", "-uz", target], ["umount", "-l", target]):
            path = _which(argv[0], environ)
            if path and _run([path, *argv[1:]], timeout=60)[0]:
                break
    _rmdir(target)


def _rmdir(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


def stage(plan: ImagePlan, target: str, environ: Mapping[str, str]) -> Optional[str]:
    """Extract the image into ``target`` (beside it first, then renamed); None on success, else why not."""
    free = _free_bytes(os.path.dirname(target))
    needed = int(plan.unpacked_bytes * 1.05) + (16 << 20)
    if free is not None and free < needed:
        where = os.path.dirname(target)
        return f"not enough space on node-local disk {where} ({free >> 20} MB free, {needed >> 20} MB needed)"
    partial = f"{target}.partial-{os.getpid()}"
    _remove_tree(partial)
    if plan.fmt == "squashfs":
        unsquashfs = _which("unsquashfs", environ)
        if unsquashfs is None:
            return "unsquashfs is not installed (Debian: squashfs-tools)"
        ok, output = _run([unsquashfs, "-no-progress", "-quiet", "-no-xattrs", "-d", partial, plan.image])
        problem = None if ok else f"unsquashfs failed: {output[-300:]}"
    else:
        problem = _extract_tar(plan.image, partial)
    if problem is not None:
        _remove_tree(partial)
        return problem
    os.replace(partial, target)
    return None


def _extract_tar(image: str, destination: str) -> Optional[str]:
    import tarfile

    # Python's "tar" filter where it has one (3.12, and security releases of older ones), on top of ours; not
    # "data", which refuses what a venv needs: bin/python is a link to the base interpreter, an absolute path.
    options: Dict[str, Any] = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}
    try:
        with tarfile.open(image, "r:*") as archive:
            archive.extractall(destination, members=safe_members(archive.getmembers()), **options)
    except (OSError, tarfile.TarError) as exc:
        return f"cannot extract {image}: {exc}"
    return None


def _stays_inside(path: str) -> bool:
    normal = os.path.normpath(path)
    return not (os.path.isabs(normal) or normal == ".." or normal.startswith("../"))


def _parents(relative: str) -> List[str]:
    """``a/b/c`` -> ``a/b``, ``a`` (a relative, normalised path)."""
    parts = relative.split("/")[:-1]
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]


def safe_members(members: Sequence[Any]) -> List[Any]:
    """Regular files, directories and symlinks at paths inside the copy, none reached through a symlink (so a
    link can never redirect a later member outside: an archive is data)."""
    links = set()
    kept = []
    for member in members:
        name = os.path.normpath(str(member.name))
        if not _stays_inside(name) or any(parent in links for parent in _parents(name)):
            continue
        if member.issym():
            links.add(name)
        elif not (member.isfile() or member.isdir()):
            continue
        kept.append(member)
    return kept


def _free_bytes(path: str) -> Optional[int]:
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def _remove_tree(path: str) -> None:
    import shutil

    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def teardown(holders: Holders, method: Optional[str], environ: Mapping[str, str]) -> None:
    if method == "mount" or os.path.ismount(holders.target):
        unmount(holders.target, environ)
    _remove_tree(holders.target)
    with contextlib.suppress(OSError):
        os.unlink(holders.path)


def sweep(base: str, keep: str, environ: Mapping[str, str]) -> None:
    """Tear down what killed tasks left on this node: images nobody alive holds any more."""
    try:
        entries = os.listdir(base)
    except OSError:
        return
    for entry in entries:
        digest, _, suffix = entry.partition(".")
        if suffix != "json" or digest == keep:
            continue
        holders = Holders(base, digest)
        with NodeLock(base, digest):
            data = holders.read()
            if not data["holders"]:
                teardown(holders, data.get("method"), environ)


def acquire(plan: ImagePlan, holder: int, environ: Mapping[str, str]) -> Tuple[Optional[str], Optional[str]]:
    """Make the image available on this node and record ``holder`` as using it.

    Returns (node-local prefix, None), or (None, why the shared copy must be used).
    """
    base = node_base(plan, environ)
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
    except OSError as exc:
        return None, f"cannot use node-local directory {base}: {exc.strerror}"
    sweep(base, plan.digest, environ)
    holders = Holders(base, plan.digest)
    with NodeLock(base, plan.digest):
        data = holders.read()
        method = data.get("method")
        ready = (method == "mount" and os.path.ismount(holders.target)) or (
            method == "stage" and os.path.isdir(holders.target)
        )
        if not ready:
            teardown(holders, method, environ)  # a half-made copy from a killed task
            method, problem = set_up(plan, holders.target, environ)
            if method is None:
                return None, problem
            how = "mounted (squashfuse)" if method == "mount" else "staged"
            note(f"env {plan.env}: start-up image {how} at {holders.target} on node {node_name(environ)}")
        holders.write({"method": method, "holders": [*data["holders"], holder], "image": plan.image})
    return holders.target, None


def set_up(plan: ImagePlan, target: str, environ: Mapping[str, str]) -> Tuple[Optional[str], Optional[str]]:
    """Mount where FUSE works (and the method allows), else stage; (method, None) or (None, why not)."""
    problems: List[str] = []
    if plan.method in ("auto", "mount") and plan.fmt == "squashfs":
        if fuse_usable(environ):
            problem = mount(plan, target, environ)
            if problem is None:
                return "mount", None
            problems.append(problem)
        else:
            problems.append("FUSE is not usable here (no /dev/fuse access or no squashfuse)")
    if plan.method in ("auto", "stage") or plan.fmt != "squashfs":
        problem = stage(plan, target, environ)
        if problem is None:
            return "stage", None
        problems.append(problem)
    return None, "; ".join(problems) or f"method {plan.method!r} is not possible"


def release(plan: ImagePlan, holder: int, environ: Mapping[str, str]) -> None:
    """Drop ``holder``'s use; the last holder on the node unmounts or deletes the copy."""
    base = node_base(plan, environ)
    holders = Holders(base, plan.digest)
    with NodeLock(base, plan.digest):
        data = holders.read()
        remaining = [pid for pid in data["holders"] if pid != holder]
        if remaining:
            holders.write({**data, "holders": remaining})
        else:
            teardown(holders, data.get("method"), environ)


def relocation_change(plan: ImagePlan, local_prefix: str) -> EnvChange:
    """Point the activated env at its node-local copy.

    The shared ``bin`` stays on PATH right after the local one, so a step this task starts on another node
    (where the copy does not exist) still finds the env's commands.
    """
    change = EnvChange()
    change.set("CONDA_PREFIX" if plan.kind == "conda" else "VIRTUAL_ENV", local_prefix)
    change.prepend_path("PATH", os.path.join(local_prefix, "bin"))
    change.set(ROOST_ENV_IMAGE, local_prefix)
    return change


def _under_copy(program: str, prefix: str, local_prefix: str) -> str:
    """A program named by its path in the shared copy (a kernel's python) runs from the node-local copy."""
    own = prefix.rstrip("/") + "/"
    return os.path.join(local_prefix, program[len(own) :]) if program.startswith(own) else program


# ------------------------------------------------------------------------------------------- running


FORWARDED_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGQUIT")


def run_command(command: Sequence[str], environ: Mapping[str, str]) -> int:
    """Run ``command`` as a child, passing on the signals a scheduler sends; its exit status (or -signal)."""
    import signal

    try:
        pid = os.fork()
    except OSError as exc:
        warn(f"cannot start {command[0]}: {exc.strerror}")
        return 127
    if pid == 0:
        try:
            os.execvpe(command[0], list(command), dict(environ))
        except OSError as exc:
            sys.stderr.write(f"roost: cannot run {command[0]}: {exc.strerror}\n")
            os._exit(127)

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for name in FORWARDED_SIGNALS:
        signal.signal(getattr(signal, name), forward)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def exit_like(code: int) -> int:
    """Exit as the child did: a child killed by a signal kills us with the same one (schedulers read it)."""
    if code >= 0:
        return code
    import signal

    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
    return 128 - code


def run_with_image(plan: ImagePlan, command: Sequence[str], environ: Mapping[str, str]) -> int:
    """The whole task: check, acquire, run, release.  Anything that goes wrong falls back to the shared copy."""
    if not image_is_current(plan):
        warn(f"env {plan.env} changed after its start-up image was built: running from the shared copy "
             f"(rebuild it with `roost env pack {plan.env}`)")
        return run_command(command, environ)
    holder = os.getpid()
    # squashfuse & co. are system tools: never look for them in the env's bin (on the shared file system).
    own_bin = os.path.join(plan.prefix, "bin")
    search_path = ":".join(d for d in environ.get("PATH", "").split(":") if d and d != own_bin)
    tools_environ = {**environ, "PATH": search_path}
    try:
        local_prefix, problem = acquire(plan, holder, tools_environ)
    except OSError as exc:
        local_prefix, problem = None, f"{exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})"
    if local_prefix is None:
        warn(f"env {plan.env}: start-up image not used ({problem}); running from the shared copy {plan.prefix}")
        return run_command(command, environ)
    try:
        local_command = [_under_copy(command[0], plan.prefix, local_prefix), *command[1:]]
        return run_command(local_command, relocation_change(plan, local_prefix).applied_to(environ))
    finally:
        try:
            release(plan, holder, tools_environ)
        except OSError as exc:
            warn(f"env {plan.env}: could not clean up {local_prefix}: {exc.strerror}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        plan, command = ImagePlan.from_arguments(arguments)
    except (KeyError, ValueError) as exc:
        sys.stderr.write(f"roost: bad start-up image arguments ({exc}); this script was not written by roost?\n")
        return 2
    return exit_like(run_with_image(plan, command, os.environ))
