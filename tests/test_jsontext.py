"""roost.jsontext.dumps writes what json.dumps writes (job records are read back with json.loads)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from roost import jsontext

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(inner, max_size=4).map(tuple)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES)
@settings(max_examples=400)
def test_same_text_as_json_dumps(value: object) -> None:
    assert jsontext.dumps(value) == json.dumps(value)


def test_refuses_what_json_cannot_write() -> None:
    with pytest.raises(TypeError):
        jsontext.dumps({"a": object()})
    with pytest.raises(TypeError):
        jsontext.dumps({1: "key is not a string"})
