"""Generate a realistic, deterministic Lmod module tree for benchmarks.

The tree looks like an EasyBuild-built site with a three-level hierarchy:

    <root>/Core/<name>/<version>.lua                                  (compilers, tools, zlib, python ...)
    <root>/Compiler/gcc/<gcc>/<name>/<version>.lua                    (openmpi, compiler-dependent libraries)
    <root>/MPI/gcc/<gcc>/openmpi/<ompi>/<name>/<version>.lua          (hdf5, netcdf-c, MPI libraries)

Every modulefile has ``help`` and ``whatis``; about a quarter of the name directories mark a default with
a ``.version`` file, a ``.modulerc.lua`` or a ``default`` symlink; a few versions are hidden (leading dot)
or hidden by ``hide_version``.  Filler names are random but reproducible (``seed``).

Fixed modules used by the benchmark:  ``gcc/{11.4.0,12.2.0,13.2.0}`` (default 12.2.0, by .modulerc.lua)
-> ``openmpi/{4.1.5,4.1.6}`` -> ``hdf5`` (depends_on zlib) and ``netcdf-c`` (depends_on hdf5); python with
``extensions``.  Run ``python bench/gen_tree.py DIR`` to write one by hand.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

GCC_VERSIONS = ("11.4.0", "12.2.0", "13.2.0")
OPENMPI_VERSIONS = ("4.1.5", "4.1.6")
# The load the benchmark times, and what it must leave in LOADEDMODULES (dependencies included).
LOAD_COMMAND = ("gcc/12.2.0", "openmpi/4.1.5", "netcdf-c")
SPIDER_NAME = "hdf5"

_SYLLABLES = (
    "ar",
    "bo",
    "ca",
    "da",
    "el",
    "fi",
    "gro",
    "ha",
    "io",
    "ja",
    "ke",
    "lu",
    "ma",
    "ne",
    "or",
    "pi",
    "qu",
    "ra",
    "si",
    "tu",
    "ul",
    "vo",
    "wi",
    "xy",
    "ze",
    "tor",
    "mex",
    "fla",
    "cor",
    "ban",
    "dex",
    "gen",
    "lix",
)
_TOOLCHAIN_SUFFIXES = ("", "", "", "-GCCcore-11.3.0", "-GCCcore-12.2.0", "-foss-2022a", "-foss-2023a")


@dataclass
class NameDir:
    """One ``<modulepath>/<name>/`` directory and the versions it will hold."""

    level: str  # directory of the modulepath, relative to the tree root
    name: str
    versions: List[str]
    depends: Optional[str] = None  # full name of a Core module this package depends_on


@dataclass
class TreeInfo:
    root: Path
    core: Path
    modulefiles: int = 0
    names: int = 0
    name_dirs: int = 0
    defaults_marked: int = 0
    hidden: int = 0
    per_level: Dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        levels = ", ".join(f"{k} {v}" for k, v in sorted(self.per_level.items()))
        return (
            f"{self.modulefiles} modulefiles, {self.names} names in {self.name_dirs} name directories "
            f"({levels}); {self.defaults_marked} marked defaults, {self.hidden} hidden versions"
        )


def _random_name(rng: random.Random, taken: set) -> str:
    while True:
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        roll = rng.random()
        if roll < 0.2:
            stem = "lib" + stem
        elif roll < 0.3:
            stem = "py-" + stem
        elif roll < 0.35:
            stem = stem + "-bundle"
        elif roll < 0.45:
            stem = stem.capitalize()
        if stem not in taken:
            taken.add(stem)
            return stem


def _random_versions(rng: random.Random, count: int) -> List[str]:
    versions: List[str] = []
    suffix = rng.choice(_TOOLCHAIN_SUFFIXES)
    major = rng.randint(0, 9)
    while len(versions) < count:
        major += rng.randint(0, 1)
        version = f"{major}.{rng.randint(0, 20)}.{rng.randint(0, 9)}{suffix}"
        if version not in versions:
            versions.append(version)
    return versions


def _fixed_name_dirs() -> List[NameDir]:
    dirs = [
        NameDir("Core", "gcc", list(GCC_VERSIONS)),
        NameDir("Core", "zlib", ["1.2.12", "1.2.13", "1.3"]),
        NameDir("Core", "python", ["3.10.4-bare", "3.10.4", "3.11.5", "3.12.1"]),
    ]
    for gcc in GCC_VERSIONS:
        dirs.append(NameDir(f"Compiler/gcc/{gcc}", "openmpi", list(OPENMPI_VERSIONS)))
        for ompi in OPENMPI_VERSIONS:
            mpi_level = f"MPI/gcc/{gcc}/openmpi/{ompi}"
            dirs.append(NameDir(mpi_level, "hdf5", ["1.12.2", "1.14.0", "1.14.3"], depends="zlib"))
            dirs.append(NameDir(mpi_level, "netcdf-c", ["4.9.0", "4.9.2"], depends="hdf5"))
    return dirs


def plan_tree(total_files: int = 10_000, seed: int = 20261125) -> List[NameDir]:
    """Name directories holding exactly ``total_files`` modulefiles, ~1,500 names, three levels."""
    rng = random.Random(seed)
    dirs = _fixed_name_dirs()
    taken = {d.name for d in dirs}
    count = sum(len(d.versions) for d in dirs)
    compiler_levels = [f"Compiler/gcc/{g}" for g in GCC_VERSIONS]
    mpi_levels = [f"MPI/gcc/{g}/openmpi/{o}" for g in GCC_VERSIONS for o in OPENMPI_VERSIONS]
    core_names: List[str] = ["zlib", "python"]
    scale = total_files / 10_000
    # Proportions of a typical site: most names in Core, a fifth per compiler, a tenth per MPI.
    plan: List[Tuple[str, int]] = [
        ("Core", int(1000 * scale)),
        ("Compiler", int(350 * scale)),
        ("MPI", int(150 * scale)),
    ]
    while count < total_files:
        for kind, how_many in plan:
            for _ in range(max(1, how_many // 50)):
                if count >= total_files:
                    break
                name = _random_name(rng, taken)
                if kind == "Core":
                    levels = ["Core"]
                    core_names.append(name)
                elif kind == "Compiler":
                    levels = rng.sample(compiler_levels, rng.randint(1, len(compiler_levels)))
                else:
                    levels = rng.sample(mpi_levels, rng.randint(1, 3))
                depends = rng.choice(core_names[:-1]) if kind != "Core" or rng.random() < 0.15 else None
                for level in levels:
                    wanted = min(rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12)), total_files - count)
                    if wanted <= 0:
                        break
                    dirs.append(NameDir(level, name, _random_versions(rng, wanted), depends))
                    count += wanted
    return dirs


def _help_and_whatis(name: str, version: str) -> str:
    description = f"{name} is a library and tool set for scientific computing, version {version}."
    return (
        "help([==[\n\nDescription\n===========\n"
        f"{description}\n\n\nMore information\n================\n"
        f" - Homepage: https://example.org/{name}\n]==])\n\n"
        f"whatis([==[Description: {description}]==])\n"
        f"whatis([==[Homepage: https://example.org/{name}]==])\n"
        f"whatis([==[URL: https://example.org/{name}]==])\n"
    )


def modulefile_text(tree_root: Path, name_dir: NameDir, version: str) -> str:
    """EasyBuild-style Lua modulefile; compilers and MPI extend MODULEPATH (the hierarchy)."""
    name = name_dir.name
    env_name = "".join(c if c.isalnum() else "MINUS" for c in name.upper())
    root = f"/apps/software/{name}/{version}"
    lines = [_help_and_whatis(name, version), f'local root = "{root}"\n']
    if name == "gcc":
        lines.append('family("compiler")\n')
        lines.append(f'prepend_path("MODULEPATH", "{tree_root}/Compiler/gcc/{version}")\n')
    elif name == "openmpi":
        compiler = name_dir.level.split("/")[-1]
        lines.append('family("mpi")\n')
        lines.append(f'prepend_path("MODULEPATH", "{tree_root}/MPI/gcc/{compiler}/openmpi/{version}")\n')
    else:
        lines.append(f'conflict("{name}")\n')
    if name_dir.depends:
        lines.append(f'depends_on("{name_dir.depends}")\n')
    if name == "python" and not version.endswith("-bare"):
        lines.append('extensions("numpy/1.26.4, scipy/1.11.4, mpi4py/3.1.5, pandas/2.1.4")\n')
    lines.append(
        'prepend_path("CMAKE_PREFIX_PATH", root)\n'
        'prepend_path("LD_LIBRARY_PATH", pathJoin(root, "lib"))\n'
        'prepend_path("LIBRARY_PATH", pathJoin(root, "lib"))\n'
        'prepend_path("PATH", pathJoin(root, "bin"))\n'
        'prepend_path("MANPATH", pathJoin(root, "share/man"))\n'
        'prepend_path("PKG_CONFIG_PATH", pathJoin(root, "lib/pkgconfig"))\n'
        f'setenv("EBROOT{env_name}", root)\n'
        f'setenv("EBVERSION{env_name}", "{version}")\n'
        f'setenv("EBDEVEL{env_name}", pathJoin(root, "easybuild/{name}-{version}-easybuild-devel"))\n'
    )
    return "".join(lines)


def _mark_default(directory: Path, name_dir: NameDir, rng: random.Random) -> Tuple[bool, int]:
    """Write the default/hidden markers real sites use; returns (default marked, versions hidden)."""
    versions = name_dir.versions
    if name_dir.name == "gcc":
        (directory / ".modulerc.lua").write_text('module_version("gcc/12.2.0", "default")\n')
        return True, 0
    if len(versions) < 2 or name_dir.name in ("openmpi", "hdf5", "netcdf-c", "zlib"):
        return False, 0
    chosen = versions[rng.randrange(len(versions) - 1)]  # not the highest: the marker must matter
    roll = rng.random()
    if roll < 0.10:
        (directory / ".version").write_text(f'#%Module\nset ModulesVersion "{chosen}"\n')
        return True, 0
    if roll < 0.20:
        (directory / ".modulerc.lua").write_text(f'module_version("{name_dir.name}/{chosen}", "default")\n')
        return True, 0
    if roll < 0.23:
        (directory / "default").symlink_to(f"{chosen}.lua")
        return True, 0
    if roll < 0.26:
        (directory / ".modulerc.lua").write_text(f'hide_version("{name_dir.name}/{versions[0]}")\n')
        return False, 1
    return False, 0


def write_tree(root: Path, total_files: int = 10_000, seed: int = 20261125) -> TreeInfo:
    """Write the planned tree under ``root`` (which must not hold an older tree) and describe it."""
    rng = random.Random(seed + 1)
    root = root.resolve()
    info = TreeInfo(root=root, core=root / "Core")
    names = set()
    for name_dir in plan_tree(total_files, seed):
        directory = root / name_dir.level / name_dir.name
        directory.mkdir(parents=True, exist_ok=True)
        for index, version in enumerate(name_dir.versions):
            # A few old versions are hidden the Lmod way: a leading dot in the file name.
            hidden = index == 0 and len(name_dir.versions) > 4 and rng.random() < 0.1
            filename = f".{version}.lua" if hidden else f"{version}.lua"
            (directory / filename).write_text(modulefile_text(root, name_dir, version))
            info.hidden += hidden
        marked, hidden_count = _mark_default(directory, name_dir, rng)
        info.defaults_marked += marked
        info.hidden += hidden_count
        info.modulefiles += len(name_dir.versions)
        top = name_dir.level.split("/")[0]
        info.per_level[top] = info.per_level.get(top, 0) + len(name_dir.versions)
        info.name_dirs += 1
        names.add(name_dir.name)
    info.names = len(names)
    return info


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write the tree (created)")
    parser.add_argument("--files", type=int, default=10_000, help="number of modulefiles (default 10000)")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    info = write_tree(args.directory, args.files, args.seed)
    print(f"{info.root}: {info.summary()}")
    print(f"export MODULEPATH={info.core}")


if __name__ == "__main__":
    main()
