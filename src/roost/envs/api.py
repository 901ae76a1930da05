"""Python environments that remember their modules: what other capabilities (jobs, kernels, containers) call.

    env = api.create("analysis", modules=["python/3.12"], packages=["numpy"])
    env.name, env.path, env.python, env.modules, env.kind
    change = api.activation_change("analysis", os.environ)     # modules first, then the env
    subprocess.run(cmd, env=change.applied_to(os.environ))

The library never prints: long operations report steps through ``progress`` (a callable taking a message).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from roost import config as config_mod
from roost import envvars
from roost.envs import binding, store
from roost.envs import manifest as manifest_mod
from roost.envs.activation import activation_change, deactivation_change, run_environ
from roost.envs.kinds import BuildSpec, Progress, get_kind, no_progress
from roost.envs.manifest import Manifest
from roost.errors import EnvError
from roost.shell.change import EnvChange

TYPE_CHECKING = False
if TYPE_CHECKING:
    from roost.envs.pack import PackInfo

__all__ = [
    "Env",
    "activation_change",
    "adopt",
    "create",
    "deactivation_change",
    "describe",
    "get",
    "install",
    "list_envs",
    "pack",
    "refresh_image",
    "remove",
    "run_environ",
    "shell_init_change",
    "storage_warnings",
    "sync",
    "unpack",
    "usage",
]


@dataclass(frozen=True)
class Env:
    """A finished environment: its prefix and what it remembers."""

    name: str
    path: Path
    manifest: Manifest = field(repr=False)

    @property
    def kind(self) -> str:
        return self.manifest.kind

    @property
    def python(self) -> Path:
        """The env's own python (what a kernel or job runs)."""
        return get_kind(self.kind).python(self.path)

    @property
    def modules(self) -> List[str]:
        """Full names of the recorded modules, in load order."""
        return [m.fullname for m in self.manifest.modules]


def _config(config: Optional[config_mod.Config]) -> config_mod.Config:
    return config if config is not None else config_mod.load()


@contextlib.contextmanager
def changing(name: str, what: str, cfg: config_mod.Config, progress: Progress = no_progress) -> Iterator[None]:
    """The one way into a change of env ``name`` (create, import, install, sync, remove, adopt, pack): its
    change lock held (see roost.envs.changelock), what killed changes left in it removed.  Whatever must
    happen with a change, such as rebuilding the start-up image, goes inside."""
    from roost.envs import changelock

    store.check_name(name)
    with changelock.hold(cfg.envs.dir, name, what, timeout=cfg.envs.lock_timeout, progress=progress) as held:
        if held.interrupted is not None:
            progress(f"an earlier {held.interrupted.describe()} was killed before it finished; "
                     f"`roost env check {name}` tells whether it left the env changed")
        path = store.EnvStore(cfg.envs.dir).path(name)
        if manifest_mod.manifest_path(path).is_file():
            manifest_mod.remove_leftovers(Path(os.path.realpath(path)))
        yield


@contextlib.contextmanager
def changing_env(name: str, what: str, cfg: config_mod.Config, progress: Progress = no_progress) -> Iterator[Env]:
    """:func:`changing` for an env that exists: an unknown name fails before any lock is taken, and the env
    is read again under the lock (what a change that finished while we waited left)."""
    get(name, config=cfg)
    with changing(name, what, cfg, progress):
        yield get(name, config=cfg)


def env_store(config: Optional[config_mod.Config] = None) -> store.EnvStore:
    return store.EnvStore(_config(config).envs.dir)


def get(name: str, *, config: Optional[config_mod.Config] = None) -> Env:
    envs = env_store(config)
    path = envs.path(name)
    if not manifest_mod.manifest_path(path).is_file():
        raise EnvError(
            f"no environment named {name!r}",
            "list them with `roost env list`, or create it with `roost env create`",
        )
    return Env(name=name, path=Path(os.path.realpath(path)), manifest=manifest_mod.read(path))


def list_envs(*, config: Optional[config_mod.Config] = None) -> List[Env]:
    cfg = _config(config)
    envs = env_store(cfg)
    envs.sweep()  # staging dirs of killed creates go here, so nothing half-made lingers
    result = []
    for name in envs.names():
        try:
            result.append(get(name, config=cfg))
        except EnvError:
            continue  # a damaged manifest: `show NAME` reports it
    return result


def create(
    name: str,
    *,
    modules: Sequence[str] = (),
    python: Optional[str] = None,
    packages: Sequence[str] = (),
    requirements: Sequence[Path] = (),
    system_site_packages: bool = False,
    kind: str = "venv",
    options: Optional[Mapping[str, Any]] = None,
    modulepath: Sequence[str] = (),
    lock_text: Optional[str] = None,
    config: Optional[config_mod.Config] = None,
    environ: Optional[Mapping[str, str]] = None,
    progress: Progress = no_progress,
) -> Env:
    """Build an env beside its final place and rename it there; any failure leaves nothing behind.

    ``modules`` are loaded in order (their ``python3`` is the env's base unless ``python`` gives a version or a
    path); ``packages`` and the lines of ``requirements`` files are resolved into the lock, unless
    ``lock_text`` (an export's lock) is given to be installed exactly. ``options`` are the kind's settings
    (conda: ``channels``, ``external_mpi``; container: ``image``...). Raises EnvError (or the module
    engine's ModuleError) with a hint.
    """
    store.check_name(name)
    cfg = _config(config)
    environ = dict(os.environ if environ is None else environ)
    kind_impl = get_kind(kind)
    requested = [*check_requirements(packages), *_read_requirements(requirements)]
    envs = store.EnvStore(cfg.envs.dir)
    if envs.exists(name):
        raise store.exists_error(name)
    try:
        envs.root.mkdir(parents=True, exist_ok=True)
        (envs.root / store.STAGING).mkdir(exist_ok=True)
    except OSError as exc:
        raise EnvError(
            f"cannot create environments in {envs.root}: {exc.strerror}",
            "set envs.dir (or ROOST_ENVS_DIR) to a directory you can write, e.g. on project storage",
        ) from None
    with changing(name, f"roost env create {name}", cfg, progress):
        with envs.staging(name) as build_dir:
            base = binding.loaded_environ(binding.modulepath_prelude(modulepath, environ), environ)
            if modules:
                progress(f"loading modules: {' '.join(modules)}")
            module_change, module_records = binding.load_modules(modules, base, cfg.envs.module_system)
            build_environ = binding.loaded_environ(module_change, base)
            python_record = None
            if kind_impl.needs_python:
                from roost.envs.python import find_python

                progress("finding Python")
                python_record = find_python(python, build_environ)
            spec = BuildSpec(
                name=name,
                prefix=envs.path(name),
                build_dir=build_dir,
                packages=requested,
                environ=build_environ,
                config=cfg,
                python=python_record,
                system_site_packages=system_site_packages,
                options=dict(options or {}),
                lock_text=lock_text,
                progress=progress,
            )
            result = kind_impl.build(spec)
            manifest = Manifest(
                name=name,
                kind=kind,
                modules=module_records,
                module_system=cfg.envs.module_system,
                modulepath=(list(modulepath) or binding.modulepath_entries(base)) if modules else list(modulepath),
                python=python_record,
                requested=result.requested,
                lock=result.lock,
                system_site_packages=system_site_packages,
                kind_data=result.kind_data,
            )
            manifest_mod.write(build_dir, manifest)
            progress(f"moving into place: {envs.path(name)}")
            envs.commit(build_dir, name)
        created = get(name, config=cfg)
        refresh_image(created, cfg, progress)
    return created


def check_requirements(requirements: Sequence[str], where: str = "package argument") -> List[str]:
    """``requirements`` themselves, when each is one line of text (a name, a version specifier, a path or
    URL); else an EnvError naming the first that is not, before anything is made."""
    from roost.text import shown, unsafe_character

    for requirement in requirements:
        problem = unsafe_character(requirement)
        if problem is not None:
            raise EnvError(
                f"{where} {shown(requirement)} contains {problem}",
                "give package names and version specifiers as plain text, e.g. `numpy>=1.26`",
            )
    return list(requirements)


def read_text_file(path: Path, what: str, hint: str) -> str:
    """A file the user named, as UTF-8 text; an EnvError naming it (and the line with the first byte that
    is not UTF-8) otherwise."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EnvError(f"cannot read {what} {path}: {exc.strerror}", hint) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EnvError(f"{what} {path} is not UTF-8 text (line {line})", hint) from None


def _read_requirements(files: Sequence[Path]) -> List[str]:
    lines: List[str] = []
    for path in files:
        text = read_text_file(path, "requirements file", "give -r a requirements file: UTF-8 text, one "
                                                       "requirement per line")
        found = [line.split(" #", 1)[0].strip() for line in text.replace("\t", " ").splitlines()]
        lines += check_requirements([line for line in found if line and not line.startswith("#")],
                                    f"the requirement in {path}")
    return lines


def install(
    name: str,
    packages: Sequence[str],
    *,
    config: Optional[config_mod.Config] = None,
    environ: Optional[Mapping[str, str]] = None,
    progress: Progress = no_progress,
) -> Env:
    """Add packages and update the lock; on failure the env and its lock stay as they were."""
    if not packages:
        raise EnvError("no packages to install", "name at least one package, e.g. `roost env install NAME numpy`")
    check_requirements(packages)
    cfg = _config(config)
    with changing_env(name, f"roost env install {name}", cfg, progress) as env:
        kind_impl = get_kind(env.kind)
        build_environ = _build_environ(env, environ)
        result = kind_impl.install(env.path, env.manifest, list(packages), build_environ, cfg, progress)
        env.manifest.lock = result.lock
        env.manifest.requested = result.requested
        manifest_mod.write(env.path, env.manifest)
        updated = get(name, config=cfg)
        refresh_image(updated, cfg, progress)
    return updated


def sync(
    name: str,
    *,
    config: Optional[config_mod.Config] = None,
    environ: Optional[Mapping[str, str]] = None,
    progress: Progress = no_progress,
) -> Env:
    """Make the installed packages match the lock again (the fix for package drift)."""
    cfg = _config(config)
    with changing_env(name, f"roost env sync {name}", cfg, progress) as env:
        get_kind(env.kind).sync(env.path, env.manifest, _build_environ(env, environ), cfg, progress)
        refresh_image(env, cfg, progress)
    return env


def refresh_image(env: Env, config: config_mod.Config, progress: Progress = no_progress) -> None:
    """After every change of an env's packages: rebuild its start-up image (or pack it past pack.auto_files),
    so that jobs never run from an image that disagrees with the lock."""
    from roost.envs import pack

    pack.refresh_after_change(env.path, kind=env.kind, config=config, progress=progress)


def pack(
    name: str,
    *,
    image_format: Optional[str] = None,
    config: Optional[config_mod.Config] = None,
    progress: Progress = no_progress,
) -> PackInfo:
    """Build the env's start-up image (see roost.envs.pack); returns its ``PackInfo``."""
    from roost.envs import pack as pack_mod

    with changing_env(name, f"roost env pack {name}", _config(config), progress) as env:
        return pack_mod.pack(env.path, kind=env.kind, image_format=image_format, progress=progress)


def unpack(name: str, *, config: Optional[config_mod.Config] = None) -> bool:
    """Delete the env's image and stop automatic packing of it (True if it had one)."""
    from roost.envs import pack as pack_mod

    with changing_env(name, f"roost env pack --off {name}", _config(config)) as env:
        return pack_mod.remove_image(env.path, opt_out=True)


def _build_environ(env: Env, environ: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """The caller's environment with the env's modules loaded (what its installers must run under)."""
    environ = dict(os.environ if environ is None else environ)
    base = binding.loaded_environ(binding.modulepath_prelude(env.manifest.modulepath, environ), environ)
    change, _ = binding.load_modules(env.modules, base, env.manifest.module_system)
    return binding.loaded_environ(change, base)


def remove(name: str, *, config: Optional[config_mod.Config] = None) -> Path:
    """Delete the env (an adopted one is only forgotten: its prefix stays where it was)."""
    cfg = _config(config)
    with changing_env(name, f"roost env remove {name}", cfg) as env:
        return _remove(env, env_store(cfg).path(name))


def _remove(env: Env, link: Path) -> Path:
    if env.manifest.adopted:
        shutil.rmtree(manifest_mod.roost_dir(env.path), ignore_errors=True)
        link.unlink()
        return env.path
    # Rename first, then delete: a crash half-way leaves a hidden directory, not a half env under the name.
    import socket

    # Named like a staging dir of this process, so a sweep removes it if we die half-way through.
    trash = link.parent / store.STAGING / f"{env.name}@{socket.gethostname()}@{os.getpid()}@{os.urandom(4).hex()}"
    trash.parent.mkdir(parents=True, exist_ok=True)
    os.rename(link, trash)
    shutil.rmtree(trash, ignore_errors=True)
    return env.path


def adopt(
    path: Path,
    *,
    name: Optional[str] = None,
    modules: Sequence[str] = (),
    config: Optional[config_mod.Config] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Env:
    """Bring an existing venv or conda prefix under roost's management (it stays where it is)."""
    prefix = Path(os.path.realpath(os.path.expanduser(str(path))))
    kind = _detect_kind(prefix)
    name = store.check_name(name or prefix.name)
    cfg = _config(config)
    envs = store.EnvStore(cfg.envs.dir)
    with changing(name, f"roost env adopt {prefix}", cfg):
        _adopt(prefix, name, kind, modules, envs, cfg, dict(os.environ if environ is None else environ))
    return get(name, config=cfg)


def _adopt(prefix: Path, name: str, kind: str, modules: Sequence[str], envs: store.EnvStore,
           cfg: config_mod.Config, environ: Dict[str, str]) -> None:
    if envs.exists(name):
        raise store.exists_error(name)
    if manifest_mod.manifest_path(prefix).exists():
        raise EnvError(f"{prefix} is already a roost environment", "use it by its name (`roost env list`)")
    module_change, module_records = binding.load_modules(modules, environ, cfg.envs.module_system)
    build_environ = binding.loaded_environ(module_change, environ)
    kind_impl = get_kind(kind)
    python_record = None
    if kind_impl.python(prefix).exists():
        from roost.envs.python import find_python

        python_record = find_python(str(_base_python(prefix, kind)), build_environ)
    result = kind_impl.adopt(prefix, build_environ, cfg)
    manifest = Manifest(
        name=name,
        kind=kind,
        modules=module_records,
        module_system=cfg.envs.module_system,
        modulepath=binding.modulepath_entries(environ) if modules else [],
        python=python_record,
        requested=result.requested,
        lock=result.lock,
        adopted=True,
        kind_data=result.kind_data,
    )
    envs.root.mkdir(parents=True, exist_ok=True)
    manifest_mod.write(prefix, manifest)
    try:
        os.symlink(prefix, envs.path(name))
    except OSError:
        shutil.rmtree(manifest_mod.roost_dir(prefix), ignore_errors=True)
        raise


def _detect_kind(prefix: Path) -> str:
    if (prefix / "pyvenv.cfg").is_file():
        return "venv"
    if (prefix / "conda-meta").is_dir():
        return "conda"
    raise EnvError(
        f"{prefix} is neither a venv (no pyvenv.cfg) nor a conda env (no conda-meta/)",
        "pass the directory of an existing virtual environment or conda prefix",
    )


def _base_python(prefix: Path, kind: str) -> Path:
    """A venv's python links to its base interpreter; record that one (what drift checks watch)."""
    python = prefix / "bin" / "python"
    if kind == "venv":
        return Path(os.path.realpath(python))
    return python


# --- activation: see roost.envs.activation (kept import-light for the shell's `activate`) -----------------


def shell_init_change(config: Optional[config_mod.Config] = None) -> EnvChange:
    """What shell-init adds for environments: the pip guard (no bare `pip install` into ~/.local)."""
    change = EnvChange()
    if _config(config).envs.pip_require_virtualenv:
        change.set(envvars.PIP_REQUIRE_VIRTUALENV, "true")
    return change


# --- storage and inspection -------------------------------------------------------------------------------


def storage_warnings(
    config: Optional[config_mod.Config] = None, environ: Optional[Mapping[str, str]] = None
) -> List[str]:
    """Warnings about where envs and caches live (shown before a create)."""
    cfg = _config(config)
    environ = os.environ if environ is None else environ
    warnings: List[str] = []
    envs_dir, cache = cfg.envs.dir, cfg.envs.uv_cache
    if _device(envs_dir) != _device(cache):
        warnings.append(
            f"the uv cache {cache} is on a different filesystem from the envs in {envs_dir}: "
            "packages are copied instead of hardlinked (slower, and each env uses its full size); "
            "set envs.uv_cache to a directory on the same filesystem"
        )
    home = environ.get("HOME")
    if home and _is_within(envs_dir, Path(home)):
        total_gb, free_fraction = _filesystem_size(envs_dir)
        if total_gb < cfg.envs.home_warn_gb or free_fraction < 0.10:
            warnings.append(
                f"envs are stored in your home directory ({envs_dir}: {total_gb:.0f} GB filesystem, "
                f"{free_fraction:.0%} free); home quotas on clusters are small, so set envs.dir "
                "(and envs.uv_cache) in ~/.config/roost/config.toml to project or work storage"
            )
    return warnings


def _existing_ancestor(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _device(path: Path) -> int:
    return os.stat(_existing_ancestor(path)).st_dev


def _is_within(path: Path, parent: Path) -> bool:
    try:
        Path(os.path.realpath(_existing_ancestor(path))).relative_to(os.path.realpath(parent))
        return True
    except ValueError:
        return False


def _filesystem_size(path: Path) -> Tuple[float, float]:
    stat = os.statvfs(_existing_ancestor(path))
    total = stat.f_blocks * stat.f_frsize
    free = stat.f_bavail * stat.f_frsize
    return total / 1e9, (free / total if total else 1.0)


def usage(env: Env) -> Tuple[int, int, int]:
    """(bytes, files, bytes of files not hardlinked elsewhere) under the prefix.

    Inode quotas on clusters count files, not just bytes; files uv hardlinked from its cache use no extra space.
    """
    size = files = own = 0
    for root, dirs, names in os.walk(env.path):
        files += len(names) + len(dirs)
        for entry in names:
            try:
                stat = os.lstat(os.path.join(root, entry))
            except OSError:
                continue
            size += stat.st_size
            if stat.st_nlink == 1:
                own += stat.st_size
    return size, files, own


def describe(env: Env, *, with_usage: bool = False) -> Dict[str, Any]:
    """A JSON-ready summary (for `env list --json` / `env show --json`)."""
    manifest = env.manifest
    data: Dict[str, Any] = {
        "name": env.name,
        "kind": env.kind,
        "path": str(env.path),
        "python": str(env.python),
        "python_version": manifest.python.version if manifest.python else None,
        "base_python": manifest.python.path if manifest.python else None,
        "modules": env.modules,
        "requested": manifest.requested,
        "packages": [
            {"name": p.name, "version": p.version, **({"build": p.build} if p.build else {})} for p in manifest.lock
        ],
        "adopted": manifest.adopted,
        "created": manifest.created,
        "updated": manifest.updated,
    }
    data["image"] = _image_summary(env)
    if with_usage:
        size, files, own = usage(env)
        data["size_bytes"] = size
        data["files"] = files
        data["unshared_bytes"] = own
    return data


def _image_summary(env: Env) -> Optional[Dict[str, Any]]:
    """The start-up image for `env show`: packed or not, its size, the file count it stands for."""
    from roost.envs import pack as pack_mod

    found = pack_mod.info(env.path)
    if found is None:
        return {"packed": False, "opted_out": pack_mod.opted_out(env.path)}
    return {"packed": True, **found.to_json()}
