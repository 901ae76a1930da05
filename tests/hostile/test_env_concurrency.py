"""Commands changing one environment at once, and commands killed half-way (real uv, real processes, real
SIGKILL): changes happen one at a time, the env's package lock and its installed packages always agree, a
waiting command says what it waits for, and nothing a killed command left behind lingers or keeps running.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Set

import pytest

from roost.envs import changelock
from roost.errors import EnvError

from .env_helpers import Home, clear_error, dot_entries, home, roost, shared_uv_cache  # noqa: F401

ROOST = [sys.executable, "-m", "roost"]


@pytest.fixture
def ci(home: Home) -> Home:  # noqa: F811 - the fixture imported above
    roost(home, "env", "create", "ci", "-q")
    return home


def locked_names(at: Home) -> Set[str]:
    data = json.loads(roost(at, "env", "show", "ci", "--json").stdout)
    return {package["name"] for package in data["packages"]}


def check_agrees(at: Home) -> None:
    done = roost(at, "env", "check", "ci", check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def processes_mentioning(text: str) -> List[int]:
    """Processes (not this one) whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if text.encode() in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def wait_until(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_concurrent_installs_keep_every_package(ci: Home) -> None:
    packages = ("tomli", "packaging", "iniconfig")
    running = [subprocess.Popen([*ROOST, "env", "install", "ci", package, "-q"], env=ci.environ,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for package in packages]
    for process in running:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert set(packages) <= locked_names(ci)
    check_agrees(ci)


def test_second_change_waits_with_a_message_then_fails_naming_the_holder(ci: Home) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from roost.envs import changelock\n"
         "with changelock.hold(Path(sys.argv[1]), 'ci', 'a long test change', timeout=5, progress=print):\n"
         "    print('held', flush=True); time.sleep(120)\n", str(ci.envs)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        ci.user_config.write_text("[envs]\nlock_timeout = 1\n")
        done = roost(ci, "env", "install", "ci", "tomli", check=False)
        clear_error(done, "environment 'ci' is being changed by `a long test change` "
                          f"(pid {holder.pid} on {socket.gethostname()}", "envs.lock_timeout")
        assert "waiting up to 1 s" in done.stderr  # the message while it waited
        assert "tomli" not in locked_names(ci)
        assert holder.poll() is None and (ci.envs / ".locks" / "ci.lock").exists()
    finally:
        holder.kill()
        holder.wait()
    roost(ci, "env", "install", "ci", "tomli", "-q")  # the dead holder's lock is taken over at once
    assert "tomli" in locked_names(ci)


def test_killed_install_leaves_no_child_and_the_next_change_cleans_up(ci: Home) -> None:
    state = ci.envs / "ci" / ".roost"
    install = subprocess.Popen([*ROOST, "env", "install", "ci", "tomli", "-q"], env=ci.environ)
    assert wait_until(lambda: any(n.startswith(".scratch-") for n in dot_entries(state)))
    install.send_signal(signal.SIGKILL)
    install.wait()
    assert wait_until(lambda: processes_mentioning(str(ci.envs)) == [], timeout=5)
    after = roost(ci, "env", "install", "ci", "iniconfig")
    assert "an earlier `roost env install ci`" in after.stderr and "was killed" in after.stderr
    assert dot_entries(state) == [] and dot_entries(state / "pack") == []
    assert "iniconfig" in locked_names(ci)
    check_agrees(ci)


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.0])
def test_uv_never_outlives_a_killed_roost(ci: Home, delay: float) -> None:
    install = subprocess.Popen([*ROOST, "env", "install", "ci", "tomli", "packaging", "-q"], env=ci.environ)
    time.sleep(delay)
    install.send_signal(signal.SIGKILL)
    install.wait()
    assert wait_until(lambda: processes_mentioning(str(ci.envs)) == [], timeout=5)
    roost(ci, "env", "sync", "ci", "-q")  # whatever the kill interrupted, the lock is restored
    check_agrees(ci)


def test_child_whose_parent_dies_before_it_is_tied_exits(tmp_path: Path) -> None:
    """The race a plain PR_SET_PDEATHSIG leaves open: the parent dies between fork and the prctl."""
    marker = tmp_path / "child-ran-on"
    script = (
        "import os, sys, time\n"
        "from roost.envs.venv import tied_to_this_process\n"
        "arm = tied_to_this_process()\n"
        "if os.fork() == 0:\n"
        "    time.sleep(0.5)  # the parent is gone by now: the death signal can no longer come\n"
        "    arm()\n"
        "    open(sys.argv[1], 'w').close()\n"
        "    os._exit(0)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(marker)], check=True)
    time.sleep(1.0)
    assert not marker.exists()


def test_env_check_notices_packages_outside_the_lock(ci: Home) -> None:
    from roost.envs.venv import uv_binary

    python = ci.envs / "ci" / "bin" / "python"
    subprocess.run([uv_binary(), "pip", "install", "-q", "--python", str(python), "iniconfig"], check=True,
                   env={**ci.environ, "UV_CACHE_DIR": ci.environ["ROOST_UV_CACHE"]})
    done = roost(ci, "env", "check", "ci", check=False)
    assert done.returncode == 1 and "iniconfig" in done.stdout and "is installed but not in the lock" in done.stdout
    roost(ci, "env", "sync", "ci", "-q")
    check_agrees(ci)


# ---- the lock itself, where no second host or pid reuse can be arranged with real commands -------------


def quiet(message: str) -> None:
    pass


def write_lock(envs: Path, **owner: object) -> Path:
    path = changelock.lock_path(envs, "x")
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {"host": socket.gethostname(), "pid": os.getpid(), "started": "", "what": "roost env sync x",
              "since": time.time(), "token": "t0ken", **owner}
    path.write_text(json.dumps(fields))
    return path


def test_lock_of_a_process_that_is_gone_is_taken_over(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_lock(tmp_path, pid=int(gone.stdout))
    with changelock.hold(tmp_path, "x", "test", timeout=5, progress=quiet) as held:
        assert held.interrupted is not None and held.interrupted.what == "roost env sync x"


def test_lock_of_a_reused_pid_is_taken_over(tmp_path: Path) -> None:
    write_lock(tmp_path, pid=os.getppid(), started="1")  # that pid runs, but it is not the process that locked
    with changelock.hold(tmp_path, "x", "test", timeout=5, progress=quiet) as held:
        assert held.interrupted is not None


def test_silent_lock_from_another_host_is_taken_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(changelock, "STALE_SILENCE", 0.5)
    write_lock(tmp_path, host="node-elsewhere.invalid", pid=1)
    started = time.monotonic()
    with changelock.hold(tmp_path, "x", "test", timeout=10, progress=quiet) as held:
        assert held.interrupted is not None and held.interrupted.host == "node-elsewhere.invalid"
    assert time.monotonic() - started >= 0.5


def test_lock_from_another_host_that_keeps_beating_is_respected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changelock, "STALE_SILENCE", 0.5)
    path = write_lock(tmp_path, host="node-elsewhere.invalid", pid=1)
    beating = subprocess.Popen([sys.executable, "-c",
                                "import os, sys, time\nwhile True: os.utime(sys.argv[1]); time.sleep(0.1)",
                                str(path)])
    messages: List[str] = []
    try:
        with pytest.raises(EnvError, match=r"being changed by `roost env sync x` \(pid 1 on node-elsewhere"), \
                changelock.hold(tmp_path, "x", "test", timeout=2, progress=messages.append):
            pass
    finally:
        beating.kill()
        beating.wait()
    assert messages == ["environment 'x' is being changed by `roost env sync x` (pid 1 on node-elsewhere.invalid, "
                        f"since {time.strftime('%H:%M:%S', time.localtime(json.loads(path.read_text())['since']))}): "
                        "waiting up to 2 s"]


def test_holders_never_overlap(tmp_path: Path) -> None:
    """Four processes taking the lock five times each, starting from a dead holder's lock: one at a time."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    write_lock(tmp_path, pid=int(gone.stdout))
    inside = tmp_path / "inside"
    script = (
        "import os, sys, time; from pathlib import Path; from roost.envs import changelock\n"
        "for _ in range(5):\n"
        "    with changelock.hold(Path(sys.argv[1]), 'x', 'test', timeout=60, progress=lambda m: None):\n"
        "        fd = os.open(sys.argv[2], os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # fails if another is inside\n"
        "        time.sleep(0.02); os.close(fd); os.unlink(sys.argv[2])\n"
    )
    running = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(inside)],
                                stderr=subprocess.PIPE, text=True) for _ in range(4)]
    for process in running:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert not changelock.lock_path(tmp_path, "x").exists()
