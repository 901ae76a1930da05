"""conda kind: packages from conda channels through py-rattler (no conda installation needed).

Channels and the package cache come from the config (``conda.channels``, ``conda.pkgs_dir``) or
``--channel``; a channel may be a name (conda-forge), a URL, or a local directory (a mirror on an
air-gapped cluster).  Files are installed into the staging directory with the final prefix patched into
them (rattler's ``alternative_target_prefix``), so the rename at the end leaves a working env.
``--external-mpi`` pins the MPI package to its ``external_*`` build, so the site's MPI module is used.
"""

from __future__ import annotations

import asyncio
import json
import os
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
                raise EnvError(
                    f"conda channel directory {channel} does not exist", "check conda.channels or --channel"
                )
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


def _spec_name(spec: str) -> str:
    for separator in (" ", "=", "<", ">", "!", "~", "["):
        spec = spec.split(separator, 1)[0]
    return spec.strip().lower()


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


class CondaKind(EnvKind):
    name = "conda"
    needs_python = False  # python, if wanted, is a package from the channel
    export_suffix = ".yml"

    def python(self, prefix: Path) -> Path:
        return prefix / "bin" / "python"

    def _channels(self, options: Mapping[str, Any], config: Config) -> List[str]:
        channels = list(options.get("channels") or config.conda.channels)
        if not channels:
            raise EnvError(
                "no conda channel is configured", "pass --channel, or set conda.channels in the config"
            )
        return channels

    def _solve(self, channels: List[str], specs: List[str], locked: Sequence[Any] = ()) -> List[Any]:
        import rattler

        gateway = rattler.Gateway(cache_dir=None)
        try:
            platforms: List[Any] = [str(rattler.Platform.current()), "noarch"]
            records: List[Any] = _run(
                rattler.solve(
                    channel_urls(channels),
                    specs,
                    gateway=gateway,
                    platforms=platforms,
                    locked_packages=list(locked) or None,
                    virtual_packages=rattler.VirtualPackage.detect(),
                )
            )
            return records
        except EnvError:
            raise
        except Exception as exc:  # rattler raises its own exception types per failure
            raise _conda_error("solving the conda packages", exc) from None

    def _install(
        self,
        records: List[Any],
        target: Path,
        final_prefix: Path,
        config: Config,
        installed: Sequence[Any] = (),
    ) -> None:
        import rattler

        config.conda.pkgs_dir.mkdir(parents=True, exist_ok=True)
        try:
            _run(
                rattler.install(
                    records,
                    target_prefix=str(target),
                    cache_dir=config.conda.pkgs_dir,
                    show_progress=False,
                    installed_packages=list(installed) or None,
                    alternative_target_prefix=None if target == final_prefix else str(final_prefix),
                )
            )
        except Exception as exc:
            raise _conda_error("installing the conda packages", exc) from None

    def build(self, spec: BuildSpec) -> BuildResult:
        channels = self._channels(spec.options, spec.config)
        requested = list(spec.packages)
        if spec.lock_text is not None:
            specs = [line.strip() for line in spec.lock_text.splitlines() if line.strip()]
        else:
            specs = (
                with_external_mpi(requested, spec.config.conda.mpi)
                if spec.options.get("external_mpi")
                else requested
            )
        if not specs:
            raise EnvError("a conda env needs at least one package", "name packages, e.g. `python numpy`")
        spec.progress(f"solving {len(specs)} spec(s) from {', '.join(channels)}")
        records = self._solve(channels, specs)
        spec.progress(f"installing {len(records)} conda package(s)")
        self._install(records, spec.build_dir, spec.prefix, spec.config)
        kind_data: Dict[str, Any] = {
            "channels": channels,
            "external_mpi": bool(spec.options.get("external_mpi")),
        }
        return BuildResult(lock=[_locked(r) for r in records], requested=requested, kind_data=kind_data)

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
        requested = list(manifest.requested) + [p for p in packages if p not in manifest.requested]
        specs = (
            with_external_mpi(requested, config.conda.mpi)
            if manifest.kind_data.get("external_mpi")
            else requested
        )
        installed = self._prefix_records(prefix)
        progress(f"solving {len(specs)} spec(s)")
        # Installed records passed as 'locked' keep their versions unless the new packages need others.
        records = self._solve(channels, specs, locked=installed)
        progress(f"installing into {prefix}")
        self._install(records, prefix, prefix, config, installed=installed)
        return BuildResult(
            lock=[_locked(r) for r in records], requested=requested, kind_data=manifest.kind_data
        )

    def sync(
        self, prefix: Path, manifest: Manifest, environ: Mapping[str, str], config: Config, progress: Progress
    ) -> None:
        channels = list(manifest.kind_data.get("channels") or config.conda.channels)
        progress("restoring the locked packages")
        records = self._solve(channels, [p.pin() for p in manifest.lock])
        self._install(records, prefix, prefix, config, installed=self._prefix_records(prefix))

    def _prefix_records(self, prefix: Path) -> List[Any]:
        import rattler

        meta = prefix / "conda-meta"
        if not meta.is_dir():
            return []
        return [rattler.PrefixRecord.from_path(p) for p in sorted(meta.glob("*.json"))]

    def installed(self, prefix: Path, environ: Mapping[str, str], config: Config) -> List[LockedPackage]:
        result = []
        for path in sorted((prefix / "conda-meta").glob("*.json")):
            data = json.loads(path.read_text())
            result.append(
                LockedPackage(
                    name=data["name"],
                    version=data["version"],
                    build=data.get("build", ""),
                    hashes=[data["sha256"]] if data.get("sha256") else [],
                    url=data.get("url", ""),
                )
            )
        return result

    def activate(self, prefix: Path, manifest: Manifest, change: EnvChange) -> None:
        change.set("CONDA_PREFIX", str(prefix))
        change.set("CONDA_DEFAULT_ENV", manifest.name)
        change.prepend_path("PATH", str(prefix / "bin"))
        change.unset("PYTHONHOME")
        # pip inside a conda env is legitimate; the shell-wide guard is for bare ~/.local installs.
        change.unset("PIP_REQUIRE_VIRTUALENV")

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


def _locked(record: Any) -> LockedPackage:
    sha = record.sha256.hex() if getattr(record, "sha256", None) else ""
    return LockedPackage(
        name=record.name.normalized,
        version=str(record.version),
        build=str(record.build),
        hashes=[sha] if sha else [],
        url=str(record.url),
    )


def _conda_error(what: str, exc: BaseException) -> EnvError:
    text = str(exc).strip()
    lowered = text.lower()
    if "cannot solve" in lowered or "no candidates" in lowered or "nothing provides" in lowered:
        hint = "check the package names and versions exist in the channels (conda.channels or --channel)"
    elif "could not find subdir" in lowered or "repodata" in lowered:
        hint = "the channel has no index: check its URL or directory (index a mirror with rattler-index)"
    else:
        hint = "check the channels and the network, then run the command again"
    return EnvError(f"{what} failed: {text[-1500:]}", hint)


KIND = CondaKind()
