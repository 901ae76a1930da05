"""`roost tour` shows its steps to bash as a user would type them: an --env-name that is not a plain
environment name is refused before any step runs."""

from __future__ import annotations

from pathlib import Path

from .env_helpers import Home, clear_error, home, roost, shared_uv_cache  # noqa: F401


def test_tour_refuses_an_env_name_that_would_run_as_code(home: Home, tmp_path: Path) -> None:  # noqa: F811
    canary = tmp_path / "canary"
    done = roost(home, "tour", "--no-mpi", "--dir", str(tmp_path / "tree"), "--env-name", f"x;touch {canary}",
                 check=False)
    clear_error(done, "is not a valid environment name", "letters, digits")
    assert not canary.exists()
    assert not (tmp_path / "tree").exists(), "the tour wrote its module tree before refusing the name"
