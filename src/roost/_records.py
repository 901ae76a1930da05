"""Record types without their import cost: a class-syntax ``NamedTuple`` without ``typing`` (milliseconds on
every `activate`) and a ``dataclass`` without ``dataclasses`` (on `roost submit`'s path).

Used only at run time; type checkers see ``typing.NamedTuple`` and ``dataclasses.dataclass`` (``if
TYPE_CHECKING`` in the importing module).  Fields come from the class annotations, defaults from class
attributes, methods are kept.
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
# A ``dataclass`` without importing ``dataclasses`` (which imports ``inspect``: ~8 ms on `roost submit`'s
# path).  The subset roost's job types use: fields from annotations, defaults, ``field(default_factory=)``,
# ``frozen``, ``__post_init__``, ``__eq__``/``__repr__``/``__hash__`` as dataclasses makes them.  Type
# checkers see the real ``dataclasses.dataclass`` (``if TYPE_CHECKING`` in the importing module).

_MISSING: Any = object()


class FrozenInstanceError(AttributeError):
    pass


class _Field:
    __slots__ = ("default", "default_factory")

    def __init__(self, default: Any, default_factory: Any) -> None:
        self.default = default
        self.default_factory = default_factory


def field(*, default=_MISSING, default_factory=_MISSING):  # type: ignore[no-untyped-def]
    return _Field(default, default_factory)


def dataclass(cls=None, *, frozen=False):  # type: ignore[no-untyped-def]
    def wrap(cls):  # type: ignore[no-untyped-def]
        return _make_record(cls, frozen)

    return wrap if cls is None else wrap(cls)


def field_names(cls_or_instance) -> tuple:  # type: ignore[no-untyped-def]
    """The field names of a record class (or instance), in declaration order."""
    return tuple(name for name, _, _ in cls_or_instance.__record_fields__)


def replace(instance, **changes):  # type: ignore[no-untyped-def]
    values = {name: getattr(instance, name) for name in field_names(instance)}
    values.update(changes)
    return type(instance)(**values)


def asdict(instance) -> dict:  # type: ignore[no-untyped-def]
    """Fields as a dict, records inside converted too (as dataclasses.asdict)."""
    return {name: _plain(getattr(instance, name)) for name in field_names(instance)}


def _plain(value):  # type: ignore[no-untyped-def]
    if hasattr(type(value), "__record_fields__"):
        return asdict(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _make_record(cls, frozen):  # type: ignore[no-untyped-def]
    specs = []
    # Own annotations only (3.9 returns a base class's from cls.__annotations__); get_annotations needs inspect.
    annotations = cls.__dict__.get("__annotations__") or {}  # noqa: RUF063
    for name, annotation in annotations.items():
        if str(annotation).startswith(("ClassVar", "typing.ClassVar")):
            continue
        default, factory = cls.__dict__.get(name, _MISSING), _MISSING
        if isinstance(default, _Field):
            declared: _Field = default
            default, factory = declared.default, declared.default_factory
            if default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, default)
        specs.append((name, default, factory))
    names = [name for name, _, _ in specs]
    post_init = getattr(cls, "__post_init__", None)

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
        values = dict(zip(names, args))
        for key in kwargs:
            if key in values or key not in names:
                raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {key!r}")
        values.update(kwargs)
        for name, default, factory in specs:
            if name in values:
                value = values[name]
            elif factory is not _MISSING:
                value = factory()
            elif default is not _MISSING:
                value = default
            else:
                raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
            object.__setattr__(self, name, value)
        if post_init is not None:
            post_init(self)

    def __repr__(self):  # type: ignore[no-untyped-def]
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{cls.__qualname__}({inner})"

    def __eq__(self, other):  # type: ignore[no-untyped-def]
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in names)

    cls.__record_fields__ = tuple(specs)
    cls.__init__ = __init__
    cls.__repr__ = __repr__
    cls.__eq__ = __eq__
    if frozen:
        cls.__hash__ = lambda self: hash(tuple(getattr(self, name) for name in names))
        cls.__setattr__ = _refuse_change
        cls.__delattr__ = _refuse_change
    else:
        cls.__hash__ = None  # mutable and compared by value: unhashable, as dataclasses makes it
    return cls


def _refuse_change(self, name, *value):  # type: ignore[no-untyped-def]
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


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
