"""What a site's configuration costs `module load`: roost versus Lmod 8.6 on the same small tree.

    python bench/site_config.py            # 21 runs per variant, prints a Markdown table
    python bench/site_config.py --runs 41

Variants: no site configuration; a SitePackage.lua (LMOD_PACKAGE_PATH) that registers a helper the modulefiles
call and load/unload/msgHook hooks; the same plus an admin.list (LMOD_ADMIN_FILE); and a system modulerc
(LMOD_MODULERCFILE).  Each run is one `TOOL bash load a b c` process (the command the `module` function runs),
warm caches, roost started the way its shell function starts it (python -E -S, explicit sys.path).  The
variants and tools alternate run by run; medians are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

LMOD_CMD = "/usr/share/lmod/lmod/libexec/lmod"

SITE_PACKAGE = """\
local hook = require("Hook")
local function prefix(name) return pathJoin("/sw", name, myModuleVersion()) end
hook.register("load", function(t) setenv("SITE_LAST", t.modFullName) end)
hook.register("unload", function(t) end)
hook.register("msgHook", function(kind, a) return a end)
sandbox_registration{ sitePrefix = prefix }
"""


def write_tree(root: Path) -> None:
    for name in ("a", "b", "c"):
        (root / "plain" / name).mkdir(parents=True)
        (root / "plain" / name / "1.0.lua").write_text(f'prepend_path("PATH", "/sw/{name}/bin")\n')
        (root / "site" / name).mkdir(parents=True)
        (root / "site" / name / "1.0.lua").write_text(f'prepend_path("PATH", pathJoin(sitePrefix("{name}"), "bin"))\n')
    (root / "pkg").mkdir()
    (root / "pkg" / "SitePackage.lua").write_text(SITE_PACKAGE)
    (root / "admin.list").write_text("b/1%.0: b 1.0 is rebuilt next week\n")
    (root / "rc.lua").write_text('module_alias("aa", "a/1.0")\nhide_version("c/2.0")\n')


def roost_command() -> List[str]:
    import lupa

    import roost

    paths = sorted({os.path.dirname(os.path.dirname(os.path.abspath(p.__file__ or ""))) for p in (roost, lupa)})
    boot = f"import sys;sys.path[:0]={paths!r};from roost.modules.command import main;sys.exit(main())"
    return [sys.executable, "-E", "-S", "-c", boot]


def variants(root: Path) -> Dict[str, Dict[str, str]]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(root / "home"), "LANG": "C.UTF-8", "USER": "bench",
            "ROOST_CACHE_DIR": str(root / "cache")}
    return {
        "no site configuration": {**base, "MODULEPATH": str(root / "plain")},
        "SitePackage.lua + hooks": {**base, "MODULEPATH": str(root / "site"), "LMOD_PACKAGE_PATH": str(root / "pkg")},
        "SitePackage.lua + hooks + admin.list": {**base, "MODULEPATH": str(root / "site"),
                                                 "LMOD_PACKAGE_PATH": str(root / "pkg"),
                                                 "LMOD_ADMIN_FILE": str(root / "admin.list")},
        "system modulerc": {**base, "MODULEPATH": str(root / "plain"), "LMOD_MODULERCFILE": str(root / "rc.lua")},
    }


def timed(command: List[str], environ: Dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {done.stderr.decode()[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        write_tree(root)
        (root / "home").mkdir()
        tools = {"roost": roost_command(), "Lmod 8.6": [LMOD_CMD]}
        cases = variants(root)
        times: Dict[str, Dict[str, List[float]]] = {v: {t: [] for t in tools} for v in cases}
        for command in tools.values():  # warm both: caches, page cache
            for environ in cases.values():
                timed([*command, "bash", "load", "a", "b", "c"], environ)
        for run in range(args.runs):
            order = list(tools.items()) if run % 2 == 0 else list(reversed(tools.items()))
            for variant, environ in cases.items():
                for tool, command in order:
                    times[variant][tool].append(timed([*command, "bash", "load", "a", "b", "c"], environ))
    print("| variant (`module load a b c`, warm) | roost median | Lmod 8.6 median | roost / Lmod |")
    print("| --- | --- | --- | --- |")
    for variant, per_tool in times.items():
        ours, theirs = statistics.median(per_tool["roost"]), statistics.median(per_tool["Lmod 8.6"])
        print(f"| {variant} | {ours * 1000:.1f} ms | {theirs * 1000:.1f} ms | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
