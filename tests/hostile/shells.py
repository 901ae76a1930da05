"""Helpers for the hostile-input suite: module trees made up per test, and `module` run in real shells through
`roost shell-init`, with snapshots of everything a shell holds (environment, aliases, functions)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from tests.conftest import require_service

SHELLS = ("bash", "zsh", "fish")
MODULE_STATE = ("_ModuleTable", "__LMOD", "LMOD", "_ROOST", "__ROOST", "ROOST_", "MODULE", "VIRTUAL_ENV", "CONDA")


def lua_string(text: str) -> str:
    """A Lua string literal holding ``text`` byte for byte (decimal escapes: nothing in it is Lua syntax)."""
    return '"' + "".join(f"\\{byte:03d}" for byte in text.encode("utf-8", "surrogateescape")) + '"'


def tcl_string(text: str) -> str:
    """A Tcl word holding ``text`` (every character a \\u escape inside double quotes: no substitution; BMP only)."""
    return '"' + "".join(f"\\u{ord(char):04x}" for char in text) + '"'


def site_environ(root: Path, modulepath: Path) -> Dict[str, str]:
    """A minimal environment for roost with its per-user directories under ``root``."""
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    inherited = {name: value for name, value in os.environ.items()  # proxies, certificates, uv's settings
                 if not name.startswith(MODULE_STATE) and name not in ("LOADEDMODULES", "_LMFILES_", "PYTHONPATH")}
    return {
        **inherited,
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "MODULEPATH": str(modulepath),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"), "ROOST_CACHE_DIR": str(root / "cache"), "LC_ALL": "C.UTF-8",
        "USER": os.environ.get("USER", "root"),
    }


def init_code(shell: str, environ: Mapping[str, str]) -> str:
    return subprocess.run([sys.executable, "-m", "roost", "shell-init", shell], capture_output=True, text=True,
                          check=True, env=dict(environ)).stdout


def need_shell(shell: str) -> None:
    if shutil.which(shell) is None:
        require_service(shell)


def snapshot_function(shell: str) -> str:
    """Code defining `snap DIR/NAME`: write the environment, aliases and function names to NAME.* files."""
    if shell == "fish":
        return ("function snap; env -0 | LC_ALL=C sort -z > $argv[1].env; alias > $argv[1].alias; "
                "functions -n > $argv[1].fn; end\n")
    listing = "alias -L; typeset -f" if shell == "zsh" else "alias -p; declare -f"
    return f'snap() {{ env -0 | LC_ALL=C sort -z > "$1.env"; {{ {listing}; }} > "$1.state"; }}\n'


def snapshots_equal(first: Path, second: Path) -> bool:
    suffixes = (".env", ".alias", ".fn", ".state")
    pairs = [(Path(f"{first}{s}"), Path(f"{second}{s}")) for s in suffixes if Path(f"{first}{s}").exists()]
    return bool(pairs) and all(a.read_bytes() == b.read_bytes() for a, b in pairs)


def run_in_shell(shell: str, body: str, environ: Mapping[str, str], workdir: Path,
                 timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``body`` in SHELL after `roost shell-init SHELL` and the `snap` helper, in ``workdir``."""
    need_shell(shell)
    init = workdir / f"init.{shell}"
    init.write_text(init_code(shell, environ))
    script = workdir / f"script.{shell}"
    source = "source" if shell == "fish" else "."
    script.write_text(f"{source} {init}\n" + snapshot_function(shell) + body)
    return subprocess.run([*shell_argv(shell), str(script)], capture_output=True, text=True, env=dict(environ),
                          cwd=workdir, timeout=timeout, errors="surrogateescape")


def shell_argv(shell: str) -> List[str]:
    """SHELL without the user's start-up files."""
    return {"bash": ["bash", "--norc", "--noprofile"], "zsh": ["zsh", "-f"], "fish": ["fish", "--no-config"]}[shell]


def status_of(shell: str, command: str, label: Optional[str] = None) -> str:
    """A line that runs ``command`` and prints `status LABEL N` (N: its exit status)."""
    label = label or command
    variable = "$status" if shell == "fish" else "$?"
    return f"{command}; echo \"status {label} {variable}\"\n"
