"""roost._records.NamedTuple and Enum behave as typing.NamedTuple and enum.Enum for what the hot paths use."""

from __future__ import annotations

from typing import Any, Tuple

import pytest

from roost import _records


def test_named_tuple_surface_roost_uses() -> None:
    import typing

    def define(base: Any) -> Any:
        class Point(base):  # type: ignore[misc,valid-type]
            x: int
            y: int = 0

            def norm(self) -> int:
                return abs(self.x) + abs(self.y)

        return Point

    real, light = define(typing.NamedTuple), define(_records.NamedTuple)
    for cls in (real, light):
        point = cls(3, -4)
        assert point == (3, -4) and point.norm() == 7 and cls(1).y == 0 and point._replace(y=1) == (3, 1)
        assert repr(point) == "Point(x=3, y=-4)" and cls._fields == ("x", "y")
        with pytest.raises(AttributeError):
            point.x = 1


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
