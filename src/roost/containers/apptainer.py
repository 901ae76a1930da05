"""Apptainer and SingularityCE: ``apptainer exec [options] IMAGE CMD ARGS`` on SIF, SquashFS and sandboxes.

Built from the documented command line (https://apptainer.org/docs/user/latest/cli/apptainer_exec.html):
``--bind SRC`` binds SRC at the same path (Apptainer creates the mount point), ``--pwd DIR`` sets the working
directory, ``--nv``/``--rocm`` make NVIDIA/AMD GPUs and their driver libraries visible.  The home directory
is bound by default, so a ``$HOME`` bind adds nothing.  Host variables (PYTHONPATH among them) pass into the
container; with ``--cleanenv`` (or ``--containall``) among the configured options, the extras are set with
``APPTAINERENV_PYTHONPATH`` (``SINGULARITYENV_`` for Singularity) instead.
"""

from __future__ import annotations

from typing import List, Mapping, Tuple

from roost.containers.runtime import PWD, Arg, ExecSpec, ImageKind, Runtime, Workdir, lit
from roost.shell.change import EnvChange

# Options after which no host variable reaches the container.
CLEAN_OPTIONS = frozenset({"--cleanenv", "-e", "--containall", "-C"})
# Options after which Apptainer no longer binds the current directory (nor home, /tmp).
CONTAIN_OPTIONS = frozenset({"--contain", "-c", "--containall", "-C"})


class ApptainerRuntime(Runtime):
    name = "apptainer"
    executables = ("apptainer",)
    kinds = frozenset({ImageKind.SIF, ImageKind.SQUASHFS, ImageKind.DIRECTORY})

    def head(self, spec: ExecSpec) -> List[Arg]:
        words = [lit(self.executable), lit("exec")]
        if spec.gpu:
            words.append(lit(f"--{spec.gpu_flag}"))
        words += [lit(option) for option in spec.options]
        if spec.extras:
            words += [lit("--bind"), lit(spec.extras)]
        return words

    def workdir(self, spec: ExecSpec, environ: Mapping[str, str]) -> Workdir:
        # Apptainer binds the current directory itself (and creates mount points); --pwd enters it.  With
        # --contain it binds nothing, so roost binds it.
        if CONTAIN_OPTIONS & set(spec.options):
            return Workdir((lit("--bind"), PWD, lit("--pwd"), PWD))
        return Workdir((lit("--pwd"), PWD))

    def bind(self, source: Arg) -> List[Arg]:
        return [lit("--bind"), source]

    def tail(self, spec: ExecSpec, command: str) -> List[Arg]:
        return [lit(spec.image), lit(command)]

    def environment(self, spec: ExecSpec) -> EnvChange:
        change = super().environment(spec)
        if spec.extras_inside and CLEAN_OPTIONS & set(spec.options):
            # A clean environment drops host variables; <PREFIX>ENV_NAME is how Apptainer sets one inside.
            prefix = self.name.upper() + "ENV_"
            change.set(prefix + "PYTHONPATH", spec.extras_inside).set(prefix + "PIP_TARGET", spec.extras_inside)
        return change

    def binds_for(self, spec: ExecSpec, environ: Mapping[str, str]) -> Tuple[Arg, ...]:
        return tuple(bind for bind in spec.binds if bind.refs != ["HOME"])


class SingularityRuntime(ApptainerRuntime):
    """SingularityCE (and Singularity before the rename) takes the same exec options."""

    name = "singularity"
    executables = ("singularity",)
