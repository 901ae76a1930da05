"""Module-system benchmark: roost versus Lmod 8.6, in one run, on the same generated trees.

    python bench/modules.py            # full run (~3 min); writes "## Module system" in BENCHMARKS.md
    python bench/modules.py --quick    # fewer runs (~1 min)
    python bench/modules.py --no-write # print the table only

What is timed is what a user's ``module`` shell function does: a fresh ``bash`` that evaluates the tool's
output.  For Lmod that is the function ``/usr/share/lmod/lmod/init/bash`` defines
(``eval "$($LMOD_CMD bash "$@")"`` ...); for roost it is the function ``roost shell-init bash`` defines (it
evaluates the output of ``roost.modules.command bash "$@"``, run by ``python -E -S`` with an explicit sys.path).
Both are taken from ``declare -f module`` after each init ran, so the figures follow the real definitions; the
exact roost function is printed with the results.  The init itself runs once per shell and is not timed.

Commands (trees from gen_tree.py: a large one of 10,000 modulefiles, ~1,800 names, Core -> Compiler -> MPI,
and a small one holding only the 46 hierarchy modules the load needs):
  load    module load gcc/12.2.0 openmpi/4.1.5 netcdf-c     (5 modules: netcdf-c depends_on hdf5 -> zlib)
          on the small and on the large tree
  list    module list                                        (with those 5 loaded), small and large tree
  avail   module avail                                       (clean shell, MODULEPATH = Core), large tree
  spider  module spider hdf5                                 (walks all three levels), large tree

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
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
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
COMMAND_TIMEOUT_S = 180  # a hung command must not hang the whole benchmark
TARGET_ALL = 0.8
TARGET_WARM_TREE = 0.3
# Variables the capture of an init's environment must not carry into timed shells.
_SHELL_NOISE = re.compile(r"^(BASH_FUNC_.*|SHLVL|PWD|OLDPWD|_|BASH_EXECUTION_STRING)$")


@dataclass(frozen=True)
class Scenario:
    key: str
    args: Tuple[str, ...]
    state: str  # "clean" (MODULEPATH = Core) or "loaded" (after LOAD_COMMAND); "small-" for the small tree
    label: str  # formatted with files= and small= (the trees' sizes)


_LOAD = "`module load " + " ".join(gen_tree.LOAD_COMMAND) + "` (5 modules, Core→Compiler→MPI, depends_on)"
SCENARIOS = (
    Scenario("load", ("load", *gen_tree.LOAD_COMMAND), "small-clean", _LOAD + ", {small}-file tree"),
    Scenario("list", ("list",), "small-loaded", "`module list` (5 loaded), {small}-file tree"),
    Scenario("load", ("load", *gen_tree.LOAD_COMMAND), "clean", _LOAD + ", {files:,}-file tree"),
    Scenario("list", ("list",), "loaded", "`module list` (5 loaded), {files:,}-file tree"),
    Scenario("avail", ("avail",), "clean", "`module avail`, {files:,}-file tree"),
    Scenario(
        "spider",
        ("spider", gen_tree.SPIDER_NAME),
        "clean",
        f"`module spider {gen_tree.SPIDER_NAME}`, " + "{files:,}-file tree",
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
        command = ["bash", "--noprofile", "--norc", "-c", script]
        env = self.states.get(state, self.env)
        # No `timeout=` here: with one, Popen.wait polls with sleeps of 0.5, 1, 2 ... 50 ms, which rounds every
        # time up to 31.5, 63.5, 113.5 ms ...  A timer thread kills a hung command instead.
        process = subprocess.Popen(command, env=env, stdout=out, stderr=out, text=True)
        killer = threading.Timer(COMMAND_TIMEOUT_S, process.kill)
        killer.start()
        try:
            stdout, stderr = process.communicate()
        finally:
            killer.cancel()
        if process.returncode == -signal.SIGKILL:
            return subprocess.CompletedProcess(command, 124, stdout or "", f"timed out after {COMMAND_TIMEOUT_S} s")
        return subprocess.CompletedProcess(command, process.returncode, stdout or "", stderr or "")

    def time_once(self, scenario: Scenario, cold: bool) -> Tuple[float, float]:
        """Wall time and CPU time (user + system of bash and everything it waited for), in seconds."""
        if cold:
            self.clear_cache()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = self.run(scenario.args, scenario.state)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise RuntimeError(f"{self.name}: `module {' '.join(scenario.args)}` exited {result.returncode}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return elapsed, cpu


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
    done = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], env=env, capture_output=True, check=False)
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


def add_states(tool: Tool, small_core: Path) -> None:
    """Clean and loaded environments for both trees (each tool with its own state variables)."""
    tool.states["clean"] = tool.env
    tool.states["small-clean"] = {**tool.env, "MODULEPATH": str(small_core)}
    for clean in ("clean", "small-clean"):
        try:
            tool.states[clean.replace("clean", "loaded")] = loaded_state(tool, tool.states[clean])
        except RuntimeError as exc:
            tool.problems.append(str(exc))


def loaded_state(tool: Tool, env: Dict[str, str]) -> Dict[str, str]:
    """The environment after LOAD_COMMAND, for `module list`."""
    tool.clear_cache()
    script = f"{tool.function}\nmodule load {' '.join(gen_tree.LOAD_COMMAND)} >/dev/null 2>&1 || exit 3\nenv -0\n"
    done = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], env=env, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`module load {' '.join(gen_tree.LOAD_COMMAND)}` failed")
    return _parse_env0(done.stdout)


# ---------------------------------------------------------------------------------------------- checks


def check_outputs(lmod: Tool, roost: Optional[Tool]) -> List[str]:
    """Run each measured command once more per tool (caches warm) and compare roost's result with Lmod's."""
    if roost is None:
        return []
    loaded = {}
    for tool in (lmod, roost):
        done = tool.run(("load", *gen_tree.LOAD_COMMAND), epilogue='printf %s "$LOADEDMODULES"', capture=True)
        loaded[tool.name] = done.stdout if done.returncode == 0 else f"(exit {done.returncode})"
    same, different = [], []
    if loaded["roost"] == loaded["Lmod"]:
        same.append(f"LOADEDMODULES after the load (`{loaded['Lmod']}`)")
    else:
        different.append(f"LOADEDMODULES after the load: Lmod `{loaded['Lmod']}`, roost `{loaded['roost']}`")
    for args in (("-t", "avail"), ("avail",), ("spider", gen_tree.SPIDER_NAME), ("list",)):
        state = "loaded" if args == ("list",) else "clean"
        lmod_text, roost_text = (t.run(args, state, capture=True).stderr.splitlines() for t in (lmod, roost))
        label = f"`module {' '.join(args)}` ({len(lmod_text)} lines)"
        if lmod_text == roost_text:
            same.append(label)
        else:
            differing = sum(a != b for a, b in zip(lmod_text, roost_text)) + abs(len(lmod_text) - len(roost_text))
            different.append(f"{label}: {differing} lines differ")
    notes = [f"Output checks (one more run each, caches warm): identical for {', '.join(same) or 'none'}."]
    if different:
        notes.append("Differences from Lmod: " + "; ".join(different) + ".")
    return notes


# ---------------------------------------------------------------------------------------------- timing


@dataclass
class Cell:
    scenario: Scenario
    phase: str
    times: Dict[str, List[float]] = field(default_factory=dict)
    cpu: Dict[str, List[float]] = field(default_factory=dict)
    failure: Dict[str, str] = field(default_factory=dict)

    def median_ms(self, tool: str, cpu: bool = False) -> Optional[float]:
        values = (self.cpu if cpu else self.times).get(tool)
        return statistics.median(values) * 1000 if values else None

    def ratio(self, cpu: bool = False) -> Optional[float]:
        roost, lmod = self.median_ms("roost", cpu), self.median_ms("Lmod", cpu)
        return roost / lmod if roost is not None and lmod else None

    def target(self) -> float:
        return TARGET_WARM_TREE if self.phase == "warm" and self.scenario.key in ("avail", "spider") else TARGET_ALL


def run_bounds(quick: bool) -> Tuple[float, int, int]:
    """Per-cell time budget (s), minimum and maximum runs per tool: slow cold spiders get the minimum."""
    return (4.0, 3, 9) if quick else (10.0, 5, 21)


def measure_cell(cell: Cell, tools: List[Tool], quick: bool) -> None:
    """Alternate the tools run by run until the cell's budget is spent (within the run bounds)."""
    cold = cell.phase == "cold"
    if not cold:
        for tool in tools:  # one untimed run: the command's own files are read and its cache is current
            try:
                tool.time_once(cell.scenario, cold)
            except RuntimeError as exc:
                cell.failure[tool.name] = str(exc)
    budget, low, high = run_bounds(quick)
    started = time.perf_counter()
    index = 0
    while index < low or (index < high and time.perf_counter() - started < budget):
        live = [t for t in tools if t.name not in cell.failure]
        if not live:
            return
        for tool in live if index % 2 == 0 else reversed(live):
            try:
                wall, cpu = tool.time_once(cell.scenario, cold)
            except RuntimeError as exc:
                cell.failure[tool.name] = str(exc)
                continue
            cell.times.setdefault(tool.name, []).append(wall)
            cell.cpu.setdefault(tool.name, []).append(cpu)
        index += 1


def lmod_cache_observation(lmod: Tool, cold_avail: Cell) -> str:
    """Say whether Lmod's last cold `module avail` wrote its user spider cache, and how big it is."""
    files = [p for d in lmod.cache_dirs if d.is_dir() for p in d.rglob("*") if p.is_file()]
    took = cold_avail.median_ms("Lmod")
    took_s = "n/a" if took is None else f"{took / 1000:.1f} s"
    if not files:
        return (
            f"a cold `module avail` took {took_s} and Lmod wrote no user cache (it writes one only when "
            "building the spider cache takes longer than LMOD_SHORT_TIME = 2 s)"
        )
    size = sum(p.stat().st_size for p in files) / 1e6
    names = ", ".join(sorted("~/" + str(p.relative_to(lmod.env["HOME"])) for p in files))
    return (
        f"a cold `module avail` took {took_s}: it evaluates every modulefile to build the spider cache, "
        f"and as that took longer than LMOD_SHORT_TIME (2 s) Lmod wrote its user cache ({names}; "
        f"{size:.0f} MB together), which later avail, spider and load commands read. Lmod treats that file "
        "as valid for 24 hours (LMOD_ANCIENT_TIME) whatever changes in the tree: see the next lines"
    )


def lmod_cache_settings(lmod: Tool) -> str:
    """What `lmod --config` says about caches (proves no system spider cache applies to the run)."""
    done = subprocess.run(
        [str(LMOD_CMD), "bash", "--config"], env=lmod.env, capture_output=True, text=True, check=False
    )
    wanted = ("number of cache dirs", "User cache valid time(sec)", "Write cache after (sec)", "Ignore Cache")
    found = []
    for line in (done.stdout + done.stderr).splitlines():
        for key in wanted:
            if line.startswith(key):
                found.append(f"{key} = {line[len(key) :].strip()}")
    return "; ".join(found) or "`lmod --config` printed no cache settings"


def staleness_check(tools: List[Tool], core: Path) -> List[str]:
    """With warm caches, install a new modulefile: does each tool's avail/spider see it at once?"""
    name = "zz-installed-after-cache"
    fresh = core / name / "1.0.lua"
    fresh.parent.mkdir()
    fresh.write_text('whatis("Description: installed after the cache was written")\n')
    notes = []
    try:
        for tool in tools:
            commands = {
                "`module avail NAME`": ("avail", name),
                "`module -t avail NAME`": ("-t", "avail", name),
                "`module spider NAME`": ("spider", name),
            }
            seen: List[str] = []
            missed: List[str] = []
            for label, command in commands.items():
                done = tool.run(command, capture=True)
                (seen if f"{name}/1.0" in done.stderr + done.stdout else missed).append(label)
            verdict = f"found it with {', '.join(seen) or 'nothing'}"
            if missed:
                verdict += f"; **not** with {', '.join(missed)}"
            notes.append(f"a modulefile installed after the caches were warm: {tool.name} {verdict}")
    finally:
        shutil.rmtree(fresh.parent)
    return notes


def interpreter_startup_ms(python: str, runs: int) -> Tuple[float, float]:
    """Median start-up of `python -c pass` and `python -E -S -c pass` (without site and its .pth files)."""

    def median(args: List[str]) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(args, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1000

    return median([python, "-c", "pass"]), median([python, "-E", "-S", "-c", "pass"])


@dataclass
class ImportProfile:
    command: str  # the module command profiled, as markdown: "`module list` (5 loaded)"
    wall_ms: float  # through roost's shell function, with -X importtime
    program: List[Tuple[int, int, str]]  # (cumulative us, self us, module), costliest first
    program_total_ms: float  # all imports made by the command (top-level entries summed)


def _parse_importtime(stderr: str) -> Tuple[List[Tuple[int, int, int, str]], float]:
    """Rows (cumulative us, self us, depth, module) after `site`'s subtree, and site's cumulative ms."""
    rows: List[Tuple[int, int, int, str]] = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(2)), int(match.group(1)), len(match.group(3)), match.group(4)))
    # -X importtime lists children before their parent, so site's subtree is everything up to site itself.
    for index, (cumulative, _, depth, name) in enumerate(rows):
        if name == "site" and depth == 1:
            return rows[index + 1 :], cumulative / 1000
    return rows, 0.0


def _with_importtime(function: str, python: str) -> str:
    """The `module` function with `-X importtime` added to its interpreter call."""
    for spelling in (f"'{python}'", python):
        if spelling in function:
            return function.replace(spelling, f"{spelling} -X importtime", 1)
    raise RuntimeError(f"cannot find {python} in roost's module function")


def import_profile(roost: Tool, python: str, scenario: Scenario, top: int = 10) -> ImportProfile:
    """Imports of one command exactly as the shell function runs it (cache warm: the last run left it so)."""
    env = roost.states.get(scenario.state, roost.env)
    script = f"{_with_importtime(roost.function, python)}\nmodule {' '.join(scenario.args)}\n"
    start = time.perf_counter()
    done = subprocess.run(["bash", "--noprofile", "--norc", "-c", script], env=env, capture_output=True, text=True)
    wall = (time.perf_counter() - start) * 1000
    rows, _ = _parse_importtime(done.stderr)
    program_total = sum(cumulative for cumulative, _, depth, _ in rows if depth == 1) / 1000
    ranked = sorted(((cumulative, own, name) for cumulative, own, _, name in rows), reverse=True)
    command = f"`module {' '.join(scenario.args)}`" + (" (5 loaded)" if "loaded" in scenario.state else "")
    return ImportProfile(command, wall, ranked[:top], program_total)


def m_form_site_ms(roost: Tool, python: str) -> float:
    """`site`'s share of `python -X importtime -m roost.modules.command bash list` (site-packages processed)."""
    done = subprocess.run(
        [python, "-X", "importtime", "-m", "roost.modules.command", "bash", "list"],
        env=roost.states.get("loaded", roost.env),
        capture_output=True,
        text=True,
        check=False,
    )
    return _parse_importtime(done.stderr)[1]


# ---------------------------------------------------------------------------------------------- report


def _fmt_ms(value: Optional[float]) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _fmt_ratio(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def results_table(cells: List[Cell], files: int, small: int) -> List[str]:
    lines = [
        "| command | cache | Lmod 8.6 (ms) | roost (ms) | roost/Lmod | target | met | CPU: Lmod / roost (ms) "
        "| CPU ratio | runs |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for cell in cells:
        ratio = cell.ratio()
        if "roost" in cell.failure:
            met = "failed: " + cell.failure["roost"].replace("|", "/")
        else:
            met = "n/a" if ratio is None else ("yes" if ratio <= cell.target() else "**no**")
        runs = "/".join(str(len(cell.times.get(t, []))) for t in ("Lmod", "roost"))
        lines.append(
            f"| {cell.scenario.label.format(files=files, small=small)} | {cell.phase} | "
            f"{_fmt_ms(cell.median_ms('Lmod'))} | {_fmt_ms(cell.median_ms('roost'))} | {_fmt_ratio(ratio)} | "
            f"≤ {cell.target()} | {met} | "
            f"{_fmt_ms(cell.median_ms('Lmod', cpu=True))} / {_fmt_ms(cell.median_ms('roost', cpu=True))} | "
            f"{_fmt_ratio(cell.ratio(cpu=True))} | {runs} |"
        )
    return lines


@dataclass
class Report:
    quick: bool
    tree: gen_tree.TreeInfo
    small: gen_tree.TreeInfo
    cells: List[Cell]
    notes: List[str]
    startup: Tuple[float, float]
    load_before: float
    load_after: float
    seconds: float
    roost: Optional[Tool] = None
    profiles: List[ImportProfile] = field(default_factory=list)
    m_form_site_ms: float = 0.0


def render_section(report: Report) -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/modules.py" + (" --quick" if report.quick else "")
    lines = [
        SECTION_TITLE,
        "",
        f"Reproduce: `{command}` (harness and tree generator in `bench/modules.py`, `bench/gen_tree.py`; "
        "`--quick` for fewer runs, `--no-write` to only print).",
        "",
        f"Run {now}, {report.seconds:.0f} s; {os.cpu_count()} cores shared with other users "
        f"(load average {report.load_before:.2f} before, {report.load_after:.2f} after); "
        f"Python {platform.python_version()}; Lmod 8.6.19 (Debian `lmod`). "
        f"Trees (bench/gen_tree.py): the large one has {report.tree.summary()}; the small one "
        f"({report.small.modulefiles} files) holds only the hierarchy modules the load uses, so that load and "
        "list are also seen where Lmod's directory walk costs little.",
        "",
        "Peer and method: each run is a fresh `bash` that calls the `module` function exactly as the tool's "
        "init defines it (Lmod: `source /usr/share/lmod/lmod/init/bash`; "
        'roost: `eval "$(roost shell-init bash)"`), '
        "i.e. the tool's process plus the `eval` of its output; messages go to /dev/null. The two tools "
        "alternate run by run and the order flips each time; medians of wall time (the target applies to "
        "these) and, because other users load the machine, of CPU time (user + system of the shell and its "
        "children), which waiting for a core does not inflate. Cold = the tool's module cache deleted "
        "before every run (Lmod: `~/.lmod.d/.cache`, `~/.cache/lmod` in a private HOME, no system spider "
        "cache; roost: `ROOST_CACHE_DIR`); warm = after a priming `module avail` and `module spider` and one "
        "untimed run. The OS page cache is not dropped.",
        "",
        *results_table(report.cells, report.tree.modulefiles, report.small.modulefiles),
        "",
    ]
    lines += [f"- {note}" for note in report.notes]
    function = report.roost.function if report.roost is not None else ""
    skips_site = re.search(r"\s'?-S'?\s", function) is not None
    lines += [
        f"- Interpreter start-up on this machine: `python -c pass` {report.startup[0]:.0f} ms, "
        f"`python -E -S -c pass` {report.startup[1]:.0f} ms; the difference is `site` and the .pth files of "
        "this machine's site-packages. "
        + (
            ""
            if report.roost is None
            else "roost's shell function runs `python -E -S` with an explicit sys.path, so it does not pay it."
            if skips_site
            else "roost's shell function pays it on every command."
        ),
    ]
    for profile in report.profiles:
        lines += [
            "",
            f"Start-up profile of roost: {profile.command}, small tree, through the shell function with "
            f"`-X importtime` added: {profile.wall_ms:.0f} ms wall, {profile.program_total_ms:.1f} ms in the "
            f"command's imports; top {len(profile.program)} by cumulative time (nested entries are included "
            "in their parents):",
            "",
            "| import | cumulative (ms) | self (ms) |",
            "| --- | ---: | ---: |",
        ]
        lines += [f"| `{name}` | {cum / 1000:.1f} | {own / 1000:.1f} |" for cum, own, name in profile.program]
    if report.profiles:
        lines += [
            "",
            "For comparison, `python -X importtime -m roost.modules.command bash list` (site-packages "
            f"processed) spends {report.m_form_site_ms:.1f} ms in `site` alone, before roost's first import.",
        ]
    if report.roost is not None:
        lines += ["", "roost's `module` function as timed:", "", "```bash", report.roost.function, "```"]
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


def measure_all(tools: List[Tool], quick: bool, notes: List[str]) -> List[Cell]:
    """Cold cells, priming, warm cells; Lmod's user cache is inspected after the cold avail (tools[0])."""
    cells = [Cell(s, p) for p in PHASES for s in SCENARIOS]
    for cell in cells:
        if cell.phase == "warm" and cell.scenario == SCENARIOS[0]:
            for tool in tools:
                for state in ("small-clean", "clean"):
                    tool.run(("avail",), state)
                    tool.run(("spider", gen_tree.SPIDER_NAME), state)
        print(f"measuring {cell.scenario.key} {cell.scenario.state} ({cell.phase}) ...", file=sys.stderr)
        runnable = [t for t in tools if cell.scenario.state in t.states]
        measure_cell(cell, runnable, quick)
        if cell.phase == "cold" and cell.scenario.key == "avail" and cell.scenario.state == "clean":
            notes.append("Lmod's user cache: " + lmod_cache_observation(tools[0], cell))
            notes.append("Lmod's cache settings (`$LMOD_CMD bash --config`): " + lmod_cache_settings(tools[0]))
    return cells


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs per command (about 1 min)")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave BENCHMARKS.md alone")
    parser.add_argument("--lmod-only", action="store_true", help="validate the harness against Lmod alone")
    parser.add_argument("--files", type=int, default=10_000, help="modulefiles in the generated tree")
    parser.add_argument("--python", default=sys.executable, help="interpreter roost runs on (default: this one)")
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
        small = gen_tree.write_tree(work / "small-tree", 0)
        for tool in tools:
            add_states(tool, small.core)
        cells = measure_all(tools, args.quick, notes)
        notes += staleness_check(tools, info.core)
        notes += check_outputs(lmod, roost)
        if roost is not None:
            size = sum(p.stat().st_size for d in roost.cache_dirs if d.is_dir() for p in d.rglob("*") if p.is_file())
            notes.append(f"roost's cache after the warm runs: {size / 1e6:.1f} MB in ROOST_CACHE_DIR")
        for tool in tools:
            notes += [f"{tool.name}: {problem}" for problem in tool.problems]
        report = Report(
            quick=args.quick,
            tree=info,
            small=small,
            cells=cells,
            notes=notes,
            startup=interpreter_startup_ms(args.python, 5 if args.quick else 15),
            load_before=load_before,
            load_after=os.getloadavg()[0],
            seconds=0.0,
            roost=roost,
            profiles=[import_profile(roost, args.python, SCENARIOS[i]) for i in (0, 1)] if roost else [],
            m_form_site_ms=m_form_site_ms(roost, args.python) if roost is not None else 0.0,
        )
        report.seconds = time.perf_counter() - started
        section = render_section(report)
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
