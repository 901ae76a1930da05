"""Start-up images: one file per env, so that a job's ranks import from node-local storage.

``roost env pack NAME`` copies the env into a build directory (hard links where the file is unchanged),
makes the copy runnable from any directory (:mod:`roost.envs.relocate`), compiles its bytecode (a read-only
image cannot take the ``__pycache__`` files Python would otherwise write at each import), and writes one
file into ``<prefix>/.roost/pack/``:

* SquashFS (``mksquashfs``, Debian ``squashfs-tools``) where it exists: jobs mount it with ``squashfuse``
  (no root) or extract it with ``unsquashfs`` where FUSE is unavailable.
* Else a gzip'd tar, which jobs extract.  Considered and not chosen: a zip on ``sys.path`` (zipimport cannot
  load extension modules, so numpy would still come from the shared copy), and copying the env file by file
  to each node (as many metadata calls as importing it).

The image is named after :func:`roost.envs.nodeimage.lock_digest` of the manifest, so a job can tell an
image that no longer agrees with the env's lock (and runs from the shared copy instead).  Install, sync and
import rebuild it (:func:`refresh_after_change`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from roost import config as config_mod
from roost.envs import manifest as manifest_mod
from roost.envs import nodeimage, relocate
from roost.envs.kinds import Progress, no_progress
from roost.envs.layout import ROOST_DIR
from roost.errors import EnvError

OPT_OUT_FILE = "never"  # in the pack dir: the user opted this env out of automatic packing


@dataclass(frozen=True)
class PackInfo:
    """What ``image.json`` says about an env's image."""

    format: str
    image: Path
    digest: str
    size_bytes: int
    files: int  # files and directories the image stands for (each one an inode on the shared file system)
    unpacked_bytes: int
    built: float
    build_seconds: float
    rewritten: List[str] = field(default_factory=list)
    current: bool = True  # False: the env's lock changed since (jobs will not use it)

    def to_json(self) -> Dict[str, Any]:
        return {
            "format": self.format,
            "image": str(self.image),
            "digest": self.digest,
            "size_bytes": self.size_bytes,
            "files": self.files,
            "unpacked_bytes": self.unpacked_bytes,
            "built": self.built,
            "build_seconds": self.build_seconds,
            "rewritten": self.rewritten,
            "current": self.current,
        }


def pack_dir(prefix: Path) -> Path:
    return prefix / nodeimage.PACK_DIR


def digest_of(prefix: Path) -> str:
    with open(manifest_mod.manifest_path(prefix)) as handle:
        return nodeimage.lock_digest(json.load(handle))


def info(prefix: Path) -> Optional[PackInfo]:
    """The env's image, or None when it has none (or its file is gone)."""
    data = nodeimage.read_info(str(prefix))
    if data is None:
        return None
    image = pack_dir(prefix) / str(data.get("image", ""))
    if not image.is_file():
        return None
    return PackInfo(
        format=str(data["format"]),
        image=image,
        digest=str(data["digest"]),
        size_bytes=int(data["size_bytes"]),
        files=int(data["files"]),
        unpacked_bytes=int(data["unpacked_bytes"]),
        built=float(data["built"]),
        build_seconds=float(data["build_seconds"]),
        rewritten=[str(p) for p in data.get("rewritten", [])],
        current=data["digest"] == digest_of(prefix),
    )


def opted_out(prefix: Path) -> bool:
    return (pack_dir(prefix) / OPT_OUT_FILE).exists()


def choose_format() -> str:
    return "squashfs" if shutil.which("mksquashfs") else "tar"


def pack(
    prefix: Path,
    *,
    kind: str,
    python_version: Optional[str] = None,
    image_format: Optional[str] = None,
    progress: Progress = no_progress,
) -> PackInfo:
    """Build the image of the env at ``prefix`` (replacing any older one); nothing is left on failure."""
    if kind not in ("venv", "conda"):
        raise EnvError(
            f"a {kind} environment cannot be packed (its files live in a container image already)",
            "pack venv or conda environments",
        )
    fmt = image_format or choose_format()
    started = time.monotonic()
    digest = digest_of(prefix)
    directory = pack_dir(prefix)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / OPT_OUT_FILE).unlink(missing_ok=True)
    build = directory / f".build-{os.getpid()}-{os.urandom(4).hex()}"
    image = directory / f"{digest}{nodeimage.FORMATS[fmt]}"
    partial = directory / f".{image.name}.partial-{os.getpid()}"
    files = count_files(prefix)  # the env's own files: what a job no longer reads one by one
    try:
        progress(f"copying {prefix} for its start-up image")
        rewritten = relocate.copy_relocatable(prefix, build / "root", kind=kind)
        progress("compiling bytecode (the image is read-only: Python cannot write __pycache__ there)")
        compile_bytecode(prefix, build / "root")
        unpacked = _bytes_under(build / "root")
        progress(f"writing {fmt} image ({files} files)")
        if fmt == "squashfs":
            make_squashfs(build / "root", partial)
        else:
            make_tar(build / "root", partial)
        os.replace(partial, image)
    finally:
        shutil.rmtree(build, ignore_errors=True)
        partial.unlink(missing_ok=True)
    result = PackInfo(
        format=fmt,
        image=image,
        digest=digest,
        size_bytes=image.stat().st_size,
        files=files,
        unpacked_bytes=unpacked,
        built=time.time(),
        build_seconds=round(time.monotonic() - started, 2),
        rewritten=rewritten,
    )
    _write_info(directory, result, kind)
    for old in directory.iterdir():  # older images: running jobs keep theirs open (mounted or being read)
        if old.name != image.name and old.suffix in (".sqfs", ".gz") and not old.name.startswith("."):
            old.unlink(missing_ok=True)
    return result


def _write_info(directory: Path, result: PackInfo, kind: str) -> None:
    data = result.to_json()
    data["image"] = result.image.name
    data["kind"] = kind
    del data["current"]
    partial = directory / f".{nodeimage.INFO_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(partial, directory / nodeimage.INFO_FILE)


def remove_image(prefix: Path, *, opt_out: bool = False) -> bool:
    """Delete the env's image (True if there was one); ``opt_out`` also stops automatic packing."""
    directory = pack_dir(prefix)
    had = info(prefix) is not None
    if directory.exists():
        for entry in directory.iterdir():
            if entry.name != OPT_OUT_FILE:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink(missing_ok=True)
    if opt_out:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / OPT_OUT_FILE).write_text("packing turned off with `roost env pack NAME --off`\n")
    return had


def compile_bytecode(prefix: Path, root: Path) -> None:
    """``compileall`` the copy with the env's own interpreter; the recorded source paths are the shared ones,
    so tracebacks name files that exist everywhere."""
    python = prefix / "bin" / "python"
    lib = root / "lib"
    if not python.exists() or not lib.is_dir():
        return
    command = [str(python), "-m", "compileall", "-q", "-s", str(root), "-p", str(prefix), str(lib)]
    # A package may ship files that are not valid for this Python (test data, py2 leftovers): compileall
    # then exits non-zero having compiled everything else, which is all an image needs.
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_plain_environ())


def _plain_environ() -> Dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}


def make_squashfs(root: Path, output: Path) -> None:
    mksquashfs = shutil.which("mksquashfs")
    if mksquashfs is None:
        raise EnvError("mksquashfs is not installed", "install squashfs-tools, or pack with --format tar")
    command = [mksquashfs, str(root), str(output), "-noappend", "-quiet", "-no-progress", "-no-xattrs"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise EnvError(
            f"mksquashfs failed: {(done.stderr or done.stdout).strip()[-500:]}",
            f"check the free space and permissions of {output.parent}",
        )


def make_tar(root: Path, output: Path) -> None:
    import tarfile

    with tarfile.open(output, "w:gz", compresslevel=1) as archive:
        for entry in sorted(os.listdir(root)):
            archive.add(root / entry, arcname=entry)


def _bytes_under(root: Path) -> int:
    size = 0
    for directory, _, names in os.walk(root):
        for name in names:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(directory, name)).st_size
    return size


def count_files(prefix: Path) -> int:
    """Files and directories of the env, roost's own .roost/ aside (what pack.auto_files compares)."""
    total = 0
    for directory, dirs, names in os.walk(prefix):
        if directory == str(prefix):
            dirs[:] = [d for d in dirs if d != ROOST_DIR]
        total += len(names) + len(dirs)
    return total


def refresh_after_change(
    prefix: Path,
    *,
    kind: str,
    config: config_mod.Config,
    progress: Progress = no_progress,
) -> Optional[PackInfo]:
    """After install/sync/import: rebuild a packed env's image, or pack it when it passed ``pack.auto_files``.

    An image that cannot be rebuilt is deleted, so no job ever runs from one that disagrees with the lock.
    """
    if kind not in ("venv", "conda") or opted_out(prefix):
        return None
    packed = nodeimage.read_info(str(prefix)) is not None
    threshold = config.pack.auto_files
    if not packed and not (threshold and count_files(prefix) > threshold):
        return None
    try:
        return pack(prefix, kind=kind, progress=progress)
    except (EnvError, OSError) as exc:
        remove_image(prefix)
        message = exc.message if isinstance(exc, EnvError) else str(exc)
        progress(f"start-up image removed (rebuilding it failed: {message}); jobs use the shared copy")
        return None
