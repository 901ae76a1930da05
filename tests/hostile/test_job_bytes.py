"""Bytes that are not UTF-8 in job commands, ids, options and files: they work, or give a clear error.

Arguments of the command arrive byte for byte (sbatch passes them so); a job id or an option value cannot be
made of such bytes and is refused in words, never with a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

NOT_UTF8 = os.fsdecode(b"\xff\xfe")  # how Python hands such an argument to roost


def roost(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "roost", *args], capture_output=True, timeout=120, cwd=str(cwd))


def assert_clear_error(done: subprocess.CompletedProcess[bytes], *words: str) -> None:
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 1 and stderr.startswith("error: ") and "\nhint: " in stderr, stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in stderr, stderr


def test_command_arguments_that_are_not_utf8_arrive_byte_for_byte(
    clean_environ: Dict[str, str], tmp_path: Path
) -> None:
    done = roost("submit", "--backend", "local", "--wait", "--", "printf", "%s|", NOT_UTF8, "a'b\\c", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stdout.endswith(b"\xff\xfe|a'b\\c|")
    dry = roost("submit", "--backend", "slurm", "--dry-run", "--", "printf", "%s", NOT_UTF8, cwd=tmp_path)
    assert dry.returncode == 0 and dry.stdout.endswith(b"printf %s $'\\xff\\xfe'\n"), dry.stdout
    listed = roost("jobs", "--all", cwd=tmp_path)
    assert listed.returncode == 0 and b"printf" in listed.stdout


@pytest.mark.parametrize("command", ["status", "cancel", "wait", "logs"])
def test_a_job_id_that_is_not_utf8_names_no_job(command: str, clean_environ: Dict[str, str], tmp_path: Path) -> None:
    assert_clear_error(roost(command, "L1" + NOT_UTF8, cwd=tmp_path), "no job", "roost jobs --all")


def test_an_option_value_that_is_not_utf8_is_refused_naming_it(clean_environ: Dict[str, str], tmp_path: Path) -> None:
    done = roost("submit", "--backend", "local", "-A", NOT_UTF8, "--", "true", cwd=tmp_path)
    assert_clear_error(done, "-A/--account", "not UTF-8")
    done = roost("submit", "--backend", "local", "--wrap", f"echo {NOT_UTF8}", cwd=tmp_path)
    assert_clear_error(done, "--wrap", "not UTF-8")


def test_a_binary_command_file_is_refused(clean_environ: Dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "sweep.txt").write_bytes(b"python run.py \xff\x00\x01\n")
    done = roost("submit", "--backend", "local", "--array-from", "sweep.txt", cwd=tmp_path)
    assert_clear_error(done, "sweep.txt")


def test_status_of_a_job_from_a_directory_that_is_not_utf8(clean_environ: Dict[str, str], tmp_path: Path) -> None:
    directory = tmp_path / f"d{NOT_UTF8}"
    directory.mkdir()
    submitted = roost("submit", "--backend", "local", "--wait", "--parsable", "--", "echo", "hi", cwd=directory)
    assert submitted.returncode == 0, submitted.stderr.decode(errors="replace")
    job_id = submitted.stdout.split()[0].decode()
    for args in (["status", job_id], ["status", job_id, "--json"], ["jobs", "--all"], ["logs", job_id]):
        done = roost(*args, cwd=tmp_path)
        assert done.returncode == 0 and b"Traceback" not in done.stderr, (args, done.stderr)
    assert roost("logs", job_id, cwd=tmp_path).stdout == b"hi\n"
    assert os.fsencode(str(directory)) in roost("status", job_id, cwd=tmp_path).stdout
