"""Replacing one section of BENCHMARKS.md (``## Title`` up to the next ``## ``), for the bench scripts."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def write_section(title: str, section: str, path: Path = BENCHMARKS_MD) -> None:
    """Put ``section`` (starting with ``title``) in place of the section of that title, or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(title + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    path.write_text(text.rstrip("\n") + "\n")
