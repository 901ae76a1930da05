"""Property: any value survives the emitted shell code byte for byte, and nothing in it is executed."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roost.shell.change import EnvChange
from roost.shell.render import render

# Environment values cannot hold NUL; everything else is fair game, including newlines and non-ASCII.
VALUES = st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
NASTY = ["it's", "$HOME", "`touch /tmp/roost-pwned`", "$(touch /tmp/roost-pwned)", "a\nb", "x;y", "é ü 中",
         "\\", "'\"'", "--", "-n", "*", "~", "!!", "%s", ""]


def _run(shell: str, code: str, names: List[str]) -> List[str]:
    if shell == "fish":
        reader = "; ".join(f"printf '%s\\000' \"${name}\"" for name in names)
        argv = ["fish", "--no-config", "-c", f"source {code}; {reader}"]
    else:
        reader = "; ".join(f"printf '%s\\000' \"${name}\"" for name in names)
        argv = [shell, "-c", f". {code}; {reader}"] if shell != "zsh" else ["zsh", "-f", "-c", f". {code}; {reader}"]
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}
    out = subprocess.run(argv, capture_output=True, env=env, check=True, timeout=30)
    return out.stdout.decode("utf-8").split("\x00")[:-1]


def _check_round_trip(shell: str, values: List[str], tmp_path: os.PathLike) -> None:
    names = [f"ROOST_Q{i}" for i in range(len(values))]
    change = EnvChange()
    for name, value in zip(names, values):
        change.set(name, value)
    script = os.path.join(tmp_path, f"code.{shell}")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(render(change, shell))
    # fish cannot hold an empty element distinct from unset in some versions; compare what was set
    assert _run(shell, script, names) == values


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_known_nasty_values_round_trip_and_run_nothing(shell: str, tmp_path: os.PathLike) -> None:
    if shutil.which(shell) is None:
        from tests.conftest import require_service

        require_service(shell)
    canary = "/tmp/roost-pwned"
    if os.path.exists(canary):
        os.unlink(canary)
    _check_round_trip(shell, NASTY, tmp_path)
    assert not os.path.exists(canary), "a value was executed by the shell"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_any_values_round_trip(shell: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    if shutil.which(shell) is None:
        from tests.conftest import require_service

        require_service(shell)

    @settings(max_examples=25 if shell == "fish" else 40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(VALUES, min_size=1, max_size=6))
    def check(values: List[str]) -> None:
        _check_round_trip(shell, values, tmp_path_factory.mktemp(shell))

    check()


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_relative_path_operations_in_posix_shells(shell: str, tmp_path: os.PathLike) -> None:
    change = (EnvChange().prepend_path("MYPATH", "/new dir").append_path("MYPATH", "/tail$x")
              .remove_path("MYPATH", "/b*").remove_path("SEMI", "b", ";"))
    script = os.path.join(tmp_path, "code.sh")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(render(change, shell))
    argv = [shell, "-c", f"MYPATH='/a:/b*:/c'; SEMI='a;b;c'; . {script}; printf '%s|%s' \"$MYPATH\" \"$SEMI\""]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    assert out.stdout == "/new dir:/a:/c:/tail$x|a;c"


@given(st.text(max_size=12))
@settings(max_examples=300)
def test_quote_word_is_shlex_quote(value: str) -> None:
    """Job scripts' command lines are quoted as shlex.quote does (without importing shlex and re)."""
    import shlex

    from roost.shell.quote import quote_word

    assert quote_word(value) == shlex.quote(value)
