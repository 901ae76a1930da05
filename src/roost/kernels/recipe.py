"""What roost's launcher re-applies every time a kernel starts (stored in kernel.json under metadata.roost).

A plain class, not a dataclass: the launcher imports this on every kernel start, and ``dataclasses`` (with
``inspect``) costs several milliseconds there for nothing.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

RECIPE_KEY = "roost"
RECIPE_VERSION = 1


class Recipe:
    """In this order: load ``modules`` (full versions), activate ``env``, set ``variables``, exec ``python``."""

    __slots__ = ("env", "env_path", "modulepath", "modules", "name", "python", "variables")

    def __init__(
        self,
        name: str,
        python: str,
        modules: Optional[List[str]] = None,
        modulepath: Optional[str] = None,
        env: Optional[str] = None,
        env_path: Optional[str] = None,
        variables: Optional[Dict[str, str]] = None,
    ) -> None:
        self.name = name
        self.python = python
        self.modules: List[str] = list(modules or [])
        self.modulepath = modulepath
        self.env = env
        self.env_path = env_path
        self.variables: Dict[str, str] = dict(variables or {})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Recipe) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"Recipe({self.to_json()!r})"

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"version": RECIPE_VERSION, "name": self.name, "python": self.python}
        if self.modules:
            data["modules"] = list(self.modules)
            data["modulepath"] = self.modulepath
        if self.env:
            data["env"] = self.env
            data["env_path"] = self.env_path
        if self.variables:
            data["variables"] = dict(self.variables)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recipe:
        return cls(
            name=str(data["name"]),
            python=str(data["python"]),
            modules=[str(m) for m in data.get("modules", [])],
            modulepath=data.get("modulepath"),
            env=data.get("env"),
            env_path=data.get("env_path"),
            variables={str(k): str(v) for k, v in data.get("variables", {}).items()},
        )
