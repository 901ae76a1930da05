"""Activation: load an env's recorded modules, then activate it; and the exact inverse for deactivate.

This module is on the path of every shell ``activate``, so it imports little: no pathlib, no dataclasses
(the manifest is read as JSON), no TOML parser unless a config file exists; the built-in kinds' operations
are here, and only other kinds (a container) load their :class:`~roost.envs.kinds.EnvKind`.
"""

from __future__ import annotations

import json
import os

from roost import config as config_mod
from roost.envs import binding, layout
from roost.errors import EnvError, ModuleError
from roost.shell.change import Action, EnvChange, Op, ShellState, diff

TYPE_CHECKING = False  # typing is not imported at run time: this is on `activate`'s path
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Mapping, Optional, Tuple

# Variables set here, declared (and documented) in roost.envvars; literals to keep that registry off the
# `activate` path (tests check they are declared).
ROOST_ENV = "ROOST_ENV"
ROOST_ENV_RESTORE = "_ROOST_ENV_RESTORE"
VIRTUAL_ENV = "VIRTUAL_ENV"
CONDA_PREFIX = "CONDA_PREFIX"
PIP_REQUIRE_VIRTUALENV = "PIP_REQUIRE_VIRTUALENV"
VARIABLE_NAMES = (ROOST_ENV, ROOST_ENV_RESTORE, VIRTUAL_ENV, CONDA_PREFIX, PIP_REQUIRE_VIRTUALENV)


def activate_venv(prefix: str, name: str, change: EnvChange) -> None:
    change.set(VIRTUAL_ENV, prefix)
    change.set("VIRTUAL_ENV_PROMPT", name)
    change.prepend_path("PATH", os.path.join(prefix, "bin"))
    change.unset("PYTHONHOME")


def activate_conda(prefix: str, name: str, change: EnvChange) -> None:
    change.set(CONDA_PREFIX, prefix)
    change.set("CONDA_DEFAULT_ENV", name)
    change.prepend_path("PATH", os.path.join(prefix, "bin"))
    change.unset("PYTHONHOME")
    # pip inside a conda env is legitimate; the shell-wide guard is for bare ~/.local installs.
    change.unset(PIP_REQUIRE_VIRTUALENV)


BUILTIN: Dict[str, Callable[[str, str, EnvChange], None]] = {"venv": activate_venv, "conda": activate_conda}


def envs_dir(environ: Mapping[str, str], config: Optional[config_mod.Config] = None) -> str:
    if config is not None:
        return str(config.envs.dir)
    return config_mod.envs_dir_fast(environ) or str(config_mod.load(environ).envs.dir)


def read_manifest(
    name: str, environ: Mapping[str, str], config: Optional[config_mod.Config] = None
) -> Tuple[str, Dict[str, Any]]:
    """(prefix, manifest as JSON) of env ``name``, without building the manifest objects."""
    link = os.path.join(envs_dir(environ, config), layout.check_name(name))
    try:
        with open(os.path.join(link, layout.ROOST_DIR, layout.MANIFEST_FILE)) as handle:
            data: Dict[str, Any] = json.load(handle)
    except FileNotFoundError:
        raise EnvError(
            f"no environment named {name!r}", "list them with `roost env list`, or create it with `roost env create`"
        ) from None
    except ValueError as exc:
        raise EnvError(
            f"the manifest of {name!r} is damaged ({exc})", f"remove it: `roost env remove {name}`"
        ) from None
    return os.path.realpath(link), data


def _kind_change(prefix: str, data: Dict[str, Any]) -> EnvChange:
    change = EnvChange()
    kind = str(data.get("kind", "venv"))
    builtin = BUILTIN.get(kind)
    if builtin is not None:
        builtin(prefix, str(data["name"]), change)
    else:
        from pathlib import Path

        from roost.envs.kinds import get_kind
        from roost.envs.manifest import Manifest

        get_kind(kind).activate(Path(prefix), Manifest.from_json(data), change)
    return change


def activation_change(
    name: str,
    environ: Mapping[str, str],
    *,
    config: Optional[config_mod.Config] = None,
    restorable: bool = True,
) -> EnvChange:
    """The absolute change that loads the env's modules, then activates it.

    With ``restorable`` (``roost activate``), the change also stores its own inverse in
    ``_ROOST_ENV_RESTORE``, which :func:`deactivation_change` renders.  An env already active is deactivated
    first, so activations never stack.
    """
    prefix, data = read_manifest(name, environ, config)
    state = ShellState(dict(environ))
    previous = environ.get(ROOST_ENV_RESTORE)
    if previous:
        state.apply(_parse_restore(previous))
    base = state.export_environ()
    base_aliases, base_functions = _defined(state.aliases), _defined(state.functions)
    state.apply(binding.modulepath_prelude(data.get("modulepath", []), base))
    modules = [str(m["fullname"]) for m in data.get("modules", [])]
    system = str(data.get("module_system", binding.ROOST))
    try:
        state.apply(binding.load_change(modules, state.export_environ(), system))
    except ModuleError as exc:
        raise EnvError(
            f"cannot activate {name}: its modules no longer load ({exc.message})",
            f"`roost env check {name}` shows what changed and how to fix it",
        ) from None
    state.apply(_kind_change(prefix, data))
    state.set(ROOST_ENV, name)
    if restorable:
        inverse = _inverse(base, state)
        state.set(ROOST_ENV_RESTORE, json.dumps(inverse.to_json(), separators=(",", ":")))
    return diff(environ, state, before_aliases=base_aliases, before_functions=base_functions)


def _defined(named: Mapping[str, Optional[str]]) -> Dict[str, str]:
    return {k: v for k, v in named.items() if v is not None}


def _inverse(base: Mapping[str, str], state: ShellState) -> EnvChange:
    """Set every variable the activation changed back to its value in ``base`` (or unset it)."""
    after = state.copy().export_environ()
    inverse = EnvChange()
    for var, value in after.items():
        if base.get(var) != value:
            inverse.ops.append(Op(Action.SET, var, base[var]) if var in base else Op(Action.UNSET, var))
    for var in base:
        if var not in after:
            inverse.ops.append(Op(Action.SET, var, base[var]))
    inverse.ops += [Op(Action.UNALIAS, alias) for alias in _defined(state.aliases)]
    inverse.ops += [Op(Action.UNFUNCTION, function) for function in _defined(state.functions)]
    inverse.ops.append(Op(Action.UNSET, ROOST_ENV_RESTORE))
    return inverse


def _parse_restore(text: str) -> EnvChange:
    try:
        return EnvChange.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError):
        raise EnvError(
            f"{ROOST_ENV_RESTORE} is damaged, so the previous state cannot be restored",
            f"open a new shell, or `unset {ROOST_ENV_RESTORE} {ROOST_ENV}`",
        ) from None


def deactivation_change(environ: Mapping[str, str]) -> EnvChange:
    """The change that puts the shell back exactly as it was before ``roost activate``."""
    text = environ.get(ROOST_ENV_RESTORE)
    if not text:
        raise EnvError("no roost environment is active in this shell", "activate one with `roost activate NAME`")
    return _parse_restore(text)


def run_environ(name: str, environ: Mapping[str, str], *, config: Optional[config_mod.Config] = None) -> Dict[str, str]:
    """The environment a command run in the env gets (``roost run``, jobs, kernels)."""
    return activation_change(name, environ, config=config, restorable=False).applied_to(environ)
