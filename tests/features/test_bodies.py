"""Request bodies: the caller's JSON body, several `in: body` parameters assembled into one
object, operation-level `body:` (json, text, xml, formUrlEncoded as a map or a string,
multipartForm) and a raw JSON template whose placeholders are filled structurally."""

from __future__ import annotations

from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_bodies.yaml"
OK = {"received": True}
TRICKY = 'Ann "the admiral" O\'Neil \\ {{x}} </to> & co'


STACK = Stack(SPEC, lambda: {"SINK": FakeUpstream(name="sink")})


async def _both(
    h: Harness, method: str, path: str, rest_kwargs: dict[str, Any], tool: str, args: dict[str, Any]
) -> tuple[Any, Any]:
    """Send once through REST and once through MCP; return the two upstream requests."""
    got = await h.rest(method, path, **rest_kwargs)
    assert (got.status, got.json) == (200, OK), got.text
    rest_seen = h.fake.only()
    assert (rest_seen.method, rest_seen.raw_path) == (method, path)
    h.fake.clear()
    result = await h.tool(tool, args)
    assert mcp_json(result) == OK
    mcp_seen = h.fake.only()
    assert (mcp_seen.method, mcp_seen.raw_path) == (method, path)
    return rest_seen, mcp_seen


async def test_caller_json_body_passes_through(h: Harness) -> None:
    doc = {
        "name": TRICKY,
        "n": 1.5,
        "ok": False,
        "none": None,
        "list": [1, {"a": []}],
        "unicode": "żółw 🐢",
    }
    h.fake.expect("POST", "/whole", json_body=doc, content_type="application/json", reply=OK)
    for seen in await _both(h, "POST", "/whole", {"json_body": doc}, "send-whole", {"body": doc}):
        assert seen.json == doc
        assert seen.content_type.startswith("application/json")


async def test_body_params_are_assembled(h: Harness) -> None:
    doc = {"title": TRICKY, "count": 2, "tags": ["a", "b"], "draft": False}
    h.fake.expect("PUT", "/params", json_body=doc, content_type="application/json", reply=OK)
    for seen in await _both(h, "PUT", "/params", {"json_body": doc}, "send-params", doc):
        assert seen.json == doc


async def test_absent_body_params_are_left_out(h: Harness) -> None:
    h.fake.expect("PUT", "/params", json_body={"title": "t"}, reply=OK)
    for seen in await _both(
        h, "PUT", "/params", {"json_body": {"title": "t"}}, "send-params", {"title": "t"}
    ):
        assert seen.json == {"title": "t"}


async def test_json_body_template(h: Harness) -> None:
    expected = {
        "name": TRICKY,
        "kind": "static",
        "count": 3,
        "greeting": f"hello {TRICKY}",
        "nested": {"tags": ["x", 'y"z'], "fixed": [1, 2]},
    }
    args = {"name": TRICKY, "count": 3, "tags": ["x", 'y"z']}
    h.fake.expect("POST", "/json", json_body=expected, content_type="application/json", reply=OK)
    for seen in await _both(h, "POST", "/json", {"json_body": args}, "send-json", args):
        assert seen.json == expected


async def test_text_body(h: Harness) -> None:
    args = {"name": TRICKY, "count": 4}
    text = f"Hello {TRICKY}, you have 4 messages."
    h.fake.expect("POST", "/text", text_body=text, content_type="text/plain", reply=OK)
    for seen in await _both(h, "POST", "/text", {"json_body": args}, "send-text", args):
        assert seen.text == text
        assert seen.content_type.startswith("text/plain")


async def test_xml_body(h: Harness) -> None:
    args = {"name": "Ann", "count": 5}
    xml = "<note><to>Ann</to><count>5</count></note>"
    h.fake.expect("POST", "/xml", text_body=xml, reply=OK)
    for seen in await _both(h, "POST", "/xml", {"json_body": args}, "send-xml", args):
        assert seen.text == xml
        assert seen.content_type.split(";")[0] in ("application/xml", "text/xml")


async def test_form_body_from_map(h: Harness) -> None:
    h.fake.expect(
        "POST",
        "/form",
        form_body=[("name", TRICKY), ("mode", "fast")],
        content_type="application/x-www-form-urlencoded",
        reply=OK,
    )
    for seen in await _both(
        h, "POST", "/form", {"json_body": {"name": TRICKY}}, "send-form", {"name": TRICKY}
    ):
        assert seen.form == [("name", TRICKY), ("mode", "fast")]
        assert seen.content_type.startswith("application/x-www-form-urlencoded")


async def test_form_body_from_string(h: Harness) -> None:
    expected = [("grant_type", "client_credentials"), ("scope", "read write&admin=1")]
    h.fake.expect(
        "POST",
        "/form-string",
        form_body=expected,
        content_type="application/x-www-form-urlencoded",
        reply=OK,
    )
    for seen in await _both(
        h,
        "POST",
        "/form-string",
        {"params": {"scope": "read write&admin=1"}},
        "send-form-string",
        {"scope": "read write&admin=1"},
    ):
        assert seen.form == expected
        assert seen.query == []


async def test_multipart_body(h: Harness) -> None:
    args = {"name": TRICKY, "content": "line 1\nline 2\n"}
    h.fake.expect("POST", "/multipart", content_type="multipart/form-data", reply=OK)
    for seen in await _both(h, "POST", "/multipart", {"json_body": args}, "send-multipart", args):
        parts = seen.multipart()
        assert [(p["name"], p["value"]) for p in parts] == [
            ("title", TRICKY),
            ("file", "line 1\nline 2\n"),
        ]
        assert parts[0]["filename"] is None
        assert parts[1]["filename"] == "notes.txt"
        assert parts[1]["content_type"] == "text/plain"


async def test_raw_json_template_is_filled_structurally(h: Harness) -> None:
    args = {
        "title": 'He said "hi", then }{',
        "ids": [1, "two", {"three": 3}],
        "author": "O'Neil \\ co",
        "n": 7,
    }
    expected = {
        "title": 'He said "hi", then }{',
        "ids": [1, "two", {"three": 3}],
        "meta": {"by": "O'Neil \\ co", "n": 7},
    }
    h.fake.expect("PATCH", "/raw", json_body=expected, content_type="application/json", reply=OK)
    for seen in await _both(h, "PATCH", "/raw", {"json_body": args}, "send-raw", args):
        assert seen.json == expected
