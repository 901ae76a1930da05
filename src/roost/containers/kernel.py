"""``roost kernel install --container NAME``: the seed guide's three kernel steps (copy a kernel, point it at
the container's python, add the extras to PYTHONPATH) as one call.

The kernel's interpreter is the container's ``python`` wrapper, which already puts the extras directory on
PYTHONPATH inside the container; ipykernel is pip-installed into the extras when the image lacks it.  The
connection file Jupyter writes must be visible inside the container: it lives in Jupyter's runtime
directory (under $HOME, or $JUPYTER_RUNTIME_DIR), which the runtime binds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Optional

from roost.containers import api
from roost.errors import KernelError

if TYPE_CHECKING:
    from roost.kernels.api import InstallResult


def has_ipykernel(container: api.Container, environ: Mapping[str, str]) -> bool:
    python = str(container.wrapper("python"))
    try:
        done = subprocess.run([python, "-c", "import ipykernel"], env=dict(environ), capture_output=True,
                              timeout=120, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def install_container_kernel(
    container_name: str,
    *,
    name: Optional[str] = None,
    display_name: Optional[str] = None,
    target: Optional[Path] = None,
    force: bool = False,
    install_ipykernel: bool = True,
    environ: Optional[Mapping[str, str]] = None,
) -> InstallResult:
    """Install a kernelspec running the container's python; returns the kernels API's InstallResult."""
    from roost.kernels import api as kernels_api

    environ = dict(os.environ if environ is None else environ)
    container = api.get(container_name)
    if not has_ipykernel(container, environ):
        if not install_ipykernel:
            raise KernelError(f"the container {container.fullname} has no ipykernel",
                              f"roost container pip-install {container.fullname} ipykernel")
        api.pip_install(container.fullname, ["ipykernel"], capture=True, environ=environ)
    kernel_name = name or f"{container.name}-{container.version}"
    return kernels_api.install_kernel(
        kernel_name,
        python=str(container.wrapper("python")),
        display_name=display_name or f"{container.name} {container.version} (container)",
        target=target,
        force=force,
        install_ipykernel=False,
        environ=environ,
    )
