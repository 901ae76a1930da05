"""Per-user directories, resolved from roost's variables, then XDG's, then the defaults."""

from __future__ import annotations

import os
from pathlib import Path

from roost import envvars


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / default


def data_dir() -> Path:
    value = os.environ.get(envvars.ROOST_DATA_DIR)
    return Path(value) if value else _xdg("XDG_DATA_HOME", ".local/share") / "roost"


def cache_dir() -> Path:
    value = os.environ.get(envvars.ROOST_CACHE_DIR)
    return Path(value) if value else _xdg("XDG_CACHE_HOME", ".cache") / "roost"


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "roost"
