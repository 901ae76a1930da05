"""Where things are inside an env prefix (kept import-light: `activate` reads it on every call)."""

from __future__ import annotations

import re

from roost.errors import EnvError

TYPE_CHECKING = False  # typing is not imported at run time: this is on `activate`'s path

if TYPE_CHECKING:
    from pathlib import Path

ROOST_DIR = ".roost"
MANIFEST_FILE = "manifest.json"
REQUIREMENTS_FILE = "requirements.in"  # what was asked for (venv kinds), fed to `uv pip compile`
LOCK_FILE = "lock.txt"  # what was resolved, with hashes (`uv pip compile --generate-hashes` output)


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def check_name(name: str) -> str:
    if not name:
        raise EnvError("an environment name cannot be empty", "pick a name such as `analysis` or `py312-torch`")
    if not NAME_RE.match(name):
        from roost.text import shown

        raise EnvError(
            f"{shown(name)} is not a valid environment name",
            "use letters, digits and . _ + - (no slashes or spaces, not starting with . or -)",
        )
    return name


def roost_dir(prefix: Path) -> Path:
    return prefix / ROOST_DIR


def manifest_path(prefix: Path) -> Path:
    return prefix / ROOST_DIR / MANIFEST_FILE
