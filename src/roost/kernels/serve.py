"""The node side of ``roost jupyter``: ``python -m roost.kernels.serve SESSION_DIR`` (the job's command).

On the compute node it:

1. reads ``session.json`` (mode 0600: it holds the token);
2. builds the server's environment with the launcher's own steps (modules, env, variables), so notebooks
   *and* JupyterLab terminals see them;
3. writes a kernelspec ``python3`` into ``SESSION_DIR/share/jupyter`` (first on JUPYTER_PATH, so it is the
   default kernel) that runs the session's interpreter;
4. binds a free port on this node, writes ``endpoint.json`` (node, port; mode 0600);
5. execs JupyterLab (or Notebook) on that port with the token from ``JUPYTER_TOKEN`` — never on the command
   line, where other users of the node could read it with ``ps``.

The server runs as ``python -E``: PYTHONPATH/PYTHONHOME set by modules are for the kernel, and must not break
the server's own interpreter (they stay in the environment its kernels and terminals inherit).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any, Dict, List, Mapping, NoReturn

from roost.kernels.launch import LaunchError, kernel_environ
from roost.kernels.recipe import Recipe

SESSION_FILE = "session.json"
ENDPOINT_FILE = "endpoint.json"
SERVER_MODULES = {"lab": "jupyterlab", "notebook": "notebook"}


def write_private_json(path: str, data: Mapping[str, Any]) -> None:
    """Write JSON readable only by its owner (created 0600, then renamed into place)."""
    staging = f"{path}.{os.getpid()}.tmp"
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
    os.replace(staging, path)


def free_port() -> int:
    """A port the OS considers free on every interface of this node (the server binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def node_addresses(node: str) -> List[str]:
    """This node's non-loopback IPv4 addresses by its name: a fallback for a login node that cannot resolve
    the compute node's short name."""
    try:
        infos = socket.getaddrinfo(node, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return []
    addresses: List[str] = []
    for info in infos:
        address = str(info[4][0])
        if not address.startswith("127.") and address not in addresses:
            addresses.append(address)
    return addresses


def write_session_kernel(session_dir: str, recipe: Recipe, display_name: str) -> str:
    """The session's default kernel: its interpreter, in the environment the server already has."""
    data_dir = os.path.join(session_dir, "share", "jupyter")
    kernel_dir = os.path.join(data_dir, "kernels", "python3")
    os.makedirs(kernel_dir, exist_ok=True)
    spec = {
        "argv": [recipe.python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True},
    }
    with open(os.path.join(kernel_dir, "kernel.json"), "w", encoding="utf-8") as handle:
        json.dump(spec, handle, indent=1)
    from pathlib import Path

    from roost.kernels.manager import copy_logos

    copy_logos(Path(kernel_dir))
    return data_dir


def server_argv(session: Mapping[str, Any], port: int) -> List[str]:
    module = SERVER_MODULES[session["mode"]]
    argv = [
        session["server_python"], "-E", "-m", module,
        "--no-browser", f"--ip={session.get('bind', '0.0.0.0')}", f"--port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={session['root_dir']}",
    ]
    if os.geteuid() == 0:
        argv.append("--allow-root")  # containers and CI machines run as root; Jupyter refuses it otherwise
    return argv


def server_environ(
    session: Mapping[str, Any], session_dir: str, environ: Mapping[str, str]
) -> Dict[str, str]:
    recipe = Recipe.from_json(session["recipe"])
    result = kernel_environ(recipe, environ)
    data_dir = write_session_kernel(session_dir, recipe, session["kernel_display_name"])
    result["JUPYTER_PATH"] = os.pathsep.join(p for p in (data_dir, result.get("JUPYTER_PATH", "")) if p)
    result["JUPYTER_TOKEN"] = session["token"]
    result["JUPYTER_RUNTIME_DIR"] = os.path.join(session_dir, "runtime")
    return result


def fail(message: str, hint: str = "") -> NoReturn:
    sys.stderr.write(f"roost jupyter: {message}\n" + (f"hint: {hint}\n" if hint else ""))
    raise SystemExit(1)


def main(argv: List[str]) -> NoReturn:
    if len(argv) != 1:
        fail("usage: python -m roost.kernels.serve SESSION_DIR")
    session_dir = argv[0]
    try:
        with open(os.path.join(session_dir, SESSION_FILE), encoding="utf-8") as handle:
            session = json.load(handle)
    except (OSError, ValueError) as exc:
        fail(f"cannot read the session in {session_dir}: {exc}", "start a new one with: roost jupyter")
    try:
        environ = server_environ(session, session_dir, os.environ)
    except LaunchError as exc:
        fail(exc.message, exc.hint or "")
    port = free_port()
    node = socket.gethostname()
    endpoint = {"node": node, "addresses": node_addresses(node), "port": port, "pid": os.getpid()}
    write_private_json(os.path.join(session_dir, ENDPOINT_FILE), endpoint)
    sys.stderr.write(f"roost jupyter: starting {session['mode']} on {node}:{port}\n")
    sys.stderr.flush()
    argv_ = server_argv(session, port)
    os.execve(argv_[0], argv_, environ)


if __name__ == "__main__":
    main(sys.argv[1:])
