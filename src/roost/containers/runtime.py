"""The container runtime interface, image detection and the container settings.

A runtime turns an :class:`ExecSpec` (image, command inside it, binds, GPU, extras directory) into a command
line.  The command line is a list of :class:`Arg` words, each made of literal text and references to
environment variables (``$PWD``, ``$HOME``) that are expanded where the command runs: in a generated wrapper
script (:func:`roost.shell.render.render_wrapper_script`) or in Python (:meth:`Arg.expand`).  Four parts
make the command line::

    head    (runtime executable, subcommand, fixed options)
    workdir (the caller's directory: entered at its own path, bound first where the runtime cannot see it)
    binds   (one group per bind that exists where the command runs; a wrapper tests each with [ -d ])
    tail    (image, separator, command inside the image) + the caller's arguments

Each runtime lives in its own module (apptainer.py, charliecloud.py, podman.py) and implements the few
methods of :class:`Runtime`; none of them runs anything at construction.
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple, Type

from roost import envvars
from roost.errors import ContainerError
from roost.shell.change import EnvChange
from roost.shell.wrapper import Arg as Arg  # re-exported: the runtimes and their callers import words from here
from roost.shell.wrapper import Ref as Ref
from roost.shell.wrapper import lit as lit

ROOST_CONTAINER_RUNTIME = envvars.ROOST_CONTAINER_RUNTIME
ROOST_CONTAINER_BINDS = envvars.ROOST_CONTAINER_BINDS


class ImageKind(enum.Enum):
    SIF = "sif"
    SQUASHFS = "squashfs"
    DIRECTORY = "directory"
    REFERENCE = "reference"  # an image held in the runtime's own store (podman), named not pathed


SIF_MAGIC = b"SIF_MAGIC"
SQUASHFS_MAGIC = b"hsqs"


def detect_image_kind(image: Path) -> ImageKind:
    """What an image path holds, from the file's magic number (not its suffix)."""
    if image.is_dir():
        return ImageKind.DIRECTORY
    try:
        with image.open("rb") as handle:
            head = handle.read(64)
    except OSError as exc:
        raise ContainerError(f"cannot read the image {str(image)!r}: {exc.strerror}",
                             "check the path and its permissions") from None
    if head.startswith(SQUASHFS_MAGIC):
        return ImageKind.SQUASHFS
    # A SIF file starts with a launch script line, then the magic at offset 32.
    if SIF_MAGIC in head[:48]:
        return ImageKind.SIF
    raise ContainerError(
        f"{str(image)!r} is not a container image roost knows (SIF, SquashFS or a directory)",
        "convert it, e.g. `apptainer build image.sif docker-archive:image.tar` or "
        "`ch-convert -o squash IMAGE image.sqfs`",
    )


# ------------------------------------------------------------------------------------------- words


# The words of a command line are roost.shell.wrapper's (the wrapper script's renderer quotes them).
PWD = Arg.of(Ref("PWD"))
HOME = Arg.of(Ref("HOME"))


def parse_bind(text: str) -> Arg:
    """A bind setting: an absolute path, or ``$NAME``/``${NAME}`` (a directory named by a variable)."""
    text = text.strip()
    if text.startswith("${") and text.endswith("}"):
        text = "$" + text[2:-1]
    if text.startswith("$"):
        from roost.shell.change import check_var_name

        return Arg.of(Ref(check_var_name(text[1:])))
    if text.startswith("~"):
        text = os.path.expanduser(text)
    if not os.path.isabs(text):
        raise ContainerError(f"the bind {text!r} is neither an absolute path nor a $VARIABLE",
                             "write binds as /absolute/path or $SCRATCH")
    check_bind_path(text)
    return lit(os.path.normpath(text))


def check_bind_path(path: str) -> str:
    """Runtimes split bind specifications on ':' (and Apptainer on ','): such paths cannot be bound."""
    if ":" in path or "," in path:
        raise ContainerError(f"the path {path!r} contains ':' or ',', which runtimes read as separators",
                             "rename the directory or bind a parent directory without those characters")
    return path


@dataclass(frozen=True)
class Workdir:
    """How a command starts in the caller's directory ($PWD).  When ``elsewhere`` is None the ``here`` words
    always do (the runtime binds or creates what it needs).  Otherwise ``here`` applies when $PWD is under one
    of ``visible`` (directories the container shows at their own path), and ``elsewhere`` (bind $PWD at a
    mount point the image has, and start there) when it is not."""

    here: Tuple[Arg, ...]
    visible: Tuple[Arg, ...] = ()
    elsewhere: Optional[Tuple[Arg, ...]] = None

    def words(self, environ: Mapping[str, str]) -> Tuple[Arg, ...]:
        """The words for the directory ``environ['PWD']`` (what a wrapper decides in sh)."""
        if self.elsewhere is None:
            return self.here
        pwd = environ.get("PWD", "")
        for prefix in self.visible:
            path = prefix.expand(environ)
            if path and (pwd == path or pwd.startswith(path.rstrip("/") + "/")):
                return self.here
        return self.elsewhere


# ------------------------------------------------------------------------------------------- settings

DEFAULT_BINDS = ("$HOME", "$PROJECT", "$SCRATCH")
RUNTIME_NAMES = ("apptainer", "singularity", "charliecloud", "podman")
GPU_FLAGS = ("nv", "rocm")


@dataclass(frozen=True)
class ContainerSettings:
    """The ``[containers]`` settings (roost.config's files: site < user), then ROOST_CONTAINER_* variables."""

    runtime: str = "auto"
    binds: Tuple[str, ...] = DEFAULT_BINDS
    extra_binds: Tuple[str, ...] = ()  # the site's file systems (/scratch, /project), added to binds
    gpu_flag: str = "nv"
    options: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)  # extra options per runtime

    def all_binds(self) -> Tuple[str, ...]:
        """What a container binds unless told otherwise: ``binds`` then the site's ``extra_binds``."""
        return tuple(dict.fromkeys((*self.binds, *self.extra_binds)))

    def runtime_options(self, runtime: str) -> Tuple[str, ...]:
        return tuple(self.options.get(runtime, ()))


def _string_list(value: object, key: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    from roost.errors import ConfigError

    raise ConfigError(f"containers.{key} must be a list of strings", f'write e.g. {key} = ["..."]')


def load_settings(environ: Optional[Mapping[str, str]] = None) -> ContainerSettings:
    from roost import config

    environ = os.environ if environ is None else environ
    merged = config.load(environ).section("containers")
    runtime = str(environ.get(ROOST_CONTAINER_RUNTIME) or merged.get("runtime", "auto"))
    binds_text = environ.get(ROOST_CONTAINER_BINDS)
    if binds_text is not None:
        binds: Tuple[str, ...] = tuple(b for b in binds_text.split(":") if b)
    else:
        binds = _string_list(merged["binds"], "binds") if "binds" in merged else DEFAULT_BINDS
    extra_binds = _string_list(merged["extra_binds"], "extra_binds") if "extra_binds" in merged else ()
    gpu_flag = str(merged.get("gpu_flag", "nv"))
    if gpu_flag not in GPU_FLAGS:
        from roost.errors import ConfigError

        raise ConfigError(f"containers.gpu_flag is {gpu_flag!r}", f"choose one of: {', '.join(GPU_FLAGS)}")
    options = {name: _string_list(merged[f"{name}_options"], f"{name}_options")
               for name in RUNTIME_NAMES if f"{name}_options" in merged}
    check_runtime_name(runtime, allow_auto=True)
    return ContainerSettings(runtime=runtime, binds=binds, extra_binds=extra_binds, gpu_flag=gpu_flag,
                             options=options)


def check_runtime_name(name: str, *, allow_auto: bool = False) -> str:
    valid = (("auto",) if allow_auto else ()) + RUNTIME_NAMES
    if name not in valid:
        raise ContainerError(f"unknown container runtime {name!r}", f"choose one of: {', '.join(valid)}")
    return name


# ------------------------------------------------------------------------------------------- interface


@dataclass(frozen=True)
class ExecSpec:
    """What to run: a command inside an image, with binds (same path inside as outside), GPU and extras."""

    image: str
    kind: ImageKind
    binds: Tuple[Arg, ...] = ()
    gpu: bool = False
    gpu_flag: str = "nv"
    extras: Optional[str] = None  # host directory holding pip-installed extras (bound, put on PYTHONPATH)
    extras_inside: Optional[str] = None  # where the extras directory appears inside the container
    options: Tuple[str, ...] = ()  # extra runtime options from the settings
    cwd_mount: Optional[str] = None  # where the caller's directory is bound when the image cannot show it


class Runtime(ABC):
    """One container runtime.  Subclasses fill in the class attributes and the three command-line parts."""

    name: ClassVar[str]
    executables: ClassVar[Tuple[str, ...]]
    kinds: ClassVar[FrozenSet[ImageKind]]
    # ch-run refuses to start without $USER; the wrapper then sets it from `id -un`.
    needs_user: ClassVar[bool] = False
    # Options added only when the wrapper's stdin and stdout are a terminal (podman -t).
    tty_options: ClassVar[Tuple[str, ...]] = ()
    # What --gpu needs beyond the command line, said to the user when they ask for it.
    gpu_note: ClassVar[str] = ""

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def supports(self, kind: ImageKind) -> bool:
        return kind in self.kinds

    @abstractmethod
    def head(self, spec: ExecSpec) -> List[Arg]:
        """Executable, subcommand and the options that do not depend on which directories exist."""

    @abstractmethod
    def workdir(self, spec: ExecSpec, environ: Mapping[str, str]) -> Workdir:
        """How the command starts in the caller's directory (``environ``: where the wrapper is written)."""

    @abstractmethod
    def bind(self, source: Arg) -> List[Arg]:
        """Options binding ``source`` at the same path inside the container."""

    @abstractmethod
    def tail(self, spec: ExecSpec, command: str) -> List[Arg]:
        """The image and the command to run inside it (the caller's arguments follow)."""

    def environment(self, spec: ExecSpec) -> EnvChange:
        """Variables set before the runtime starts, inherited inside: the extras go on PYTHONPATH, and a
        plain ``pip install`` installs into them (PIP_TARGET), as the image itself is read-only."""
        change = EnvChange()
        if spec.extras_inside:
            change.prepend_path("PYTHONPATH", spec.extras_inside)
            change.set("PIP_TARGET", spec.extras_inside)
        return change

    def binds_for(self, spec: ExecSpec, environ: Mapping[str, str]) -> Tuple[Arg, ...]:
        """The binds worth emitting at all; runtimes that cannot create mount points filter here."""
        return spec.binds

    def extras_inside(self, kind: ImageKind, image: str, extras: str, environ: Mapping[str, str]) -> str:
        """Where the extras directory appears inside the container (the same path, unless a runtime can't)."""
        return extras

    def cwd_mount(self, kind: ImageKind, image: str, taken: Sequence[str]) -> Optional[str]:
        """A directory of the image to bind the caller's directory on when the image cannot show it at its own
        path (None: this runtime never needs one).  ``taken`` are paths other binds use."""
        return None

    def bind_notes(self, spec: ExecSpec, environ: Mapping[str, str]) -> List[str]:
        """What the user should know about binds this runtime cannot make (said once, at add time)."""
        return []

    def process_environ(self, environ: Mapping[str, str]) -> Dict[str, str]:
        """``environ`` made fit to start the runtime in (what a wrapper's first lines do)."""
        result = dict(environ)
        if self.needs_user and not result.get("USER"):
            import getpass

            result["USER"] = getpass.getuser()
        return result

    def argv(self, spec: ExecSpec, command: str, args: Sequence[str],
             environ: Mapping[str, str]) -> List[str]:
        """The full command line for Python callers, with references expanded from ``environ``."""
        words = list(self.head(spec)) + list(self.workdir(spec, environ).words(environ))
        for source in self.binds_for(spec, environ):
            path = source.expand(environ)
            if path and os.path.isdir(path):
                words += self.bind(source)
        words += self.tail(spec, command)
        return [word.expand(environ) for word in words] + list(args)


def find_executable(names: Sequence[str]) -> Optional[str]:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def runtime_classes() -> Dict[str, Type[Runtime]]:
    from roost.containers.apptainer import ApptainerRuntime, SingularityRuntime
    from roost.containers.charliecloud import CharliecloudRuntime
    from roost.containers.podman import PodmanRuntime

    classes: List[Type[Runtime]] = [ApptainerRuntime, SingularityRuntime, CharliecloudRuntime, PodmanRuntime]
    return {cls.name: cls for cls in classes}


def get_runtime(name: str, executable: Optional[str] = None) -> Runtime:
    """The named runtime, its executable found on PATH unless given; a clear error when it is missing."""
    cls = runtime_classes()[check_runtime_name(name)]
    found = executable or find_executable(cls.executables)
    if not found:
        raise ContainerError(
            f"the container runtime {name!r} is not installed ({' or '.join(cls.executables)} not on PATH)",
            f"load it (e.g. `module load {name}`), or choose another with --runtime",
        )
    runtime: Runtime = cls(found)
    return runtime


def choose_runtime(kind: ImageKind, requested: str) -> Runtime:
    """The requested runtime, or with ``auto`` the first installed one running ``kind`` (Apptainer first)."""
    if requested != "auto":
        runtime = get_runtime(requested)
        if not runtime.supports(kind):
            usable = [n for n, c in runtime_classes().items() if kind in c.kinds]
            raise ContainerError(f"{requested} cannot run a {kind.value} image",
                                 f"use one of: {', '.join(usable)}")
        return runtime
    for cls in runtime_classes().values():
        if kind in cls.kinds:
            executable = find_executable(cls.executables)
            if executable:
                chosen: Runtime = cls(executable)
                return chosen
    usable = [n for n, c in runtime_classes().items() if kind in c.kinds]
    raise ContainerError(
        f"no container runtime that runs {kind.value} images is installed ({', '.join(usable)})",
        "load one (e.g. `module load apptainer`) or install Charliecloud; then pass --runtime NAME if needed",
    )


def run_probe(argv: List[str], environ: Mapping[str, str], *, cwd: Optional[str] = None,
              timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a runtime command line and capture its output, translating OS errors once."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, env=dict(environ), timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=cwd)
    except OSError as exc:
        raise ContainerError(f"cannot run {argv[0]}: {exc.strerror}",
                             "check the runtime installation") from None
    except subprocess.TimeoutExpired:
        raise ContainerError(f"{argv[0]} did not finish within {timeout:.0f} s",
                             "check that the image starts by hand") from None
