"""User and system Jupyter config cannot open a `roost jupyter` session to strangers.

Each case writes one config file that weakens authentication or widens the address, either where the user
keeps theirs (``JUPYTER_CONFIG_DIR``) or at the system level of the Python running the server
(``sys.prefix/etc/jupyter``: on a cluster, the site's central Jupyter install; /etc/jupyter is the same
search list one step lower, not written here because the machine is shared), then starts a real JupyterLab
through the local backend.  Either the session still refuses requests without its token and listens on
loopback only, or roost refuses to start it and leaves nothing running.

All the sessions start at once (one venv and one HOME per case, so they cannot see each other's config):
JupyterLab takes seconds to start, and these are a dozen of them.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple

import pytest

import roost

# Blank tokens for the deprecated name and for each identity provider class (a subclass's section wins)
NO_TOKEN = "".join(f"c.{section}.token = ''\n" for section in
                   ("ServerApp", "IdentityProvider", "PasswordIdentityProvider"))
CONFIGS = {
    "tokenless": ("jupyter_server_config.py", NO_TOKEN),
    "password_only": (
        "jupyter_server_config.py",
        NO_TOKEN + "from jupyter_server.auth import passwd\nc.ServerApp.password = passwd('hunter2', 'sha1')\n",
    ),
    "xsrf_checks_off": ("jupyter_server_config.py", NO_TOKEN + "c.ServerApp.disable_check_xsrf = True\n"),
    "every_interface": ("jupyter_server_config.py", "c.ServerApp.ip = '*'\n"),
    # JupyterLab's own config file is read after the server's and pushed into it; JSON, not Python
    "lab_config": ("jupyter_lab_config.json", json.dumps({"ServerApp": {"token": "", "ip": "0.0.0.0"}})),
}
# No setting can be overridden here: an identity provider that lets everyone in.  roost's own check after
# start must catch it and stop the server.
OPEN_DOOR = (
    "jupyter_server_config.py",
    "from jupyter_server.auth.identity import IdentityProvider, User\n"
    "class Anyone(IdentityProvider):\n"
    "    def get_user(self, handler):\n"
    "        return User('anyone')\n"
    "c.ServerApp.identity_provider_class = Anyone\n",
)
LOCATIONS = ("user", "system")


class Case(NamedTuple):
    home: Path
    done: subprocess.CompletedProcess


def private_venv(root: Path) -> Path:
    """A venv whose sys.prefix is ours (its etc/jupyter is the system-level config dir of the server), on
    the machine's site-packages (JupyterLab), importing the roost under test."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(root)],
                   check=True)
    site = next((root / "lib").glob("python3*/site-packages"))
    (site / "roost-under-test.pth").write_text(str(Path(roost.__file__).resolve().parents[1]) + "\n")
    return root / "bin" / "python"


def case_environ(home: Path) -> Dict[str, str]:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "ROOST_", "XDG_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environ.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
                   JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"), ROOST_ENVS_DIR=str(home / "envs"))
    return environ


def start_all(root: Path, cases: Dict[str, tuple]) -> Dict[str, Case]:
    running = {}
    for name, (location, (filename, text)) in cases.items():
        home = root / name / "home"
        home.mkdir(parents=True)
        python = private_venv(root / name / "venv")
        config_dir = home / ".jupyter" if location == "user" else python.parents[1] / "etc" / "jupyter"
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / filename).write_text(text)
        running[name] = (home, subprocess.Popen(
            [str(python), "-m", "roost", "jupyter", "--backend", "local", "--timeout", "240", "--json"],
            cwd=home, env=case_environ(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    results = {}
    for name, (home, process) in running.items():
        out, err = process.communicate(timeout=300)
        results[name] = Case(home, subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dict[str, Case]]:
    cases = {f"{name}-{where}": (where, config) for name, config in CONFIGS.items() for where in LOCATIONS}
    cases.update({f"open_door-{where}": (where, OPEN_DOOR) for where in LOCATIONS})
    root = tmp_path_factory.mktemp("jupyter-auth")
    try:
        yield start_all(root, cases)
    finally:
        for name in cases:
            if (root / name / "home").is_dir():
                subprocess.run([sys.executable, "-m", "roost", "jupyter", "--stop"],
                               env=case_environ(root / name / "home"), capture_output=True)


def status(opener: urllib.request.OpenerDirector, request: urllib.request.Request) -> int:
    try:
        with opener.open(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def stranger_statuses(base: str) -> List[int]:
    """What someone without the token gets: reading files, and starting a kernel with the _xsrf cookie
    (and matching header) that the login page hands to anyone."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    contents = status(opener, urllib.request.Request(f"{base}/api/contents"))
    status(opener, urllib.request.Request(f"{base}/lab"))
    xsrf = str(next(cookie.value for cookie in jar if cookie.name == "_xsrf"))
    kernel = urllib.request.Request(f"{base}/api/kernels", data=b"{}", method="POST",
                                    headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"})
    return [contents, status(opener, kernel)]


def listening_addresses(port: int) -> List[str]:
    """The local addresses of sockets listening on ``port`` (IPv4 and IPv6), from /proc/net."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def jupyter_processes_of(home: Path) -> List[int]:
    """Jupyter servers (and roost's starter of them) whose environment has HOME=home."""
    marker = f"HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit() or b"jupyter" not in (entry / "cmdline").read_bytes():
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("where", LOCATIONS)
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_config_cannot_open_the_session_to_strangers(started: Dict[str, Case], config: str, where: str) -> None:
    case = started[f"{config}-{where}"]
    assert case.done.returncode == 0, case.done.stderr
    session = json.loads(case.done.stdout)
    base = f"http://{session['node']}:{session['port']}"
    assert stranger_statuses(base) == [403, 403]
    with_token = urllib.request.Request(f"{base}/api/contents", headers={"Authorization": f"token {session['token']}"})
    assert status(urllib.request.build_opener(), with_token) == 200
    assert listening_addresses(session["port"]) == ["0100007F"]  # 127.0.0.1, and nowhere else


@pytest.mark.parametrize("where", LOCATIONS)
def test_server_that_lets_anyone_in_is_stopped(started: Dict[str, Case], where: str) -> None:
    case = started[f"open_door-{where}"]
    assert case.done.returncode == 1
    assert "served requests without the token" in case.done.stderr
    assert "GET /api/contents answered 200" in case.done.stderr
    assert "Traceback" not in case.done.stderr
    assert jupyter_processes_of(case.home) == []
    sessions = case.home / ".local" / "share" / "roost" / "jupyter"
    assert not sessions.exists() or list(sessions.iterdir()) == []


def test_token_is_not_on_any_command_line(started: Dict[str, Case]) -> None:
    session = json.loads(started["tokenless-user"].done.stdout)
    token = session["token"].encode()
    servers = jupyter_processes_of(started["tokenless-user"].home)
    assert servers
    for pid in servers:
        assert token not in Path(f"/proc/{pid}/cmdline").read_bytes()


def test_negative_timeout_is_refused_before_anything_is_submitted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run([sys.executable, "-m", "roost", "jupyter", "--backend", "local", "--timeout", "-1"],
                          env=case_environ(home), capture_output=True, text=True)
    assert done.returncode == 1
    assert "error: --timeout must be a positive number of seconds, not -1" in done.stderr
    assert not (home / ".local" / "share" / "roost").exists()  # no session, no job store


@pytest.mark.parametrize(("site_setting", "backend", "expected"), [
    (None, "local", "loopback"), (None, "slurm", "node"), ('"all"', "local", "all"),
    ('"10.1.2.3"', "slurm", "10.1.2.3"),
])
def test_bind_is_narrow_unless_the_site_widens_it(
    tmp_path: Path, site_setting: str, backend: str, expected: str
) -> None:
    from roost.kernels.server import bind_for

    site = tmp_path / "site.toml"
    site.write_text(f"[jupyter]\nbind = {site_setting}\n" if site_setting else "")
    environ = {"HOME": str(tmp_path), "ROOST_SITE_CONFIG": str(site)}
    assert bind_for(backend, environ) == expected


@pytest.mark.parametrize("setting", ['"0.0.0.0; rm -rf ~"', '"everywhere"', "8888", '"::1"'])
def test_bind_setting_that_is_no_address_is_refused(tmp_path: Path, setting: str) -> None:
    from roost.errors import ConfigError
    from roost.kernels.server import bind_for

    site = tmp_path / "site.toml"
    site.write_text(f"[jupyter]\nbind = {setting}\n")
    with pytest.raises(ConfigError, match=r"jupyter\.bind must be one of node, loopback, all or an IPv4"):
        bind_for("slurm", {"HOME": str(tmp_path), "ROOST_SITE_CONFIG": str(site)})


def test_node_address_is_where_its_name_resolves() -> None:
    from roost.kernels.serve import listen_address

    assert listen_address("node", "localhost") == "127.0.0.1"
    assert listen_address("node", "no-such-node.invalid") == "127.0.0.1"
    assert listen_address("loopback", "anything") == "127.0.0.1"
    assert listen_address("all", "anything") == "0.0.0.0"
    assert listen_address("10.1.2.3", "anything") == "10.1.2.3"
