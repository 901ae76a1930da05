"""Where things are inside an env prefix (kept import-light: `activate` reads it on every call)."""

from __future__ import annotations

from pathlib import Path

ROOST_DIR = ".roost"
MANIFEST_FILE = "manifest.json"
REQUIREMENTS_FILE = "requirements.in"  # what was asked for (venv kinds), fed to `uv pip compile`
LOCK_FILE = "lock.txt"  # what was resolved, with hashes (`uv pip compile --generate-hashes` output)


def roost_dir(prefix: Path) -> Path:
    return prefix / ROOST_DIR


def manifest_path(prefix: Path) -> Path:
    return prefix / ROOST_DIR / MANIFEST_FILE
