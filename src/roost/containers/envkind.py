"""The ``container`` environment kind: an env whose python is a container image's, plus pip-installed extras.

``roost env create NAME --image IMAGE [PKG...]`` (kind ``container``, option ``image``) builds a prefix with

    bin/      wrappers (python, pip, ...) that run inside the image, as `roost container add` writes them
    extras/   packages installed with the image's pip (``--target``), on PYTHONPATH inside the container

so ``roost run -e NAME``, ``roost submit -e NAME`` and ``roost kernel install --env NAME`` use the image's
Python through the wrappers without knowing about containers.  Options (``BuildSpec.options``): ``image``
(required), ``runtime``, ``gpu``, ``binds`` (extra binds), ``commands``.
"""

from __future__ import annotations

import dataclasses
import email.parser
from pathlib import Path
from typing import Any, List, Mapping, Sequence

from roost.config import Config
from roost.containers import api
from roost.containers.runtime import ImageKind, load_settings
from roost.envs.kinds import BuildResult, BuildSpec, EnvKind, Progress
from roost.envs.manifest import LockedPackage, Manifest
from roost.errors import ContainerError, EnvError
from roost.shell.change import EnvChange

EXPORT_HEADER = "# roost environment (container kind): `roost env import` recreates it"


def installed_in(extras: Path) -> List[LockedPackage]:
    """Packages in a ``pip --target`` directory, read from their metadata (no container start needed)."""
    packages = []
    for metadata in sorted(extras.glob("*.dist-info/METADATA")):
        headers = email.parser.Parser().parsestr(metadata.read_text(errors="replace"), headersonly=True)
        if headers.get("Name") and headers.get("Version"):
            packages.append(LockedPackage(name=headers["Name"], version=headers["Version"]))
    return packages


def _pins(lock_text: str) -> List[str]:
    return [line.strip() for line in lock_text.splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "-"))]


def _container(manifest: Manifest) -> api.Container:
    try:
        return api.Container.from_json(manifest.kind_data["container"])
    except (KeyError, TypeError) as exc:
        raise EnvError(f"environment {manifest.name} has no container record ({exc})",
                       f"recreate it: roost env remove {manifest.name}; roost env create --image") from None


def _pip(container: api.Container, args: Sequence[str], environ: Mapping[str, str]) -> None:
    try:
        api.run_pip(container, args, capture=True, environ=environ)
    except ContainerError as exc:
        raise EnvError(exc.message, exc.hint) from None


class ContainerKind(EnvKind):
    name = "container"
    needs_python = False

    def build(self, spec: BuildSpec) -> BuildResult:
        image = spec.options.get("image")
        if not image:
            raise EnvError("a container environment needs an image",
                           "pass --image IMAGE (SIF, SquashFS or a directory)")
        settings = load_settings(spec.environ)
        spec.progress(f"looking inside {image}")
        try:
            final, runtime, _ = api.plan(
                spec.name, "env", str(image), runtime=str(spec.options.get("runtime") or settings.runtime),
                gpu=bool(spec.options.get("gpu")), commands=list(spec.options.get("commands") or ()),
                binds=list(settings.all_binds()) + list(spec.options.get("binds") or ()), extras=None,
                settings=settings, environ=spec.environ, root=spec.prefix,
            )
            api.write_wrappers(final, runtime, spec.build_dir / "bin", spec.environ)
            build_extras = spec.build_dir / "extras"
            build_extras.mkdir()
            # Packages go in while the env is still in its build directory, so bind that directory.
            building = dataclasses.replace(
                final, root=str(spec.build_dir), extras=str(build_extras),
                extras_inside=runtime.extras_inside(ImageKind(final.kind), final.image, str(build_extras),
                                                    spec.environ),
            )
        except ContainerError as exc:
            raise EnvError(exc.message, exc.hint) from None
        pins = _pins(spec.lock_text) if spec.lock_text else []
        if pins:  # `roost env import`: exactly the recorded versions
            spec.progress(f"installing {len(pins)} locked packages with the image's pip")
            _pip(building, ["install", "--no-deps", *pins], spec.environ)
        elif spec.packages:
            spec.progress(f"installing {' '.join(spec.packages)} with the image's pip")
            _pip(building, ["install", *spec.packages], spec.environ)
        return BuildResult(lock=installed_in(build_extras), requested=list(spec.packages),
                           kind_data={"container": final.to_json()})

    def install(self, prefix: Path, manifest: Manifest, packages: List[str], environ: Mapping[str, str],
                config: Config, progress: Progress) -> BuildResult:
        progress(f"installing {' '.join(packages)} with the image's pip")
        _pip(_container(manifest), ["install", *packages], environ)
        requested = list(dict.fromkeys([*manifest.requested, *packages]))
        return BuildResult(lock=installed_in(prefix / "extras"), requested=requested,
                           kind_data=manifest.kind_data)

    def sync(self, prefix: Path, manifest: Manifest, environ: Mapping[str, str], config: Config,
             progress: Progress) -> None:
        if manifest.lock:
            progress("reinstalling the locked packages")
            pins = [package.pin() for package in manifest.lock]
            _pip(_container(manifest), ["install", "--upgrade", "--no-deps", *pins], environ)

    def installed(self, prefix: Path, environ: Mapping[str, str], config: Config) -> List[LockedPackage]:
        return installed_in(prefix / "extras")

    def activate(self, prefix: Path, manifest: Manifest, change: EnvChange) -> None:
        change.prepend_path("PATH", str(prefix / "bin"))

    def python(self, prefix: Path) -> Path:
        return prefix / "bin" / "python"

    def export_text(self, prefix: Path, manifest: Manifest) -> str:
        container = _container(manifest)
        header = [EXPORT_HEADER, f"# roost-name: {manifest.name}", f"# roost-kind: {manifest.kind}",
                  f"# roost-image: {container.image}", f"# roost-runtime: {container.runtime}"]
        header += [f"# roost-requested: {r}" for r in manifest.requested]
        return "\n".join(header) + "\n" + "".join(p.pin() + "\n" for p in manifest.lock)

    def adopt(self, prefix: Path, environ: Mapping[str, str], config: Config) -> BuildResult:
        raise EnvError("container environments cannot be adopted", "create one with roost env create --image")


KIND: Any = ContainerKind()
