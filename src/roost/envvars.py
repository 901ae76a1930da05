"""The one registry of environment variables roost reads or writes, with what each means.

docs/reference/environment.md is generated from this table (``python -m roost.envvars``).
"""

from __future__ import annotations

from typing import Dict, NamedTuple


class EnvVar(NamedTuple):
    name: str
    doc: str
    owner: str  # "roost" for ours, "lmod" for Lmod's that roost honours, "slurm", "jupyter" ...


VARIABLES: Dict[str, EnvVar] = {}


def declare(name: str, doc: str, owner: str = "roost") -> str:
    VARIABLES[name] = EnvVar(name, doc, owner)
    return name


ROOST_CONFIG = declare("ROOST_CONFIG", "Path of the user config file (default ~/.config/roost/config.toml).")
ROOST_SITE_CONFIG = declare("ROOST_SITE_CONFIG", "Path of the site config file (default /etc/roost/config.toml).")
ROOST_DATA_DIR = declare(
    "ROOST_DATA_DIR",
    "Where roost keeps its per-user data: envs, job records (default ~/.local/share/roost)."
)
ROOST_CACHE_DIR = declare(
    "ROOST_CACHE_DIR",
    "Where roost keeps caches, such as the module cache (default ~/.cache/roost)."
)
ROOST_MODULE_CACHE = declare("ROOST_MODULE_CACHE", "Set to 'no' to disable the avail/spider cache.")
ROOST_REQUIRE_SERVICES = declare(
    "ROOST_REQUIRE_SERVICES",
    "Test suite only: comma-separated services whose absence fails tests instead of skipping them.",
)
ROOST_MT = declare(
    "_ROOST_MT_",
    "roost's table of loaded modules (base64 of marshal data; written by the module command)."
)
ROOST_ENVS_DIR = declare(
    "ROOST_ENVS_DIR", "Where roost environments live (config envs.dir; default <data dir>/envs)."
)
ROOST_UV_CACHE = declare(
    "ROOST_UV_CACHE", "uv's package cache for roost envs (config envs.uv_cache; default <envs dir>/.cache/uv)."
)
ROOST_PIP_REQUIRE_VIRTUALENV = declare(
    "ROOST_PIP_REQUIRE_VIRTUALENV",
    "'false' stops shell-init exporting PIP_REQUIRE_VIRTUALENV=true (config envs.pip_require_virtualenv).",
)
ROOST_CONDA_CHANNELS = declare(
    "ROOST_CONDA_CHANNELS", "Comma-separated conda channels: names, URLs or directories (config conda.channels)."
)
ROOST_CONDA_PKGS_DIR = declare(
    "ROOST_CONDA_PKGS_DIR", "Conda package cache (config conda.pkgs_dir; default <envs dir>/.cache/conda-pkgs)."
)
ROOST_PACK_DIR = declare(
    "ROOST_PACK_DIR",
    "Node-local directory where jobs mount or stage env start-up images (config pack.node_dir; default $TMPDIR, "
    "else /tmp).",
)
ROOST_PACK_METHOD = declare(
    "ROOST_PACK_METHOD",
    "How jobs use env start-up images: auto, mount, stage or off (config pack.method); `off` at submit time opts "
    "that job out.",
)
ROOST_PACK_AUTO_FILES = declare(
    "ROOST_PACK_AUTO_FILES",
    "Pack envs holding more than this many files automatically after create/install/sync (config "
    "pack.auto_files; 0: never).",
)
ROOST_ENV_IMAGE = declare(
    "ROOST_ENV_IMAGE",
    "Set in a job's task when its env runs from a start-up image: the node-local directory it runs from.",
)
ROOST_ENV = declare("ROOST_ENV", "Name of the active roost environment (set by `roost activate`).")
ROOST_ENV_RESTORE = declare(
    "_ROOST_ENV_RESTORE", "What `roost deactivate` restores (JSON change written by `roost activate`)."
)
PIP_REQUIRE_VIRTUALENV = declare(
    "PIP_REQUIRE_VIRTUALENV", "pip refuses to install outside a virtual environment (set by shell-init).", "pip"
)
VIRTUAL_ENV = declare("VIRTUAL_ENV", "The active virtual environment (set by `roost activate`).", "python")
CONDA_PREFIX = declare(
    "CONDA_PREFIX", "The active conda environment (set by `roost activate` for conda envs).", "conda"
)
ROOST_CONTAINER_RUNTIME = declare(
    "ROOST_CONTAINER_RUNTIME",
    "Container runtime for `roost container add`: auto, apptainer, singularity, charliecloud, podman.",
)
ROOST_CONTAINER_BINDS = declare(
    "ROOST_CONTAINER_BINDS",
    "Colon-separated default container binds: absolute paths or $VARIABLES expanded at run time.",
)
ROOST_JOBS_BACKEND = declare(
    "ROOST_JOBS_BACKEND", "Job backend: slurm or local (default: slurm where sbatch is on PATH, else local)."
)
ROOST_LOCAL_CPUS = declare("ROOST_LOCAL_CPUS", "Cores the local job backend hands out (default: all usable cores).")
ROOST_LOCAL_MEMORY = declare(
    "ROOST_LOCAL_MEMORY", "Memory the local job backend hands out, e.g. 16G (default: physical memory)."
)
ROOST_LOCAL_GPUS = declare(
    "ROOST_LOCAL_GPUS", "GPUs of the local job backend: a count or device ids like 0,1 (default: nvidia-smi -L)."
)
MODULEPATH = declare("MODULEPATH", "Directories searched for modulefiles, in order.", "lmod")
LOADEDMODULES = declare("LOADEDMODULES", "Loaded modules' full names, colon-separated, in load order.", "lmod")
LMFILES = declare("_LMFILES_", "Loaded modules' files, colon-separated, in load order.", "lmod")
LMOD_SYSTEM_DEFAULT_MODULES = declare(
    "LMOD_SYSTEM_DEFAULT_MODULES", "Modules `module reset` loads (colon-separated).", "lmod"
)
LMOD_MODULERCFILE = declare(
    "LMOD_MODULERCFILE",
    "System modulerc files (colon-separated): their defaults, aliases and hiding override the tree's own; "
    "~/.modulerc.lua (or ~/.modulerc) overrides them in turn.", "lmod"
)
MODULERCFILE = declare("MODULERCFILE", "As LMOD_MODULERCFILE.", "lmod")
LMOD_PACKAGE_PATH = declare(
    "LMOD_PACKAGE_PATH",
    "Directories (colon-separated) searched for the site's SitePackage.lua and its require()d Lua modules.", "lmod"
)
LMOD_CONFIG_DIR = declare(
    "LMOD_CONFIG_DIR",
    "A directory whose lmod_config.lua runs before SitePackage.lua: its sandbox_registration{} helpers reach "
    "modulefiles, and a cosmic:assign(\"LMOD_PACKAGE_PATH\", ...) there says where SitePackage.lua is.", "lmod"
)
LMOD_ADMIN_FILE = declare(
    "LMOD_ADMIN_FILE", "The admin.list file: messages shown to users who load the modules it names.", "lmod"
)
LMOD_AVAIL_STYLE = declare(
    "LMOD_AVAIL_STYLE",
    "avail styles, colon-separated, the first the default; a style other than 'system' runs the avail hook.",
    "lmod",
)
LMOD_TERSE_DECORATIONS = declare(
    "LMOD_TERSE_DECORATIONS",
    "'yes' adds Lmod 8.7's <H>/<s>/<F>/<NF> marks to terse avail (default off, as in Lmod 8.6).", "lmod"
)
LMOD_DUPLICATE_PATHS = declare(
    "LMOD_DUPLICATE_PATHS",
    "'yes' keeps repeated entries in path-like variables (each unload takes away the occurrence its module "
    "added); MODULEPATH never repeats.", "lmod"
)
LMOD_TMOD_FIND_FIRST = declare(
    "LMOD_TMOD_FIND_FIRST",
    "'yes': a name's versions (and its default) come from the first MODULEPATH directory that has the name, "
    "as Environment Modules does, instead of the best across all directories.", "lmod"
)
LMOD_DISABLE_SAME_NAME_AUTOSWAP = declare(
    "LMOD_DISABLE_SAME_NAME_AUTOSWAP",
    "'yes': loading another version of a loaded module fails (use `module swap`) instead of replacing it.", "lmod"
)
LMOD_DISABLE_NAME_AUTOSWAP = declare(
    "LMOD_DISABLE_NAME_AUTOSWAP", "Lmod 9.2.6's name for LMOD_DISABLE_SAME_NAME_AUTOSWAP.", "lmod"
)
LMOD_QUARANTINE_VARS = declare(
    "LMOD_QUARANTINE_VARS", "Variables (colon-separated) that module commands never set; unsetting still happens.",
    "lmod"
)
LMOD_PIN_VERSIONS = declare(
    "LMOD_PIN_VERSIONS", "'yes': `module restore` loads the versions a collection saved, not today's defaults.", "lmod"
)
NO_COLOR = declare("NO_COLOR", "Disable colour in output meant for people.", "all")


def markdown() -> str:
    lines = ["# Environment variables", "", "| variable | owner | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{v.name}` | {v.owner} | {v.doc} |" for v in sorted(VARIABLES.values())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
