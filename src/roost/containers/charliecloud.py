"""Charliecloud: ``ch-run [options] IMAGE -- CMD ARGS`` on directory and SquashFS images.

ch-run cannot create mount points in an image (a SquashFS image is read-only, and roost never writes into a
directory image), so a bind's destination must already exist inside it.  roost therefore keeps a bind only
when its directory exists in the image (checked once, at ``container add``), binds the user's home with
ch-run's own ``--home`` (a tmpfs ``/home`` holding ``/home/$USER``; also at its own path when the image has
that directory), and relies on ch-run binding the host's ``/tmp``.  The extras directory is bound at its own
path when that path is visible inside, else at ``/mnt`` (Charliecloud's conventional mount point).  PATH
inside is the image's, not the host's.  Documented at https://hpc.github.io/charliecloud/ch-run.html.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import FrozenSet, List, Mapping, Optional, Sequence, Tuple

from roost.containers.runtime import PWD, Arg, ExecSpec, ImageKind, Ref, Runtime, Workdir, lit
from roost.errors import ContainerError

# ch-run bind-mounts the host's /tmp unless --private-tmp is given.
HOST_TMP = "/tmp"
FALLBACK_MOUNT = "/mnt"
# Where the caller's directory can go when the image has no mount point at its path: Charliecloud's images
# have /mnt/0../mnt/9 for this; other images usually have the (empty) FHS directories.
CWD_MOUNT_CANDIDATES = (*(f"/mnt/{n}" for n in range(10)), "/mnt", "/media", "/srv")


class CharliecloudRuntime(Runtime):
    name = "charliecloud"
    executables = ("ch-run",)
    kinds = frozenset({ImageKind.DIRECTORY, ImageKind.SQUASHFS})
    needs_user = True
    gpu_note = ("ch-run has no GPU option: inject the host's GPU libraries into the image once with "
                "`ch-fromhost --nvidia IMAGE` (a directory image)")

    def head(self, spec: ExecSpec) -> List[Arg]:
        words = [lit(self.executable)]
        words += [lit(option) for option in spec.options]
        if any(bind.refs == ["HOME"] for bind in spec.binds):
            words.append(lit("--home"))
        if spec.extras and spec.extras_inside:
            words.append(lit(f"--bind={spec.extras}:{spec.extras_inside}"))
        # ch-run passes the host's PATH in, which can reach host programs through a bound home
        # (~/.pyenv, ~/.local/bin): inside, PATH is the image's own, as Apptainer and Podman have it.
        words.append(lit(f"--set-env=PATH={image_path(spec.kind, spec.image)}"))
        return words

    def workdir(self, spec: ExecSpec, environ: Mapping[str, str]) -> Workdir:
        """ch-run starts in / unless told.  Under /tmp, the home directory or a bind, the caller's directory is
        entered at its own path; anywhere else (a project directory the image has no mount point for) it is
        bound on the image's spare mount point first (``cwd_mount``, e.g. /mnt/0) and entered there."""
        here = (Arg.of("--cd=", *PWD.parts),)
        if not spec.cwd_mount:
            return Workdir(here)
        # /tmp, the binds made at their own path (home too, when the image has its directory), and --home's
        # /home/$USER.
        visible = [lit(HOST_TMP), *self.binds_for(spec, environ)]
        if any(bind.refs == ["HOME"] for bind in spec.binds):
            visible.append(Arg.of("/home/", Ref("USER")))
        elsewhere = (Arg.of("--bind=", *PWD.parts, f":{spec.cwd_mount}"), lit(f"--cd={spec.cwd_mount}"),
                     lit(f"--set-env=PWD={spec.cwd_mount}"))
        return Workdir(here, tuple(visible), elsewhere)

    def cwd_mount(self, kind: ImageKind, image: str, taken: Sequence[str]) -> Optional[str]:
        for candidate in CWD_MOUNT_CANDIDATES:
            clashes = any(_under(candidate, other) or _under(other, candidate) for other in taken if other)
            if not clashes and image_has_directory(kind, image, candidate):
                return candidate
        return None

    def bind_notes(self, spec: ExecSpec, environ: Mapping[str, str]) -> List[str]:
        notes = []
        kept = self.binds_for(spec, environ)
        for bind in spec.binds:
            path = bind.expand(environ)
            if bind not in kept and bind.refs != ["HOME"] and path and os.path.isdir(path):
                notes.append(f"{path} is not bound: the image has no {path} directory to mount it on (ch-run "
                             "cannot create mount points in an image); add that directory to the image")
        if not spec.cwd_mount:
            notes.append("the image has no spare mount point (/mnt/0../mnt/9, /mnt, /media, /srv): its commands "
                         "work only from /tmp, your home directory and the bound directories")
        return notes

    def bind(self, source: Arg) -> List[Arg]:
        return [Arg.of("--bind=", *source.parts)]

    def tail(self, spec: ExecSpec, command: str) -> List[Arg]:
        return [lit(spec.image), lit("--"), lit(command)]

    def binds_for(self, spec: ExecSpec, environ: Mapping[str, str]) -> Tuple[Arg, ...]:
        """Binds whose directory exists in the image, as add time sees it.  $HOME is also bound by --home
        (at /home/$USER); binding it at its own path too, when the image has that directory (/root), keeps
        the caller's directory under it the same inside."""
        kept = []
        for bind in spec.binds:
            path = bind.expand(environ)
            if path and image_has_directory(spec.kind, spec.image, path):
                kept.append(bind)
        return tuple(kept)

    def extras_inside(self, kind: ImageKind, image: str, extras: str, environ: Mapping[str, str]) -> str:
        if _under(extras, HOST_TMP) or image_has_directory(kind, image, extras):
            return extras
        if image_has_directory(kind, image, FALLBACK_MOUNT):
            return FALLBACK_MOUNT
        raise ContainerError(
            f"the extras directory {extras!r} cannot be bound into the image {image!r}: Charliecloud needs "
            "the mount point to exist in the image, and the image has neither that directory nor /mnt",
            "pass --extras with a directory under /tmp or one that exists in the image",
        )


DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@lru_cache(maxsize=8)
def image_path(kind: ImageKind, image: str) -> str:
    """The image's PATH: from /ch/environment (where ch-image records it) when set, else the standard one."""
    try:
        if kind is ImageKind.DIRECTORY:
            text = Path(image, "ch", "environment").read_text(errors="replace")
        else:
            done = subprocess.run([shutil.which("unsquashfs") or "unsquashfs", "-cat", image, "ch/environment"],
                                  capture_output=True, text=True, errors="replace", stdin=subprocess.DEVNULL)
            text = done.stdout if done.returncode == 0 else ""
    except OSError:
        text = ""
    for line in text.splitlines():
        if line.startswith("PATH=") and "$" not in line and len(line) > 5:
            return line[5:].strip().strip("'\"")
    return DEFAULT_PATH


def _under(path: str, parent: str) -> bool:
    path, parent = os.path.normpath(path), os.path.normpath(parent)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def image_has_directory(kind: ImageKind, image: str, path: str) -> bool:
    if kind is ImageKind.DIRECTORY:
        return os.path.isdir(os.path.join(image, path.lstrip("/")))
    return path.strip("/") in squashfs_directories(image)


@lru_cache(maxsize=8)
def squashfs_directories(image: str) -> FrozenSet[str]:
    """Every directory in a SquashFS image (relative, no leading slash), from one ``unsquashfs -ll``."""
    unsquashfs = shutil.which("unsquashfs")
    if not unsquashfs:
        raise ContainerError("unsquashfs is not installed, so roost cannot look inside the SquashFS image",
                             "install squashfs-tools (apt-get install squashfs-tools)")
    result = subprocess.run([unsquashfs, "-ll", "-d", "", image], capture_output=True, text=True,
                            errors="surrogateescape", stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise ContainerError(f"cannot list the SquashFS image {image!r}: {result.stderr.strip()}",
                             "check that the file is a complete SquashFS image")
    directories = set()
    for line in result.stdout.splitlines():
        if not line.startswith("d"):
            continue
        # "drwxr-xr-x root/root   27 2026-11-25 14:37 usr/bin": the name is after the time column.
        fields = line.split(None, 5)
        if len(fields) == 6:
            directories.add(fields[5].strip("/"))
    return frozenset(directories)
