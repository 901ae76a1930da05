"""run_captured: the subprocess-free runner the Slurm backend calls sbatch, squeue, sacct and scancel with."""

from __future__ import annotations

import time

import pytest

from roost.jobs.spawn import run_captured


def test_feeds_stdin_and_captures_both_streams() -> None:
    done = run_captured(["sh", "-c", "cat; echo oops >&2; exit 3"], stdin="a script\n", timeout=10)
    assert done == (3, "a script\n", "oops\n")


def test_large_input_and_output_do_not_deadlock() -> None:
    # 4 MB through cat while it also writes 4 MB back: far beyond any pipe buffer in both directions.
    text = "x" * 4_000_000
    done = run_captured(["sh", "-c", "cat; head -c 4000000 /dev/zero | tr '\\0' y >&2"], stdin=text, timeout=60)
    assert done.returncode == 0 and done.stdout == text and done.stderr == "y" * 4_000_000


def test_a_program_that_stops_reading_early() -> None:
    done = run_captured(["sh", "-c", "exec 0<&-; echo closed"], stdin="z" * 1_000_000, timeout=10)
    assert done.returncode == 0 and done.stdout == "closed\n"


def test_environment_is_the_one_given() -> None:
    done = run_captured(["sh", "-c", 'echo "$ONLY"'], env={"PATH": "/usr/bin:/bin", "ONLY": "this"}, timeout=10)
    assert done.stdout == "this\n"


def test_missing_program() -> None:
    with pytest.raises(FileNotFoundError):
        run_captured(["no-such-program-roost"], timeout=10)


def test_timeout_kills_the_command() -> None:
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        run_captured(["sleep", "30"], timeout=0.5)
    assert time.monotonic() - start < 10


def test_killed_by_a_signal_is_a_negative_code() -> None:
    assert run_captured(["sh", "-c", "kill -TERM $$"], timeout=10).returncode == -15
