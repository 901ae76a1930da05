"""The command file the --array-from tests submit on both backends, and what each task must leave behind."""

from __future__ import annotations

from pathlib import Path
from typing import List

# Lines a parameter sweep really has: a comment, a blank line, quotes, a redirection, an environment variable.
COMMAND_FILE = """\
# alpha sweep
echo "alpha=0.1 task=$SLURM_ARRAY_TASK_ID"

python3 -c 'print("alpha=0.2")'
echo "it's alpha=0.3" > third.txt; echo wrote
"""
EXPECTED_OUTPUT: List[str] = ["alpha=0.1 task=0\n", "alpha=0.2\n", "wrote\n"]


def write_command_file(directory: Path) -> Path:
    path = directory / "sweep.txt"
    path.write_text(COMMAND_FILE)
    return path
