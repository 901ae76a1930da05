"""Command lines each runtime builds, checked against the runtimes' documented CLIs.

Apptainer cannot be installed on this machine (not in Debian 12, not on PyPI), so its command construction
is tested here against its documented command line (https://apptainer.org/docs/user/latest/cli/
apptainer_exec.html: ``apptainer exec [exec options...] <container> <command>``, ``--bind src``, ``--pwd``,
``--nv``, ``--rocm``), including through a generated wrapper run by a fake ``apptainer`` that records its
arguments and runs the command on the host.  test_container_integration.py runs the real thing whenever
``apptainer`` is on PATH.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost.containers import api
from roost.containers.apptainer import ApptainerRuntime, SingularityRuntime
from roost.containers.charliecloud import DEFAULT_PATH, CharliecloudRuntime, image_path
from roost.containers.podman import PodmanRuntime
from roost.containers.runtime import (
    Arg,
    ExecSpec,
    ImageKind,
    Ref,
    Workdir,
    detect_image_kind,
    lit,
    load_settings,
    parse_bind,
)
from roost.containers.wrappers import render_wrapper
from roost.errors import ConfigError, ContainerError
from roost.shell.render import render_wrapper_script
from roost.shell.wrapper import Below, Prepend, WrapperScript

from .helpers import roost, run

SIF_HEADER = b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0") + b"SIF_MAGIC\0" + b"\0" * 64


def spec(image: str, kind: ImageKind, **changes: object) -> ExecSpec:
    values: Dict[str, object] = {"image": image, "kind": kind}
    values.update(changes)
    return ExecSpec(**values)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------- apptainer


def test_apptainer_exec_line_follows_the_documented_cli(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    runtime = ApptainerRuntime("/opt/apptainer/bin/apptainer")
    exec_spec = spec("/images/py.sif", ImageKind.SIF, gpu=True, gpu_flag="nv", extras="/x/extras",
                     extras_inside="/x/extras",
                     binds=(parse_bind("$HOME"), parse_bind("$SCRATCH"), parse_bind("$PROJECT")))
    environ = {"PWD": "/work dir", "HOME": "/home/me", "SCRATCH": str(scratch)}
    argv = runtime.argv(exec_spec, "/usr/bin/python3", ["-c", "pass"], environ)
    assert argv == [
        "/opt/apptainer/bin/apptainer", "exec", "--nv",
        "--bind", "/x/extras", "--pwd", "/work dir",
        "--bind", str(scratch),  # $HOME is Apptainer's default bind; unset $PROJECT is left out
        "/images/py.sif", "/usr/bin/python3", "-c", "pass",
    ]


def test_apptainer_rocm_and_singularity_use_the_same_options() -> None:
    exec_spec = spec("/images/py.sqfs", ImageKind.SQUASHFS, gpu=True, gpu_flag="rocm")
    argv = SingularityRuntime("/usr/bin/singularity").argv(exec_spec, "/bin/true", [], {"PWD": "/w"})
    assert argv == ["/usr/bin/singularity", "exec", "--rocm", "--pwd", "/w", "/images/py.sqfs", "/bin/true"]
    assert ApptainerRuntime("a").supports(ImageKind.DIRECTORY)
    assert not ApptainerRuntime("a").supports(ImageKind.REFERENCE)


def _fake_apptainer(directory: Path, log: Path) -> Path:
    """A fake `apptainer`: records its argv (NUL-separated), runs the command after the image on the host."""
    fake = directory / "apptainer"
    fake.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\0' \"$0\" \"$@\" >> '{log}'\n"
        "printf '\\n' >> '" + str(log) + "'\n"
        'while [ $# -gt 0 ]; do case $1 in exec|--nv|--rocm) shift;; --bind|--pwd) shift 2;; *) break;; esac;'
        ' done\n'
        'shift\n'  # the image
        'exec "$@"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return fake


def _calls(log: Path) -> List[List[str]]:
    return [line.split("\0") for line in log.read_text().split("\0\n") if line] if log.exists() else []


def test_apptainer_wrapper_passes_arguments_binds_and_gpu_exactly(work: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    _fake_apptainer(bin_dir, log)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    image = tmp_path / "images with space" / "py.sif"
    image.parent.mkdir()
    image.write_bytes(SIF_HEADER)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    result = api.add("py/1", str(image), gpu=True, commands=["python3"], binds=["$HOME", "$SCRATCH"])
    assert result.container.runtime == "apptainer" and result.container.kind == "sif"
    probe = _calls(log)[-1]
    assert probe[:2] == [str(bin_dir / "apptainer"), "exec"] and str(image) in probe

    wrapper = result.container.wrapper("python3")
    args = ["-c", "import sys, os; print(repr(sys.argv[1:])); print(os.environ['PYTHONPATH'])",
            "a b", "it's", "$HOME", "new\nline", "*"]
    env = dict(os.environ, SCRATCH=str(scratch), PYTHONPATH="/before")
    done = run([str(wrapper), *args], env=env)
    assert done.returncode == 0, done.stderr
    printed_args, pythonpath = done.stdout.rstrip("\n").rsplit("\n", 1)
    assert printed_args == repr(["a b", "it's", "$HOME", "new\nline", "*"])
    assert pythonpath == f"{result.container.extras}:/before"
    inside = result.container.commands["python3"]  # what `command -v python3` found "inside"
    assert _calls(log)[-1] == [
        str(bin_dir / "apptainer"), "exec", "--nv", "--bind", str(result.container.extras),
        "--pwd", str(work), "--bind", str(scratch), str(image), inside, *args,
    ]

    # Without $SCRATCH the same wrapper leaves the bind out, rather than failing.
    env.pop("SCRATCH")
    run([str(wrapper), "-c", "pass"], env=env)
    assert _calls(log)[-1][5:9] == ["--pwd", str(work), str(image), inside]


# ------------------------------------------------------------------------------------------- podman


def test_podman_runs_directories_as_rootfs_and_passes_only_pythonpath() -> None:
    runtime = PodmanRuntime("/usr/bin/podman")
    exec_spec = spec("/images/py", ImageKind.DIRECTORY, options=("--runtime", "runc"), extras="/x",
                     extras_inside="/x")
    argv = runtime.argv(exec_spec, "/usr/bin/python3", ["-V"], {"PWD": "/w"})
    head = ["/usr/bin/podman", "--runtime", "runc", "run", "--rm", "-i", "--network=host", "--volume=/tmp:/tmp",
            "--env=PYTHONPATH", "--env=PIP_TARGET"]
    if os.getuid() != 0:
        head.append("--userns=keep-id")
    assert argv == [*head, "--volume=/x:/x", "--volume=/w:/w", "--workdir=/w",
                    "--rootfs", "/images/py:O", "/usr/bin/python3", "-V"]
    named = runtime.argv(spec("localhost/py:1", ImageKind.REFERENCE), "python", [], {"PWD": "/w"})
    assert named[-2:] == ["localhost/py:1", "python"]


# ------------------------------------------------------------------------------------------- charliecloud


def test_charliecloud_binds_only_mount_points_the_image_has(tmp_path: Path) -> None:
    image = tmp_path / "img"
    (image / "srv" / "data").mkdir(parents=True)
    present, absent = "/srv/data", str(tmp_path / "nowhere")
    exec_spec = spec(str(image), ImageKind.DIRECTORY,
                     binds=(parse_bind("$HOME"), parse_bind(present), parse_bind(absent)))
    runtime = CharliecloudRuntime("/usr/bin/ch-run")
    environ = {"PWD": "/tmp", "HOME": "/home/me"}
    assert runtime.binds_for(exec_spec, environ) == (parse_bind(present),)
    argv = runtime.argv(exec_spec, "/usr/bin/python3", ["-V"], environ)
    # /srv/data does not exist on this host, so even the kept bind is skipped when the command runs.
    assert argv == ["/usr/bin/ch-run", "--home", f"--set-env=PATH={DEFAULT_PATH}", "--cd=/tmp", str(image), "--",
                    "/usr/bin/python3", "-V"]
    # An image built by ch-image records its PATH in /ch/environment; that is the PATH inside.
    (image / "ch").mkdir()
    (image / "ch" / "environment").write_text("LANG=C.UTF-8\nPATH=/opt/conda/bin:/usr/bin:/bin\n")
    image_path.cache_clear()
    assert "--set-env=PATH=/opt/conda/bin:/usr/bin:/bin" in runtime.argv(exec_spec, "python", [], environ)


def test_charliecloud_extras_fall_back_to_mnt(tmp_path: Path) -> None:
    image = tmp_path / "img"
    (image / "mnt").mkdir(parents=True)
    runtime = CharliecloudRuntime("/usr/bin/ch-run")
    assert runtime.extras_inside(ImageKind.DIRECTORY, str(image), "/tmp/x/extras", {}) == "/tmp/x/extras"
    assert runtime.extras_inside(ImageKind.DIRECTORY, str(image), "/home/me/extras", {}) == "/mnt"
    (image / "mnt").rmdir()
    with pytest.raises(ContainerError, match="mount point"):
        runtime.extras_inside(ImageKind.DIRECTORY, str(image), "/home/me/extras", {})


# ------------------------------------------------------------------------------------------- images, settings


def test_image_kind_comes_from_magic_numbers(tmp_path: Path) -> None:
    (tmp_path / "a.img").write_bytes(SIF_HEADER)
    (tmp_path / "b.img").write_bytes(b"hsqs" + b"\0" * 100)
    (tmp_path / "c.sif").write_bytes(b"not an image at all")
    assert detect_image_kind(tmp_path / "a.img") is ImageKind.SIF
    assert detect_image_kind(tmp_path / "b.img") is ImageKind.SQUASHFS
    assert detect_image_kind(tmp_path) is ImageKind.DIRECTORY
    with pytest.raises(ContainerError, match="not a container image"):
        detect_image_kind(tmp_path / "c.sif")


def test_binds_are_absolute_paths_or_variables() -> None:
    assert parse_bind("${SCRATCH}") == parse_bind("$SCRATCH")
    with pytest.raises(ContainerError, match="absolute"):
        parse_bind("relative/dir")
    with pytest.raises(ContainerError, match="separators"):
        parse_bind("/data/a:b")


def test_settings_come_from_config_files_then_variables(work: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[containers]\nruntime = "charliecloud"\nbinds = ["/data", "$WORK"]\n'
                      'gpu_flag = "rocm"\napptainer_options = ["--cleanenv"]\n')
    monkeypatch.setenv("ROOST_CONFIG", str(config))
    site = tmp_path / "site.toml"
    site.write_text('[containers]\nextra_binds = ["/scratch", "/project"]\n')
    monkeypatch.setenv("ROOST_SITE_CONFIG", str(site))
    settings = load_settings()
    assert (settings.runtime, settings.binds) == ("charliecloud", ("/data", "$WORK"))
    # The user's binds replace the defaults; the site's file systems stay.
    assert settings.all_binds() == ("/data", "$WORK", "/scratch", "/project")
    assert settings.gpu_flag == "rocm"
    assert settings.runtime_options("apptainer") == ("--cleanenv",)
    monkeypatch.setenv("ROOST_CONTAINER_BINDS", "/a:$B")
    monkeypatch.setenv("ROOST_CONTAINER_RUNTIME", "podman")
    assert (load_settings().binds, load_settings().runtime) == (("/a", "$B"), "podman")
    assert load_settings().all_binds() == ("/a", "$B", "/scratch", "/project")
    config.write_text('[containers]\ngpu_flag = "cuda"\n')
    with pytest.raises(ConfigError, match="gpu_flag"):
        load_settings()


def test_missing_runtime_is_a_clear_error_and_registers_nothing(work: Path, tmp_path: Path) -> None:
    image = tmp_path / "py.sif"
    image.write_bytes(SIF_HEADER)
    empty = tmp_path / "empty-path"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    done = roost("container", "add", "py/1", str(image), env=env)
    assert done.returncode == 1
    assert "no container runtime that runs sif images is installed" in done.stderr
    assert "hint:" in done.stderr
    done = roost("container", "add", "py/1", str(image), "--runtime", "podman", env=env)
    assert done.returncode == 1 and "'podman' is not installed" in done.stderr
    assert not api.containers_dir().exists() and not api.modulefile_dir().exists()


def test_bad_names_are_refused(work: Path, tmp_path: Path) -> None:
    for bad in ("noversion", "a/b/c", "../x/1", "a b/1"):
        with pytest.raises(ContainerError, match="NAME/VERSION"):
            api.add(bad, str(tmp_path))
    with pytest.raises(ContainerError, match="does not exist"):
        api.add("x/1", str(tmp_path / "missing.sif"))
    assert not api.containers_dir().exists()


# ------------------------------------------------------------------------------------------- wrappers (golden)

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("runtime", ["apptainer", "charliecloud", "podman"])
def test_wrapper_scripts_match_the_recorded_ones(tmp_path: Path, runtime: str) -> None:
    """The whole generated script, so a change to it is a visible diff (ROOST_UPDATE_GOLDEN=1 rewrites)."""
    image = tmp_path / "img"
    (image / "scratch").mkdir(parents=True)
    (image / "mnt").mkdir()
    (image / "media").mkdir()
    runtimes = {"apptainer": ApptainerRuntime("/usr/bin/apptainer"),
                "charliecloud": CharliecloudRuntime("/usr/bin/ch-run"), "podman": PodmanRuntime("/usr/bin/podman")}
    chosen = runtimes[runtime]
    extras = "/home/me/extras"  # not in the image: Charliecloud binds it at /mnt, the others at its own path
    exec_spec = spec(str(image), ImageKind.DIRECTORY, binds=(parse_bind("$HOME"), parse_bind("/scratch"),
                                                             parse_bind("$PROJECT")),
                     gpu=runtime == "apptainer", extras=extras,
                     extras_inside=chosen.extras_inside(ImageKind.DIRECTORY, str(image), extras, {}),
                     cwd_mount=chosen.cwd_mount(ImageKind.DIRECTORY, str(image), ["/mnt", "/scratch"]),
                     options=("--cleanenv",) if runtime == "apptainer" else ())
    text = render_wrapper(chosen, exec_spec, "/usr/bin/python3", "python in py/1 (x)",
                          {"HOME": "/home/me", "PROJECT": "/project/p"})
    text = text.replace(str(tmp_path), "<tmp>")
    if os.getuid() != 0:
        text = text.replace(" '--userns=keep-id'", "")
    golden = GOLDEN / f"{runtime}.sh"
    if os.environ.get("ROOST_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text()


# ------------------------------------------------------------------------------------------- the caller's directory


def test_apptainer_relies_on_its_own_cwd_bind_unless_contained() -> None:
    """Mocked (no Apptainer here): the command line against apptainer exec's documented defaults, which bind
    the current directory unless --contain/--containall."""
    runtime = ApptainerRuntime("/usr/bin/apptainer")
    environ = {"PWD": "/scratch/proj", "HOME": "/home/me"}
    plain = runtime.argv(spec("/i.sif", ImageKind.SIF), "python3", [], environ)
    assert plain == ["/usr/bin/apptainer", "exec", "--pwd", "/scratch/proj", "/i.sif", "python3"]
    contained = runtime.argv(spec("/i.sif", ImageKind.SIF, options=("--containall",)), "python3", [], environ)
    assert contained[-6:] == ["--bind", "/scratch/proj", "--pwd", "/scratch/proj", "/i.sif", "python3"]


def test_charliecloud_picks_a_spare_mount_point_for_the_callers_directory(tmp_path: Path) -> None:
    image = tmp_path / "img"
    for directory in ("mnt", "media", "srv"):
        (image / directory).mkdir(parents=True)
    runtime = CharliecloudRuntime("/usr/bin/ch-run")
    kind = ImageKind.DIRECTORY
    assert runtime.cwd_mount(kind, str(image), taken=["/home/me/extras"]) == "/mnt"
    assert runtime.cwd_mount(kind, str(image), taken=["/mnt"]) == "/media"  # the extras took /mnt
    (image / "mnt" / "0").mkdir()
    assert runtime.cwd_mount(kind, str(image), taken=[]) == "/mnt/0"  # Charliecloud's own mount points first
    assert runtime.cwd_mount(kind, str(image), taken=["/mnt", "/media", "/srv"]) is None
    exec_spec = spec(str(image), kind, binds=(parse_bind("$HOME"), parse_bind("$SCRATCH")), cwd_mount="/mnt/0")
    environ = {"HOME": "/home/me", "USER": "me", "SCRATCH": ""}
    words = runtime.workdir(exec_spec, environ)
    assert [w.expand(dict(environ, PWD="/tmp/x")) for w in words.words(dict(environ, PWD="/tmp/x"))] == ["--cd=/tmp/x"]
    assert [w.expand(dict(environ, PWD="/home/me/p")) for w in words.words(dict(environ, PWD="/home/me/p"))] == [
        "--cd=/home/me/p"]  # --home shows it at /home/$USER
    elsewhere = dict(environ, PWD="/scratch/proj")  # $SCRATCH unset: nothing is bound there
    assert [w.expand(elsewhere) for w in words.words(elsewhere)] == [
        "--bind=/scratch/proj:/mnt/0", "--cd=/mnt/0", "--set-env=PWD=/mnt/0"]


_PATHS = st.lists(st.sampled_from(["tmp", "home", "me", "a b", "x*", "[y]", "..", "p'q"]), min_size=1,
                  max_size=4).map(lambda parts: "/" + "/".join(parts))


@settings(max_examples=60, deadline=None)
@given(pwd=_PATHS, directories=st.lists(st.one_of(_PATHS, st.just("")), max_size=3))
def test_the_wrapper_and_python_choose_the_same_way_into_the_callers_directory(pwd: str,
                                                                               directories: List[str]) -> None:
    """The sh a wrapper runs and Runtime.argv (Python callers) decide alike whether $PWD is visible, for
    paths with glob characters, quotes and spaces, and for unset variables."""
    environ = {"PWD": pwd, **{f"D{i}": d for i, d in enumerate(directories)}}
    visible = tuple(Arg.of(Ref(f"D{i}")) for i in range(len(directories)))
    workdir = Workdir((lit("here"),), visible, (lit("elsewhere"),))
    # sh resets $PWD to its real directory at start-up, so the script reads the same path from $WHERE.
    script = WrapperScript(comment="", program=(lit("echo"),),
                           steps=(Prepend(workdir.here, when=Below("WHERE", visible), otherwise=workdir.elsewhere),))
    done = subprocess.run(["sh", "-c", render_wrapper_script(script)], env=dict(environ, WHERE=pwd),
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == workdir.words(environ)[0].expand(environ)
