"""Where py-rattler cannot be installed (Python 3.9), conda envs fail with a message that says so."""

from __future__ import annotations

import importlib.util

import pytest

from roost.envs import conda
from roost.errors import EnvError


def test_missing_rattler_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    # As on Python 3.9, where pip skips py-rattler (it needs 3.10): the package is simply not importable.
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "rattler" else real_find_spec(name, *a)
    )
    with pytest.raises(EnvError) as info:
        conda.run_worker({"channels": [], "specs": ["python"]})
    assert "py-rattler" in info.value.message and "--kind venv" in (info.value.hint or "")
