"""Settings, resolved once into a frozen object.

Precedence, lowest first: built-in defaults < site file (``/etc/roost/config.toml`` or ``$ROOST_SITE_CONFIG``)
< user file (``~/.config/roost/config.toml`` or ``$ROOST_CONFIG``) < ``ROOST_*`` environment variables.

Example file::

    [envs]
    dir = "/project/myproj/roost/envs"      # where environments live
    uv_cache = "/project/myproj/roost/uv"   # keep on the same filesystem as dir (hardlinks, not copies)
    pip_require_virtualenv = true           # shell-init exports PIP_REQUIRE_VIRTUALENV=true
    seed_pip = true                         # put pip into new venvs (people expect `pip install` to work)
    home_warn_gb = 50                       # warn when envs land on a home filesystem smaller than this
    module_system = "roost"                 # or "lmod": the site's Lmod ($LMOD_CMD) loads env modules
    installer = "auto"                      # uv when found; "pip" where uv cannot run
    lock_timeout = 600                      # seconds a change waits for another change of the same env

    [pack]                                  # start-up images (`roost env pack`; docs/envs.md)
    node_dir = "/local/scratch"             # node-local storage for them in jobs (default $TMPDIR, else /tmp)
    method = "auto"                         # "mount" (squashfuse), "stage" (extract), "auto", or "off"
    auto_files = 20000                      # pack envs above this many files automatically (0: never)

    [conda]
    channels = ["conda-forge"]
    pkgs_dir = "/project/myproj/roost/conda-pkgs"
    mpi = "mpich"                           # the MPI package --external-mpi pins to its external_* build

Sections other capabilities own stay available, unparsed, through :meth:`Config.section`.
"""

from __future__ import annotations

import os
import sys

from roost.errors import ConfigError

TYPE_CHECKING = False  # typing is not imported at run time: this is on `activate`'s path
if TYPE_CHECKING:
    from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple
else:
    from roost._records import NamedTuple

if TYPE_CHECKING:
    from pathlib import Path
# pathlib is imported where Paths are made: `activate` imports this module and usually needs no Path at all
# (see envs_dir_fast).

# Variables read here, declared (and documented) in roost.envvars; literals because `activate` imports this
# module and the registry costs more to import than the rest of activation (tests check they are declared).
ROOST_SITE_CONFIG = "ROOST_SITE_CONFIG"
ROOST_CONFIG = "ROOST_CONFIG"
ROOST_DATA_DIR = "ROOST_DATA_DIR"
ROOST_ENVS_DIR = "ROOST_ENVS_DIR"
ROOST_UV_CACHE = "ROOST_UV_CACHE"
ROOST_PIP_REQUIRE_VIRTUALENV = "ROOST_PIP_REQUIRE_VIRTUALENV"
ROOST_CONDA_CHANNELS = "ROOST_CONDA_CHANNELS"
ROOST_CONDA_PKGS_DIR = "ROOST_CONDA_PKGS_DIR"
ROOST_PACK_DIR = "ROOST_PACK_DIR"
ROOST_PACK_METHOD = "ROOST_PACK_METHOD"
ROOST_PACK_AUTO_FILES = "ROOST_PACK_AUTO_FILES"
VARIABLE_NAMES = (
    ROOST_SITE_CONFIG,
    ROOST_CONFIG,
    ROOST_DATA_DIR,
    ROOST_ENVS_DIR,
    ROOST_UV_CACHE,
    ROOST_PIP_REQUIRE_VIRTUALENV,
    ROOST_CONDA_CHANNELS,
    ROOST_CONDA_PKGS_DIR,
    ROOST_PACK_DIR,
    ROOST_PACK_METHOD,
    ROOST_PACK_AUTO_FILES,
)

SITE_CONFIG_DEFAULT = "/etc/roost/config.toml"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


# NamedTuples, not dataclasses: `activate` reads the config on every call, and dataclasses cost import time.
class EnvsConfig(NamedTuple):
    dir: Path
    uv_cache: Path
    pip_require_virtualenv: bool = True
    seed_pip: bool = True
    home_warn_gb: float = 50.0
    module_system: str = "roost"  # "lmod": load env modules through the site's Lmod ($LMOD_CMD)
    installer: str = "auto"  # "uv", "pip" (fallback where uv cannot run), "auto": uv when found
    lock_timeout: float = 600.0  # seconds a change of an env waits while another change of it runs


class CondaConfig(NamedTuple):
    channels: Tuple[str, ...]
    pkgs_dir: Path
    mpi: str = "mpich"


class PackConfig(NamedTuple):
    node_dir: str = ""  # node-local directory for images in jobs; "" is $TMPDIR, else /tmp (read on the node)
    method: str = "auto"  # "mount" (squashfuse), "stage" (extract to node_dir), "auto" (mount, else stage), "off"
    auto_files: int = 0  # pack an env automatically when it holds more files than this (0: only on request)


PACK_METHODS = ("auto", "mount", "stage", "off")


class Config(NamedTuple):
    envs: EnvsConfig
    conda: CondaConfig
    pack: PackConfig = PackConfig()
    sources: Tuple[str, ...] = ()  # files read, lowest precedence first (for `show` and error messages)
    raw: Mapping[str, Any] = {}  # read-only by convention: the merged tables

    def section(self, name: str) -> Mapping[str, Any]:
        """The merged table ``[name]`` for capabilities that parse their own settings."""
        value = self.raw.get(name, {})
        return value if isinstance(value, dict) else {}


def _home(environ: Mapping[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def site_config_file(environ: Mapping[str, str]) -> str:
    return environ.get(ROOST_SITE_CONFIG) or SITE_CONFIG_DEFAULT


def user_config_file(environ: Mapping[str, str]) -> str:
    value = environ.get(ROOST_CONFIG)
    if value:
        return value
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(_home(environ), ".config")
    return os.path.join(base, "roost", "config.toml")


def default_data_dir(environ: Mapping[str, str]) -> str:
    # paths.data_dir() reads os.environ; this mirrors it for the environ being resolved.
    value = environ.get(ROOST_DATA_DIR)
    if value:
        return value
    base = environ.get("XDG_DATA_HOME") or os.path.join(_home(environ), ".local", "share")
    return os.path.join(base, "roost")


def envs_dir_fast(environ: Mapping[str, str]) -> Optional[str]:
    """``envs.dir`` when it is known without reading a config file, else None (then use :func:`load`).

    The shell's `activate` runs on every call: this spares it pathlib and the TOML parser in the common case.
    """
    if environ.get(ROOST_ENVS_DIR):
        return expand_path_text(environ[ROOST_ENVS_DIR], environ)
    if os.path.exists(site_config_file(environ)) or os.path.exists(user_config_file(environ)):
        return None
    return os.path.join(default_data_dir(environ), "envs")


def site_config_path(environ: Mapping[str, str]) -> Path:
    from pathlib import Path

    return Path(site_config_file(environ))


def user_config_path(environ: Mapping[str, str]) -> Path:
    from pathlib import Path

    return Path(user_config_file(environ))


def read_toml(path: Path) -> Dict[str, Any]:
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}", f"check the permissions of {path}"
        ) from None
    # Imported only when a file exists: `activate` reads the config on every call.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    try:
        with handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", f"fix or remove {path}") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}", f"check the permissions of {path}"
        ) from None


def merge(base: Dict[str, Any], over: Mapping[str, Any]) -> Dict[str, Any]:
    """Deep-merge tables: ``over`` wins key by key, tables merge recursively."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def load(environ: Optional[Mapping[str, str]] = None) -> Config:
    """Resolve the settings from files and ``environ`` (default ``os.environ``)."""
    environ = os.environ if environ is None else environ
    merged: Dict[str, Any] = {}
    sources = []
    for path in (site_config_path(environ), user_config_path(environ)):
        data = read_toml(path)
        if data:
            sources.append(str(path))
            merged = merge(merged, data)
    merged = merge(merged, _from_environment(environ))
    return Config(
        envs=_envs_config(merged, environ, sources),
        conda=_conda_config(merged, environ, sources),
        pack=_pack_config(merged, sources),
        sources=tuple(sources),
        raw=merged,
    )


def _from_environment(environ: Mapping[str, str]) -> Dict[str, Any]:
    envs: Dict[str, Any] = {}
    conda: Dict[str, Any] = {}
    if environ.get(ROOST_ENVS_DIR):
        envs["dir"] = environ[ROOST_ENVS_DIR]
    if environ.get(ROOST_UV_CACHE):
        envs["uv_cache"] = environ[ROOST_UV_CACHE]
    if environ.get(ROOST_PIP_REQUIRE_VIRTUALENV):
        envs["pip_require_virtualenv"] = _parse_bool(
            environ[ROOST_PIP_REQUIRE_VIRTUALENV], ROOST_PIP_REQUIRE_VIRTUALENV
        )
    if environ.get(ROOST_CONDA_CHANNELS):
        conda["channels"] = [c.strip() for c in environ[ROOST_CONDA_CHANNELS].split(",") if c.strip()]
    if environ.get(ROOST_CONDA_PKGS_DIR):
        conda["pkgs_dir"] = environ[ROOST_CONDA_PKGS_DIR]
    pack = {key: environ[variable] for key, variable in _PACK_VARIABLES if environ.get(variable)}
    result: Dict[str, Any] = {}
    if pack:
        result["pack"] = pack
    if envs:
        result["envs"] = envs
    if conda:
        result["conda"] = conda
    return result


_PACK_VARIABLES = (("node_dir", ROOST_PACK_DIR), ("method", ROOST_PACK_METHOD), ("auto_files", ROOST_PACK_AUTO_FILES))


def _pack_config(merged: Mapping[str, Any], sources: Any) -> PackConfig:
    table = _table(merged, "pack", sources)
    node_dir = table.get("node_dir", "")
    if not isinstance(node_dir, str):
        raise ConfigError(
            f"config key pack.node_dir must be a path string, not {node_dir!r}", 'set pack.node_dir = "/tmp"'
        )
    auto_files = table.get("auto_files", 0)
    try:
        auto_files = int(auto_files)
        if auto_files < 0 or isinstance(table.get("auto_files"), bool):
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigError(
            f"config key pack.auto_files must be a whole number of files, not {table.get('auto_files')!r}",
            "set pack.auto_files = 20000 (or 0 to pack only on request)",
        ) from None
    method = _choice(table.get("method", "auto"), "pack.method", PACK_METHODS)
    return PackConfig(node_dir=node_dir, method=method, auto_files=auto_files)


def _parse_bool(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{where} must be true or false, not {value!r}", "use true or false")


def _table(merged: Mapping[str, Any], name: str, sources: Any) -> Mapping[str, Any]:
    value = merged.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config key {name!r} must be a table ([{name}])", f"check {', '.join(sources) or 'config'}")
    return value


def _path(value: object, key: str, environ: Mapping[str, str]) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config key {key} must be a non-empty path string, not {value!r}", f'set {key} = "/a/path"')
    from pathlib import Path

    return Path(expand_path_text(value, environ))


def expand_path_text(value: str, environ: Mapping[str, str]) -> str:
    """The one expansion of a configured path, wherever it is read (config files, ROOST_ENVS_DIR for
    `env create` as for `activate`, `run` and jobs): ``$NAME`` and ``${NAME}`` from ``environ`` (an unset
    one stays as written, as with os.path.expandvars), then a leading ``~`` or ``~/``.

    Written out rather than with os.path.expandvars, which reads os.environ instead of ``environ`` and
    imports re on `activate`'s path.
    """
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        name, end = _variable_at(value, index + 1)
        out.append(environ[name] if name and name in environ else value[index:end])
        index = end
    expanded = "".join(out)
    if expanded == "~" or expanded.startswith("~/"):
        expanded = _home(environ) + expanded[1:]
    return expanded


_NAME_CHARACTERS = frozenset("_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _variable_at(value: str, start: int) -> Tuple[str, int]:
    """(name, end) of the variable reference after a ``$`` at ``start - 1``; ("", start) if none."""
    braced = value.startswith("{", start)
    index = start + 1 if braced else start
    end = index
    while end < len(value) and value[end] in _NAME_CHARACTERS:
        end += 1
    name = value[index:end]
    if not name or name[0].isdigit():
        return "", start
    if braced:
        if not value.startswith("}", end):
            return "", start
        end += 1
    return name, end


def _envs_config(merged: Mapping[str, Any], environ: Mapping[str, str], sources: Any) -> EnvsConfig:
    table = _table(merged, "envs", sources)
    default_dir = _default_data_dir(environ) / "envs"
    envs_dir = _path(table["dir"], "envs.dir", environ) if "dir" in table else default_dir
    uv_cache = _path(table["uv_cache"], "envs.uv_cache", environ) if "uv_cache" in table else envs_dir / ".cache" / "uv"
    try:
        home_warn_gb = float(table.get("home_warn_gb", 50.0))
    except (TypeError, ValueError):
        raise ConfigError("config key envs.home_warn_gb must be a number", "set envs.home_warn_gb = 50") from None
    lock_timeout = _seconds(table.get("lock_timeout", 600.0), "envs.lock_timeout")
    return EnvsConfig(
        dir=envs_dir,
        uv_cache=uv_cache,
        pip_require_virtualenv=_parse_bool(table.get("pip_require_virtualenv", True), "envs.pip_require_virtualenv"),
        seed_pip=_parse_bool(table.get("seed_pip", True), "envs.seed_pip"),
        home_warn_gb=home_warn_gb,
        module_system=_choice(table.get("module_system", "roost"), "envs.module_system", ("roost", "lmod")),
        installer=_choice(table.get("installer", "auto"), "envs.installer", ("auto", "uv", "pip")),
        lock_timeout=lock_timeout,
    )


def _seconds(value: object, key: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ConfigError(f"config key {key} must be a number of seconds (0 or more), not {value!r}", f"set {key} = 600")


def _choice(value: object, key: str, choices: Tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}, not {value!r}", f'set {key} = "{choices[0]}"')
    return str(value)


def _conda_config(merged: Mapping[str, Any], environ: Mapping[str, str], sources: Any) -> CondaConfig:
    table = _table(merged, "conda", sources)
    envs_table = _table(merged, "envs", sources)
    envs_dir = (
        _path(envs_table["dir"], "envs.dir", environ) if "dir" in envs_table else _default_data_dir(environ) / "envs"
    )
    channels = table.get("channels", ["conda-forge"])
    if isinstance(channels, str) or not all(isinstance(c, str) for c in channels):
        raise ConfigError("config key conda.channels must be a list of strings", 'set conda.channels = ["conda-forge"]')
    pkgs_dir = (
        _path(table["pkgs_dir"], "conda.pkgs_dir", environ)
        if "pkgs_dir" in table
        else envs_dir / ".cache" / "conda-pkgs"
    )
    return CondaConfig(channels=tuple(channels), pkgs_dir=pkgs_dir, mpi=str(table.get("mpi", "mpich")))


def _default_data_dir(environ: Mapping[str, str]) -> Path:
    from pathlib import Path

    return Path(default_data_dir(environ))
