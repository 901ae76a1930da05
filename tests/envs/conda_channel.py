"""Build a tiny local conda channel: noarch packages written by hand, indexed with rattler.

This is also how an air-gapped cluster mirrors a channel: a directory with ``noarch/`` (and platform
subdirs) holding packages and ``repodata.json``.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
import time
from pathlib import Path
from typing import Dict, Sequence

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"


def make_package(
    channel: Path,
    name: str,
    version: str,
    *,
    build: str = "0",
    depends: Sequence[str] = (),
    files: Dict[str, str],
    prefix_files: Sequence[str] = (),
) -> Path:
    """A noarch .tar.bz2; files in ``prefix_files`` hold PLACEHOLDER, which conda replaces by the prefix."""
    subdir = channel / "noarch"
    subdir.mkdir(parents=True, exist_ok=True)
    index = {
        "name": name,
        "version": version,
        "build": build,
        "build_number": 0,
        "depends": list(depends),
        "noarch": "generic",
        "subdir": "noarch",
        "license": "MIT",
        "timestamp": int(time.time() * 1000),
    }
    paths = []
    members: Dict[str, bytes] = {}
    for relative, text in files.items():
        data = text.encode()
        members[relative] = data
        entry = {
            "_path": relative,
            "path_type": "hardlink",
            "sha256": hashlib.sha256(data).hexdigest(),
            "size_in_bytes": len(data),
        }
        if relative in prefix_files:
            entry.update({"prefix_placeholder": PLACEHOLDER, "file_mode": "text"})
        paths.append(entry)
    members["info/index.json"] = json.dumps(index).encode()
    members["info/paths.json"] = json.dumps({"paths": paths, "paths_version": 1}).encode()
    placeholders = [f"{PLACEHOLDER} text {p}" for p in prefix_files]
    if placeholders:
        members["info/has_prefix"] = ("\n".join(placeholders) + "\n").encode()
    target = subdir / f"{name}-{version}-{build}.tar.bz2"
    with tarfile.open(target, "w:bz2") as tar:
        for relative, data in members.items():
            info = tarfile.TarInfo(relative)
            info.size = len(data)
            info.mode = 0o755 if relative.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return target


def index(channel: Path) -> None:
    from rattler.index import index_fs

    # Only repodata.json: writing shards leaves rattler threads that crash the interpreter at exit.
    asyncio.run(index_fs(channel, force=True, write_shards=False, write_zst=False))


def build_test_channel(channel: Path) -> Path:
    """hello 1.0/2.0 (scripts), tool (needs hello, records its prefix), mpich normal and external builds."""
    for version in ("1.0", "2.0"):
        make_package(channel, "hello", version, files={"bin/hello": f"#!/bin/sh\necho hello {version}\n"})
    make_package(
        channel,
        "tool",
        "0.1",
        depends=["hello >=1"],
        files={"bin/tool": f"#!/bin/sh\necho tool in {PLACEHOLDER}\n"},
        prefix_files=["bin/tool"],
    )
    make_package(channel, "mpich", "4.1.2", build="h1234_0", files={"share/mpich/kind": "bundled\n"})
    make_package(channel, "mpich", "4.1.2", build="external_0", files={"share/mpich/kind": "external\n"})
    make_package(channel, "mpi4py", "3.1.5", depends=["mpich"], files={"share/mpi4py/README": "mpi4py\n"})
    index(channel)
    return channel
