"""Containers for real: Charliecloud always (scripts/services/charliecloud.sh builds a Debian image with
python3 and pip), Apptainer whenever it is on PATH (the same tests, the same directory image).

The image root holds ``/.roost-packages`` (the build stamp), which the host's root does not: finding it
proves that a wrapper's python really runs inside the image.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from roost.containers import api

from .helpers import IMAGE_DIR, IMAGE_SQFS, LMOD_INIT, RUNTIMES, SQUASHFS_RUNTIMES, make_wheel, roost, run

INSIDE = (
    "import json, os, sys; print(json.dumps({'stamp': os.path.exists('/.roost-packages'),"
    " 'prefix': sys.prefix, 'cwd': os.getcwd(), 'args': sys.argv[1:],"
    " 'os': open('/etc/os-release').readline().strip()}))"
)


def inside(wrapper: Path, *args: str, env: Optional[Dict[str, str]] = None) -> Dict[str, object]:
    done = run([str(wrapper), "-c", INSIDE, *args], env=env)
    assert done.returncode == 0, done.stderr
    result: Dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize("image", [IMAGE_DIR, IMAGE_SQFS], ids=["directory", "squashfs"])
def test_wrappers_run_python_inside_the_image_in_the_callers_directory(work: Path, runtime: str,
                                                                       image: Path) -> None:
    # A python on the caller's PATH, in a directory the container can see, must not be taken for the image's.
    decoy = work / "host-bin"
    decoy.mkdir()
    for name in ("python", "python3", "pip"):
        (decoy / name).write_text("#!/bin/sh\necho decoy\n")
        (decoy / name).chmod(0o755)
    env = dict(os.environ, PATH=f"{decoy}:{os.environ['PATH']}")
    done = roost("container", "add", "deb/12", str(image), "--runtime", runtime, env=env)
    if image == IMAGE_SQFS and runtime not in SQUASHFS_RUNTIMES:
        assert done.returncode == 1 and f"{runtime} cannot run a squashfs image" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert f"added deb/12 ({runtime}" in done.stdout and "module load deb/12" in done.stdout
    # The first add creates the modulefile directory: shells opened before need it on MODULEPATH.
    assert f"module use {api.modulefile_dir()}" in done.stdout
    container = api.get("deb")
    assert {"python", "python3", "pip"} <= set(container.commands)
    assert container.commands["python"] == "/usr/bin/python3"

    (work / "sub dir").mkdir()
    os.chdir(work / "sub dir")
    env = dict(os.environ, PWD=str(work / "sub dir"), PATH=f"{decoy}:{os.environ['PATH']}")
    env.pop("USER", None)  # CI may not set it; ch-run needs it, so the wrapper supplies it
    seen = inside(container.wrapper("python"), "a b", "it's", "$HOME", "new\nline", env=env)
    assert seen["stamp"] is True and seen["prefix"] == "/usr"
    assert seen["os"] == 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"'
    assert seen["cwd"] == str(work / "sub dir")
    assert seen["args"] == ["a b", "it's", "$HOME", "new\nline"]
    # The host's python is not the image's: the stamp is absent outside.
    assert not os.path.exists("/.roost-packages")

    listed = roost("container", "list")
    assert listed.returncode == 0 and "deb/12" in listed.stdout and runtime in listed.stdout
    records = json.loads(roost("container", "list", "--json").stdout)
    assert [(r["name"], r["version"], r["image"]) for r in records] == [("deb", "12", str(image))]


def test_pip_install_extras_import_inside_the_container(work: Path, runtime: str) -> None:
    api.add("deb/12", str(IMAGE_DIR), runtime=runtime)
    wheel = make_wheel(work)
    done = roost("container", "pip-install", "deb/12", wheel.name, "--no-index")
    assert done.returncode == 0, done.stdout + done.stderr
    container = api.get("deb/12")
    assert (Path(str(container.extras)) / "roost_extra_probe" / "__init__.py").is_file()
    code = "import roost_extra_probe as m, os; print(m.WHERE, os.path.exists('/.roost-packages'))"
    printed = run([str(container.wrapper("python")), "-c", code])
    assert printed.returncode == 0, printed.stderr
    where, stamp = printed.stdout.split()
    assert where.startswith(str(container.extras_inside)) and stamp == "True"

    # After `module load`, a plain `pip install` lands in the extras too (the image is read-only).
    second = make_wheel(work, "second_probe", "2.0")
    installed = run([str(container.wrapper("pip")), "install", "--no-index", f"./{second.name}"])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert run([str(container.wrapper("python")), "-c", "import second_probe"]).returncode == 0
    assert (Path(str(container.extras)) / "second_probe").is_dir()

    # Any program in the image, with the same binds and extras.
    shell = roost("container", "exec", "deb/12", "sh", "-c", 'test -e /.roost-packages && echo "$PYTHONPATH"')
    assert shell.returncode == 0 and shell.stdout.strip().startswith(str(container.extras_inside))

    failed = roost("container", "pip-install", "deb/12", "no-such-package-roost", "--no-index")
    assert failed.returncode == 1 and "pip in deb/12 failed" in failed.stderr


def test_bad_input_gives_clear_errors_and_registers_nothing(work: Path, runtime: str) -> None:
    cases = [
        (["container", "add", "deb/12", str(work / "missing.sqfs")], "does not exist"),
        (["container", "add", "deb/12", str(IMAGE_DIR), "--command", "python3", "--command", "nonesuch"],
         "has no nonesuch on its PATH"),
        (["container", "add", "deb/12", str(IMAGE_DIR), "--runtime", "docker"], "unknown container runtime"),
        (["container", "add", "deb/12", str(IMAGE_DIR), "--bind", "data/relative"], "absolute path"),
        (["container", "add", "deb/12", "localhost/nonesuch:1"],
         "is neither a file nor in Podman's image store" if runtime == "podman" else "does not exist"),
    ]
    for args, message in cases:
        done = roost(*args, "--runtime", runtime) if "--runtime" not in args else roost(*args)
        assert done.returncode == 1, (args, done.stdout)
        assert message in done.stderr and "hint:" in done.stderr, done.stderr
        assert not api.containers_dir().exists() or not list(api.containers_dir().rglob("*.json"))
        assert not api.modulefile_dir().exists() or not list(api.modulefile_dir().rglob("*.lua"))


def test_a_moved_image_is_flagged_in_the_list(work: Path, runtime: str) -> None:
    copy = work / "copy.sqfs"
    os.link(IMAGE_SQFS, copy)
    api.add("moved/1", str(copy if runtime in SQUASHFS_RUNTIMES else IMAGE_DIR), runtime=runtime,
            commands=["python3"])
    if runtime in SQUASHFS_RUNTIMES:
        copy.unlink()
    listed = roost("container", "list")
    assert ("(image missing)" in listed.stdout) == (runtime in SQUASHFS_RUNTIMES)


@pytest.mark.service("charliecloud")
def test_a_failed_write_leaves_nothing_registered(work: Path) -> None:
    api.containers_dir().parent.mkdir(parents=True)
    api.containers_dir().write_text("in the way")  # a file where roost's directory should be
    done = roost("container", "add", "deb/12", str(IMAGE_DIR), "--runtime", "charliecloud")
    assert done.returncode == 1 and "cannot register deb/12" in done.stderr and "hint:" in done.stderr
    assert not api.modulefile_dir().exists()


def test_an_image_path_with_spaces_works(work: Path, runtime: str) -> None:
    spaced = work / "my images" / "py thon.sqfs"
    spaced.parent.mkdir()
    if runtime in SQUASHFS_RUNTIMES:
        os.link(IMAGE_SQFS, spaced)
    else:  # a directory image: a hard-linked copy costs no space
        spaced = spaced.with_suffix("")
        assert run(["cp", "-al", str(IMAGE_DIR), str(spaced)]).returncode == 0
    api.add("spaced/1", str(spaced), runtime=runtime, commands=["python3"])
    seen = inside(api.get("spaced").wrapper("python3"))
    assert seen["stamp"] is True


@pytest.mark.service("podman")
def test_podman_runs_an_image_from_its_own_store(work: Path) -> None:
    """scripts/services/podman.sh imports the test image as localhost/roost-test-python:1."""
    api.add("stored/1", "localhost/roost-test-python:1", runtime="podman", commands=["python3"])
    assert api.get("stored").kind == "reference"
    seen = inside(api.get("stored").wrapper("python3"), "x")
    assert seen["stamp"] is True and seen["cwd"] == str(work) and seen["args"] == ["x"]


@pytest.mark.service("charliecloud")
def test_gpu_with_charliecloud_says_what_else_is_needed(work: Path) -> None:
    done = roost("container", "add", "g/1", str(IMAGE_DIR), "--runtime", "charliecloud", "--gpu",
                 "--command", "python3", "--runtime-option=--no-passwd")
    assert done.returncode == 0, done.stderr
    assert "note: ch-run has no GPU option" in done.stderr and "ch-fromhost --nvidia" in done.stderr
    assert api.get("g").gpu is True and api.get("g").options == ["--no-passwd"]
    assert "'--no-passwd'" in api.get("g").wrapper("python3").read_text()
    assert inside(api.get("g").wrapper("python3"))["stamp"] is True


def test_readding_needs_force_and_remove_leaves_the_image(work: Path, runtime: str) -> None:
    api.add("deb/12", str(IMAGE_DIR), runtime=runtime, commands=["python3"])
    again = roost("container", "add", "deb/12", str(IMAGE_DIR), "--runtime", runtime)
    assert again.returncode == 1 and "already registered" in again.stderr
    forced = roost("container", "add", "deb/12", str(IMAGE_DIR), "--runtime", runtime, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "pip" in api.get("deb/12").commands
    shown = roost("container", "show", "deb", "--format", "tcl")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("#%Module") and "prepend-path PATH" in shown.stdout
    removed = roost("container", "remove", "deb/12")
    assert removed.returncode == 0 and "removed deb/12" in removed.stdout
    assert not (api.modulefile_dir() / "deb").exists() and not (api.containers_dir() / "deb").exists()
    assert IMAGE_DIR.is_dir()
    missing = roost("container", "show", "deb")
    assert missing.returncode == 1 and "no container 'deb' is registered" in missing.stderr


@pytest.mark.service("lmod")
@pytest.mark.parametrize("format", ["lua", "tcl"])
def test_lmod_loads_the_modulefile_and_its_python_runs_inside(work: Path, runtime: str, format: str) -> None:
    api.add("deb/12", str(IMAGE_SQFS if runtime in SQUASHFS_RUNTIMES else IMAGE_DIR), runtime=runtime)
    tree = work / "site-modules"
    if format == "lua":
        tree = api.modulefile_dir()  # the file roost writes for itself is the one Lmod loads
    else:
        exported = roost("container", "export", "deb/12", "--format", "tcl", "--output", str(tree))
        assert exported.returncode == 0, exported.stderr
    script = (f"source {LMOD_INIT}; export MODULEPATH='{tree}'; module load deb/12 && "
              f"python -c \"{INSIDE}\" && module unload deb/12 && command -v python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMOD", "_ModuleTable", "__LMOD"))}
    done = run(["bash", "--norc", "--noprofile", "-c", script], env=env)
    assert done.returncode == 0, done.stderr
    loaded, after_unload = done.stdout.strip().splitlines()
    assert json.loads(loaded)["stamp"] is True
    assert not after_unload.startswith(str(api.containers_dir()))


def test_roost_module_engine_loads_the_modulefile(work: Path, runtime: str) -> None:
    from roost.modules import api as modules_api

    api.add("deb/12", str(IMAGE_DIR), runtime=runtime)
    environ = dict(os.environ, MODULEPATH=str(api.modulefile_dir()))
    loaded = modules_api.environ_with(["deb/12"], environ)
    assert loaded["ROOST_CONTAINER"] == "deb/12"
    done = run(["python", "-c", INSIDE], env=loaded)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stamp"] is True


def test_container_environment_runs_the_images_python_with_its_packages(work: Path, runtime: str) -> None:
    from roost.envs import api as envs_api

    wheel = make_wheel(work)
    cli_env = dict(os.environ, ROOST_CONTAINER_RUNTIME=runtime)
    created = roost("env", "create", "boxed", "--image", str(IMAGE_DIR), f"./{wheel.name}", env=cli_env)
    assert created.returncode == 0, created.stderr
    env = envs_api.get("boxed")
    assert env.kind == "container" and [p.name for p in env.manifest.lock] == ["roost-extra-probe"]
    done = roost("run", "-e", "boxed", "python", "-c",
                 "import roost_extra_probe as m, os; print(m.WHERE, os.path.exists('/.roost-packages'))")
    assert done.returncode == 0, done.stderr
    where, stamp = done.stdout.split()
    assert where.startswith(str(env.path / "extras")) or where.startswith("/mnt")
    assert stamp == "True"
    bad = roost("run", "-e", "nope", "python")
    assert bad.returncode != 0
    with pytest.raises(Exception, match="does not exist"):
        envs_api.create("broken", kind="container", options={"image": str(work / "missing")})
    assert [e.name for e in envs_api.list_envs()] == ["boxed"]


def _kernel_prints(kernel_name: str, code: str) -> str:
    import jupyter_client

    manager = jupyter_client.KernelManager(kernel_name=kernel_name)
    manager.start_kernel()
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        outputs: List[Dict[str, Any]] = []
        client.execute_interactive(code, timeout=60, output_hook=outputs.append)
        return "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    finally:
        client.stop_channels()
        # Gracefully: a killed podman client would leave its container running (Podman cannot proxy SIGKILL).
        manager.shutdown_kernel()


@pytest.mark.service("charliecloud")
def test_container_environment_exports_and_imports(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wheel(work)
    # pip inside the container finds the wheel here (ch-run passes the environment through).
    monkeypatch.setenv("PIP_FIND_LINKS", str(work))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("ROOST_CONTAINER_RUNTIME", "charliecloud")
    assert roost("env", "create", "boxed", "--image", str(IMAGE_SQFS), "roost-extra-probe").returncode == 0
    exported = roost("env", "export", "boxed", "-o", str(work / "boxed.txt"))
    assert exported.returncode == 0, exported.stderr
    text = (work / "boxed.txt").read_text()
    assert f"# roost-image: {IMAGE_SQFS}" in text and "roost-extra-probe==1.0" in text
    imported = roost("env", "import", str(work / "boxed.txt"), "copy")
    assert imported.returncode == 0, imported.stderr
    done = roost("run", "-e", "copy", "python", "-c", "import roost_extra_probe as m; print(m.WHERE)")
    assert done.returncode == 0, done.stderr
    assert "/envs/copy/extras/" in done.stdout or done.stdout.startswith("/mnt/")


def test_kernel_from_the_container_executes_code(work: Path, runtime: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import os, sys; print(os.path.exists('/.roost-packages'), sys.prefix)"
    api.add("deb/12", str(IMAGE_DIR), runtime=runtime)
    done = roost("kernel", "install", "deb-box", "--container", "deb/12")
    assert done.returncode == 0, done.stderr
    assert _kernel_prints("deb-box", code).split() == ["True", "/usr"]
    # A container environment's kernel: the kernels' own --env path, no container knowledge needed.
    monkeypatch.setenv("ROOST_CONTAINER_RUNTIME", runtime)
    assert roost("env", "create", "boxed", "--image", str(IMAGE_DIR)).returncode == 0
    done = roost("kernel", "install", "boxed", "--env", "boxed")
    assert done.returncode == 0, done.stderr
    assert _kernel_prints("boxed", code).split() == ["True", "/usr"]


@pytest.mark.service("slurm")
def test_batch_job_through_slurm_runs_in_the_container(work: Path, runtime: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from roost.jobs import api as jobs_api

    api.add("deb/12", str(IMAGE_DIR), runtime=runtime)
    wrapper = api.get("deb/12").wrapper("python")
    monkeypatch.setenv("MODULEPATH", str(api.modulefile_dir()))
    monkeypatch.setenv("ROOST_CONTAINER_RUNTIME", runtime)
    assert roost("env", "create", "boxed", "--image", str(IMAGE_DIR)).returncode == 0
    jobs = [
        jobs_api.submit([str(wrapper), "-c", INSIDE], backend="slurm", time="5:00"),
        # As a user writes it: load the container's module, run python.
        jobs_api.submit(["python", "-c", INSIDE], backend="slurm", time="5:00", modules=("deb/12",)),
        # roost submit -e ENV with a container environment.
        jobs_api.submit(["python", "-c", INSIDE], backend="slurm", time="5:00", env="boxed"),
    ]
    for job in jobs:
        record = job.wait(timeout=120)
        output = jobs_api.log_file(record).read_text()
        assert record.exit_code == 0, output + "\n".join(jobs_api.stderr_tail(record))
        seen = json.loads(output.strip().splitlines()[-1])
        assert seen["stamp"] is True and seen["cwd"] == str(work)


def test_container_state_is_private_to_the_user(work: Path) -> None:
    """Every path roost writes for containers lives under its data dir (tmp_path's home here)."""
    assert str(api.modulefile_dir()).startswith(os.environ["HOME"])
    assert api.list_containers() == []


# --- the caller's directory outside HOME, /tmp and the image (a project directory such as /scratch/proj) ------

IN_PROJECT = ("import os; print(os.getcwd()); print(open('input.txt').read().strip()); "
              "open('output.txt', 'w').write('from inside')")


@pytest.fixture
def project(work: Path) -> Iterator[Path]:
    """A directory under /var/tmp: outside HOME, outside /tmp (which ch-run shares with the host), and absent
    from the test image (which has /var/tmp but not this directory in it)."""
    top = Path(tempfile.mkdtemp(prefix="roost-project-", dir="/var/tmp"))
    directory = top / "proj"
    directory.mkdir()
    (directory / "input.txt").write_text("from the host\n")
    assert not (IMAGE_DIR / str(directory).lstrip("/")).exists()
    yield directory
    shutil.rmtree(top, ignore_errors=True)


@pytest.mark.parametrize("image", [IMAGE_DIR, IMAGE_SQFS], ids=["directory", "squashfs"])
def test_commands_work_from_a_directory_the_image_lacks(work: Path, project: Path, runtime: str,
                                                        image: Path) -> None:
    if image == IMAGE_SQFS and runtime not in SQUASHFS_RUNTIMES:
        pytest.skip(f"{runtime} runs no SquashFS files")
    api.add("deb/12", str(image), runtime=runtime, commands=["python3"])
    os.chdir(project)
    done = run([str(api.get("deb").wrapper("python3")), "-c", IN_PROJECT], env=dict(os.environ, PWD=str(project)))
    assert done.returncode == 0, done.stderr
    cwd, read = done.stdout.splitlines()[:2]
    assert read == "from the host"
    assert (project / "output.txt").read_text() == "from inside"  # written into the host's directory
    if runtime == "charliecloud":
        # ch-run cannot create the mount point: the directory is bound on one the image has, and entered.
        assert cwd == api.get("deb").cwd_mount
    else:
        assert cwd == str(project)
    # From a directory the container shows at its own path (/tmp here), the path stays the same.
    os.chdir(work)
    again = run([str(api.get("deb").wrapper("python3")), "-c", "import os; print(os.getcwd())"],
                env=dict(os.environ, PWD=str(work)))
    assert again.stdout.strip() == str(work), again.stderr


@pytest.mark.service("podman")
def test_a_site_bind_is_visible_at_its_own_path(work: Path, project: Path, tmp_path: Path) -> None:
    """The site lists its file systems once (extra_binds in the site config); every container gets them."""
    site = tmp_path / "site.toml"
    site.write_text(f'[containers]\nextra_binds = ["{project}"]\n')
    env = dict(os.environ, ROOST_SITE_CONFIG=str(site))
    assert roost("container", "add", "deb/12", str(IMAGE_DIR), "--runtime", "podman", "--command", "python3",
                 env=env).returncode == 0
    assert str(project) in api.get("deb").binds and "$HOME" in api.get("deb").binds  # added to the defaults
    done = run([str(api.get("deb").wrapper("python3")), "-c", f"print(open('{project}/input.txt').read())"])
    assert done.returncode == 0 and "from the host" in done.stdout, done.stderr


@pytest.mark.service("charliecloud")
def test_charliecloud_says_which_binds_the_image_cannot_take(work: Path, project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(f'[containers]\nextra_binds = ["{project}"]\n')
    done = roost("container", "add", "deb/12", str(IMAGE_DIR), "--runtime", "charliecloud", "--command",
                 "python3", env=dict(os.environ, ROOST_SITE_CONFIG=str(site)))
    assert done.returncode == 0, done.stderr
    assert f"note: {project} is not bound: the image has no {project} directory" in done.stderr
