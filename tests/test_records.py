"""roost._records.dataclass behaves as dataclasses.dataclass for what roost's job types use."""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Tuple

import pytest

from roost import _records


def _define(decorate: Any, frozen: bool) -> Any:
    @decorate(frozen=frozen)
    class Record:
        name: str
        count: int = 1
        tags: Tuple[str, ...] = ()
        items: List[int] = (dataclasses.field if decorate is dataclasses.dataclass else _records.field)(
            default_factory=list
        )
        note: Optional[str] = None

        def __post_init__(self) -> None:
            if self.count < 0:
                raise ValueError("negative count")

        @property
        def label(self) -> str:
            return f"{self.name}:{self.count}"

    return Record


@pytest.mark.parametrize("frozen", [True, False])
def test_same_behaviour_as_dataclasses(frozen: bool) -> None:
    real, light = _define(dataclasses.dataclass, frozen), _define(_records.dataclass, frozen)
    for cls in (real, light):
        a, b = cls("x", 2, ("t",)), cls(name="x", count=2, tags=("t",))
        assert a == b and a != cls("y") and a.label == "x:2" and a.items == [] and a.items is not cls("z").items
        assert repr(a).endswith("Record(name='x', count=2, tags=('t',), items=[], note=None)")
        with pytest.raises(ValueError):
            cls("x", -1)
        with pytest.raises(TypeError):
            cls()
        with pytest.raises(TypeError):
            cls("x", nonsense=1)
        if frozen:
            with pytest.raises(TypeError):  # hashable by its fields, and a list is not
                hash(a)
            with pytest.raises(AttributeError):
                a.count = 3
        else:
            a.count = 3
            assert a.count == 3
            with pytest.raises(TypeError):
                hash(a)
    sample_real, sample_light = real("n", 1, ("a",), [1]), light("n", 1, ("a",), [1])
    assert dataclasses.asdict(sample_real) == _records.asdict(sample_light)
    assert _records.field_names(light) == tuple(f.name for f in dataclasses.fields(real))
    assert _records.replace(sample_light, count=5) == light("n", 5, ("a",), [1])
    with pytest.raises(ValueError):
        _records.replace(sample_light, count=-5)


def test_nested_records_become_dicts() -> None:
    @_records.dataclass(frozen=True)
    class Inner:
        value: int

    @_records.dataclass(frozen=True)
    class Outer:
        inner: Inner
        more: Tuple[Inner, ...] = ()

    # (mypy does not know _records.dataclass makes an __init__: roost's modules show it dataclasses' instead)
    one: Any = Outer(Inner(1), (Inner(2),))  # type: ignore[call-arg]
    assert _records.asdict(one) == {"inner": {"value": 1}, "more": ({"value": 2},)}
    assert hash(one) == hash(_records.replace(one)) and len({one, _records.replace(one)}) == 1


def _enums(base: Any) -> Tuple[Any, Any]:
    class Color(base):  # type: ignore[misc,valid-type]
        RED = "red"
        DARK_BLUE = "blue"

        @property
        def warm(self) -> bool:
            return self is type(self).RED

    class State(str, base):  # type: ignore[misc,valid-type]
        PENDING = "PENDING"
        DONE = "DONE"

        def __str__(self) -> str:
            return str(self.value)

    return Color, State


@pytest.mark.parametrize("light", [False, True], ids=["enum", "_records"])
def test_enum_surface_roost_uses(light: bool) -> None:
    import enum
    import json

    Color, State = _enums(_records.Enum if light else enum.Enum)
    assert Color("red") is Color.RED and Color.RED.name == "RED" and Color.DARK_BLUE.value == "blue"
    assert Color.RED.warm and not Color.DARK_BLUE.warm
    assert repr(Color.RED) == "<Color.RED: 'red'>" and str(Color.RED) == "Color.RED"
    assert Color.RED != "red" and len({Color.RED, Color("red"), Color.DARK_BLUE}) == 2
    with pytest.raises(ValueError):
        Color("green")
    assert State("DONE") is State.DONE and State.DONE == "DONE" and str(State.DONE) == "DONE"
    assert json.dumps([State.PENDING]) == '["PENDING"]' and State.PENDING in ("PENDING", "X")
    with pytest.raises(ValueError):
        State("done")


def test_roost_enums_pickle_to_their_members() -> None:
    import pickle

    from roost.jobs.backend import JobState
    from roost.shell.change import Action

    assert pickle.loads(pickle.dumps(JobState.COMPLETED)) is JobState.COMPLETED
    assert pickle.loads(pickle.dumps(Action.PREPEND)) is Action.PREPEND
