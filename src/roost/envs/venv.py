"""venv kind: a relocatable virtual environment made and filled by uv.

Flow: ``uv venv --relocatable`` (relocatable, so the staging directory can be renamed into place),
``uv pip compile --generate-hashes`` of what was asked (the lock), ``uv pip sync`` of the lock (installs
exactly the lock, so export -> import reproduces ``pip freeze``).  The uv cache is roost's own
(``envs.uv_cache``), next to the envs so uv hardlinks instead of copying.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

from roost.config import Config
from roost.envs import manifest as manifest_mod
from roost.envs.kinds import BuildResult, BuildSpec, EnvKind, Progress, normalize_name
from roost.envs.manifest import LockedPackage, Manifest
from roost.errors import EnvError
from roost.shell.change import EnvChange

EXPORT_HEADER = "# roost environment export (a pip requirements file with roost's settings in comments)"
# Variables that would make uv act on something other than the env we name.
_UV_SCRUB = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "UV_SYSTEM_PYTHON",
    "UV_PYTHON",
    "PYTHONHOME",
    "UV_PROJECT_ENVIRONMENT",
)


def uv_binary() -> str:
    try:
        import uv

        return str(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvError("uv is not installed", "reinstall roost (`pip install roost`), which depends on uv")


def uv_environ(environ: Mapping[str, str], config: Config) -> Dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in _UV_SCRUB}
    env["UV_CACHE_DIR"] = str(config.envs.uv_cache)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # the interpreter comes from a module or --python, never the network
    env["UV_NO_PROGRESS"] = "1"
    return env


def tied_to_this_process() -> Callable[[], None]:
    """A ``preexec_fn`` that makes the child get SIGKILL when roost dies, so a killed command leaves no
    installer writing into the env (PR_SET_PDEATHSIG, Linux).

    Death before the child sets it would go unnoticed (the signal is only armed for deaths that come
    later), so the child then checks that its parent is still the process that started it, and exits if
    not.  libc is looked up here, in the parent: the child between fork and exec should run as little
    Python as possible (no imports).
    """
    parent = os.getpid()
    if not sys.platform.startswith("linux"):
        return lambda: None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            os._exit(137)  # roost died before the signal was armed

    return arm


def run_uv(args: Sequence[str], environ: Mapping[str, str], config: Config, what: str) -> str:
    command = [uv_binary(), *args]
    result = subprocess.run(
        command, capture_output=True, text=True, env=uv_environ(environ, config),
        preexec_fn=tied_to_this_process(),
    )
    if result.returncode != 0:
        raise uv_error(what, result.stderr)
    return result.stdout


def uv_error(what: str, stderr: str) -> EnvError:
    text = _clean(stderr)
    lowered = text.lower()
    if "not found in the package registry" in lowered or "no matching distribution" in lowered:
        hint = "check the package name and version (they must exist on your package index)"
    elif "no solution found" in lowered:
        hint = "relax the version constraints, or check which versions support this env's Python"
    elif any(s in lowered for s in ("failed to fetch", "dns error", "connection", "timed out", "offline")):
        hint = "the package index is unreachable: check the network (or proxy), then run the command again"
    else:
        hint = "fix the problem uv reports above, then run the command again"
    return EnvError(f"{what} failed:\n{text}", hint)


def _clean(stderr: str) -> str:
    lines = [line.rstrip() for line in stderr.strip().splitlines() if line.strip()]
    return "\n".join(lines[-15:])


def parse_lock(text: str) -> List[LockedPackage]:
    """Read ``name==version`` pins and their ``--hash`` lines from a compiled requirements file."""
    packages: List[LockedPackage] = []
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        spec, *rest = line.split()
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^;\s]+)", spec)
        if not match:
            packages.append(LockedPackage(name=spec, version=""))
            continue
        hashes = [item.split("=", 1)[1] for item in rest if item.startswith("--hash=")]
        packages.append(LockedPackage(name=normalize_name(match.group(1)), version=match.group(3), hashes=hashes))
    return packages


class VenvKind(EnvKind):
    name = "venv"
    needs_python = True
    export_suffix = ".txt"

    def python(self, prefix: Path) -> Path:
        return prefix / "bin" / "python"

    def build(self, spec: BuildSpec) -> BuildResult:
        assert spec.python is not None
        requested = list(spec.packages)
        if spec.config.envs.seed_pip and not any(normalize_name(_req_name(r)) == "pip" for r in requested):
            requested.insert(0, "pip")  # people expect `pip` inside their env
        if choose_installer(spec.config) == "pip":
            from roost.envs import pipvenv

            return pipvenv.build(spec, requested)
        spec.progress(f"creating a venv with Python {spec.python.version} ({spec.python.path})")
        args = ["venv", "--quiet", "--relocatable", "--prompt", spec.name, "--python", spec.python.path]
        if spec.system_site_packages:
            args.append("--system-site-packages")
        run_uv([*args, str(spec.build_dir)], spec.environ, spec.config, "creating the venv")
        state = manifest_mod.roost_dir(spec.build_dir)
        state.mkdir(parents=True, exist_ok=True)
        (state / manifest_mod.REQUIREMENTS_FILE).write_text("".join(r + "\n" for r in requested))
        if spec.lock_text is not None:
            (state / manifest_mod.LOCK_FILE).write_text(spec.lock_text)
        elif requested:
            spec.progress(f"resolving {len(requested)} requirement(s)")
            self._compile(spec.build_dir, spec.build_dir, spec.environ, spec.config)
        else:
            (state / manifest_mod.LOCK_FILE).write_text("")
        lock_text = (state / manifest_mod.LOCK_FILE).read_text()
        lock = parse_lock(lock_text)
        if lock:
            spec.progress(f"installing {len(lock)} package(s)")
            self._sync(spec.build_dir, state / manifest_mod.LOCK_FILE, spec.environ, spec.config)
        return BuildResult(lock=lock, requested=requested)

    def _compile(
        self,
        prefix: Path,
        state_prefix: Path,
        environ: Mapping[str, str],
        config: Config,
        output: Optional[Path] = None,
        requirements: Optional[Path] = None,
    ) -> None:
        state = manifest_mod.roost_dir(state_prefix)
        requirements = requirements or state / manifest_mod.REQUIREMENTS_FILE
        output = output or state / manifest_mod.LOCK_FILE
        run_uv(
            [
                "pip",
                "compile",
                "--quiet",
                "--generate-hashes",
                "--no-header",
                "--no-annotate",  # annotations would name the staging directory
                "--python",
                str(self.python(prefix)),
                str(requirements),
                "--output-file",
                str(output),
            ],
            environ,
            config,
            "resolving the requirements",
        )

    def _sync(self, prefix: Path, lock: Path, environ: Mapping[str, str], config: Config) -> None:
        run_uv(
            ["pip", "sync", "--quiet", "--python", str(self.python(prefix)), str(lock)],
            environ,
            config,
            "installing the packages",
        )

    def install(
        self,
        prefix: Path,
        manifest: Manifest,
        packages: List[str],
        environ: Mapping[str, str],
        config: Config,
        progress: Progress,
    ) -> BuildResult:
        state = manifest_mod.roost_dir(prefix)
        requested = manifest.requested_with(packages)
        if _uses_pip(manifest):
            from roost.envs import pipvenv

            progress(f"installing {' '.join(packages)} with pip")
            lock = pipvenv.install(prefix, requested, packages, environ)
            return BuildResult(lock=lock, requested=requested, kind_data=manifest.kind_data)
        old_lock = state / manifest_mod.LOCK_FILE
        with tempfile.TemporaryDirectory(dir=state, prefix=manifest_mod.SCRATCH_PREFIX) as scratch:
            requirements = Path(scratch) / manifest_mod.REQUIREMENTS_FILE
            requirements.write_text("".join(r + "\n" for r in requested))
            new_lock = Path(scratch) / manifest_mod.LOCK_FILE
            if old_lock.exists():  # uv prefers the pins already in the output file: nothing else moves
                shutil.copyfile(old_lock, new_lock)
            progress(f"resolving {len(requested)} requirement(s)")
            self._compile(prefix, prefix, environ, config, output=new_lock, requirements=requirements)
            progress("installing")
            try:
                self._sync(prefix, new_lock, environ, config)
            except EnvError:
                if old_lock.exists():  # put the env back the way the lock says
                    self._sync(prefix, old_lock, environ, config)
                raise
            os.replace(new_lock, old_lock)
            os.replace(requirements, state / manifest_mod.REQUIREMENTS_FILE)
        return BuildResult(lock=parse_lock(old_lock.read_text()), requested=requested)

    def sync(
        self, prefix: Path, manifest: Manifest, environ: Mapping[str, str], config: Config, progress: Progress
    ) -> None:
        lock = manifest_mod.roost_dir(prefix) / manifest_mod.LOCK_FILE
        if not lock.exists():
            raise EnvError(f"{prefix} has no lock file", "adopted envs have no lock to restore; install into them")
        progress("restoring the locked packages")
        if _uses_pip(manifest):
            from roost.envs import pipvenv

            pipvenv.sync(prefix, environ)
            return
        self._sync(prefix, lock, environ, config)

    def installed(self, prefix: Path, environ: Mapping[str, str], config: Config) -> List[LockedPackage]:
        if choose_installer(config) == "pip":
            from roost.envs import pipvenv

            return parse_lock(pipvenv.freeze(self.python(prefix), environ))
        out = run_uv(["pip", "freeze", "--python", str(self.python(prefix))], environ, config, "listing packages")
        return parse_lock(out)

    def activate(self, prefix: Path, manifest: Manifest, change: EnvChange) -> None:
        from roost.envs.activation import activate_venv

        activate_venv(str(prefix), manifest.name, change)

    def export_text(self, prefix: Path, manifest: Manifest) -> str:
        lock = manifest_mod.roost_dir(prefix) / manifest_mod.LOCK_FILE
        body = lock.read_text() if lock.exists() else "".join(p.pin() + "\n" for p in manifest.lock)
        header = [EXPORT_HEADER, f"# roost-name: {manifest.name}", f"# roost-kind: {manifest.kind}"]
        if manifest.python:
            header.append(f"# roost-python: {manifest.python.version}")
        header += [f"# roost-module: {m.fullname}" for m in manifest.modules]
        header += [f"# roost-modulepath: {p}" for p in manifest.modulepath]
        header += [f"# roost-requested: {r}" for r in manifest.requested]
        if manifest.system_site_packages:
            header.append("# roost-system-site-packages: true")
        return "\n".join(header) + "\n" + body

    def adopt(self, prefix: Path, environ: Mapping[str, str], config: Config) -> BuildResult:
        lock = self.installed(prefix, environ, config)
        state = manifest_mod.roost_dir(prefix)
        state.mkdir(parents=True, exist_ok=True)
        (state / manifest_mod.LOCK_FILE).write_text("".join(p.pin() + "\n" for p in lock))
        (state / manifest_mod.REQUIREMENTS_FILE).write_text("".join(p.name + "\n" for p in lock))
        return BuildResult(lock=lock, requested=[p.name for p in lock])


def choose_installer(config: Config) -> str:
    """uv, unless the config says pip, or (auto) no uv binary can be found."""
    if config.envs.installer != "auto":
        return config.envs.installer
    try:
        uv_binary()
    except EnvError:
        return "pip"
    return "uv"


def _uses_pip(manifest: Manifest) -> bool:
    return manifest.kind_data.get("installer") == "pip"


def _req_name(requirement: str) -> str:
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1) if match else requirement


KIND = VenvKind()
