"""Which file system holds a path, read from mountinfo: what decides whether SQLite may use WAL there."""

from __future__ import annotations

from pathlib import Path

import pytest

from roost import fs

# Lines as Linux writes them (fields: id, parent, dev, root, mount point, options, optional tags, -, type, ...).
MOUNTINFO = [
    "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
    "40 22 0:38 / /home rw,relatime shared:20 - nfs4 nas:/export/home rw,vers=4.2",
    "41 22 0:39 / /scratch rw,relatime - lustre 10.0.0.1@o2ib:/scratch rw,flock",
    "42 41 253:2 / /scratch/local\\040disk rw,relatime - xfs /dev/vdb rw",
    "43 22 0:40 / /gpfs/projects rw,relatime shared:7 master:3 - gpfs projects rw",
    "44 22 0:41 / /tmp rw - tmpfs tmpfs rw",
]


def test_the_longest_mount_point_holding_the_path_decides() -> None:
    assert fs.filesystem_type("/home/alice/.local/share/roost", MOUNTINFO) == "nfs4"
    assert fs.filesystem_type("/homeless/x", MOUNTINFO) == "ext4"  # /home is not a prefix of /homeless
    assert fs.filesystem_type("/scratch/run1", MOUNTINFO) == "lustre"
    assert fs.filesystem_type("/scratch/local disk/run1", MOUNTINFO) == "xfs"  # \040 is a space
    assert fs.filesystem_type("/gpfs/projects/p1", MOUNTINFO) == "gpfs"  # optional fields before the "-"
    assert fs.filesystem_type("/tmp/x", MOUNTINFO) == "tmpfs"


def test_shared_file_systems() -> None:
    shared = {path: fs.is_shared(path, MOUNTINFO) for path in ("/home/a", "/scratch/a", "/gpfs/projects/a")}
    assert all(shared.values()), shared
    assert not fs.is_shared("/tmp/a", MOUNTINFO) and not fs.is_shared("/opt/a", MOUNTINFO)


def test_this_machine() -> None:
    # The root file system is mounted on every Linux machine; whatever it is, it is named.
    assert fs.filesystem_type("/") != ""


def test_job_database_on_a_shared_file_system_uses_a_rollback_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No NFS/Lustre/GPFS can be mounted on this machine: mountinfo parsing is tested above, and here the
    # answer for a shared file system is stubbed to see what the job database does with it.
    from roost.jobs.store import Store

    assert Store(tmp_path / "local.sqlite").journal_mode() == "wal"  # this machine's /tmp is not shared
    monkeypatch.setattr(fs, "is_shared", lambda path, mountinfo=None: True)  # as on an NFS home
    assert Store(tmp_path / "shared.sqlite").journal_mode() == "delete"
