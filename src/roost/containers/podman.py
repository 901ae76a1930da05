"""Podman: ``podman run --rm -i [options] IMAGE CMD ARGS`` on directory images (``--rootfs``) and images in
Podman's own store (named, e.g. ``localhost/pytorch:2.7``).

From the documented command line (https://docs.podman.io/en/latest/markdown/podman-run.1.html):
``-v SRC:SRC`` binds at the same path (Podman creates the mount point), ``-w DIR`` sets the working
directory, ``--env NAME`` passes one host variable (Podman passes none by default; roost passes PYTHONPATH
and PIP_TARGET), ``--device nvidia.com/gpu=all`` exposes NVIDIA GPUs through CDI; ``--network=host`` and
``--volume=/tmp:/tmp`` share the host's network and /tmp as Apptainer and Charliecloud do.  Unprivileged
users get ``--userns=keep-id`` so files written to binds stay theirs.
"""

from __future__ import annotations

import os
from typing import List, Mapping

from roost.containers.runtime import PWD, Arg, ExecSpec, ImageKind, Runtime, Workdir, lit

GPU_DEVICES = {"nv": "nvidia.com/gpu=all", "rocm": "/dev/kfd"}


class PodmanRuntime(Runtime):
    name = "podman"
    executables = ("podman",)
    kinds = frozenset({ImageKind.DIRECTORY, ImageKind.REFERENCE})
    tty_options = ("-t",)

    def head(self, spec: ExecSpec) -> List[Arg]:
        # Global options (e.g. --runtime runc) come before `run`; the settings' podman_options are global.
        words = [lit(self.executable)] + [lit(option) for option in spec.options]
        # Host networking and the host's /tmp, as Apptainer and Charliecloud have: Jupyter kernels talk to
        # the host on 127.0.0.1 and often find their connection file in /tmp.
        words += [lit("run"), lit("--rm"), lit("-i"), lit("--network=host"), lit("--volume=/tmp:/tmp"),
                  lit("--env=PYTHONPATH"), lit("--env=PIP_TARGET")]
        if os.getuid() != 0:
            words.append(lit("--userns=keep-id"))
        if spec.gpu:
            words.append(lit(f"--device={GPU_DEVICES[spec.gpu_flag]}"))
        if spec.extras:
            words.append(lit(f"--volume={spec.extras}:{spec.extras}"))
        return words

    def workdir(self, spec: ExecSpec, environ: Mapping[str, str]) -> Workdir:
        # The caller's directory, bound and entered at its own path (Podman creates the mount point), so
        # relative and absolute paths mean the same inside.
        return Workdir((Arg.of("--volume=", *PWD.parts, ":", *PWD.parts), Arg.of("--workdir=", *PWD.parts)))

    def bind(self, source: Arg) -> List[Arg]:
        return [Arg.of("--volume=", *source.parts, ":", *source.parts)]

    def tail(self, spec: ExecSpec, command: str) -> List[Arg]:
        # ":O" mounts the directory through an overlay, so the container never writes into the image.
        rootfs = [lit("--rootfs"), lit(f"{spec.image}:O")]
        image = rootfs if spec.kind is ImageKind.DIRECTORY else [lit(spec.image)]
        return [*image, lit(command)]
