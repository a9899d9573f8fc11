"""_mcp_wire's functions on their own: the strict-JSON and media-type rules the protocol table
(test_protocol_table.py) drives end to end, here with the inputs the table cannot reach (an
upstream's lone surrogate, exotic media types)."""

from __future__ import annotations

import json

import pytest

from naftiko_gen.runtime import _mcp_wire as wire


def test_an_upstreams_lone_surrogate_becomes_a_replacement_character() -> None:
    data, lax = wire.upstream_json('{"name": "a\\ud800b", "ok": [1, "\\ud83d\\ude00"]}')
    assert lax
    assert data == {"name": "a\ufffdb", "ok": [1, "\U0001f600"]}


def test_an_upstreams_non_finite_numbers_become_null() -> None:
    assert wire.upstream_json('{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN"}') == (
        {"a": None, "b": [None, None], "c": "NaN"},
        True,
    )
    assert wire.upstream_json('{"c": "NaN and Infinity, in words"}') == (
        {"c": "NaN and Infinity, in words"},
        False,
    )
    assert wire.upstream_json("not json") == (None, False)


def test_encode_always_writes_strict_json() -> None:
    raw = wire.encode({"x": float("nan"), "y": [float("inf")], "z": "\udc80", "k": 1})

    def constant(name: str) -> None:
        raise AssertionError(name)

    assert json.loads(raw.decode("utf-8"), parse_constant=constant) == {
        "x": None, "y": [None], "z": "\ufffd", "k": 1,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "json_"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        (" application/json ;charset=UTF-8", True),
        ("application/jsonx", False),
        ("application/json-seq", False),
        ("application/x-json", False),
        ("text/json", False),
        ("", False),
        (None, False),
    ],
)
def test_content_type_is_a_media_type(header: str | None, json_: bool) -> None:
    """RFC 9110 §8.3.1: type and subtype case-insensitive, parameters after ';'."""
    assert wire.is_json(header) is json_


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xef\xbb\xbf{}", -32700),  # a UTF-8 byte-order mark: not JSON-RPC's JSON
        (b'\xff{"a":1}', -32700),
        (b'{"a":"\\ud800"}', -32700),
        (b'{"\\udc00":1}', -32700),  # a key too
        (b'{"a":"\\\\ud800"}', None),  # an escaped backslash, then text: valid
        (b'{"a":"\\ud83d\\ude00"}', None),  # a surrogate pair: one character
        (b'{"a":Infinity}', -32700),
    ],
)
def test_parse(raw: bytes, code: int | None) -> None:
    if code is None:
        assert isinstance(wire.parse(raw), dict)
        return
    with pytest.raises(wire.Failure) as raised:
        wire.parse(raw)
    assert raised.value.code == code
