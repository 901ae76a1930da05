"""One error hierarchy.  The library raises; the CLI renders (``error: ...`` then ``hint: ...``).


    RoostError
    ├── InvalidName                (a variable, alias or function name no shell may see)
    ├── ConfigError
    ├── ModuleError
    │   ├── ModuleNotFound
    │   ├── ModulefileError        (Lua/Tcl error or LmodError in a modulefile)
    │   │   └── ModulefileExit     (os.exit(N) in a modulefile: the command ends with status N)
    │   ├── ModuleConflict
    │   ├── MissingPrereq
    │   └── CollectionError
    ├── EnvError
    ├── ContainerError
    ├── KernelError
    └── JobError
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: `module` is on the hot path
if TYPE_CHECKING:
    from typing import Optional


class RoostError(Exception):
    """An error a user can act on: ``message`` says what went wrong, ``hint`` how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"

    def report(self) -> str:
        """How every command line edge shows the error: ``error:`` and ``hint:`` lines (bytes that are not
        UTF-8, in a path say, shown as ``\\xNN``)."""
        from roost.text import printable

        return f"error: {printable(self.message)}\n" + (f"hint: {printable(self.hint)}\n" if self.hint else "")


class InvalidName(RoostError):
    """A name that is not a shell name; ``name`` is the offending text, ``kind`` says what it names."""

    def __init__(self, name: str, kind: str, hint: str) -> None:
        super().__init__(f"{name!r} is not a valid {kind} name", hint)
        self.name = name
        self.kind = kind


class ConfigError(RoostError):
    pass


class ModuleError(RoostError):
    pass


class ModuleNotFound(ModuleError):
    pass


class ModulefileError(ModuleError):
    pass


class ModulefileExit(ModulefileError):
    """A modulefile called ``os.exit(status)``: as in Lmod, the command changes nothing and exits with ``status``;
    ``said`` holds the messages the modulefiles printed before it."""

    def __init__(self, status: int, message: str, hint: str, said: str = "") -> None:
        super().__init__(message, hint)
        self.status = status
        self.said = said


class RcFileExit(ModulefileExit):
    """A modulerc called Tcl ``exit``: Lmod's process stops with nothing changed and prints no shell code, so
    its ``module`` function reports success; roost does the same (status 0, the file's messages shown)."""

    def __init__(self, path: str, said: str) -> None:
        super().__init__(0, f"the rc file {path} called exit", "nothing was changed", said)


class ModuleConflict(ModuleError):
    pass


class MissingPrereq(ModuleError):
    pass


class CollectionError(ModuleError):
    pass


class EnvError(RoostError):
    pass


class ContainerError(RoostError):
    pass


class KernelError(RoostError):
    pass


class JobError(RoostError):
    pass
