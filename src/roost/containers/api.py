"""Containers as modules: register an image, write its wrappers and modulefile, list, show, remove.

What other capabilities call::

    from roost.containers import api
    api.modulefile_dir()      # Path of roost's container modulefiles (shell-init adds it to MODULEPATH)
    c = api.get("pytorch")    # -> Container (NAME or NAME/VERSION; NAME picks the highest version)
    c.wrapper("python")       # Path of the wrapper that runs python inside the image
    api.command_argv(c, "python", ["-c", "pass"], os.environ)   # the runtime command line, for Popen
    api.run_environ(c, os.environ)                              # ... and the environment to run it with
    c.extras, c.extras_inside # host directory of pip-installed extras / its path inside

Registration is all-or-nothing: everything is checked first (image, runtime, commands inside the image),
then the container's directory is written beside its final place and renamed into it, and the modulefile
is renamed into place last.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from roost import paths
from roost.containers.runtime import (
    ContainerSettings,
    ExecSpec,
    ImageKind,
    Runtime,
    check_bind_path,
    choose_runtime,
    detect_image_kind,
    get_runtime,
    load_settings,
    parse_bind,
    run_probe,
)
from roost.containers.wrappers import render_wrapper
from roost.errors import ContainerError
from roost.modules.versions import version_key
from roost.shell.change import EnvChange
from roost.shell.modulefile import ModuleInfo, render_modulefile
from roost.shell.render import COMMAND_PATHS_SCRIPT

RECORD = "container.json"
NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")

# Wrappers made when no --command is given: name -> commands to look for inside the image, in order.
# python is required; the others are made when the image has them.
DEFAULT_COMMANDS: Dict[str, Tuple[str, ...]] = {
    "python": ("python", "python3"),
    "python3": ("python3",),
    "pip": ("pip", "pip3"),
    "pip3": ("pip3",),
    "ipython": ("ipython", "ipython3"),
    "jupyter": ("jupyter",),
}
REQUIRED_DEFAULT = "python"
PROBE_DIR = "/tmp"


def modulefile_dir() -> Path:
    """roost's modulefile directory for containers (the shell init puts it on MODULEPATH)."""
    return paths.data_dir() / "modulefiles"


def containers_dir() -> Path:
    return paths.data_dir() / "containers"


@dataclass
class Container:
    """A registered container: everything needed to rewrite its wrappers without looking at the image."""

    name: str
    version: str
    image: str
    kind: str
    runtime: str
    executable: str
    commands: Dict[str, str]  # wrapper name -> absolute path of the command inside the image
    binds: List[str] = field(default_factory=list)  # bind settings: /paths and $VARIABLES
    gpu: bool = False
    gpu_flag: str = "nv"
    options: List[str] = field(default_factory=list)
    extras: Optional[str] = None
    extras_inside: Optional[str] = None
    cwd_mount: Optional[str] = None  # where the caller's directory goes when the image cannot show it
    created: float = 0.0
    root: str = ""  # where its bin/ and extras/ live, when not the registry's own place (container envs)

    @property
    def fullname(self) -> str:
        return f"{self.name}/{self.version}"

    @property
    def prefix(self) -> Path:
        return Path(self.root) if self.root else containers_dir() / self.name / self.version

    @property
    def bin_dir(self) -> Path:
        return self.prefix / "bin"

    @property
    def modulefile(self) -> Path:
        return modulefile_dir() / self.name / f"{self.version}.lua"

    def wrapper(self, command: str) -> Path:
        if command not in self.commands:
            have = ", ".join(sorted(self.commands))
            raise ContainerError(f"{self.fullname} has no wrapper for {command!r}",
                                 f"it has: {have}; re-add it with --command {command}")
        return self.bin_dir / command

    def runtime_object(self) -> Runtime:
        return get_runtime(self.runtime, self.executable if os.path.exists(self.executable) else None)

    def spec(self) -> ExecSpec:
        return ExecSpec(
            image=self.image, kind=ImageKind(self.kind), binds=tuple(parse_bind(b) for b in self.binds),
            gpu=self.gpu, gpu_flag=self.gpu_flag, extras=self.extras, extras_inside=self.extras_inside,
            options=tuple(self.options), cwd_mount=self.cwd_mount,
        )

    def to_json(self) -> Dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Container:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]


@dataclass
class AddResult:
    container: Container
    skipped: List[str]  # default wrappers not made because the image lacks the command
    modulefile: Path
    notes: List[str] = field(default_factory=list)  # things the user must know (e.g. about --gpu)


# ---------------------------------------------------------------------------------------------------- names


def parse_fullname(fullname: str) -> Tuple[str, str]:
    name, sep, version = fullname.partition("/")
    if not sep or not NAME_PART.match(name) or not NAME_PART.match(version):
        raise ContainerError(f"{fullname!r} is not a NAME/VERSION container name",
                             "write it as e.g. pytorch/2.7.1 (letters, digits and _ . + -)")
    return name, version


def _record_path(name: str, version: str) -> Path:
    return containers_dir() / name / version / RECORD


def _load(path: Path) -> Container:
    try:
        return Container.from_json(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as exc:
        raise ContainerError(f"the container record {path} is unreadable: {exc}",
                             "remove that directory and add the container again") from None


def list_containers() -> List[Container]:
    found = [_load(path) for path in sorted(containers_dir().glob(f"*/*/{RECORD}"))]
    return sorted(found, key=lambda c: (c.name, version_key(c.version)))


def get(name: str) -> Container:
    """A registered container by NAME/VERSION, or by NAME (its highest version)."""
    if "/" in name:
        record = _record_path(*parse_fullname(name))
        if record.is_file():
            return _load(record)
    else:
        versions = [c for c in list_containers() if c.name == name]
        if versions:
            return versions[-1]
    known = ", ".join(c.fullname for c in list_containers()) or "none"
    raise ContainerError(f"no container {name!r} is registered (registered: {known})",
                         "register one with `roost container add NAME/VERSION IMAGE`")


# ---------------------------------------------------------------------------------------------------- add


def _resolve_image(image: str, runtime: str) -> Tuple[str, ImageKind]:
    path = Path(image).expanduser()
    if not path.exists() and runtime == "podman" and not image.startswith(("/", ".", "~")):
        return _podman_reference(image)
    if not path.exists():
        raise ContainerError(f"the image {image!r} does not exist",
                             "give the path of a SIF file, a SquashFS file or an image directory")
    resolved = path.resolve()
    return str(resolved), detect_image_kind(resolved)


def _podman_reference(image: str) -> Tuple[str, ImageKind]:
    """An image named in Podman's own store (``localhost/pytorch:2.7``), which must be there already."""
    podman = get_runtime("podman")
    found = run_probe([podman.executable, "image", "exists", image], os.environ)
    if found.returncode != 0:
        raise ContainerError(f"the image {image!r} is neither a file nor in Podman's image store",
                             "check `podman images`, or give a path; roost does not pull images")
    return image, ImageKind.REFERENCE


def _probe_commands(runtime: Runtime, spec: ExecSpec, wanted: Sequence[str],
                    environ: Mapping[str, str]) -> Dict[str, str]:
    """Paths of ``wanted`` commands inside the image, found by one run of ``sh`` in the container."""
    # From /tmp, which every runtime shares with the host, so the caller's directory need not be visible.
    probe_environ = runtime.process_environ(dict(environ, PWD=PROBE_DIR))
    argv = runtime.argv(spec, "/bin/sh", ["-c", COMMAND_PATHS_SCRIPT, "sh", *wanted], probe_environ)
    result = run_probe(argv, probe_environ, cwd=PROBE_DIR)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ContainerError(
            f"{runtime.name} could not run the image {spec.image!r}: {' / '.join(detail) or 'no output'}",
            f"check that `{' '.join(argv[:1])}` runs this image by hand; the image needs /bin/sh",
        )
    found: Dict[str, str] = {}
    for line in result.stdout.splitlines():
        command, _, path = line.partition("\t")
        if path:
            found[command] = path
    return found


def _choose_commands(requested: Sequence[str], found: Mapping[str, str],
                     image: str) -> Tuple[Dict[str, str], List[str]]:
    """Wrapper name -> path inside, and the default names skipped; missing requested commands are errors."""
    if requested:
        missing = [c for c in requested if c not in found]
        if missing:
            raise ContainerError(f"the image {image!r} has no {', '.join(missing)} on its PATH",
                                 "check the command names, or leave them out with fewer --command options")
        return {c: found[c] for c in requested}, []
    chosen: Dict[str, str] = {}
    skipped: List[str] = []
    for wrapper, candidates in DEFAULT_COMMANDS.items():
        path = next((found[c] for c in candidates if c in found), None)
        if path:
            chosen[wrapper] = path
        else:
            skipped.append(wrapper)
    if REQUIRED_DEFAULT not in chosen:
        raise ContainerError(f"the image {image!r} has no python (neither python nor python3 on its PATH)",
                             "name the commands it does have with --command NAME")
    return chosen, skipped


def _candidates(requested: Sequence[str]) -> List[str]:
    if requested:
        return list(dict.fromkeys(requested))
    return list(dict.fromkeys(c for names in DEFAULT_COMMANDS.values() for c in names))


def _check_commands(requested: Sequence[str]) -> None:
    for command in requested:
        if not NAME_PART.match(command) or command in (".", ".."):
            raise ContainerError(f"{command!r} cannot be a wrapper name",
                                 "use a plain command name like python")


def add(
    fullname: str,
    image: str,
    *,
    runtime: Optional[str] = None,
    gpu: bool = False,
    commands: Sequence[str] = (),
    binds: Optional[Sequence[str]] = None,
    extra_binds: Sequence[str] = (),
    runtime_options: Sequence[str] = (),
    extras: Optional[str] = None,
    force: bool = False,
    environ: Optional[Mapping[str, str]] = None,
    settings: Optional[ContainerSettings] = None,
) -> AddResult:
    """Register ``image`` as module ``fullname``; see the module docstring for the all-or-nothing rule."""
    environ = dict(os.environ if environ is None else environ)
    settings = settings or load_settings(environ)
    name, version = parse_fullname(fullname)
    _check_commands(commands)
    if _record_path(name, version).exists() and not force:
        raise ContainerError(f"{fullname} is already registered",
                             f"use --force to replace it, or `roost container remove {fullname}` first")
    container, chosen_runtime, skipped = plan(
        name, version, image, runtime=runtime or settings.runtime, gpu=gpu, commands=commands,
        binds=list(settings.all_binds() if binds is None else binds) + list(extra_binds),
        extras=Path(extras).expanduser().resolve() if extras else None, settings=settings, environ=environ,
        runtime_options=runtime_options,
    )
    _write(container, chosen_runtime, environ, force=force, create_extras=extras is None)
    notes = [chosen_runtime.gpu_note] if gpu and chosen_runtime.gpu_note else []
    notes += chosen_runtime.bind_notes(container.spec(), environ)
    return AddResult(container, skipped, container.modulefile, notes)


def plan(
    name: str,
    version: str,
    image: str,
    *,
    runtime: str,
    gpu: bool,
    commands: Sequence[str],
    binds: Sequence[str],
    extras: Optional[Path],
    settings: ContainerSettings,
    environ: Mapping[str, str],
    root: Optional[Path] = None,
    runtime_options: Sequence[str] = (),
) -> Tuple[Container, Runtime, List[str]]:
    """Check everything and work out a container record, writing nothing (``add`` and container envs).

    ``extras`` defaults to ``<prefix>/extras``; ``root`` places bin/ and extras/ outside the registry.
    """
    image_path, kind = _resolve_image(image, runtime)
    chosen_runtime = choose_runtime(kind, runtime)
    for bind in binds:
        parse_bind(bind)  # every bind is checked before anything is written
    container = Container(
        name=name, version=version, image=image_path, kind=kind.value, runtime=chosen_runtime.name,
        executable=chosen_runtime.executable, commands={}, binds=list(binds), gpu=gpu,
        gpu_flag=settings.gpu_flag,
        options=[*settings.runtime_options(chosen_runtime.name), *runtime_options],
        created=time.time(), root=str(root) if root else "",
    )
    found = _probe_commands(chosen_runtime, container.spec(), _candidates(commands), environ)
    container.commands, skipped = _choose_commands(commands, found, image_path)
    container.extras = check_bind_path(str(extras or container.prefix / "extras"))
    container.extras_inside = chosen_runtime.extras_inside(kind, image_path, container.extras, environ)
    taken = [container.extras_inside, *(parse_bind(b).expand(environ) for b in binds)]
    container.cwd_mount = chosen_runtime.cwd_mount(kind, image_path, taken)
    return container, chosen_runtime, skipped


def _write(container: Container, runtime: Runtime, environ: Mapping[str, str], *, force: bool,
           create_extras: bool) -> None:
    staging = container.prefix.with_name(f".{container.version}.staging-{os.getpid()}")
    module_tmp = container.modulefile.with_name(f".{container.version}.lua.tmp-{os.getpid()}")
    try:
        _stage(container, runtime, environ, staging, create_extras)
        module_tmp.parent.mkdir(parents=True, exist_ok=True)
        module_tmp.write_text(modulefile_text(container, "lua"))
        if container.extras and not create_extras:
            Path(container.extras).mkdir(parents=True, exist_ok=True)
        old_extras = container.prefix / "extras"
        if force and container.prefix.exists():
            if create_extras and old_extras.is_dir():
                # Re-adding keeps what was pip-installed for this container.
                shutil.rmtree(staging / "extras")
                old_extras.rename(staging / "extras")
            shutil.rmtree(container.prefix)
        staging.rename(container.prefix)
        try:
            module_tmp.rename(container.modulefile)
        except OSError:
            shutil.rmtree(container.prefix, ignore_errors=True)  # no record without its modulefile
            raise
    except OSError as exc:
        raise ContainerError(f"cannot register {container.fullname}: {exc.strerror} ({exc.filename})",
                             f"check free space and permissions under {paths.data_dir()}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        module_tmp.unlink(missing_ok=True)


def _stage(container: Container, runtime: Runtime, environ: Mapping[str, str], staging: Path,
           create_extras: bool) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    write_wrappers(container, runtime, staging / "bin", environ)
    if create_extras:
        (staging / "extras").mkdir()
    (staging / RECORD).write_text(json.dumps(container.to_json(), indent=2, sort_keys=True) + "\n")


def write_wrappers(container: Container, runtime: Runtime, bin_dir: Path, environ: Mapping[str, str]) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    spec = container.spec()
    for wrapper, inside in container.commands.items():
        label = f"{wrapper} in {container.fullname} ({runtime.name})"
        path = bin_dir / wrapper
        path.write_text(render_wrapper(runtime, spec, inside, label, environ))
        path.chmod(0o755)


# ------------------------------------------------------------------------------------------------ modulefiles


def module_change(container: Container) -> EnvChange:
    """What loading the container's module does: its wrappers come first on PATH."""
    return (EnvChange()
            .prepend_path("PATH", str(container.bin_dir))
            .set("ROOST_CONTAINER", container.fullname)
            .set("ROOST_CONTAINER_IMAGE", container.image))


def module_info(container: Container) -> ModuleInfo:
    wrappers = ", ".join(sorted(container.commands))
    help_text = (
        f"{container.fullname}: the container image {container.image}\n"
        f"run by {container.runtime}. Loading it puts these commands first on PATH; each runs inside the\n"
        f"container, in the current directory: {wrappers}.\n"
        f"Extra packages: roost container pip-install {container.fullname} PACKAGE\n"
        f"(installed in {container.extras})."
    )
    whatis = [
        f"Name: {container.name}",
        f"Version: {container.version}",
        f"Description: container {container.image} ({container.runtime})",
        f"Commands: {wrappers}",
    ]
    return ModuleInfo(help=help_text, whatis=whatis)


def modulefile_text(container: Container, format: str = "lua") -> str:
    return render_modulefile(module_change(container), format, module_info(container))


def export_modulefile(name: str, format: str, directory: Path) -> Path:
    """Write the container's modulefile for another module system under ``directory``/NAME/VERSION[.lua]."""
    container = get(name)
    text = modulefile_text(container, format)
    filename = f"{container.version}.lua" if format == "lua" else container.version
    target = directory / container.name / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


# ---------------------------------------------------------------------------------------------------- remove


def remove(name: str) -> Container:
    """Unregister a container: its wrappers, record and modulefile go; the image and --extras dirs stay."""
    container = get(name)
    container.modulefile.unlink(missing_ok=True)
    shutil.rmtree(container.prefix, ignore_errors=True)
    for directory in (container.modulefile.parent, container.prefix.parent):
        with contextlib.suppress(OSError):  # other versions remain
            directory.rmdir()
    return container


# ---------------------------------------------------------------------------------------------------- running


def command_argv(container: Container, command: str, args: Sequence[str],
                 environ: Mapping[str, str]) -> List[str]:
    """The runtime command line running ``command`` (a wrapper name) with ``args`` in the container.

    The environment to run it with is :func:`run_environ` (the extras on PYTHONPATH, $USER for ch-run).
    """
    inside = container.commands.get(command)
    if inside is None:
        container.wrapper(command)  # raises the helpful error
    runtime = container.runtime_object()
    return runtime.argv(container.spec(), str(inside), args, environ)


def exec_argv(container: Container, command: str, args: Sequence[str],
              environ: Mapping[str, str]) -> List[str]:
    """Like :func:`command_argv` for any command (``bash``, a script): found on the PATH inside."""
    if not command:
        raise ContainerError("no command to run", "name one, e.g. roost container exec NAME bash")
    inside = container.commands.get(command, command)
    return container.runtime_object().argv(container.spec(), inside, args, environ)


def run_environ(container: Container, environ: Mapping[str, str]) -> Dict[str, str]:
    runtime = container.runtime_object()
    return runtime.process_environ(runtime.environment(container.spec()).applied_to(environ))


@dataclass
class PipResult:
    container: Container
    target: str
    returncode: int


def pip_install(name: str, packages: Sequence[str], *, upgrade: bool = False, capture: bool = False,
                environ: Optional[Mapping[str, str]] = None) -> Tuple[PipResult, Optional[str]]:
    """``pip install --target`` the container's extras directory, with the container's own python.

    Returns the result and, with ``capture``, pip's combined output; a failure raises ContainerError.
    """
    if not packages:
        raise ContainerError("no packages to install",
                             "name at least one, e.g. roost container pip-install NAME rich")
    container = get(name)
    args = ["install"] + (["--upgrade"] if upgrade else []) + list(packages)
    output = run_pip(container, args, capture=capture, environ=environ)
    return PipResult(container, str(container.extras), 0), output


def run_pip(container: Container, args: Sequence[str], *, capture: bool = False,
            environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Run the container's ``python -m pip ARGS``; ``install`` gets ``--target`` the extras directory."""
    if "python" not in container.commands:
        raise ContainerError(f"{container.fullname} has no python wrapper", "re-add it with --command python")
    if not container.extras or not container.extras_inside:
        raise ContainerError(f"{container.fullname} has no extras directory", "re-add it with --force")
    Path(container.extras).mkdir(parents=True, exist_ok=True)
    args = list(args)
    if args and args[0] == "install":
        args[1:1] = ["--no-warn-script-location", "--target", container.extras_inside]
    # Like a wrapper: in the caller's directory, so relative paths (./pkg.whl) mean the same inside.
    environ = dict(os.environ if environ is None else environ, PWD=os.getcwd())
    argv = command_argv(container, "python", ["-m", "pip", *args], environ)
    try:
        result = subprocess.run(argv, env=run_environ(container, environ), stdin=subprocess.DEVNULL,
                                text=True, stdout=subprocess.PIPE if capture else None,
                                stderr=subprocess.STDOUT if capture else None)
    except OSError as exc:
        raise ContainerError(f"cannot run {argv[0]}: {exc.strerror}", "check the container runtime") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout or "").strip().splitlines()[-5:])
        raise ContainerError(f"pip in {container.fullname} failed (exit {result.returncode})"
                             + (f":\n{tail}" if tail else ""),
                             "check the package names; pip's output says why")
    return result.stdout
