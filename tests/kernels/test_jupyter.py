"""roost jupyter under the local backend and real Slurm: token-protected, reachable, and a real browser
loads JupyterLab from the printed URL (screenshots kept in test-artifacts/)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from kernel_helpers import roost
from server_client import api, execute

from roost.kernels.server import answering_host, http_status

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("slurm", id="slurm", marks=pytest.mark.service("slurm")),
]


@pytest.fixture(scope="module")
def notebook_env(site: Dict[str, Path]) -> Path:
    roost("env", "create", "nbenv", "iniconfig")
    return site["root"] / "envs" / "nbenv"


@pytest.fixture(scope="module", params=BACKENDS)
def session(
    request: pytest.FixtureRequest, site: Dict[str, Path], notebook_env: Path
) -> Iterator[Dict[str, Any]]:
    """One JupyterLab per backend for the whole module, with an env and two modules.  (The slurm param's
    service mark is checked by the root conftest before this fixture is set up.)"""
    backend = request.param
    done = roost("jupyter", "--backend", backend, "-e", "nbenv", "-m", "gcc", "-m", "tools", "--time", "20",
                 "--timeout", "240", "--json")
    data: Dict[str, Any] = json.loads(done.stdout)
    data["base"] = f"http://{data['node']}:{data['port']}"
    data["backend_name"] = backend
    yield data
    roost("jupyter", "--stop", data["id"], check=False)


def test_status_needs_the_token(session: Dict[str, Any]) -> None:
    status = f"{session['base']}/api/status"
    assert http_status(status, session["token"]) == 200
    assert http_status(status, None) == 403
    assert http_status(status, "not-the-token") == 403
    assert http_status(session["url"], None) == 200  # the printed URL carries the token


def test_unresolvable_node_name_falls_back_to_its_address(session: Dict[str, Any]) -> None:
    endpoint = {"node": "no-such-node.invalid", "addresses": ["127.0.0.1"], "port": session["port"]}
    assert answering_host(endpoint, session["token"]) == "127.0.0.1"
    assert answering_host(endpoint, "wrong-token") is None


def test_connection_details_are_private_and_complete(session: Dict[str, Any]) -> None:
    directory = Path(os.environ["XDG_DATA_HOME"]) / "roost" / "jupyter" / session["id"]
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / "session.json").stat().st_mode) == 0o600
    node, port = session["node"], session["port"]
    login = f"{session['user']}@{session['login_host']}"
    assert session["ssh_command"] == f"ssh -N -L {port}:{node}:{port} {login}"
    assert session["local_url"] == f"http://localhost:{port}/lab?token={session['token']}"
    listed = roost("jupyter", "--list").stdout
    assert session["id"] in listed and "RUNNING" in listed


def test_default_kernel_has_env_and_modules(session: Dict[str, Any], notebook_env: Path) -> None:
    specs = api(session["base"], session["token"], "/api/kernelspecs")
    default = specs["kernelspecs"][specs["default"]]["spec"]
    assert default["display_name"] == "Python (env nbenv, gcc/12, tools/1.0)"
    code = ("import os, sys, iniconfig; print(sys.executable); print(os.environ['GCC_ROOT'], "
            "os.environ['TOOLS_HOME']); print(iniconfig.__file__); print(os.environ.get('SLURM_JOB_ID'))")
    lines = execute(session["base"], session["token"], code).splitlines()
    assert lines[0].startswith(str(notebook_env))
    assert lines[1] == "/opt/gcc/12 /opt/tools/1.0"
    assert lines[2].startswith(str(notebook_env))
    if session["backend_name"] == "slurm":
        assert lines[3] == session["job_id"]


@pytest.mark.service("chromium")
def test_browser_loads_jupyterlab(session: Dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"jupyterlab-{session['backend_name']}.png"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(session["url"], timeout=60_000)
            page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
            card = page.locator(".jp-LauncherCard", has_text="Python (env nbenv, gcc/12, tools/1.0)").first
            card.wait_for(timeout=90_000)
            assert page.title() == "JupyterLab"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000


def test_stop_cancels_the_job_and_forgets_the_token(session: Dict[str, Any]) -> None:
    roost("jupyter", "--stop", session["id"])
    directory = Path(os.environ["XDG_DATA_HOME"]) / "roost" / "jupyter" / session["id"]
    assert not directory.exists()
    # Under Slurm with cgroups a cancelled job is COMPLETING (still running, for roost) for a second or two.
    roost("wait", session["job_id"], "--timeout", "60", check=False)
    state = json.loads(roost("status", session["job_id"], "--json").stdout)
    assert state["state"] == "CANCELLED"
    assert session["id"] not in roost("jupyter", "--list").stdout


def test_a_job_that_dies_shows_its_log(site: Dict[str, Path], tmp_path: Path) -> None:
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text('raise SystemExit("broken-config-marker")\n')
    environ = dict(os.environ, JUPYTER_CONFIG_DIR=str(config))
    sessions = Path(os.environ["XDG_DATA_HOME"]) / "roost" / "jupyter"
    before = set(sessions.iterdir()) if sessions.is_dir() else set()
    command = [sys.executable, "-m", "roost", "jupyter", "--backend", "local", "--timeout", "120"]
    done = subprocess.run(command, capture_output=True, text=True, env=environ)
    assert done.returncode != 0
    assert "ended" in done.stderr and "before Jupyter answered" in done.stderr
    assert "broken-config-marker" in done.stderr
    assert set(sessions.iterdir()) == before  # the failed session left nothing behind


def test_unknown_env_submits_nothing(site: Dict[str, Path]) -> None:
    before = roost("jobs", "--all", "--json").stdout
    done = roost("jupyter", "--backend", "local", "-e", "nosuchenv", check=False)
    assert done.returncode != 0 and "no environment named 'nosuchenv'" in done.stderr
    assert roost("jobs", "--all", "--json").stdout == before


def test_notebook_mode_and_what_a_person_reads(site: Dict[str, Path]) -> None:
    done = roost("jupyter", "--backend", "local", "--notebook", "--timeout", "240")
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("Stop it with: roost jupyter --stop ")
    session_id = last.split()[-1]
    directory = Path(os.environ["XDG_DATA_HOME"]) / "roost" / "jupyter" / session_id
    data = json.loads((directory / "session.json").read_text())
    try:
        node, port, token = data["node"], data["port"], data["token"]
        assert f"Jupyter Notebook is running in job {data['job_id']} on node {node}, port {port}." in done.stdout
        assert f"http://{node}:{port}/tree?token={token}" in done.stdout
        assert f"ssh -N -L {port}:{node}:{port} {data['user']}@{data['login_host']}" in done.stdout
        assert f"http://localhost:{port}/tree?token={token}" in done.stdout
        assert http_status(data["url"], None) == 200
        assert http_status(f"http://{node}:{port}/api/status", None) == 403
    finally:
        roost("jupyter", "--stop", session_id)
