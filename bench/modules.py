"""Module-system benchmark: roost versus Lmod 8.6, in one run, on the same generated trees.

    python bench/modules.py            # full run (~4 min); writes "## Module system" in BENCHMARKS.md
    python bench/modules.py --quick    # fewer runs (~1.5 min)
    python bench/modules.py --no-write # print the table only

What is timed is what a user's ``module`` shell function does: a fresh ``bash`` that evaluates the tool's
output.  For Lmod that is the function ``/usr/share/lmod/lmod/init/bash`` defines
(``eval "$($LMOD_CMD bash "$@")"`` ...); for roost it is the function ``roost shell-init bash`` defines
(``eval "$(<python> -m roost.modules.command bash "$@")"``), taken from ``declare -f module`` after each init
ran, so the figures follow the real definitions.  The init itself runs once per shell and is not timed.

Commands, on one tree of 10,000 modulefiles (see gen_tree.py: ~1,800 names, Core -> Compiler -> MPI):
  load    module load gcc/12.2.0 openmpi/4.1.5 netcdf-c     (5 modules: netcdf-c depends_on hdf5 -> zlib)
  list    module list                                        (with those 5 loaded)
  avail   module avail                                       (clean shell, MODULEPATH = Core)
  spider  module spider hdf5                                 (walks all three levels)

Cold: each tool's module cache is deleted before every timed run (Lmod: ~/.lmod.d/.cache and ~/.cache/lmod in
a private HOME, no system spider cache configured; roost: its ROOST_CACHE_DIR).  Warm: after a priming
``module avail`` + ``module spider`` and one untimed run of the command.  The two tools alternate run by run
(the order flips each time) so that load from other users of the machine hits both alike; medians are
reported.  The OS page cache is not dropped (that needs the whole machine): "cold" is the tools' caches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_tree

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
SECTION_TITLE = "## Module system"
LMOD_INIT = Path("/usr/share/lmod/lmod/init/bash")
LMOD_CMD = Path("/usr/share/lmod/lmod/libexec/lmod")
# Fallback when roost.cli.shell_init does not exist yet: the definition the lead specified.
ROOST_FALLBACK_FUNCTION = 'module () {{\n    eval "$({python} -m roost.modules.command bash "$@")"\n}}'
TARGET_ALL = 0.8
TARGET_WARM_TREE = 0.3
# Variables the capture of an init's environment must not carry into timed shells.
_SHELL_NOISE = re.compile(r"^(BASH_FUNC_.*|SHLVL|PWD|OLDPWD|_|BASH_EXECUTION_STRING)$")


@dataclass(frozen=True)
class Scenario:
    key: str
    args: Tuple[str, ...]
    state: str  # "clean" (only MODULEPATH=Core) or "loaded" (after LOAD_COMMAND)
    label: str


SCENARIOS = (
    Scenario(
        "load",
        ("load", *gen_tree.LOAD_COMMAND),
        "clean",
        "`module load "
        + " ".join(gen_tree.LOAD_COMMAND)
        + "` (5 modules over Core→Compiler→MPI, depends_on)",
    ),
    Scenario("list", ("list",), "loaded", "`module list` (5 loaded)"),
    Scenario("avail", ("avail",), "clean", "`module avail` (10,000-file tree)"),
    Scenario(
        "spider",
        ("spider", gen_tree.SPIDER_NAME),
        "clean",
        f"`module spider {gen_tree.SPIDER_NAME}` (10,000-file tree)",
    ),
)
PHASES = ("cold", "warm")


@dataclass
class Tool:
    """One module system as a user's shell sees it: a ``module`` function plus its environment."""

    name: str
    function: str
    env: Dict[str, str]
    cache_dirs: List[Path]
    states: Dict[str, Dict[str, str]] = field(default_factory=dict)
    problems: List[str] = field(default_factory=list)

    def clear_cache(self) -> None:
        for directory in self.cache_dirs:
            shutil.rmtree(directory, ignore_errors=True)

    def run(
        self, args: Sequence[str], state: str = "clean", epilogue: str = "", capture: bool = False
    ) -> subprocess.CompletedProcess:
        script = f"{self.function}\nmodule {' '.join(args)}\n__status=$?\n{epilogue}\nexit $__status\n"
        out = subprocess.PIPE if capture else subprocess.DEVNULL
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            env=self.states.get(state, self.env),
            stdout=out,
            stderr=out,
            text=True,
            check=False,
        )

    def time_once(self, scenario: Scenario, cold: bool) -> float:
        if cold:
            self.clear_cache()
        start = time.perf_counter()
        result = self.run(scenario.args, scenario.state)
        elapsed = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(f"{self.name}: `module {' '.join(scenario.args)}` exited {result.returncode}")
        return elapsed


# ---------------------------------------------------------------------------------------------- setup


def base_environment(home: Path, modulepath: Path, python: str) -> Dict[str, str]:
    """A clean login-like environment: nothing from the caller's shell leaks into the measurement."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "USER": os.environ.get("USER", "root"),
        "LOGNAME": os.environ.get("USER", "root"),
        "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "COLUMNS": "100",
        "MODULEPATH": str(modulepath),
    }


def capture_init(setup: str, env: Dict[str, str]) -> Tuple[str, Dict[str, str]]:
    """Run a shell init, return its ``module`` function definition and the environment it exported."""
    marker = b"\0--roost-bench-env--\0"
    script = f"{setup}\ndeclare -f module\nprintf '\\0--roost-bench-env--\\0'\nenv -0\n"
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script], env=env, capture_output=True, check=False
    )
    if done.returncode != 0 or marker not in done.stdout:
        raise RuntimeError(f"shell init failed ({setup!r}): {done.stderr.decode(errors='replace')[-500:]}")
    function, _, environ = done.stdout.partition(marker)
    return function.decode().strip(), _parse_env0(environ)


def _parse_env0(blob: bytes) -> Dict[str, str]:
    result: Dict[str, str] = {}
    for entry in blob.decode(errors="surrogateescape").split("\0"):
        name, sep, value = entry.partition("=")
        if sep and not _SHELL_NOISE.match(name):
            result[name] = value
    return result


def make_lmod(work: Path, modulepath: Path, python: str) -> Tool:
    home = work / "home-lmod"
    env = base_environment(home, modulepath, python)
    function, exported = capture_init(f"source {LMOD_INIT}", env)
    exported["MODULEPATH"] = str(modulepath)  # the init may add site directories: the same tree for both
    caches = [home / ".lmod.d", home / ".cache" / "lmod"]
    return Tool("Lmod", function, exported, caches)


def roost_available(python: str) -> bool:
    probe = "import importlib.util as u; raise SystemExit(u.find_spec('roost.modules.command') is None)"
    return subprocess.run([python, "-c", probe], capture_output=True, check=False).returncode == 0


def make_roost(work: Path, modulepath: Path, python: str) -> Tool:
    home = work / "home-roost"
    cache = work / "roost-cache"
    env = base_environment(home, modulepath, python)
    env["ROOST_CACHE_DIR"] = str(cache)
    has_shell_init = (
        subprocess.run(
            [python, "-c", "import roost.cli.shell_init"], env=env, capture_output=True, check=False
        ).returncode
        == 0
    )
    if has_shell_init:
        function, exported = capture_init(f'eval "$({python} -m roost shell-init bash)"', env)
        exported["MODULEPATH"] = str(modulepath)
        tool = Tool("roost", function, exported, [cache])
    else:
        tool = Tool("roost", ROOST_FALLBACK_FUNCTION.format(python=python), env, [cache])
        tool.problems.append("roost.cli.shell_init missing: timed the specified `module` function instead")
    return tool


def capture_loaded_state(tool: Tool) -> None:
    """The environment after LOAD_COMMAND, for `module list` (each tool with its own state variables)."""
    tool.clear_cache()
    script = (
        f"{tool.function}\nmodule load {' '.join(gen_tree.LOAD_COMMAND)} >/dev/null 2>&1 || exit 3\nenv -0\n"
    )
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script], env=tool.env, capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool.name}: `module load {' '.join(gen_tree.LOAD_COMMAND)}` failed")
    tool.states["loaded"] = _parse_env0(done.stdout)


# ---------------------------------------------------------------------------------------------- checks


def check_outputs(lmod: Tool, roost: Optional[Tool]) -> List[str]:
    """One run of each command per tool, compared with Lmod; returns notes on any disagreement."""
    notes: List[str] = []
    tools = [t for t in (lmod, roost) if t is not None]
    loaded: Dict[str, str] = {}
    for tool in tools:
        done = tool.run(("load", *gen_tree.LOAD_COMMAND), epilogue='printf %s "$LOADEDMODULES"', capture=True)
        loaded[tool.name] = (
            done.stdout if done.returncode == 0 else f"(exit {done.returncode}) {done.stderr[-300:]}"
        )
    if roost is not None and loaded["roost"] != loaded["Lmod"]:
        notes.append(f"load: LOADEDMODULES differs: Lmod `{loaded['Lmod']}`, roost `{loaded['roost']}`")
    terse: Dict[str, set] = {}
    for tool in tools:
        done = tool.run(("-t", "avail"), capture=True)
        terse[tool.name] = {line.strip() for line in done.stderr.splitlines() if line.strip()}
    if roost is not None and terse["roost"] != terse["Lmod"]:
        only_lmod, only_roost = terse["Lmod"] - terse["roost"], terse["roost"] - terse["Lmod"]
        notes.append(
            f"avail -t: {len(only_lmod)} lines only in Lmod (e.g. {sorted(only_lmod)[:3]}), "
            f"{len(only_roost)} only in roost (e.g. {sorted(only_roost)[:3]})"
        )
    for tool in tools:
        done = tool.run(("spider", gen_tree.SPIDER_NAME), capture=True)
        if f"{gen_tree.SPIDER_NAME}/1.14.3" not in done.stderr + done.stdout:
            notes.append(f"spider: {tool.name}'s output does not mention {gen_tree.SPIDER_NAME}/1.14.3")
    return notes


# ---------------------------------------------------------------------------------------------- timing


@dataclass
class Cell:
    scenario: Scenario
    phase: str
    times: Dict[str, List[float]] = field(default_factory=dict)
    failure: Dict[str, str] = field(default_factory=dict)

    def median_ms(self, tool: str) -> Optional[float]:
        values = self.times.get(tool)
        return statistics.median(values) * 1000 if values else None

    def ratio(self) -> Optional[float]:
        roost, lmod = self.median_ms("roost"), self.median_ms("Lmod")
        return roost / lmod if roost is not None and lmod else None

    def target(self) -> float:
        return (
            TARGET_WARM_TREE
            if self.phase == "warm" and self.scenario.key in ("avail", "spider")
            else TARGET_ALL
        )


def run_count(estimate_s: float, quick: bool) -> int:
    """As many runs as fit a per-cell time budget, within bounds (slow cold spiders get the minimum)."""
    budget, low, high = (6.0, 3, 9) if quick else (18.0, 5, 25)
    return max(low, min(high, int(budget / max(estimate_s, 1e-3))))


def measure_cell(cell: Cell, tools: List[Tool], quick: bool) -> None:
    cold = cell.phase == "cold"
    estimate = 0.0
    for tool in tools:  # the untimed first run: warms the command (and, when warm, its cache)
        try:
            start = time.perf_counter()
            tool.time_once(cell.scenario, cold)
            estimate += time.perf_counter() - start
        except RuntimeError as exc:
            cell.failure[tool.name] = str(exc)
    live = [t for t in tools if t.name not in cell.failure]
    for index in range(run_count(estimate, quick)):
        order = live if index % 2 == 0 else list(reversed(live))
        for tool in order:
            if tool.name in cell.failure:
                continue
            try:
                cell.times.setdefault(tool.name, []).append(tool.time_once(cell.scenario, cold))
            except RuntimeError as exc:
                cell.failure[tool.name] = str(exc)


def lmod_cache_observation(lmod: Tool) -> str:
    """Run one cold `module avail` and say whether Lmod wrote its user spider cache, and how big it is."""
    lmod.clear_cache()
    start = time.perf_counter()
    lmod.run(("avail",))
    elapsed = time.perf_counter() - start
    files = [p for d in lmod.cache_dirs if d.is_dir() for p in d.rglob("*") if p.is_file()]
    if not files:
        return (
            f"a cold `module avail` took {elapsed:.1f} s and Lmod wrote no user cache "
            "(it writes one only when building the spider cache takes longer than LMOD_SHORT_TIME = 2 s)"
        )
    size = sum(p.stat().st_size for p in files) / 1e6
    names = ", ".join(sorted(str(p.relative_to(lmod.env["HOME"])) for p in files))
    return (
        f"a cold `module avail` took {elapsed:.1f} s: building the spider cache (every modulefile evaluated) "
        f"took longer than LMOD_SHORT_TIME = 2 s, so Lmod wrote its user cache ({names}; {size:.0f} MB) "
        "and later avail/spider/load read it"
    )


def staleness_check(tools: List[Tool], core: Path) -> List[str]:
    """With warm caches, install a new modulefile: does each tool's avail/spider see it at once?"""
    fresh = core / "zz-installed-after-cache" / "1.0.lua"
    fresh.parent.mkdir()
    fresh.write_text('whatis("Description: installed after the cache was written")\n')
    notes = []
    try:
        for tool in tools:
            avail = tool.run(("-t", "avail", "zz-installed-after-cache"), capture=True)
            spider = tool.run(("spider", "zz-installed-after-cache"), capture=True)
            seen = [
                what
                for what, done in (("avail", avail), ("spider", spider))
                if "zz-installed-after-cache/1.0" in done.stderr + done.stdout
            ]
            verdict = "saw it in " + " and ".join(seen) if seen else "**did not see it** in avail or spider"
            notes.append(f"a modulefile installed after the warm runs: {tool.name} {verdict}")
    finally:
        shutil.rmtree(fresh.parent)
    return notes


def interpreter_startup_ms(python: str, runs: int) -> Tuple[float, float]:
    """Median start-up of `python -c pass` and `python -I -S -c pass` (without site and its .pth files)."""

    def median(args: List[str]) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(args, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1000

    return median([python, "-c", "pass"]), median([python, "-I", "-S", "-c", "pass"])


def import_profile(roost: Tool, python: str, top: int = 10) -> Tuple[List[Tuple[int, int, str]], float]:
    """`python -X importtime -m roost.modules.command bash list`: the `top` imports by cumulative time."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "roost.modules.command", "bash", "list"],
        env=roost.states.get("loaded", roost.env),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = (time.perf_counter() - start) * 1000
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), int(match.group(1)), match.group(3)[1:] + match.group(4)))
    rows.sort(reverse=True)
    return rows[:top], wall


# ---------------------------------------------------------------------------------------------- report


def _fmt_ms(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def results_table(cells: List[Cell]) -> List[str]:
    lines = [
        "| command | cache | Lmod 8.6 median (ms) | roost median (ms) | roost/Lmod | target | met | runs |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for cell in cells:
        ratio = cell.ratio()
        if "roost" in cell.failure:
            met = "failed: " + cell.failure["roost"].replace("|", "/")
        else:
            met = "n/a" if ratio is None else ("yes" if ratio <= cell.target() else "**no**")
        runs = "/".join(str(len(cell.times.get(t, []))) for t in ("Lmod", "roost"))
        lines.append(
            f"| {cell.scenario.label} | {cell.phase} | {_fmt_ms(cell.median_ms('Lmod'))} | "
            f"{_fmt_ms(cell.median_ms('roost'))} | {'n/a' if ratio is None else f'{ratio:.2f}'} | "
            f"≤ {cell.target()} | {met} | {runs} |"
        )
    return lines


def render_section(
    args: argparse.Namespace,
    info: gen_tree.TreeInfo,
    cells: List[Cell],
    notes: List[str],
    profile: Optional[Tuple[List[Tuple[int, int, str]], float]],
    startup: Tuple[float, float],
    load_before: float,
    load_after: float,
    roost_tool: Optional[Tool],
    seconds: float,
) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/modules.py" + (" --quick" if args.quick else "")
    lines = [
        SECTION_TITLE,
        "",
        f"Reproduce: `{command}` (harness and tree generator in `bench/modules.py`, `bench/gen_tree.py`; "
        "`--quick` for fewer runs, `--no-write` to only print).",
        "",
        f"Run {now}, {seconds:.0f} s; {platform.node()}: {os.cpu_count()} cores shared with other users "
        f"(load average {load_before:.2f} before, {load_after:.2f} after); "
        f"Python {platform.python_version()}; "
        "Lmod 8.6.19 (Debian `lmod`). "
        f"Tree: {info.summary()}.",
        "",
        "Peer and method: each run is a fresh `bash` that calls the `module` function exactly as the tool's "
        "init defines it (Lmod: `source /usr/share/lmod/lmod/init/bash`; "
        'roost: `eval "$(roost shell-init bash)"`), '
        "i.e. the tool's process plus the `eval` of its output; messages go to /dev/null. The two tools "
        "alternate run by run and the order flips each time; medians. Cold = the tool's module cache deleted "
        "before every run (Lmod: `~/.lmod.d/.cache`, `~/.cache/lmod` in a private HOME, no system spider "
        "cache; roost: `ROOST_CACHE_DIR`); warm = after a priming `module avail` and `module spider` and one "
        "untimed run. The OS page cache is not dropped.",
        "",
        *results_table(cells),
        "",
        f"Interpreter start-up on this machine: `python -c pass` {startup[0]:.0f} ms, "
        f"`python -I -S -c pass` {startup[1]:.0f} ms (the difference is `site` and the .pth files of this "
        "machine's site-packages, paid by every roost command).",
        "",
    ]
    lines += [f"- {note}" for note in notes]
    if profile is not None and profile[0]:
        lines += [
            "",
            f"Start-up profile: `python -X importtime -m roost.modules.command bash list` (5 loaded; "
            f"{profile[1]:.0f} ms wall with -X importtime), "
            f"top {len(profile[0])} imports by cumulative time:",
            "",
            "| import | cumulative (ms) | self (ms) |",
            "| --- | ---: | ---: |",
        ]
        lines += [
            f"| `{name.strip()}` | {cum / 1000:.1f} | {own / 1000:.1f} |" for cum, own, name in profile[0]
        ]
    if roost_tool is not None:
        lines += ["", "roost's `module` function as timed:", "", "```bash", roost_tool.function, "```"]
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace this harness's own section of BENCHMARKS.md (or append it), leaving the others untouched."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION_TITLE)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


# ---------------------------------------------------------------------------------------------- main


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs per command (about 1.5 min)")
    parser.add_argument(
        "--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone"
    )
    parser.add_argument("--lmod-only", action="store_true", help="validate the harness against Lmod alone")
    parser.add_argument("--files", type=int, default=10_000, help="modulefiles in the generated tree")
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter roost runs on (default: this one)"
    )
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (tree, homes, caches)")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if not LMOD_CMD.exists():
        print("Lmod is not installed: run `bash scripts/services/lmod.sh` as root first.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    work = args.keep or Path(tempfile.mkdtemp(prefix="roost-bench-modules-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        tree_dir = work / "tree"
        shutil.rmtree(tree_dir, ignore_errors=True)
        info = gen_tree.write_tree(tree_dir, args.files)
        print(f"tree: {info.summary()}", file=sys.stderr)
        lmod = make_lmod(work, info.core, args.python)
        tools = [lmod]
        notes: List[str] = []
        roost: Optional[Tool] = None
        if args.lmod_only:
            notes.append("roost not measured (--lmod-only)")
        elif not roost_available(args.python):
            notes.append("roost not measured: `roost.modules.command` does not exist yet")
        else:
            roost = make_roost(work, info.core, args.python)
            tools.append(roost)
        for tool in list(tools):
            try:
                capture_loaded_state(tool)
            except RuntimeError as exc:
                tool.problems.append(str(exc))
        notes.append("Lmod's user cache: " + lmod_cache_observation(lmod))
        notes += check_outputs(lmod, roost)
        cells = [Cell(s, p) for p in PHASES for s in SCENARIOS]
        for cell in cells:
            if cell.phase == "warm" and cell.scenario.key == "load":  # priming before the first warm cell
                for tool in tools:
                    tool.run(("avail",))
                    tool.run(("spider", gen_tree.SPIDER_NAME))
            print(f"measuring {cell.scenario.key} ({cell.phase}) ...", file=sys.stderr)
            runnable = [t for t in tools if cell.scenario.state == "clean" or "loaded" in t.states]
            measure_cell(cell, runnable, args.quick)
        notes += staleness_check(tools, info.core)
        if roost is not None:
            size = sum(
                p.stat().st_size for d in roost.cache_dirs if d.is_dir() for p in d.rglob("*") if p.is_file()
            )
            notes.append(f"roost's cache after the warm runs: {size / 1e6:.1f} MB in ROOST_CACHE_DIR")
        for tool in tools:
            notes += [f"{tool.name}: {problem}" for problem in tool.problems]
        startup = interpreter_startup_ms(args.python, 5 if args.quick else 15)
        profile = import_profile(roost, args.python) if roost is not None else None
        section = render_section(
            args,
            info,
            cells,
            notes,
            profile,
            startup,
            load_before,
            os.getloadavg()[0],
            roost,
            time.perf_counter() - started,
        )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"(written to {BENCHMARKS_MD.relative_to(REPO)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
