"""A class-syntax ``NamedTuple`` without importing ``typing`` (milliseconds on every `activate`).

Used only at run time; type checkers see ``typing.NamedTuple`` (``if TYPE_CHECKING`` in the importing module).
Fields come from the class annotations, defaults from class attributes, methods are kept.
"""

from __future__ import annotations

import collections

_SKIP = {"__annotations__", "__module__", "__qualname__", "__dict__", "__weakref__", "__doc__"}


class _NamedTupleMeta(type):
    def __new__(mcls, name, bases, namespace):  # type: ignore[no-untyped-def]
        if not bases:
            return super().__new__(mcls, name, bases, namespace)
        fields = list(namespace.get("__annotations__", {}))
        defaults = [namespace[field] for field in fields if field in namespace]
        base = collections.namedtuple(name, fields, defaults=defaults or None)  # type: ignore[misc]
        members = {k: v for k, v in namespace.items() if k not in _SKIP and k not in fields}
        members.update(__slots__=(), __module__=namespace.get("__module__"), __doc__=namespace.get("__doc__"))
        return type(name, (base,), members)


class NamedTuple(metaclass=_NamedTupleMeta):
    pass
