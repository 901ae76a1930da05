"""The pip fallback of the venv kind, for machines where uv cannot run (config ``envs.installer = "pip"``,
or ``auto`` when no uv binary is found).

``python -m venv`` + ``pip install``; the lock is ``pip freeze --all`` (no hashes unless the env was imported
from a hashed lock).  pip writes the staging path into script shebangs and the activate scripts, so after the
build those are rewritten to the final prefix before the rename.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

from roost.envs import layout
from roost.envs.kinds import BuildResult, BuildSpec
from roost.envs.manifest import LockedPackage
from roost.errors import EnvError

# What would make pip act on something other than the env we name, or refuse to.
_PIP_SCRUB = ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "PIP_REQUIRE_VIRTUALENV", "PIP_USER")


def pip_environ(environ: Mapping[str, str]) -> Dict[str, str]:
    env = {k: v for k, v in environ.items() if k not in _PIP_SCRUB}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run_pip(python: Path, args: Sequence[str], environ: Mapping[str, str], what: str) -> str:
    from roost.envs.venv import tied_to_this_process, uv_error

    result = subprocess.run(
        [str(python), "-m", "pip", *args],
        capture_output=True,
        text=True,
        env=pip_environ(environ),
        preexec_fn=tied_to_this_process(),
    )
    if result.returncode != 0:
        raise uv_error(what, result.stderr)  # the same hints fit pip's messages
    return result.stdout


def freeze(python: Path, environ: Mapping[str, str]) -> str:
    return run_pip(python, ["freeze", "--all"], environ, "listing packages")


def relocate(build_dir: Path, prefix: Path) -> None:
    """Point scripts and activate files at the final prefix (pip and venv wrote the staging path)."""
    old, new = str(build_dir).encode(), str(prefix).encode()
    for path in (build_dir / "bin").iterdir():
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if old in data and b"\0" not in data[:1024]:
            path.write_bytes(data.replace(old, new))


def build(spec: BuildSpec, requested: List[str]) -> BuildResult:
    from roost.envs.venv import parse_lock, tied_to_this_process

    assert spec.python is not None
    spec.progress(f"creating a venv with Python {spec.python.version} ({spec.python.path}) [pip]")
    args = [spec.python.path, "-m", "venv", "--prompt", spec.name]
    if spec.system_site_packages:
        args.append("--system-site-packages")
    result = subprocess.run([*args, str(spec.build_dir)], capture_output=True, text=True,
                            env=pip_environ(spec.environ), preexec_fn=tied_to_this_process())
    if result.returncode != 0:
        raise EnvError(f"creating the venv failed: {result.stderr.strip()[-800:]}", "check the Python interpreter")
    python = spec.build_dir / "bin" / "python"
    state = layout.roost_dir(spec.build_dir)
    state.mkdir(parents=True, exist_ok=True)
    (state / layout.REQUIREMENTS_FILE).write_text("".join(r + "\n" for r in requested))
    if spec.lock_text is not None:
        (state / layout.LOCK_FILE).write_text(spec.lock_text)
        spec.progress("installing the locked packages with pip")
        run_pip(
            python,
            ["install", "-q", "--no-deps", "-r", str(state / layout.LOCK_FILE)],
            spec.environ,
            "installing the packages",
        )
    else:
        if requested:
            spec.progress(f"installing {len(requested)} requirement(s) with pip")
            run_pip(
                python,
                ["install", "-q", "-r", str(state / layout.REQUIREMENTS_FILE)],
                spec.environ,
                "installing the packages",
            )
        (state / layout.LOCK_FILE).write_text(freeze(python, spec.environ))
    relocate(spec.build_dir, spec.prefix)
    lock = parse_lock((state / layout.LOCK_FILE).read_text())
    return BuildResult(lock=lock, requested=requested, kind_data={"installer": "pip"})


def install(prefix: Path, requested: List[str], packages: List[str], environ: Mapping[str, str]) -> List[LockedPackage]:
    from roost.envs.venv import parse_lock

    python = prefix / "bin" / "python"
    run_pip(python, ["install", "-q", *packages], environ, "installing the packages")
    text = freeze(python, environ)
    state = layout.roost_dir(prefix)
    (state / layout.LOCK_FILE).write_text(text)
    (state / layout.REQUIREMENTS_FILE).write_text("".join(r + "\n" for r in requested))
    return parse_lock(text)


def sync(prefix: Path, environ: Mapping[str, str]) -> None:
    """Install the lock's pins, then remove what the lock does not name."""
    from roost.envs.kinds import normalize_name
    from roost.envs.venv import parse_lock

    python = prefix / "bin" / "python"
    lock = layout.roost_dir(prefix) / layout.LOCK_FILE
    run_pip(python, ["install", "-q", "--no-deps", "-r", str(lock)], environ, "installing the packages")
    locked = {normalize_name(p.name) for p in parse_lock(lock.read_text())}
    extra = [p.name for p in parse_lock(freeze(python, environ)) if normalize_name(p.name) not in locked]
    if extra:
        run_pip(python, ["uninstall", "-q", "-y", *extra], environ, "removing packages not in the lock")
