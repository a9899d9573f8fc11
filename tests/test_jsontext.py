"""naftiko_gen.jsontext.dumps writes exactly what json.dumps(indent=2) writes (issue #10)."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest

from naftiko_gen.jsontext import dumps


class Colour(enum.IntEnum):
    RED = 1


class Name(enum.StrEnum):
    A = "a"


VALUES: list[Any] = [
    {},
    [],
    "",
    0,
    -1.5,
    None,
    True,
    [[[]], {}, [{}]],
    {"a": [1, 2.5, float("nan"), float("inf"), -float("inf"), True, False, None, {}, []]},
    {2: "int key", 2.5: "float key", True: "bool key", False: "no", None: "null", "s": "str"},
    {"é \u2028 \n \t \" \\ \x00 \U0001f600": "\ud800 lone surrogate"},
    {"enum": [Colour.RED, Name.A], Name.A: Colour.RED},
    ("tuple", ("nested",)),
    {"k": {"k": [{"x": 1, "y": [1e100, 1e-7, 10**30]}]}},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_same_text_as_json(value: Any, ensure_ascii: bool) -> None:
    assert dumps(value, ensure_ascii) == json.dumps(value, indent=2, ensure_ascii=ensure_ascii)


@pytest.mark.parametrize("value", [{"x": object()}, {(1, 2): "tuple key"}, {1j}])
def test_same_refusals_as_json(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        dumps(value)
