"""Record types without their import cost, for the two hot paths only (`module`, `roost activate`): a
class-syntax ``NamedTuple`` without ``typing`` and an ``Enum`` without ``enum`` (BENCHMARKS.md, "What the
import-light layer saves", has the milliseconds).  Everything else in roost uses the real ones.

Used only at run time; type checkers see ``typing.NamedTuple`` and ``enum.Enum`` (``if TYPE_CHECKING`` in the
importing module).  Fields come from the class annotations, defaults from class attributes, methods are kept.
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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


# ---------------------------------------------------------------------------------------------------------
# An ``Enum`` without importing ``enum`` (~4 ms on `module load`'s and `roost submit`'s paths).  Members come
# from the UPPER_CASE class attributes; ``Cls(value)`` returns the member (ValueError otherwise), members
# have ``.name`` and ``.value``, compare by identity (a ``str`` mixin compares as its value, as with enum)
# and pickle by value.  Type checkers see ``enum.Enum`` (``if TYPE_CHECKING`` in the importing module).


class Enum:
    _name_: str
    _value_: Any
    _members_: dict

    def __init_subclass__(cls, **options: Any) -> None:
        super().__init_subclass__(**options)
        cls._members_ = {}
        for name, value in list(cls.__dict__.items()):
            if not name.isupper() or name.startswith("_") or callable(value) or isinstance(value, property):
                continue
            member = str.__new__(cls, value) if issubclass(cls, str) else object.__new__(cls)  # type: ignore[call-overload]
            member._name_, member._value_ = name, value
            setattr(cls, name, member)
            cls._members_[value] = member
        # On the subclass itself: a str mixin's __new__ would otherwise come first in the MRO.
        cls.__new__ = _member_of  # type: ignore[method-assign,assignment]

    @property
    def name(self) -> str:
        return self._name_

    @property
    def value(self) -> Any:
        return self._value_

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self._name_}: {self._value_!r}>"

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"

    def __reduce__(self) -> tuple:
        return type(self), (self._value_,)


def _member_of(cls, value):  # type: ignore[no-untyped-def]
    if type(value) is cls:
        return value
    try:
        return cls._members_[value]
    except (KeyError, TypeError):
        raise ValueError(f"{value!r} is not a valid {cls.__name__}") from None
