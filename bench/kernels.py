"""Kernel start-up benchmark (BENCHMARKS.md, section "Kernels").

Start-to-ready (``KernelManager.start_kernel`` until ``wait_for_ready`` returns, i.e. the kernel answered
``kernel_info``) for two kernelspecs of the same roost environment:

* roost: the spec ``roost kernel install bench --env benchenv -m gcc -m tools`` writes; its argv runs roost's
  launcher, which loads the two modules, activates the env, then execs ipykernel;
* plain: ``[ENV/bin/python, -m, ipykernel_launcher, -f, {connection_file}]`` (what a hand-made kernel.json
  does), started from the same environment.

The two are started alternately (so load on the shared machine hits both alike); medians and their ratio
are printed.  Everything lives in a temporary directory (home, Jupyter dir, env store, module tree).

    python bench/kernels.py --rounds 15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List


def roost(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "roost", *args], check=True, capture_output=True, text=True)


def prepare(root: Path) -> Path:
    """Private dirs in os.environ, a two-module tree, an env with ipykernel; both kernelspecs installed."""
    home = root / "home"
    home.mkdir()
    tree = root / "modules"
    for fullname, body in {
        "gcc/12.2.0": 'setenv("GCC_ROOT", "/opt/gcc/12.2.0")\nprepend_path("LD_LIBRARY_PATH", "/gcc/lib")',
        "tools/1.0": 'setenv("TOOLS_HOME", "/opt/tools/1.0")\nprepend_path("PATH", "/tools/bin")',
    }.items():
        (tree / fullname).parent.mkdir(parents=True, exist_ok=True)
        (tree / f"{fullname}.lua").write_text(body + "\n")
    os.environ.update({
        "HOME": str(home), "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "JUPYTER_DATA_DIR": str(home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "ROOST_ENVS_DIR": str(root / "envs"),
        "MODULEPATH": str(tree),
    })
    for name in ("JUPYTER_PATH", "LOADEDMODULES", "_ROOST_MT_", "VIRTUAL_ENV"):
        os.environ.pop(name, None)
    roost("env", "create", "benchenv", "ipykernel")
    roost("kernel", "install", "bench-roost", "--env", "benchenv", "-m", "gcc", "-m", "tools")
    python = root / "envs" / "benchenv" / "bin" / "python"
    plain = home / ".local/share/jupyter/kernels/bench-plain"
    plain.mkdir(parents=True)
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "plain", "language": "python"}
    (plain / "kernel.json").write_text(json.dumps(spec))
    return python


def start_to_ready(kernel_name: str) -> float:
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name=kernel_name)
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        manager.start_kernel(stderr=log)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=120)
            elapsed = time.perf_counter() - started
        except RuntimeError:
            log.seek(0)
            raise SystemExit(f"kernel {kernel_name} died:\n{log.read().decode(errors='replace')}") from None
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    return elapsed


def _python_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def launcher_overhead(kernels_dir: Path, rounds: int) -> List[float]:
    """The launcher alone: the roost kernel's recipe with /bin/true as the interpreter, so the process does
    everything up to the exec (Python start, imports, module loads, env activation) and then ends."""
    spec = json.loads((kernels_dir / "bench-roost" / "kernel.json").read_text())
    spec["metadata"]["roost"]["python"] = "/bin/true"
    probe = kernels_dir.parent / "launcher-probe.json"
    probe.write_text(json.dumps(spec))
    original = str(kernels_dir / "bench-roost" / "kernel.json")
    argv = [str(probe) if arg == original else arg for arg in spec["argv"]]
    argv = [arg.replace("{connection_file}", "unused.json") for arg in argv]
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run(argv, check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roost-bench-kernels-") as tmp:
        prepare(Path(tmp))
        start_to_ready("bench-plain")  # warm the file cache for both
        start_to_ready("bench-roost")
        times: Dict[str, List[float]] = {"bench-roost": [], "bench-plain": []}
        for _ in range(args.rounds):
            for name in times:
                times[name].append(start_to_ready(name))
        launcher = launcher_overhead(Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels", args.rounds)
        python_start = [_python_start() for _ in range(args.rounds)]
    roost_median = statistics.median(times["bench-roost"])
    plain_median = statistics.median(times["bench-plain"])
    print(f"rounds: {args.rounds} (alternating), start-to-ready medians")
    print(f"roost launcher (env + 2 modules): {roost_median * 1000:7.0f} ms")
    print(f"plain ipykernel spec (same env):  {plain_median * 1000:7.0f} ms")
    print(f"ratio roost / plain:              {roost_median / plain_median:7.3f}")
    print(f"launcher alone, up to its exec:   {statistics.median(launcher) * 1000:7.0f} ms"
          f"  (python -c pass: {statistics.median(python_start) * 1000:.0f} ms)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
