"""Jobs in a packed env: each task imports from node-local storage, set up once per node, cleaned up after;
every failure falls back to the shared copy without failing the job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from tests.envs.conftest import PYTHON
from tests.envs.packed import SMALL_IMPORT, PackedEnv, make_packed_env, roost, traced_calls

from roost.envs import nodeimage

pytestmark = pytest.mark.service("squashfs")

SHOW_WHERE = "import os, sys, six; print(sys.prefix); print(os.environ.get('ROOST_ENV_IMAGE', '-'))"


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> PackedEnv:
    root = tmp_path_factory.mktemp("packed")
    return make_packed_env(root, tmp_path_factory.mktemp("uv-cache"), PYTHON)


@pytest.fixture
def job_environ(packed: PackedEnv, tmp_path: Path) -> Iterator[Dict[str, str]]:
    """The packed env's environment with this test's own job records and node-local directory."""
    node_local = tmp_path / "node-local"
    node_local.mkdir()
    environ = dict(packed.environ, ROOST_DATA_DIR=str(tmp_path / "data"), TMPDIR=str(node_local))
    yield environ
    _assert_node_dir_clean(node_local)


def _assert_node_dir_clean(node_local: Path) -> None:
    """Nothing mounted or staged is left once the jobs are over (lock files aside)."""
    deadline = time.monotonic() + 20
    while True:
        left = [p for p in node_local.rglob("*") if (not p.name.endswith(".lock") and p.is_file()) or p.is_mount()]
        left += [p for p in node_local.glob("roost-*/*/*") if p.is_dir()]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == []


def _submit(environ: Dict[str, str], workdir: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "roost", "submit", "--wait", "-e", "small", "-o", "out-%j.txt", "--", *command],
        capture_output=True, text=True, env=environ, cwd=workdir, timeout=300,
    )  # fmt: skip


def _job_log(workdir: Path) -> str:
    return "".join(p.read_text() for p in sorted(workdir.glob("out-*.txt")))


def test_a_local_job_imports_from_the_node_local_copy(job_environ: Dict[str, str], tmp_path: Path) -> None:
    done = _submit(job_environ, tmp_path, "python", "-c", SHOW_WHERE)
    assert done.returncode == 0, done.stderr
    log = _job_log(tmp_path).splitlines()
    node_local = Path(job_environ["TMPDIR"])
    prefix, image_env = [line for line in log if not line.startswith("roost:")]
    assert Path(prefix).is_relative_to(node_local) and prefix == image_env
    assert sum("start-up image mounted (squashfuse)" in line for line in log) == 1


def test_packed_job_makes_at_most_10_calls_on_the_env_store(
    packed: PackedEnv, job_environ: Dict[str, str], tmp_path: Path
) -> None:
    """The CI case of issue 14: 53 file-metadata calls on the env store unpacked, <= 10 packed, same job."""
    from roost.jobs import api
    from roost.jobs.spec import JobSpec

    spec = JobSpec.create(["python", "-c", SMALL_IMPORT], env="small", workdir=str(tmp_path))
    counts = {}
    for method in ("off", "auto", "stage"):
        environ = dict(job_environ, ROOST_PACK_METHOD=method)
        script = api.prepare(spec, "local", environ)
        counts[method] = traced_calls(script, environ, tmp_path, packed.envs_dir)
    assert len(counts["off"]) >= 40, counts["off"]  # the env read file by file from the shared file system
    assert len(counts["auto"]) <= 10, counts["auto"]  # the manifest (is the image current?) and the image
    assert len(counts["stage"]) <= 10, counts["stage"]


def test_stage_when_mounting_is_not_wanted(job_environ: Dict[str, str], tmp_path: Path) -> None:
    done = _submit(dict(job_environ, ROOST_PACK_METHOD="stage"), tmp_path, "python", "-c", SHOW_WHERE)
    assert done.returncode == 0, done.stderr
    log = _job_log(tmp_path)
    assert "start-up image staged at" in log and str(Path(job_environ["TMPDIR"])) in log


def test_opting_a_job_out_runs_from_the_shared_copy(
    packed: PackedEnv, job_environ: Dict[str, str], tmp_path: Path
) -> None:
    done = _submit(dict(job_environ, ROOST_PACK_METHOD="off"), tmp_path, "python", "-c", SHOW_WHERE)
    assert done.returncode == 0, done.stderr
    assert _job_log(tmp_path).splitlines() == [str(packed.envs_dir / "small"), "-"]


def _plan(packed: PackedEnv, **changes: object) -> nodeimage.ImagePlan:
    from roost.config import PackConfig

    plan = nodeimage.job_plan("small", str(packed.envs_dir / "small"), PackConfig(), {})
    assert plan is not None
    for key, value in changes.items():
        setattr(plan, key, value)
    return plan


def _run_task(plan: nodeimage.ImagePlan, environ: Dict[str, str], *command: str) -> subprocess.CompletedProcess:
    argv = [*nodeimage.wrapper_argv(plan), *command]
    return subprocess.run(argv, capture_output=True, text=True, env=environ, timeout=120)


def _shared_environ(packed: PackedEnv, environ: Dict[str, str]) -> Dict[str, str]:
    """What a job script sets before its tasks start: the env activated from the shared copy."""
    prefix = packed.envs_dir / "small"
    return dict(environ, VIRTUAL_ENV=str(prefix), PATH=f"{prefix}/bin:{environ['PATH']}")


def test_an_image_that_fails_to_mount_never_fails_the_task(
    packed: PackedEnv, job_environ: Dict[str, str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.sqfs"
    broken.write_bytes(b"not a squashfs image at all" * 100)
    done = _run_task(_plan(packed, image=str(broken)), _shared_environ(packed, job_environ), "python", "-c", SHOW_WHERE)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [str(packed.envs_dir / "small"), "-"]
    assert "start-up image not used (squashfuse failed" in done.stderr and "running from the shared copy" in done.stderr


def test_a_stale_image_is_never_used(packed: PackedEnv, job_environ: Dict[str, str]) -> None:
    """The env's lock changed after the job was written: the task runs from the shared copy, and says so."""
    done = _run_task(_plan(packed, digest="0" * 20), _shared_environ(packed, job_environ), "python", "-c", SHOW_WHERE)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [str(packed.envs_dir / "small"), "-"]
    assert "changed after its start-up image was built" in done.stderr and "roost env pack small" in done.stderr


def test_no_space_on_node_local_disk_runs_from_the_shared_copy(
    packed: PackedEnv, job_environ: Dict[str, str], tmp_path: Path
) -> None:
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(tiny)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        plan = _plan(packed, node_dir=str(tiny), method="stage")
        done = _run_task(plan, _shared_environ(packed, job_environ), "python", "-c", SHOW_WHERE)
    finally:
        subprocess.run(["umount", str(tiny)], check=True)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [str(packed.envs_dir / "small"), "-"]
    assert "not enough space on node-local disk" in done.stderr


def test_exit_codes_and_signals_pass_through(packed: PackedEnv, job_environ: Dict[str, str]) -> None:
    environ = _shared_environ(packed, job_environ)
    assert _run_task(_plan(packed), environ, "python", "-c", "raise SystemExit(7)").returncode == 7
    suicide = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    killed = _run_task(_plan(packed), environ, "python", "-c", suicide)
    assert killed.returncode == -15


def test_two_jobs_on_one_node_at_once_share_one_copy(
    packed: PackedEnv, job_environ: Dict[str, str], tmp_path: Path
) -> None:
    """Both run while the other holds the image; one sets it up, the last one out removes it."""
    environ = _shared_environ(packed, job_environ)
    flag = tmp_path / "both-running"
    code = (
        "import os, sys, time, six\n"
        f"open({str(flag)!r} + str(os.getpid()), 'w').close()\n"
        f"while len([p for p in os.listdir({str(tmp_path)!r}) if p.startswith('both-running')]) < 2: time.sleep(0.05)\n"
        "print(sys.prefix)\n"
    )
    argv = [*nodeimage.wrapper_argv(_plan(packed)), "python", "-c", code]
    tasks = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ) for _ in range(2)
    ]
    results: List[tuple] = [task.communicate(timeout=120) for task in tasks]
    assert [task.returncode for task in tasks] == [0, 0]
    prefixes = {out.strip() for out, _ in results}
    assert len(prefixes) == 1 and Path(prefixes.pop()).is_relative_to(Path(job_environ["TMPDIR"]))
    assert sum(err.count("start-up image mounted") for _, err in results) == 1


def test_what_a_killed_task_left_is_cleaned_by_the_next(packed: PackedEnv, job_environ: Dict[str, str]) -> None:
    environ = _shared_environ(packed, job_environ)
    plan = _plan(packed)
    argv = [*nodeimage.wrapper_argv(plan), "sleep", "60"]
    task = subprocess.Popen(argv, env=environ, stderr=subprocess.PIPE, text=True)
    assert task.stderr is not None and "mounted" in task.stderr.readline()
    holders = Path(nodeimage.node_base(plan, environ)) / f"{plan.digest}.json"
    children = subprocess.run(["pgrep", "-P", str(task.pid)], capture_output=True, text=True).stdout.split()
    task.kill()  # SIGKILL: no chance to release
    task.wait()
    for child in children:
        os.kill(int(child), 9)
    assert json.loads(holders.read_text())["holders"] == [task.pid]
    # a job of another env digest sweeps it; one of the same digest reuses the mount after pruning
    done = _run_task(plan, environ, "python", "-c", SHOW_WHERE)
    assert done.returncode == 0 and "mounted" not in done.stderr


# ------------------------------------------------------------------------- several nodes (real Slurm)

MULTI_CONF = "/etc/slurm-multi/slurm.conf"  # scripts/services/slurm-multi.sh
RANK_LINE = (
    "from mpi4py import MPI; import os, sys; "
    "print('rank', MPI.COMM_WORLD.Get_rank(), os.environ['SLURMD_NODENAME'], sys.prefix, flush=True)"
)


@pytest.fixture(scope="module")
def mpi_env(tmp_path_factory: pytest.TempPathFactory) -> PackedEnv:
    from tests.envs.packed import isolated_environ

    root = tmp_path_factory.mktemp("packed-mpi")
    environ = isolated_environ(root, tmp_path_factory.mktemp("uv-cache-mpi"))
    roost(environ, "env", "create", "small", "--python", str(PYTHON), "mpi4py", "mpich", "-q")
    roost(environ, "env", "pack", "small", "-q")
    return PackedEnv("small", environ, root / "envs")


@pytest.mark.service("slurm-multi")
def test_an_8_rank_job_on_2_nodes_sets_up_once_per_node(mpi_env: PackedEnv, tmp_path: Path) -> None:
    node_local = tmp_path / "node-local"  # one /tmp for both "nodes" here; the node name keeps them apart
    node_local.mkdir()
    environ = dict(mpi_env.environ, SLURM_CONF=MULTI_CONF, ROOST_DATA_DIR=str(tmp_path / "data"))
    environ["ROOST_PACK_DIR"] = str(node_local)
    environ.pop("TMPDIR")
    done = subprocess.run(
        [sys.executable, "-m", "roost", "submit", "--backend", "slurm", "--wait", "-e", "small", "-N", "2",
         "-n", "8", "--ntasks-per-node", "4", "--mpi", "-t", "5", "-o", "out-%j.txt", "--", "python", "-c", RANK_LINE],
        capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    log = _job_log(tmp_path).splitlines()
    assert done.returncode == 0, (done.stderr, log)
    ranks = sorted(line.split()[1:] for line in log if line.startswith("rank "))
    assert [int(rank) for rank, _, _ in ranks] == list(range(8))
    for _, node, prefix in ranks:  # every rank imports from its own node's copy
        assert Path(prefix).is_relative_to(node_local / f"roost-{os.getuid()}" / node)
    assert sorted({node for _, node, _ in ranks}) == ["n1", "n2"]
    set_up = [line for line in log if "start-up image mounted" in line or "start-up image staged" in line]
    assert sorted(line.rsplit(" ", 1)[-1] for line in set_up) == ["n1", "n2"]  # once per node, not per rank
    _assert_node_dir_clean(node_local)


@pytest.mark.service("slurm")
def test_roost_run_inside_a_slurm_job_uses_the_image(job_environ: Dict[str, str], tmp_path: Path) -> None:
    """`roost run -e` in a batch job (a user's own script) starts from the image too; on a login node it does not."""
    import shlex

    run = shlex.join([sys.executable, "-m", "roost", "run", "-e", "small", "--", "python", "-c", SHOW_WHERE])
    done = subprocess.run(
        [sys.executable, "-m", "roost", "submit", "--backend", "slurm", "--wait", "-o", "out-%j.txt", "--wrap", run],
        capture_output=True, text=True, env=job_environ, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    prefix, image_env = [line for line in _job_log(tmp_path).splitlines() if not line.startswith("roost:")]
    assert Path(prefix).is_relative_to(Path(job_environ["TMPDIR"])) and prefix == image_env
    outside = subprocess.run(
        shlex.split(run), capture_output=True, text=True, env={k: v for k, v in job_environ.items() if "SLURM" not in k}
    )
    assert outside.stdout.split()[1] == "-"  # no ROOST_ENV_IMAGE: run from the shared copy


def test_array_tasks_each_run_from_the_node_local_copy(job_environ: Dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "roost", "submit", "--wait", "-e", "small", "--array", "0-2", "-o", "out-%A_%a.txt",
         "--wrap", f"python -c {SHOW_WHERE!r}"],
        capture_output=True, text=True, env=job_environ, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    logs = sorted(tmp_path.glob("out-*_*.txt"))
    assert len(logs) == 3
    for log in logs:
        prefix, image_env = [line for line in log.read_text().splitlines() if not line.startswith("roost:")]
        assert Path(prefix).is_relative_to(Path(job_environ["TMPDIR"])) and prefix == image_env


@pytest.mark.service("slurm-multi")
def test_two_slurm_jobs_on_one_node_at_once_do_not_collide(mpi_env: PackedEnv, tmp_path: Path) -> None:
    node_local = tmp_path / "node-local"
    node_local.mkdir()
    environ = dict(mpi_env.environ, SLURM_CONF=MULTI_CONF, ROOST_DATA_DIR=str(tmp_path / "data"))
    environ["ROOST_PACK_DIR"] = str(node_local)
    environ.pop("TMPDIR")
    # each job waits until both are running, so they hold the node's copy at the same time
    code = (
        "import os, sys, time\n"
        f"open({str(tmp_path)!r} + '/running-' + os.environ['SLURM_JOB_ID'], 'w').close()\n"
        f"while len([p for p in os.listdir({str(tmp_path)!r}) if p.startswith('running-')]) < 2: time.sleep(0.1)\n"
        "print(os.environ['SLURMD_NODENAME'], sys.prefix, flush=True)\n"
    )
    submit = [sys.executable, "-m", "roost", "submit", "--backend", "slurm", "--wait", "-e", "small", "-t", "5",
              "--directive=--nodelist=n1", "-o", "out-%j.txt", "--", "python", "-c", code]  # fmt: skip
    jobs = [subprocess.Popen(submit, env=environ, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]  # fmt: skip
    for job in jobs:
        job.communicate(timeout=300)
    assert [job.returncode for job in jobs] == [0, 0]
    logs = [p.read_text() for p in sorted(tmp_path.glob("out-*.txt"))]
    ran = [line.split() for log in logs for line in log.splitlines() if line.startswith("n")]
    assert len(ran) == 2 and {node for node, _ in ran} == {"n1"}
    assert len({prefix for _, prefix in ran}) == 1  # one copy on the node, shared
    assert sum(log.count("start-up image mounted") for log in logs) == 1
    _assert_node_dir_clean(node_local)
