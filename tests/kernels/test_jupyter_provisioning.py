"""`roost jupyter` from a fresh `pip install roost` (no JupyterLab for roost's Python): the server side is
provisioned on first use into roost's tool environment with uv from the package index, once for all of a
user's sessions (two first sessions at once install it once), and a site can point it at a central one.

Real: a venv holding roost and its dependencies but not JupyterLab, real uv and the index, real JupyterLab
on the local backend, a real kernel running code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple

import pytest
from server_client import execute

import roost
from roost.kernels.server import http_status

CHECKOUT = Path(roost.__file__).resolve().parents[2]  # src/roost/__init__.py -> the checkout


class Fresh(NamedTuple):
    python: str
    root: Path
    home: Path
    environ: Dict[str, str]

    @property
    def env_dir(self) -> Path:
        return self.root / "envs" / "nb"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, kernel_uv_cache: Path) -> Iterator[Fresh]:
    """A venv with roost installed the way a user installs it (no extras), a private HOME and an env."""
    from roost.envs.venv import uv_binary

    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    uv_env = {**os.environ, "UV_CACHE_DIR": str(kernel_uv_cache)}
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([uv_binary(), "venv", "-q", "--python", base, str(venv)], check=True, env=uv_env)
    subprocess.run([uv_binary(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(CHECKOUT)],
                   check=True, env=uv_env)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import jupyterlab"], capture_output=True).returncode != 0
    home = root / "home"
    home.mkdir()
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("ROOST_", "JUPYTER", "XDG_", "VIRTUAL_ENV", "PYTHONPATH"))}
    environ.update(HOME=str(home), ROOST_ENVS_DIR=str(root / "envs"), ROOST_UV_CACHE=str(kernel_uv_cache),
                   ROOST_SITE_CONFIG=str(root / "site.toml"), ROOST_CONFIG=str(root / "user.toml"))
    data = Fresh(python, root, home, environ)
    run(data, "env", "create", "nb", "iniconfig", "-q")
    yield data
    for session in json.loads(run(data, "jupyter", "--list", "--json").stdout):
        run(data, "jupyter", "--stop", session["id"], check=False)


def run(fresh: Fresh, *args: str, check: bool = True, **extra: str) -> subprocess.CompletedProcess:
    done = subprocess.run([fresh.python, "-m", "roost", *args], capture_output=True, text=True,
                          env={**fresh.environ, **extra}, cwd=fresh.home, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"roost {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def start(fresh: Fresh, count: int) -> List[subprocess.CompletedProcess]:
    command = [fresh.python, "-m", "roost", "jupyter", "--backend", "local", "-e", "nb", "--timeout", "300", "--json"]
    running = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=fresh.environ, cwd=fresh.home) for _ in range(count)]
    results = []
    for process in running:
        out, err = process.communicate(timeout=900)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


def assert_working_and_authenticated(done: subprocess.CompletedProcess, env_dir: Path) -> None:
    assert done.returncode == 0, done.stderr
    session = json.loads(done.stdout)
    base = f"http://{session['node']}:{session['port']}"
    assert http_status(f"{base}/api/status", None) == 403
    assert http_status(f"{base}/api/status", session["token"]) == 200
    printed = execute(base, session["token"], "import sys, iniconfig; print(sys.prefix)")
    assert printed.strip() == str(env_dir)


def test_first_sessions_provision_the_server_once_and_work(fresh: Fresh) -> None:
    tool = fresh.home / ".local" / "share" / "roost" / "tools" / "jupyter"
    first, second = start(fresh, 2)
    for done in (first, second):
        assert_working_and_authenticated(done, fresh.env_dir)
        assert json.loads(done.stdout)["server_python"] == str(tool / "bin" / "python")
    messages = first.stderr + second.stderr
    assert messages.count("installing jupyterlab once into") == 1, messages
    assert "installed jupyterlab into" in messages
    for done in (first, second):  # the local backend runs as many jobs at once as there are cores
        run(fresh, "jupyter", "--stop", json.loads(done.stdout)["id"])
    again = start(fresh, 1)[0]
    assert_working_and_authenticated(again, fresh.env_dir)
    assert "installing" not in again.stderr  # cached: later sessions reuse it
    run(fresh, "jupyter", "--stop", json.loads(again.stdout)["id"])
    assert not [p.name for p in tool.parent.iterdir() if p.name.startswith(".jupyter-")]  # no build left


def test_site_points_at_a_central_server(fresh: Fresh, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(f'[jupyter]\nserver_python = "{fresh.python}"\n')  # a Python without JupyterLab
    done = run(fresh, "jupyter", "--backend", "local", "-e", "nb", check=False, ROOST_SITE_CONFIG=str(site))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"error: the Jupyter server Python {fresh.python} (jupyter.server_python) cannot import jupyterlab" \
        in done.stderr
    site.write_text(f'[jupyter]\nserver_python = "{sys.executable}"\n')  # this one has it
    started = run(fresh, "jupyter", "--backend", "local", "-e", "nb", "--json", "--timeout", "300",
                  ROOST_SITE_CONFIG=str(site))
    assert json.loads(started.stdout)["server_python"] == sys.executable
    assert "installing" not in started.stderr
    assert_working_and_authenticated(started, fresh.env_dir)
    run(fresh, "jupyter", "--stop", json.loads(started.stdout)["id"])
