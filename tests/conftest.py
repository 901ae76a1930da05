"""Shared fixtures.

Integration tests declare the real service they need with ``@pytest.mark.service("lmod")`` (or
``require_service("slurm")`` inside a fixture).  On a laptop without it they skip with the reason; when
``ROOST_REQUIRE_SERVICES`` names it (``.ci/run`` sets ``lmod,slurm,charliecloud,...`` or ``all``), the skip
becomes a failure, so a missing install step can never pass silently.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest

LMOD_INIT = "/usr/share/lmod/lmod/init/bash"
LMOD_CMD = "/usr/share/lmod/lmod/libexec/lmod"


def _has_lmod() -> bool:
    return Path(LMOD_CMD).exists()


def _has_slurm() -> bool:
    import subprocess

    if not shutil.which("sinfo"):
        return False
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def _has_charliecloud() -> bool:
    image = Path(os.environ.get("ROOST_TEST_IMAGE", "/var/tmp/roost-test-images/python"))
    return shutil.which("ch-run") is not None and image.is_dir()


def _has_chromium() -> bool:
    return shutil.which("chromium") is not None


def _has_podman() -> bool:
    return shutil.which("podman") is not None


def _has_apptainer() -> bool:
    return shutil.which("apptainer") is not None or shutil.which("singularity") is not None


def _has_squashfs() -> bool:
    """mksquashfs/unsquashfs (start-up images) and squashfuse with a usable /dev/fuse (mounting them)."""
    tools = all(shutil.which(tool) for tool in ("mksquashfs", "unsquashfs", "squashfuse", "strace"))
    return tools and os.access("/dev/fuse", os.R_OK | os.W_OK)


SLURM_MULTI_CONF = "/etc/slurm-multi/slurm.conf"  # scripts/services/slurm-multi.sh: 2 nodes beside `slurm`


def _has_slurm_multi() -> bool:
    import subprocess

    if not shutil.which("sinfo") or not Path(SLURM_MULTI_CONF).exists():
        return False
    environ = dict(os.environ, SLURM_CONF=SLURM_MULTI_CONF)
    try:
        argv = ["sinfo", "-h", "-N", "-o", "%N %t"]  # one line per node (%n would be the shared host name)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, env=environ)
    except (OSError, subprocess.TimeoutExpired):
        return False
    states = dict(line.split() for line in out.stdout.splitlines() if line.strip())
    usable = ("idle", "mix", "alloc")
    return out.returncode == 0 and len(states) >= 2 and all(s.rstrip("*") in usable for s in states.values())


SERVICE_PROBES: Dict[str, Callable[[], bool]] = {
    "squashfs": _has_squashfs,
    "slurm-multi": _has_slurm_multi,
    "lmod": _has_lmod,
    "slurm": _has_slurm,
    "charliecloud": _has_charliecloud,
    "chromium": _has_chromium,
    "podman": _has_podman,
    "apptainer": _has_apptainer,
    "zsh": lambda: shutil.which("zsh") is not None,
    "fish": lambda: shutil.which("fish") is not None,
}

_probe_cache: Dict[str, bool] = {}


# Read once at import: fixtures that scrub ROOST_* variables must not turn a required service optional.
_REQUIRED = os.environ.get("ROOST_REQUIRE_SERVICES", "")


def required_services() -> set:
    names = {n.strip() for n in _REQUIRED.split(",") if n.strip()}
    if "all" in names:
        # Apptainer cannot be installed here (not in Debian 12, not on PyPI); everything else is required
        names = set(SERVICE_PROBES) - {"apptainer"} | names - {"all"}
    return names


def require_service(name: str) -> None:
    """Skip (or fail, when CI requires it) unless the named service is available."""
    if name not in _probe_cache:
        _probe_cache[name] = SERVICE_PROBES[name]()
    if _probe_cache[name]:
        return
    reason = f"service {name!r} is not available here (scripts/services/{name}.sh installs and starts it)"
    if name in required_services():
        pytest.fail(f"{reason}, and ROOST_REQUIRE_SERVICES requires it", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers(name="service"):
        for name in marker.args:
            require_service(name)


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Dict[str, str]]:
    """An environment without any module state and with roost's user dirs inside tmp_path."""
    for name in list(os.environ):
        if name.startswith(("_ModuleTable", "__LMOD", "LMOD", "_ROOST", "__ROOST", "ROOST_")) or name in (
            "LOADEDMODULES", "_LMFILES_", "MODULEPATH", "MODULESHOME",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home" / ".cache"))
    (tmp_path / "home").mkdir()
    yield dict(os.environ)
