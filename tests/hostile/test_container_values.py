"""Values in a container wrapper never run as code: image paths, bind sources, the command inside the image,
the extras directory the wrapper exports, the caller's $HOME and arguments, the label in its comment.

Each example writes the wrapper `roost container add` would write for every runtime, with its runtime
executable replaced by a recorder (a sh script writing its arguments and environment to a file), runs it with
dash, and checks that a canary file was never created and that the recorder received exactly the command
line Runtime.argv computes in Python, byte for byte.  test_a_real_charliecloud_* runs the real ch-run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.containers.apptainer import ApptainerRuntime
from roost.containers.charliecloud import CharliecloudRuntime
from roost.containers.podman import PodmanRuntime
from roost.containers.runtime import ExecSpec, ImageKind, Runtime, parse_bind
from roost.containers.wrappers import render_wrapper

from ..containers.helpers import IMAGE_DIR

CANARY = "roost-canary"  # created in the wrapper's working directory if anything ran
PAYLOADS = [f"$(touch {CANARY})", f"`touch {CANARY}`", f"'; touch {CANARY}; '", f'"; touch {CANARY}; "',
            f"\ntouch {CANARY}\n", f"\\'$(touch {CANARY})", "${IFS}", "$HOME", "*", "~", "-", "--", "#", "!"]
# No NUL (no path or argument can hold one), no '/' in one name; ':' and ',' are refused in binds (tested
# in tests/containers), so they are left out of names used as bind sources.
_CHARS = st.sampled_from(list(" \t\\'\"$`;&|()<>*?[]{}!#~=%^-_.aé🐍\r"))
_TEXT = st.lists(st.one_of(st.sampled_from(PAYLOADS), _CHARS), min_size=1, max_size=5).map("".join)
_NAME = _TEXT.map(lambda text: text.replace("/", "_")).filter(lambda name: name not in (".", ".."))

RECORDER = """#!/bin/sh
printf '%s\\0' "$@" > "$RECORD_ARGV"
printf '%s\\0' "${PYTHONPATH-}" "${PIP_TARGET-}" "${APPTAINERENV_PYTHONPATH-}" > "$RECORD_ENV"
"""


def _record(root: Path) -> Dict[str, Runtime]:
    """Each runtime with the recorder as its executable."""
    recorder = root / "runtime"
    recorder.write_text(RECORDER)
    recorder.chmod(0o755)
    return {"charliecloud": CharliecloudRuntime(str(recorder)), "podman": PodmanRuntime(str(recorder)),
            "apptainer": ApptainerRuntime(str(recorder))}


def _nul_split(path: Path) -> List[str]:
    return os.fsdecode(path.read_bytes()).split("\0")[:-1]


@pytest.mark.skipif(not shutil.which("dash"), reason="needs dash, the /bin/sh the wrappers are written for")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image=_NAME, bind=_NAME, home=_NAME, extras=_NAME, command=_TEXT, label=_TEXT,
       arguments=st.lists(_TEXT, max_size=3))
def test_nothing_in_a_wrappers_values_runs_and_every_value_arrives_byte_for_byte(
        image: str, bind: str, home: str, extras: str, command: str, label: str, arguments: List[str]) -> None:
    root = Path(tempfile.mkdtemp(prefix="roost-hostile-"))
    try:
        work, image_dir = root / "work", root / "images" / image
        bind_dir, home_dir, extras_dir = root / "binds" / bind, root / "homes" / home, root / "extras" / extras
        for directory in (work, bind_dir, home_dir, extras_dir, image_dir / "media"):
            directory.mkdir(parents=True, exist_ok=True)
        for inside in (bind_dir, home_dir):  # Charliecloud binds only what the image has a directory for
            (image_dir / str(inside).lstrip("/")).mkdir(parents=True, exist_ok=True)
        environ = {"PATH": os.environ["PATH"], "HOME": str(home_dir), "USER": "me", "PWD": str(work),
                   "RECORD_ARGV": str(root / "argv"), "RECORD_ENV": str(root / "env")}
        for name, runtime in _record(root).items():
            spec = ExecSpec(image=str(image_dir), kind=ImageKind.DIRECTORY,
                            binds=(parse_bind("$HOME"), parse_bind(str(bind_dir)), parse_bind("$SCRATCH")),
                            extras=str(extras_dir), extras_inside=str(extras_dir),
                            cwd_mount="/media" if name == "charliecloud" else None)
            wrapper = root / f"wrapper-{name}"
            wrapper.write_text(render_wrapper(runtime, spec, command, label, environ))
            subprocess.run(["dash", str(wrapper), *arguments], env=environ, cwd=work, check=True,
                           stdin=subprocess.DEVNULL)
            assert not (work / CANARY).exists(), f"{name}: a value ran as code"
            assert _nul_split(root / "argv") == runtime.argv(spec, command, arguments, environ)[1:], name
            exported = runtime.environment(spec).applied_to({})
            assert _nul_split(root / "env") == [exported.get("PYTHONPATH", ""), exported.get("PIP_TARGET", ""),
                                                exported.get("APPTAINERENV_PYTHONPATH", "")], name
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.service("charliecloud")
def test_a_real_charliecloud_wrapper_passes_hostile_arguments_and_paths_to_the_command(
        tmp_path: Path, clean_environ: Dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ch-run, through a wrapper `roost container add` wrote for an image whose path is hostile."""
    if not IMAGE_DIR.is_dir():
        pytest.skip("needs the Charliecloud test image: run scripts/services/charliecloud.sh")
    from roost.containers import api

    image = tmp_path / f"img $(touch {CANARY}) `touch {CANARY}` ';touch {CANARY}'"
    image.symlink_to(IMAGE_DIR)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("PWD", str(work))
    monkeypatch.setenv("USER", os.environ.get("USER") or "root")
    for name in ("PROJECT", "SCRATCH"):
        monkeypatch.delenv(name, raising=False)
    container = api.add("hostile/1", str(image), runtime="charliecloud", commands=["python3"]).container
    arguments = [f"$(touch {CANARY})", "a b\nc", "'\"`;|&", "*", "é🐍"]
    done = subprocess.run([str(container.wrapper("python3")), "-c", "import sys; print(repr(sys.argv[1:]))",
                           *arguments], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr(arguments)
    assert not (work / CANARY).exists() and not (tmp_path / CANARY).exists()


def test_a_variable_reference_that_is_not_a_name_is_refused_not_written() -> None:
    """Words reach the renderer from runtimes and settings alike: a reference must be a variable name."""
    from roost.errors import InvalidName
    from roost.shell.render import render_wrapper_script
    from roost.shell.wrapper import Arg, Ref, WrapperScript

    with pytest.raises(InvalidName):
        render_wrapper_script(WrapperScript(comment="", program=(Arg.of(Ref(f"X}}$(touch {CANARY})")),)))
