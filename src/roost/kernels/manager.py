"""Where kernelspecs live, and installing, listing, removing and checking them.

Search order (the rule, tested against jupyter_client in tests/kernels/test_manager.py)
----------------------------------------------------------------------------------------
The kernel directories are ``jupyter_core.paths.jupyter_path("kernels")`` computed in roost's own process,
which is the list a Jupyter server started from the same Python with the same environment searches:

1. every directory of ``$JUPYTER_PATH`` (``<dir>/kernels``), in order;
2. the user directory (``$JUPYTER_DATA_DIR``, else ``$XDG_DATA_HOME/jupyter``,
   else ``~/.local/share/jupyter``, plus Python's user base ``share/jupyter``)
   and the environment directory (``sys.prefix/share/jupyter``) — user first, unless
   ``$JUPYTER_PREFER_ENV_PATH`` is true, or unset while Python runs in a virtualenv or non-base conda env;
3. the system directories (``/usr/local/share/jupyter``, ``/usr/share/jupyter``).

A kernel name (lowercased) found in several directories means the **first** directory wins and the others are
*shadowed* (``roost kernel list`` shows them as such).  This is what jupyter_client's
``KernelSpecManager.find_kernel_specs`` does; its documentation has at times said otherwise, so roost tests
the behaviour, not the prose.

Install scopes: ``--user`` (default) writes to the user directory, ``--sys-prefix`` to
``sys.prefix/share/jupyter/kernels`` of the Python running roost, ``--prefix DIR`` to
``DIR/share/jupyter/kernels``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from roost.errors import KernelError
from roost.kernels.spec import KernelSpec, Recipe, check_kernel_name, launcher_spec

KERNEL_FILE = "kernel.json"


# ---------------------------------------------------------------------------------------------- directories


def search_dirs() -> List[Path]:
    """Kernel directories in Jupyter's order: the first one holding a name wins."""
    from jupyter_core.paths import jupyter_path

    return [Path(p) for p in jupyter_path("kernels")]


def user_dir() -> Path:
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def sys_prefix_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "kernels"


def prefix_dir(prefix: Path) -> Path:
    return Path(prefix).expanduser().absolute() / "share" / "jupyter" / "kernels"


def scope_of(directory: Path) -> str:
    """A short label for a kernel directory, for listings."""
    if directory == user_dir():
        return "user"
    if directory == sys_prefix_dir():
        return "sys-prefix"
    jupyter_path_env = os.environ.get("JUPYTER_PATH", "")
    if any(Path(p.rstrip(os.sep)) / "kernels" == directory for p in jupyter_path_env.split(os.pathsep) if p):
        return "JUPYTER_PATH"
    if str(directory).startswith(("/usr/", "/opt/")):
        return "system"
    return "prefix"


def _kernels_in(directory: Path) -> Dict[str, Path]:
    """Kernel name (lowercased, as Jupyter compares them) -> its directory, for one kernel directory."""
    found: Dict[str, Path] = {}
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return found
    for entry in entries:
        if (directory / entry / KERNEL_FILE).is_file():
            found[entry.lower()] = directory / entry
    return found


# ---------------------------------------------------------------------------------------------- listing


@dataclass
class KernelEntry:
    """One kernelspec directory on the search path, with what a user needs to know about it."""

    name: str
    directory: Path
    scope: str
    spec: Optional[KernelSpec]
    shadowed_by: Optional[Path] = None
    problems: List[str] = field(default_factory=list)

    @property
    def is_roost(self) -> bool:
        return self.spec is not None and self.spec.recipe is not None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> Dict[str, object]:
        recipe = self.spec.recipe if self.spec else None
        return {
            "name": self.name,
            "display_name": self.spec.display_name if self.spec else None,
            "directory": str(self.directory),
            "scope": self.scope,
            "roost": recipe.to_json() if recipe else None,
            "argv": self.spec.argv if self.spec else None,
            "shadowed_by": str(self.shadowed_by) if self.shadowed_by else None,
            "problems": list(self.problems),
        }


def _executable_missing(program: str) -> bool:
    if os.sep in program:
        return not os.access(program, os.X_OK)
    return shutil.which(program) is None


def quick_problems(spec: Optional[KernelSpec]) -> List[str]:
    """Problems visible without starting anything: unreadable spec, interpreters or environment gone."""
    if spec is None:
        return ["kernel.json cannot be read"]
    problems: List[str] = []
    if not spec.argv:
        return ["kernel.json has an empty argv"]
    if _executable_missing(spec.argv[0]):
        problems.append(f"interpreter {spec.argv[0]} is gone")
    recipe = spec.recipe
    if recipe is not None:
        if recipe.env_path and not os.path.isdir(recipe.env_path):
            problems.append(f"environment {recipe.env!r} is gone ({recipe.env_path})")
        if recipe.python != spec.argv[0] and _executable_missing(recipe.python):
            problems.append(f"kernel interpreter {recipe.python} is gone")
    return problems


def _read_spec(directory: Path) -> Optional[KernelSpec]:
    try:
        return KernelSpec.read(directory / KERNEL_FILE)
    except (OSError, ValueError):
        return None


def list_kernels(dirs: Optional[Sequence[Path]] = None) -> List[KernelEntry]:
    """Every kernelspec on the search path, in search order; later duplicates are marked shadowed."""
    winners: Dict[str, Path] = {}
    entries: List[KernelEntry] = []
    for directory in dirs if dirs is not None else search_dirs():
        scope = scope_of(directory)
        for name, kernel_dir in _kernels_in(directory).items():
            spec = _read_spec(kernel_dir)
            entry = KernelEntry(name, kernel_dir, scope, spec, winners.get(name), quick_problems(spec))
            winners.setdefault(name, kernel_dir)
            entries.append(entry)
    return entries


def find_kernel(name: str, dirs: Optional[Sequence[Path]] = None) -> KernelEntry:
    """The kernel Jupyter would start for ``name`` (the first on the search path)."""
    lowered = name.lower()
    for entry in list_kernels(dirs):
        if entry.name == lowered and entry.shadowed_by is None:
            return entry
    raise KernelError(f"no kernel named {name!r}", "see the installed kernels with: roost kernel list")


# ---------------------------------------------------------------------------------------------- install


@dataclass
class Installed:
    name: str
    directory: Path
    spec: KernelSpec
    shadows: List[Path] = field(default_factory=list)
    on_search_path: bool = True


def launcher_sys_path() -> List[str]:
    """Where roost and the third-party packages its launcher imports live, for ``python -S``."""
    import importlib.util

    paths: List[str] = []
    for package in ("roost", "lupa", "tomli"):  # tomli: config on Python < 3.11
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            continue
        parent = os.path.dirname(os.path.abspath(next(iter(found.submodule_search_locations))))
        if parent not in paths:
            paths.append(parent)
    return paths


def _check_clash(name: str, target: Path, force: bool) -> List[Path]:
    """Refuse a name that already exists in ``target`` (unless force) or earlier on the search path; return
    the later directories the new kernel will shadow."""
    existing = _kernels_in(target).get(name)
    if existing is not None and not force:
        raise KernelError(
            f"a kernel named {name!r} already exists in {existing}",
            f"choose another name, replace it with --force, or remove it: roost kernel remove {name}",
        )
    dirs = search_dirs()
    earlier = dirs[: dirs.index(target)] if target in dirs else []
    for directory in earlier:
        hidden_by = _kernels_in(directory).get(name)
        if hidden_by is not None:
            raise KernelError(
                f"a kernel named {name!r} in {hidden_by} comes first on Jupyter's search path and would hide "
                f"the new one",
                "choose another name, or remove that kernel first",
            )
    later = dirs[dirs.index(target) + 1 :] if target in dirs else []
    return [kernels[name] for kernels in map(_kernels_in, later) if name in kernels]


def copy_logos(into: Path) -> None:
    """Jupyter shows ipykernel's Python logo for Python kernels; copy it when roost's Python has ipykernel."""
    import importlib.util

    found = importlib.util.find_spec("ipykernel")
    if found is None or not found.submodule_search_locations:
        return
    resources = Path(next(iter(found.submodule_search_locations))) / "resources"
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        if (resources / logo).is_file():
            shutil.copyfile(resources / logo, into / logo)


def _write_atomically(spec: KernelSpec, final: Path) -> None:
    """Write the kernel into a temporary sibling directory, then rename it into place: a failure leaves
    either the old kernel or nothing, never half a kernel."""
    import json

    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        with open(staging / KERNEL_FILE, "w", encoding="utf-8") as handle:
            json.dump(spec.to_json(), handle, indent=1)
            handle.write("\n")
        copy_logos(staging)
        staging.chmod(0o755)
        if final.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=final.parent))
            os.replace(final, retired / final.name)
            os.replace(staging, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def install(
    recipe: Recipe,
    *,
    display_name: str,
    target: Path,
    force: bool = False,
    launcher_python: Optional[str] = None,
) -> Installed:
    """Write a roost kernelspec for ``recipe`` into the kernel directory ``target``."""
    name = check_kernel_name(recipe.name)
    shadows = _check_clash(name, target, force)
    final = target / name
    spec = launcher_spec(recipe, launcher_python or sys.executable, display_name, final / KERNEL_FILE,
                         launcher_sys_path())
    try:
        _write_atomically(spec, final)
    except OSError as exc:
        raise KernelError(
            f"cannot write the kernel into {target}: {exc.strerror}",
            "choose a directory you can write: --user (default) or --prefix DIR",
        ) from None
    return Installed(name, final, spec, shadows, target in search_dirs())


# ---------------------------------------------------------------------------------------------- remove


def remove(name: str, target: Optional[Path] = None) -> Path:
    """Remove the kernel Jupyter would start for ``name`` (or the one in ``target``); return its directory."""
    lowered = name.lower()
    if target is not None:
        directory = _kernels_in(target).get(lowered)
        if directory is None:
            raise KernelError(f"no kernel named {name!r} in {target}", "see where it is: roost kernel list")
    else:
        directory = find_kernel(name).directory
    try:
        shutil.rmtree(directory)
    except OSError as exc:
        raise KernelError(
            f"cannot remove {directory}: {exc.strerror}", "it may belong to the system; ask its owner"
        ) from None
    return directory


# ---------------------------------------------------------------------------------------------- check


def ipykernel_problem(python: str, environ: Dict[str, str]) -> Optional[str]:
    """None when ``python`` can import ipykernel in ``environ``, else what went wrong."""
    try:
        done = subprocess.run(
            [python, "-c", "import ipykernel, sys; sys.stdout.write(ipykernel.__version__)"],
            env=environ, capture_output=True, text=True, timeout=120,
        )
    except OSError as exc:
        return f"{python} cannot run: {exc.strerror}"
    except subprocess.TimeoutExpired:
        return f"{python} did not import ipykernel within 120 s"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"ipykernel is not importable by {python} ({last})"
    return None


def recipe_problems(recipe: Recipe, environ: Dict[str, str]) -> List[str]:
    """The launcher's own steps without the exec: env present, modules load, ipykernel importable."""
    from roost.kernels.launch import LaunchError, check_interpreter, kernel_environ

    try:
        kernel_env = kernel_environ(recipe, environ)
        check_interpreter(recipe)
    except LaunchError as exc:
        return [exc.message]
    problem = ipykernel_problem(recipe.python, kernel_env)
    return [problem] if problem else []


def check(entry: KernelEntry, environ: Optional[Dict[str, str]] = None) -> KernelEntry:
    """Fill ``entry.problems`` with everything that would stop it from starting now."""
    problems = quick_problems(entry.spec)
    recipe = entry.spec.recipe if entry.spec else None
    if recipe is not None and not problems:
        problems = recipe_problems(recipe, dict(environ if environ is not None else os.environ))
    entry.problems = problems
    return entry
