"""A small env (packaging, tomli, six) made and packed once per test module, shared by the start-up image
tests of envs and jobs (packing compiles bytecode: seconds on a busy machine)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple

SMALL_PACKAGES = ("packaging", "tomli", "six")
SMALL_IMPORT = "import packaging.version, packaging.specifiers, tomli, six"


class PackedEnv(NamedTuple):
    name: str
    environ: Dict[str, str]  # what a user's shell would hold: roost's dirs point into the test's tree
    envs_dir: Path


def isolated_environ(root: Path, uv_cache: Path) -> Dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ROOST_", "_ROOST", "__ROOST", "LMOD", "_ModuleTable", "__LMOD"))
        and k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH", "PIP_REQUIRE_VIRTUALENV", "MODULEPATH")
    }
    (root / "home").mkdir(parents=True, exist_ok=True)
    site = root / "site.toml"
    site.write_text("[envs]\nseed_pip = false\n")
    environ.update(
        HOME=str(root / "home"),
        XDG_CONFIG_HOME=str(root / "home" / ".config"),
        XDG_DATA_HOME=str(root / "home" / ".local" / "share"),
        ROOST_ENVS_DIR=str(root / "envs"),
        ROOST_UV_CACHE=str(uv_cache),
        ROOST_SITE_CONFIG=str(site),
        ROOST_JOBS_BACKEND="local",
        TMPDIR=str(root / "node-local"),
    )
    (root / "node-local").mkdir(exist_ok=True)
    return environ


def roost(environ: Dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "roost", *args], capture_output=True, text=True, env=environ, timeout=timeout
    )
    if done.returncode != 0:
        raise AssertionError(f"roost {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def make_packed_env(root: Path, uv_cache: Path, python: Path, name: str = "small") -> PackedEnv:
    environ = isolated_environ(root, uv_cache)
    roost(environ, "env", "create", name, "--python", str(python), *SMALL_PACKAGES, "-q")
    roost(environ, "env", "pack", name, "-q")
    return PackedEnv(name, environ, root / "envs")


_PATH_ARGUMENT = re.compile(r'"((?:[^"\\]|\\.)*)"')


def calls_under(trace: str, directory: Path) -> List[str]:
    """strace lines whose path argument (the first string) lies under ``directory``."""
    prefix = str(directory).rstrip("/") + "/"
    found = []
    for line in trace.splitlines():
        match = _PATH_ARGUMENT.search(line)
        if match and (match.group(1) + "/").startswith(prefix):
            found.append(line)
    return found


def traced_calls(script: str, environ: Dict[str, str], workdir: Path, directory: Path) -> List[str]:
    """Run a job script under ``strace -f -e trace=%file,%desc`` (as its backend would run it, with bash) and
    return the calls on paths under ``directory``."""
    (workdir / "job.sh").write_text(script)
    log = workdir / "strace.txt"
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=%file,%desc", "-o", str(log), "bash", str(workdir / "job.sh")],
        env=environ,
        cwd=workdir,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return calls_under(log.read_text(), directory)
