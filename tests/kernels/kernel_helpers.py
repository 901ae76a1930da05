"""Helpers for kernel tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict, List


def roost(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (the environment is the test's)."""
    done = subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"roost {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def start_failure_log(name: str, log: Path, timeout: float = 60) -> str:
    """Start kernel ``name`` as Jupyter does, expect it to die before it is ready, return its stderr."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name=name)
    with open(log, "w") as stderr:
        manager.start_kernel(stderr=stderr)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
    except RuntimeError:
        return log.read_text()
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    raise AssertionError(f"kernel {name} started although it should not have")


def run_in_kernel(name: str, code: str, log: Path, timeout: float = 90) -> str:
    """Start kernel ``name`` the way a Jupyter server does (jupyter_client, from its installed spec), run
    ``code`` and return what it printed.  The kernel's stderr goes to ``log``."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name=name)
    with open(log, "w") as stderr:
        manager.start_kernel(stderr=stderr)
    client = manager.client()
    client.start_channels()
    output: List[str] = []
    try:
        client.wait_for_ready(timeout=timeout)

        def keep(message: Dict[str, object]) -> None:
            content = message["content"]
            if message["msg_type"] == "stream" and isinstance(content, dict):
                output.append(str(content["text"]))
            elif message["msg_type"] == "error" and isinstance(content, dict):
                output.append("ERROR: " + str(content.get("evalue")))

        client.execute_interactive(code, output_hook=keep, timeout=timeout)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return "".join(output)


def write_module(tree: Path, fullname: str, body: str) -> Path:
    path = tree / f"{fullname}.lua"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path
