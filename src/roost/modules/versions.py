"""Version ordering as Lmod does it (the classic setuptools ``parse_version`` rules).

Numbers compare numerically, ``1.10 > 1.9``; trailing ``.0`` does not matter (``1.0 == 1``); pre-release words
sort before the release (``1.0rc1 < 1.0``, ``dev`` lowest); ``-`` after a number starts a post-release.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    VersionKey = str

_COMPONENT = re.compile(r"(\d+|[a-z]+|\.|-)")
_REPLACE = {"pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"}


def _parts(text: str):  # type: ignore[no-untyped-def]
    for part in _COMPONENT.split(text):
        part = _REPLACE.get(part, part)
        if not part or part == ".":
            continue
        if part[:1].isdigit():
            yield part.zfill(9)
        else:
            yield "*" + part
    yield "*final"


def version_key(version: str) -> VersionKey:
    parts: list = []
    for part in _parts(version.lower()):
        if part.startswith("*"):
            if part < "*final":
                while parts and parts[-1] == "*final-":
                    parts.pop()
            while parts and parts[-1] == "000000000":
                parts.pop()
        parts.append(part)
    # Joined with NUL, the parts compare exactly as the tuple would, and a str is cheap to cache and compare.
    return "\x00".join(parts)
