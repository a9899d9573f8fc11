"""Response formats: outputRawFormat xml and csv are read and mapped to JSON; html and plain
text without outputParameters pass through with the upstream content type."""

from __future__ import annotations

import pytest

from tests.features.upstream import (
    FIXTURES,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
    mcp_text,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_formats.yaml"
XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<catalog><book id="b1"><title>Dune</title><price>9.99</price></book>'
    '<book id="b2"><title>Emma &amp; co</title><price>5</price></book></catalog>'
)
CSV = 'sku,name,qty\r\nS-1,hemp rope,5\r\nS-2,"chain, galvanised",7\r\n'
HTML = "<!doctype html><html><body><h1>Déjà vu</h1></body></html>"
BOOKS = [{"id": "b1", "title": "Dune"}, {"id": "b2", "title": "Emma & co"}]
STOCK = [{"sku": "S-1", "name": "hemp rope"}, {"sku": "S-2", "name": "chain, galvanised"}]
ROWS = [
    {"sku": "S-1", "name": "hemp rope", "qty": "5"},
    {"sku": "S-2", "name": "chain, galvanised", "qty": "7"},
]


STACK = Stack(SPEC, lambda: {"DOCS": FakeUpstream(name="docs")})


async def test_xml_mapped_to_json(h: Harness) -> None:
    h.fake.expect("GET", "/catalog.xml", reply_text=XML, reply_type="application/xml")
    got = await h.rest("GET", "/books")
    assert h.fake.only().raw_path == "/catalog.xml"
    assert got.status == 200 and got.content_type.startswith("application/json")
    assert got.json == BOOKS
    h.fake.clear()
    assert mcp_json(await h.tool("books")) == BOOKS


async def test_xml_typed_number_is_converted(h: Harness) -> None:
    """XML text is all strings; an output declared `type: number` should be a JSON number."""
    h.fake.expect("GET", "/catalog.xml", reply_text=XML, reply_type="application/xml")
    got = await h.rest("GET", "/book-prices")
    assert got.json == [{"title": "Dune", "price": 9.99}, {"title": "Emma & co", "price": 5}]


async def test_csv_mapped_to_json(h: Harness) -> None:
    h.fake.expect("GET", "/stock.csv", reply_text=CSV, reply_type="text/csv")
    got = await h.rest("GET", "/stock")
    assert h.fake.only().raw_path == "/stock.csv"
    assert got.content_type.startswith("application/json")
    assert got.json == STOCK
    h.fake.clear()
    assert mcp_json(await h.tool("stock")) == STOCK


async def test_csv_root_mapping_is_json(h: Harness) -> None:
    """`{type: array, mapping: "$."}` over a CSV body: the rows as JSON objects, not the CSV
    text relayed as is."""
    h.fake.expect("GET", "/stock.csv", reply_text=CSV, reply_type="text/csv")
    got = await h.rest("GET", "/stock-raw")
    assert got.content_type.startswith("application/json"), (got.content_type, got.text)
    assert got.json == ROWS
    h.fake.clear()
    assert mcp_json(await h.tool("stock-raw")) == ROWS


async def test_html_passthrough(h: Harness) -> None:
    h.fake.expect("GET", "/page", reply_text=HTML, reply_type="text/html; charset=utf-8")
    got = await h.rest("GET", "/page")
    assert got.status == 200
    assert got.content_type == "text/html; charset=utf-8"
    assert got.text == HTML
    h.fake.clear()
    result = await h.tool("page")
    assert not result.is_error
    assert mcp_text(result) == HTML
    assert result.structured_content is None


async def test_text_passthrough(h: Harness) -> None:
    h.fake.expect("GET", "/ping", reply_text="pong", reply_type="text/plain; charset=utf-8")
    got = await h.rest("GET", "/ping")
    assert (got.status, got.content_type, got.text) == (200, "text/plain; charset=utf-8", "pong")
    h.fake.clear()
    assert mcp_text(await h.tool("ping")) == "pong"


async def test_unparseable_xml_is_a_gateway_error(h: Harness) -> None:
    h.fake.expect("GET", "/catalog.xml", reply_text="<catalog><book>", reply_type="application/xml")
    got = await h.rest("GET", "/books")
    assert got.status == 502
    result = await h.tool("books")
    assert result.is_error
