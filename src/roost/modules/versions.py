"""Version ordering as Lmod does it (the classic setuptools ``parse_version`` rules, with Lmod's ``zfinal``).

Numbers compare numerically, ``1.10 > 1.9``; trailing ``.0`` does not matter (``1.0 == 1``); a word after the
numbers sorts before the plain release (``1.0rc1 < 1.0``, ``1.14.1-mpi < 1.14.1``, ``3.10.4-bare < 3.10.4``) because
Lmod's end marker is ``zfinal``; ``-`` followed by numbers is a post-release (``1.0-1 > 1.0``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    VersionKey = str

_COMPONENT_PATTERN = r"(\d+|[a-z]+|\.|-)"  # compiled on first use: `re` costs ~6 ms to import
_REPLACE = {"pre": "c", "preview": "c", "-": "zfinal-", "rc": "c", "dev": "@"}


def _parts(text: str):  # type: ignore[no-untyped-def]
    import re

    for part in re.split(_COMPONENT_PATTERN, text):
        part = _REPLACE.get(part, part)
        if not part or part == ".":
            continue
        if part[:1].isdigit():
            yield part.zfill(9)
        else:
            yield "*" + part
    yield "*zfinal"


_KEYS: dict[str, str] = {}  # sites repeat version strings across names: compute each once per process


def version_key(version: str) -> VersionKey:
    key = _KEYS.get(version)
    if key is None:
        key = _KEYS[version] = _compute_key(version)
    return key


def _compute_key(version: str) -> VersionKey:
    parts: list = []
    for part in _parts(version.lower()):
        if part.startswith("*"):
            if part < "*zfinal":
                while parts and parts[-1] == "*zfinal-":
                    parts.pop()
            while parts and parts[-1] == "000000000":
                parts.pop()
        parts.append(part)
    # Joined with NUL, the parts compare exactly as the tuple would, and a str is cheap to cache and compare.
    return "\x00".join(parts)
