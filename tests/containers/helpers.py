"""Helpers for container tests: the test images the services script builds, the CLI, a tiny local wheel."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

import pytest

IMAGE_DIR = Path(os.environ.get("ROOST_TEST_IMAGE", "/var/tmp/roost-test-images/python"))
IMAGE_SQFS = IMAGE_DIR.with_name(IMAGE_DIR.name + ".sqfs")
LMOD_INIT = "/usr/share/lmod/lmod/init/bash"

RUNTIMES = [
    pytest.param("charliecloud", marks=pytest.mark.service("charliecloud"), id="charliecloud"),
    # The "apptainer" service is Apptainer or SingularityCE, whichever is installed.
    pytest.param("apptainer" if shutil.which("apptainer") or not shutil.which("singularity") else "singularity",
                 marks=[pytest.mark.service("apptainer"), pytest.mark.service("charliecloud")], id="apptainer"),
    pytest.param("podman", marks=[pytest.mark.service("podman"), pytest.mark.service("charliecloud")],
                 id="podman"),
]
# Podman runs directory images (and images in its own store), not SquashFS files.
SQUASHFS_RUNTIMES = ("charliecloud", "apptainer", "singularity")


def roost(*args: str, timeout: float = 120,
          env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """The real CLI in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ) if env is None else env)


def run(argv: List[str], env: Optional[Dict[str, str]] = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ) if env is None else env)


def make_wheel(directory: Path, module: str = "roost_extra_probe", version: str = "1.0") -> Path:
    """A pure-Python wheel whose module records where it was imported from (installable with no index)."""
    dist = module.replace("_", "-")
    info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": "WHERE = __file__\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    record = []
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
            digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
            record.append(f"{name},sha256={digest},{len(text)}")
        record.append(f"{info}/RECORD,,")
        archive.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return wheel
