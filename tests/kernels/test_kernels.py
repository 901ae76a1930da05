"""roost kernel install / list / remove / check, with kernels started by jupyter_client from their spec."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest
from kernel_helpers import roost, run_in_kernel


def kernel_names(directory: Path) -> List[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_set_only_kernel_has_its_variables(jupyter_home: Path, tmp_path: Path) -> None:
    value = "a b $HOME `x` 'q' \"dq\" é"
    roost("kernel", "install", "plain", "--set", "ROOST_T_ONE=1", "--set", f"ROOST_T_ODD={value}")
    spec = json.loads((jupyter_home / "kernels" / "plain" / "kernel.json").read_text())
    assert spec["argv"][1:4] == ["-E", "-S", "-c"] and "roost.kernels.launch" in spec["argv"][4]
    assert spec["argv"][5] == str(jupyter_home / "kernels" / "plain" / "kernel.json")
    out = run_in_kernel(
        "plain", "import os; print(os.environ['ROOST_T_ONE']); print(os.environ['ROOST_T_ODD'])",
        tmp_path / "log",
    )
    assert out.splitlines() == ["1", value]


def test_clash_and_bad_input_change_nothing(jupyter_home: Path) -> None:
    roost("kernel", "install", "k1", "--set", "A=1")
    before = (jupyter_home / "kernels" / "k1" / "kernel.json").read_text()
    clash = roost("kernel", "install", "K1", "--set", "A=2", check=False)
    assert clash.returncode != 0
    assert "already exists" in clash.stderr and "--force" in clash.stderr
    assert (jupyter_home / "kernels" / "k1" / "kernel.json").read_text() == before
    bad = (
        ["bad/name"], ["k2", "--set", "NOEQUALS"], ["k2", "--set", "1X=y"],
        ["k2", "--set", "A=1", "--sys-prefix", "--prefix", "/tmp"],
    )
    for args in bad:
        done = roost("kernel", "install", *args, check=False)
        assert done.returncode != 0, args
        assert "error" in done.stderr.lower()
    assert kernel_names(jupyter_home / "kernels") == ["k1"]
    roost("kernel", "install", "k1", "--set", "A=2", "--force")
    assert '"A": "2"' in (jupyter_home / "kernels" / "k1" / "kernel.json").read_text()
    assert kernel_names(jupyter_home / "kernels") == ["k1"]


@pytest.fixture
def throwaway_python(tmp_path: Path) -> Path:
    """A venv that sees the base interpreter's ipykernel, to be deleted under an installed kernel."""
    venv = tmp_path / "venv"
    command = [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)]
    subprocess.run(command, check=True)
    return venv


def test_kernel_whose_interpreter_is_gone(jupyter_home: Path, throwaway_python: Path, tmp_path: Path) -> None:
    roost("kernel", "install", "doomed", "--python", str(throwaway_python / "bin" / "python"))
    assert roost("kernel", "check", "doomed").returncode == 0
    shutil.rmtree(throwaway_python)

    listed = json.loads(roost("kernel", "list", "--json").stdout)
    doomed = next(k for k in listed if k["name"] == "doomed")
    assert any("is gone" in p for p in doomed["problems"])
    assert "BROKEN" in roost("kernel", "list").stdout

    check = roost("kernel", "check", "doomed", check=False)
    assert check.returncode != 0
    assert "is gone" in check.stdout

    from jupyter_client.manager import KernelManager

    log = tmp_path / "kernel.log"
    manager = KernelManager(kernel_name="doomed")
    started = time.monotonic()
    with open(log, "w") as stderr:
        manager.start_kernel(stderr=stderr)
    client = manager.client()
    client.start_channels()
    try:
        with pytest.raises(RuntimeError, match="died"):
            client.wait_for_ready(timeout=60)
    finally:
        client.stop_channels()
        manager.cleanup_resources()
    assert time.monotonic() - started < 30, "a broken kernel must fail fast, not hang"
    text = log.read_text()
    assert "roost kernel 'doomed' cannot start" in text
    assert str(throwaway_python / "bin" / "python") in text and "hint:" in text


def test_search_order_matches_jupyter_client(
    jupyter_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("JUPYTER_PATH", f"{first}{os.pathsep}{second}")
    roost("kernel", "install", "twin", "--prefix", str(tmp_path / "p"), "--set", "WHO=p")
    for directory, who in ((second, "second"), (first, "first")):
        (directory / "kernels" / "twin").mkdir(parents=True)
        original = tmp_path / "p" / "share" / "jupyter" / "kernels" / "twin" / "kernel.json"
        spec = json.loads(original.read_text())
        spec["metadata"]["roost"]["variables"] = {"WHO": who}
        (directory / "kernels" / "twin" / "kernel.json").write_text(json.dumps(spec))

    from jupyter_client.kernelspec import KernelSpecManager

    from roost.kernels.manager import find_kernel, list_kernels

    assert Path(KernelSpecManager().find_kernel_specs()["twin"]) == first / "kernels" / "twin"
    assert find_kernel("twin").directory == first / "kernels" / "twin"
    shadowed = [e for e in list_kernels() if e.name == "twin" and e.shadowed_by]
    assert [e.directory for e in shadowed] == [second / "kernels" / "twin"]
    assert "hidden by" in roost("kernel", "list").stdout

    # A user-dir kernel of that name would be hidden by JUPYTER_PATH's: refused, nothing written.
    done = roost("kernel", "install", "twin", "--set", "A=1", check=False)
    assert done.returncode != 0 and "would hide" in done.stderr
    assert not (jupyter_home / "kernels" / "twin").exists()


def test_remove(jupyter_home: Path) -> None:
    roost("kernel", "install", "gone-soon", "--set", "A=1")
    assert "removed kernel 'gone-soon'" in roost("kernel", "remove", "GONE-SOON").stdout
    assert kernel_names(jupyter_home / "kernels") == []
    done = roost("kernel", "remove", "gone-soon", check=False)
    assert done.returncode != 0 and "no kernel named" in done.stderr


def test_prefix_outside_the_search_path_and_unreadable_specs(jupyter_home: Path, tmp_path: Path) -> None:
    done = roost("kernel", "install", "elsewhere", "--prefix", str(tmp_path / "prefix"), "--set", "A=1")
    assert "not on Jupyter's search path" in done.stderr
    assert str(tmp_path / "prefix" / "share" / "jupyter") in done.stderr
    assert (tmp_path / "prefix" / "share" / "jupyter" / "kernels" / "elsewhere" / "kernel.json").is_file()

    damaged = jupyter_home / "kernels" / "damaged"
    damaged.mkdir(parents=True)
    (damaged / "kernel.json").write_text("{not json")
    listed = {k["name"]: k for k in json.loads(roost("kernel", "list", "--json").stdout)}
    assert listed["damaged"]["problems"] == ["kernel.json cannot be read"]
    assert "BROKEN" in roost("kernel", "list").stdout
