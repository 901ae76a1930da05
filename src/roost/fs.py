"""Which file system a path lives on (Linux: /proc/self/mountinfo), and whether hosts share it.

Cluster home and project directories are network or parallel file systems shared by every login and compute
node.  Some things that are safe on a local disk are not safe there — SQLite's WAL mode keeps its index in
shared memory that only processes on one host see — so roost asks before relying on them.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Optional

# File systems that several hosts mount at once (fuse covers sshfs, gcsfuse and several parallel FS clients).
SHARED_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "cephfs", "ceph", "glusterfs",
        "fuse.glusterfs", "panfs", "pvfs2", "orangefs", "afs", "ocfs2", "gfs2", "9p", "fuse", "fuse.sshfs",
        "fuse.gcsfuse", "wekafs", "quobyte", "fuse.quobyte", "virtiofs",
    }
)


def filesystem_type(path: str, mountinfo: Optional[Iterable[str]] = None) -> str:
    """The type of the file system holding ``path`` (or its nearest existing parent); "" when unknown."""
    target = os.path.realpath(path)
    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
                mountinfo = handle.read().splitlines()
        except OSError:
            return ""
    best, kind = "", ""
    for line in mountinfo:
        point, fstype = _mount_point_and_type(line)
        if point and _contains(point, target) and len(point) >= len(best):
            best, kind = point, fstype
    return kind


def is_shared(path: str, mountinfo: Optional[Iterable[str]] = None) -> bool:
    """True when ``path`` is on a file system that other hosts mount too (NFS, Lustre, GPFS, ...)."""
    return filesystem_type(path, mountinfo) in SHARED_FILESYSTEMS


def _mount_point_and_type(line: str) -> tuple:
    # "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue": the mount point is
    # field 5; the type follows the " - " separator.  Spaces in paths are written as \040.
    fields = line.split()
    try:
        separator = fields.index("-", 6)
    except ValueError:
        return "", ""
    if separator + 1 >= len(fields):
        return "", ""
    return _unescape(fields[4]), fields[separator + 1]


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, index = [], 0
    while index < len(text):
        chunk = text[index + 1 : index + 4]
        if text[index] == "\\" and len(chunk) == 3 and all(c in "01234567" for c in chunk):
            out.append(chr(int(chunk, 8)))
            index += 4
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _contains(mount_point: str, path: str) -> bool:
    return mount_point == "/" or path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
