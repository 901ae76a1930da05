"""The node side of ``roost jupyter``: ``python -m roost.kernels.serve SESSION_DIR`` (the job's command).

On the compute node it:

1. reads ``session.json`` (mode 0600: it holds the token);
2. builds the server's environment with the launcher's own steps (modules, env, variables), so notebooks
   *and* JupyterLab terminals see them;
3. writes a kernelspec ``python3`` into ``SESSION_DIR/share/jupyter`` (first on JUPYTER_PATH, so it is the
   default kernel) that runs the session's interpreter;
4. picks the address to listen on (``session["bind"]``: the node's own address, loopback, or what the site
   configured) and a free port there, writes ``endpoint.json`` (node, addresses, port; mode 0600);
5. writes the session's Jupyter settings (token, address, port, XSRF checks on) as JSON config files (0600) in
   ``SESSION_DIR/config`` and puts that directory first on ``JUPYTER_CONFIG_PATH``: Jupyter reads that
   directory with the highest precedence of all config files, above the user's ``~/.jupyter`` and the
   system's, so no config file can turn authentication off or widen the address; the token is never on the
   command line, where other users of the node could read it with ``ps``;
6. execs JupyterLab (or Notebook).

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


def free_port(address: str) -> int:
    """A port the OS considers free on ``address`` of this node (the server binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def listen_address(bind: str, node: str) -> str:
    """The IPv4 address the server listens on for the session's ``bind`` setting (see roost.kernels.server).

    "node" is the address the node's own name resolves to, which is where the printed tunnel
    (``ssh -L PORT:NODE:PORT``) connects: a non-loopback one when the name has several.
    """
    if bind == "loopback":
        return "127.0.0.1"
    if bind == "all":
        return "0.0.0.0"
    if bind != "node":
        return bind
    try:
        infos = socket.getaddrinfo(node, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return "127.0.0.1"  # a node that cannot resolve its own name: only loopback is certain
    found = [str(info[4][0]) for info in infos]
    outside = [address for address in found if not address.startswith("127.")]
    return (outside or found or ["127.0.0.1"])[0]


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


# The Jupyter applications whose config files can set ServerApp options: the server's own and the
# extensions roost starts (an ExtensionApp pushes what its config file sets into the server's config).
CONFIG_FILE_APPS = ("jupyter_server", "jupyter_lab", "jupyter_notebook")


def session_settings(session: Mapping[str, Any], address: str, port: int) -> Dict[str, Any]:
    """The Jupyter settings a session enforces, as traitlets config data (not code).

    The token is given to every identity provider class a config file could address (a subclass's section
    wins over its parent's), and to the deprecated ServerApp.token, so that no lower file can blank it.
    """
    token = session["token"]
    server = {
        "ip": address, "port": port, "port_retries": 0, "open_browser": False,
        "root_dir": session["root_dir"], "disable_check_xsrf": False, "token": token,
        # containers and CI machines run as root; Jupyter refuses it otherwise
        "allow_root": os.geteuid() == 0,
    }
    settings: Dict[str, Any] = {"ServerApp": server}
    for provider in ("IdentityProvider", "PasswordIdentityProvider", "LegacyIdentityProvider"):
        settings[provider] = {"token": token}
    return settings


def write_session_config(session_dir: str, settings: Mapping[str, Any]) -> str:
    """The session's config directory, holding ``settings`` for each app in CONFIG_FILE_APPS (0600)."""
    config_dir = os.path.join(session_dir, "config")
    os.makedirs(config_dir, mode=0o700, exist_ok=True)
    for app in CONFIG_FILE_APPS:
        write_private_json(os.path.join(config_dir, f"{app}_config.json"), settings)
    return config_dir


def server_argv(session: Mapping[str, Any]) -> List[str]:
    """Nothing but the program: every setting is in the session's config files (see session_settings)."""
    return [session["server_python"], "-E", "-m", SERVER_MODULES[session["mode"]]]


def server_environ(
    session: Mapping[str, Any], session_dir: str, environ: Mapping[str, str], config_dir: str
) -> Dict[str, str]:
    recipe = Recipe.from_json(session["recipe"])
    result = kernel_environ(recipe, environ)
    data_dir = write_session_kernel(session_dir, recipe, session["kernel_display_name"])
    result["JUPYTER_PATH"] = os.pathsep.join(p for p in (data_dir, result.get("JUPYTER_PATH", "")) if p)
    result["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (config_dir, result.get("JUPYTER_CONFIG_PATH", "")) if p
    )
    # JUPYTER_NO_CONFIG would make Jupyter skip JUPYTER_CONFIG_PATH, session settings included; the token
    # variables are only defaults (any config file beats them) and would leak into kernels and terminals.
    for name in ("JUPYTER_NO_CONFIG", "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE"):
        result.pop(name, None)
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
    node = socket.gethostname()
    address = listen_address(session.get("bind", "node"), node)
    try:
        port = free_port(address)
    except OSError as exc:
        fail(f"cannot listen on {address} on {node}: {exc.strerror}",
             "check the jupyter.bind setting in roost's config (see docs/kernels.md)")
    config_dir = write_session_config(session_dir, session_settings(session, address, port))
    try:
        environ = server_environ(session, session_dir, os.environ, config_dir)
    except LaunchError as exc:
        fail(exc.message, exc.hint or "")
    endpoint = {"node": node, "addresses": node_addresses(node), "address": address, "port": port,
                "pid": os.getpid()}
    write_private_json(os.path.join(session_dir, ENDPOINT_FILE), endpoint)
    sys.stderr.write(f"roost jupyter: starting {session['mode']} on {node}:{port} (listening on {address})\n")
    sys.stderr.flush()
    argv_ = server_argv(session)
    os.execve(argv_[0], argv_, environ)


if __name__ == "__main__":
    main(sys.argv[1:])
