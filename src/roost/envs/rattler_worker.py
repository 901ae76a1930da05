"""Solve and install conda packages with py-rattler, in a child process.

Why a child: py-rattler 0.28 leaves runtime threads that can crash the interpreter while it shuts down
(segfault / PyGILState_Release abort, about one run in four here).  The worker reads one JSON request on
stdin, writes one JSON answer on stdout and leaves with ``os._exit`` (no interpreter shutdown), so the
crash cannot happen and the caller's process never loads rattler.

Request: {"channels": [url...], "specs": [...], "target": dir, "final_prefix": dir, "pkgs_dir": dir,
          "keep_installed": bool}
Answer:  {"ok": true, "records": [{name, version, build, sha256, url}...]} or {"ok": false, "error": text}
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List


def _prefix_records(prefix: Path) -> List[Any]:
    import rattler

    meta = prefix / "conda-meta"
    return [rattler.PrefixRecord.from_path(p) for p in sorted(meta.glob("*.json"))] if meta.is_dir() else []


async def _solve_and_install(request: Dict[str, Any]) -> List[Dict[str, str]]:
    import rattler

    target = Path(request["target"])
    installed = _prefix_records(target) if request.get("keep_installed") else []
    platforms: List[Any] = [str(rattler.Platform.current()), "noarch"]
    records = await rattler.solve(
        request["channels"],
        request["specs"],
        gateway=rattler.Gateway(cache_dir=None),
        platforms=platforms,
        # installed records passed as 'locked' keep their versions unless the new specs need others
        locked_packages=installed or None,
        virtual_packages=rattler.VirtualPackage.detect(),
    )
    Path(request["pkgs_dir"]).mkdir(parents=True, exist_ok=True)
    final = request.get("final_prefix") or str(target)
    await rattler.install(
        records,
        target_prefix=str(target),
        cache_dir=Path(request["pkgs_dir"]),
        show_progress=False,
        installed_packages=installed or None,
        # files get the final prefix patched in, so the staging directory can be renamed into place
        alternative_target_prefix=None if final == str(target) else final,
    )
    return [
        {
            "name": r.name.normalized,
            "version": str(r.version),
            "build": str(r.build),
            "sha256": r.sha256.hex() if r.sha256 else "",
            "url": str(r.url),
        }
        for r in records
    ]


def main() -> None:
    try:
        request = json.loads(sys.stdin.read())
        answer: Dict[str, Any] = {"ok": True, "records": asyncio.run(_solve_and_install(request))}
    except Exception as exc:  # every failure goes back to the caller as text
        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
