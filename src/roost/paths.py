"""Per-user directories, resolved from roost's variables, then XDG's, then the defaults.

The ``*_text`` forms return plain strings without importing pathlib, for hot paths (`roost submit`).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

# Declared (and documented) in roost.envvars; literals here because importing the registry costs more than the
# rest of this module (tests check they are declared).
ROOST_DATA_DIR = "ROOST_DATA_DIR"
ROOST_CACHE_DIR = "ROOST_CACHE_DIR"
VARIABLE_NAMES = (ROOST_DATA_DIR, ROOST_CACHE_DIR)


def _xdg_text(variable: str, default: str) -> str:
    return os.environ.get(variable) or os.path.join(os.path.expanduser("~"), default)


def data_dir_text() -> str:
    return os.environ.get(ROOST_DATA_DIR) or os.path.join(_xdg_text("XDG_DATA_HOME", ".local/share"), "roost")


def cache_dir_text() -> str:
    return os.environ.get(ROOST_CACHE_DIR) or os.path.join(_xdg_text("XDG_CACHE_HOME", ".cache"), "roost")


def data_dir() -> Path:
    from pathlib import Path

    return Path(data_dir_text())


def cache_dir() -> Path:
    from pathlib import Path

    return Path(cache_dir_text())


def config_dir() -> Path:
    from pathlib import Path

    return Path(_xdg_text("XDG_CONFIG_HOME", ".config")) / "roost"


def which(program: str, search_path: str | None = None) -> str | None:
    """shutil.which for a bare program name, without importing shutil (on `roost submit`'s path)."""
    for directory in (os.environ.get("PATH", "") if search_path is None else search_path).split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(directory, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
