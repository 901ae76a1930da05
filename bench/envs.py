"""Benchmarks for environments (results go in BENCHMARKS.md, section "Environments").

1. Create an env with numpy, scipy and pandas, warm caches:
   `roost env create` (uv)  vs  `python -m venv` + `pip install` (pip's cache warm).   target ratio <= 0.15
2. Activate an env bound to two modules:
   the `activate` hot path (roost.envs.command, as shell-init calls it)  vs
   Lmod `module load gcc/12 python/3.12` + `source bin/activate`.                      target ratio <= 1.0

Usage: python bench/envs.py [--create-runs 3] [--activate-runs 20] [--python PATH]
Needs network access to PyPI for the first (warm-up) install, and Lmod (scripts/services/lmod.sh).
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Dict, List

PACKAGES = ["numpy", "scipy", "pandas"]
LMOD_INIT = "/usr/share/lmod/lmod/init/bash"
SRC = str(Path(__file__).resolve().parent.parent / "src")


def default_python() -> str:
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(root, "versions", "3.12.*", "bin", "python3")))
    return found[0] if found else sys.executable


def timed(command: List[str], env: Dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def bench_create(work: Path, python: str, runs: int) -> Dict[str, float]:
    env = dict(
        os.environ,
        ROOST_ENVS_DIR=str(work / "envs"),
        ROOST_UV_CACHE=str(work / "uv-cache"),
        PIP_CACHE_DIR=str(work / "pip-cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    env.pop("PIP_REQUIRE_VIRTUALENV", None)
    roost = [sys.executable, "-m", "roost", "env", "create"]

    def roost_once(name: str) -> float:
        seconds = timed([*roost, name, "--python", python, *PACKAGES, "-q"], env)
        subprocess.run([sys.executable, "-m", "roost", "env", "remove", name, "-q"], env=env, check=True)
        return seconds

    def pip_once(name: str) -> float:
        target = work / name
        start = time.perf_counter()
        subprocess.run([python, "-m", "venv", str(target)], env=env, check=True)
        subprocess.run(
            [str(target / "bin" / "pip"), "install", "-q", *PACKAGES], env=env, check=True, stdout=subprocess.DEVNULL
        )
        seconds = time.perf_counter() - start
        shutil.rmtree(target)
        return seconds

    roost_once("warmup")  # fills the uv cache
    pip_once("warmup-pip")  # fills pip's cache
    roost_times = [roost_once(f"b{i}") for i in range(runs)]
    pip_times = [pip_once(f"p{i}") for i in range(runs)]
    return {"roost": statistics.median(roost_times), "peer": statistics.median(pip_times)}


def write_tree(tree: Path, python: str) -> None:
    (tree / "python").mkdir(parents=True)
    (tree / "gcc").mkdir()
    (tree / "python" / "3.12.lua").write_text(f'prepend_path("PATH", "{Path(python).parent}")\n')
    (tree / "gcc" / "12.lua").write_text(
        'setenv("GCC_ROOT", "/opt/gcc/12")\nprepend_path("LD_LIBRARY_PATH", "/opt/gcc/12/lib")\n'
    )


def bench_activate(work: Path, python: str, runs: int) -> Dict[str, float]:
    tree = work / "modules"
    write_tree(tree, python)
    env = dict(
        os.environ, ROOST_ENVS_DIR=str(work / "envs"), ROOST_UV_CACHE=str(work / "uv-cache"), MODULEPATH=str(tree)
    )
    for name in [n for n in env if n.startswith(("LMOD", "_ModuleTable", "__LMOD", "_ROOST", "__ROOST"))]:
        env.pop(name)
    env.pop("LOADEDMODULES", None)
    env.pop("_LMFILES_", None)
    subprocess.run(
        [sys.executable, "-m", "roost", "env", "create", "act", "-m", "gcc/12", "-m", "python/3.12", "-q"],
        env=env,
        check=True,
    )
    venv = work / "lmod-venv"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)

    # The way shell-init runs the hot path: no site import, explicit sys.path (as for `module`).
    purelib = sysconfig.get_paths()["purelib"]
    hot = f"import sys;sys.path[:0]=[{SRC!r},{purelib!r}];from roost.envs.command import main;sys.exit(main())"
    roost_script = f'eval "$({sys.executable} -E -S -c "{hot}" bash activate act)"; test -n "$VIRTUAL_ENV"'
    cli_script = f'eval "$({sys.executable} -m roost activate --shell bash act)"; test -n "$VIRTUAL_ENV"'
    lmod_script = (
        f'source {LMOD_INIT}; module load gcc/12 python/3.12; source {venv}/bin/activate; test -n "$VIRTUAL_ENV"'
    )
    results: Dict[str, List[float]] = {"roost": [], "roost-cli": [], "peer": []}
    for _ in range(runs):  # interleaved, so load on the machine hits both sides alike
        results["roost"].append(timed(["bash", "--norc", "--noprofile", "-c", roost_script], env))
        results["roost-cli"].append(timed(["bash", "--norc", "--noprofile", "-c", cli_script], env))
        results["peer"].append(timed(["bash", "--norc", "--noprofile", "-c", lmod_script], env))
    return {key: statistics.median(values) for key, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--create-runs", type=int, default=3)
    parser.add_argument("--activate-runs", type=int, default=20)
    parser.add_argument("--python", default=default_python())
    parser.add_argument("--skip-create", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roost-bench-envs-") as tmp:
        work = Path(tmp)
        if not args.skip_create:
            create = bench_create(work, args.python, args.create_runs)
            print(
                f"create numpy+scipy+pandas (warm cache), median of {args.create_runs}: "
                f"roost {create['roost']:.2f} s, venv+pip {create['peer']:.2f} s, "
                f"ratio {create['roost'] / create['peer']:.3f} (target <= 0.15)"
            )
        if Path(LMOD_INIT).exists():
            act = bench_activate(work, args.python, args.activate_runs)
            print(
                f"activate with 2 modules, median of {args.activate_runs}: roost {act['roost'] * 1000:.0f} ms "
                f"(`roost activate` through the click CLI: {act['roost-cli'] * 1000:.0f} ms), "
                f"Lmod module load + source activate {act['peer'] * 1000:.0f} ms, "
                f"ratio {act['roost'] / act['peer']:.2f} (target <= 1.0)"
            )
        else:
            print(f"activation benchmark skipped: no Lmod at {LMOD_INIT} (run scripts/services/lmod.sh)")


if __name__ == "__main__":
    main()
