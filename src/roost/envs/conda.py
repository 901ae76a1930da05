"""conda kind: packages from conda channels through py-rattler (no conda installation needed).

Channels and the package cache come from the config (``conda.channels``, ``conda.pkgs_dir``) or
``--channel``; a channel may be a name (conda-forge), a URL, or a local directory (a mirror on an
air-gapped cluster).  Files are installed into the staging directory with the final prefix patched into
them (rattler's ``alternative_target_prefix``), so the rename at the end leaves a working env.
``--external-mpi`` pins the MPI package to its ``external_*`` build, so the site's MPI module is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from roost.config import Config
from roost.envs.kinds import BuildResult, BuildSpec, EnvKind, Progress
from roost.envs.manifest import LockedPackage, Manifest
from roost.errors import EnvError
from roost.shell.change import EnvChange

MPI_PACKAGES = ("mpich", "openmpi", "impi_rt", "mvapich")


def channel_urls(channels: Sequence[str]) -> List[str]:
    """Local directories become file:// URLs; names and URLs pass through."""
    result = []
    for channel in channels:
        path = Path(os.path.expanduser(channel))
        if channel.startswith(("/", "~", ".")) or path.is_dir():
            if not path.is_dir():
                raise EnvError(f"conda channel directory {channel} does not exist", "check conda.channels or --channel")
            result.append(path.resolve().as_uri())
        else:
            result.append(channel)
    return result


def with_external_mpi(specs: List[str], default_mpi: str) -> List[str]:
    """Pin the MPI implementation to its ``external_*`` build (a stub that uses the site's MPI module)."""
    names = {_spec_name(s) for s in specs}
    mpi = next((n for n in MPI_PACKAGES if n in names), default_mpi)
    kept = [s for s in specs if _spec_name(s) != mpi]
    return [*kept, f"{mpi} * external_*"]


def exact_spec(pin: str) -> str:
    """environment.yml's ``name=version=build`` as a match spec rattler parses: ``name ==version build``."""
    parts = pin.strip().split("=")
    if len(parts) == 3 and all(parts):
        return f"{parts[0]} =={parts[1]} {parts[2]}"
    return pin.strip()


def _spec_name(spec: str) -> str:
    for separator in (" ", "=", "<", ">", "!", "~", "["):
        spec = spec.split(separator, 1)[0]
    return spec.strip().lower()


def run_worker(request: Dict[str, Any]) -> List[Dict[str, str]]:
    """Solve and install in a child (see roost.envs.rattler_worker for why)."""
    import importlib.util

    from roost.envs.venv import tied_to_this_process

    if importlib.util.find_spec("rattler") is None:
        raise EnvError(
            f"conda environments need py-rattler, which is not installed (this is Python {sys.version.split()[0]})",
            "py-rattler needs Python 3.10 or later: run roost there, or create a venv env (--kind venv)",
        )

    process = subprocess.run(
        [sys.executable, "-m", "roost.envs.rattler_worker"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        preexec_fn=tied_to_this_process(),
    )
    try:
        answer = json.loads(process.stdout)
    except ValueError:
        raise _conda_error(
            "the conda solver", f"it stopped (exit {process.returncode}): {process.stderr[-800:]}"
        ) from None
    if not answer.get("ok"):
        raise _conda_error("solving and installing the conda packages", str(answer.get("error")))
    records: List[Dict[str, str]] = answer["records"]
    return records


class CondaKind(EnvKind):
    name = "conda"
    needs_python = False  # python, if wanted, is a package from the channel
    export_suffix = ".yml"

    def python(self, prefix: Path) -> Path:
        return prefix / "bin" / "python"

    def _channels(self, options: Mapping[str, Any], config: Config) -> List[str]:
        channels = list(options.get("channels") or config.conda.channels)
        if not channels:
            raise EnvError("no conda channel is configured", "pass --channel, or set conda.channels in the config")
        return channels

    def _apply(
        self,
        channels: List[str],
        specs: List[str],
        target: Path,
        final_prefix: Path,
        config: Config,
        keep_installed: bool,
    ) -> List[LockedPackage]:
        records = run_worker(
            {
                "channels": channel_urls(channels),
                "specs": specs,
                "target": str(target),
                "final_prefix": str(final_prefix),
                "pkgs_dir": str(config.conda.pkgs_dir),
                "keep_installed": keep_installed,
            }
        )
        return sorted((_locked(r) for r in records), key=lambda p: p.name)

    def build(self, spec: BuildSpec) -> BuildResult:
        channels = self._channels(spec.options, spec.config)
        requested = list(spec.packages)
        if spec.lock_text is not None:
            specs = [exact_spec(line) for line in spec.lock_text.splitlines() if line.strip()]
        elif spec.options.get("external_mpi"):
            specs = with_external_mpi(requested, spec.config.conda.mpi)
        else:
            specs = requested
        if not specs:
            raise EnvError("a conda env needs at least one package", "name packages, e.g. `python numpy`")
        spec.progress(f"solving and installing {len(specs)} spec(s) from {', '.join(channels)}")
        lock = self._apply(channels, specs, spec.build_dir, spec.prefix, spec.config, keep_installed=False)
        kind_data: Dict[str, Any] = {
            "channels": channels,
            "external_mpi": bool(spec.options.get("external_mpi")),
        }
        return BuildResult(lock=lock, requested=requested, kind_data=kind_data)

    def install(
        self,
        prefix: Path,
        manifest: Manifest,
        packages: List[str],
        environ: Mapping[str, str],
        config: Config,
        progress: Progress,
    ) -> BuildResult:
        channels = list(manifest.kind_data.get("channels") or config.conda.channels)
        requested = manifest.requested_with(packages)
        specs = requested
        if manifest.kind_data.get("external_mpi"):
            specs = with_external_mpi(requested, config.conda.mpi)
        progress(f"solving and installing {len(specs)} spec(s)")
        lock = self._apply(channels, specs, prefix, prefix, config, keep_installed=True)
        return BuildResult(lock=lock, requested=requested, kind_data=manifest.kind_data)

    def sync(
        self, prefix: Path, manifest: Manifest, environ: Mapping[str, str], config: Config, progress: Progress
    ) -> None:
        channels = list(manifest.kind_data.get("channels") or config.conda.channels)
        progress("restoring the locked packages")
        self._apply(
            channels,
            [exact_spec(p.pin()) for p in manifest.lock],
            prefix,
            prefix,
            config,
            keep_installed=True,
        )

    def installed(self, prefix: Path, environ: Mapping[str, str], config: Config) -> List[LockedPackage]:
        result = []
        for path in sorted((prefix / "conda-meta").glob("*.json")):
            data = json.loads(path.read_text())
            result.append(_locked(data))
        return result

    def activate(self, prefix: Path, manifest: Manifest, change: EnvChange) -> None:
        from roost.envs.activation import activate_conda

        activate_conda(str(prefix), manifest.name, change)

    def export_text(self, prefix: Path, manifest: Manifest) -> str:
        lines = [f"# roost-module: {m.fullname}" for m in manifest.modules]
        lines += [f"# roost-modulepath: {p}" for p in manifest.modulepath]
        lines += [f"# roost-requested: {r}" for r in manifest.requested]
        if manifest.kind_data.get("external_mpi"):
            lines.append("# roost-external-mpi: true")
        lines += [f"name: {manifest.name}", "channels:"]
        lines += [f"  - {c}" for c in manifest.kind_data.get("channels", [])]
        lines.append("dependencies:")
        lines += [f"  - {p.name}={p.version}={p.build}" for p in manifest.lock]
        return "\n".join(lines) + "\n"


def _locked(record: Mapping[str, Any]) -> LockedPackage:
    sha = str(record.get("sha256") or "")
    return LockedPackage(
        name=str(record["name"]),
        version=str(record["version"]),
        build=str(record.get("build", "")),
        hashes=[sha] if sha else [],
        url=str(record.get("url", "")),
    )


def _conda_error(what: str, error: str) -> EnvError:
    text = error.strip()
    lowered = text.lower()
    if "cannot solve" in lowered or "no candidates" in lowered or "nothing provides" in lowered:
        hint = "check the package names and versions exist in the channels (conda.channels or --channel)"
    elif "could not find subdir" in lowered or "repodata" in lowered:
        hint = "the channel has no index: check its URL or directory (index a mirror with rattler-index)"
    else:
        hint = "check the channels and the network, then run the command again"
    return EnvError(f"{what} failed: {text[-1500:]}", hint)


KIND = CondaKind()
