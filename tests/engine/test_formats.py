"""outputRawFormat html, markdown, avro and protobuf, driven by the engine's alpha2 fixtures.

* html-capability.yaml + schemas/sample-products.html (HtmlIntegrationTest): the `table.products`
  selector's table, rows keyed by header, mapped by the fixture's outputParameters;
* markdown-capability.yaml + schemas/sample-readme.md (MarkdownIntegrationTest): front matter,
  tables and sections; the fixture maps `$.tables[0]`;
* the engine's ConverterTest cases for both converters, through the generated package's module;
* avro-capability.yaml / proto-capability.yaml declare no outputSchema, which the schema requires
  for them: a located build error. With outputSchema set to the fixtures' test-records.avsc /
  test-records.proto, a binary answer is decoded and mapped (`$.records`).
"""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine.stack import ENGINE, build, diagnostics, serve
from tests.features.upstream import FakeUpstream

pytestmark = pytest.mark.anyio
SCHEMAS = ENGINE / "schemas"
RECORDS = [
    {"id": "r1", "title": "First", "description": "one"},
    {"id": "r2", "title": "Second", "description": None},
]


async def test_html_tables(tmp_path: Path) -> None:
    built = build(ENGINE / "formats" / "html-capability.yaml", tmp_path, mcp=False)
    fake = FakeUpstream(name="html")
    page = (SCHEMAS / "sample-products.html").read_text()
    fake.expect("GET", "/api/products", reply_text=page, reply_type="text/html")
    async with serve(built, {"MOCK_HTML": fake}) as running:
        got = await running.rest("GET", "/html/products")
    assert fake.only().raw_path == "/api/products"
    assert got.status == 200
    assert got.json == [
        {"name": "Widget", "price": "$42", "stock": "150"},
        {"name": "Gadget", "price": "$99", "stock": "30"},
    ]


async def test_markdown_tables(tmp_path: Path) -> None:
    built = build(ENGINE / "formats" / "markdown-capability.yaml", tmp_path, mcp=False)
    fake = FakeUpstream(name="markdown")
    readme = (SCHEMAS / "sample-readme.md").read_text()
    fake.expect("GET", "/api/readme", reply_text=readme, reply_type="text/markdown")
    async with serve(built, {"MOCK_MARKDOWN": fake}) as running:
        got = await running.rest("GET", "/markdown/features")
    assert got.status == 200
    assert got.json == [
        {"feature": "HTML support", "status": "GA"},
        {"feature": "Markdown support", "status": "Beta"},
    ]


@pytest.fixture(scope="module")
def markup(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The generated package's own converter module."""
    out = tmp_path_factory.mktemp("markup")
    built = build(ENGINE / "formats" / "markdown-capability.yaml", out, rest=False, mcp=False)
    sys.path.insert(0, str(out))
    try:
        return importlib.import_module(f"{built.package}._markup")
    finally:
        sys.path.remove(str(out))


def test_converter_sample_files(markup: Any) -> None:
    html = markup.html_to_data((SCHEMAS / "sample-products.html").read_text(), "table.products")
    assert len(html["tables"]) == 1 and len(html["tables"][0]) == 2
    assert html["tables"][0][0]["Name"] == "Widget" and html["tables"][0][1]["Price"] == "$99"
    md = markup.markdown_to_data((SCHEMAS / "sample-readme.md").read_text(), None)
    assert md["frontMatter"] == {"title": "Product Release Notes", "version": "2.1.0"}
    assert len(md["tables"]) == 1 and md["tables"][0][0]["Status"] == "GA"
    assert md["sections"][0] == {
        "heading": "Overview",
        "level": 2,
        "content": "This release introduces table extraction for markdown.",
    }


def test_converter_same_table_contract(markup: Any) -> None:
    html = (
        "<table><thead><tr><th>Name</th><th>Price</th><th>Stock</th></tr></thead><tbody>"
        "<tr><td>Widget</td><td>$42</td><td>150</td></tr>"
        "<tr><td>Gadget</td><td>$99</td><td>30</td></tr></tbody></table>"
    )
    md = "| Name | Price | Stock |\n|------|-------|-------|\n| Widget | $42 | 150 |\n| Gadget | $99 | 30 |\n"
    assert markup.html_to_data(html, None)["tables"] == markup.markdown_to_data(md, None)["tables"]


def test_converter_css_selector_scoping(markup: Any) -> None:
    html = (
        '<div><table class="ignored"><tr><th>Name</th><th>Stock</th></tr>'
        "<tr><td>Ignored</td><td>0</td></tr></table>"
        '<table class="products"><tr><th>Name</th><th>Stock</th></tr>'
        "<tr><td>Kept</td><td>42</td></tr></table></div>"
    )
    got = markup.html_to_data(html, "table.products")
    assert got == {"tables": [[{"Name": "Kept", "Stock": "42"}]]}


def test_converter_skips_rows_with_th(markup: Any) -> None:
    html = (
        "<table><tr><th>Name</th><th>Price</th></tr><tr><th>Widget</th><td>$42</td></tr>"
        "<tr><td>Gadget</td><td>$99</td></tr></table>"
    )
    assert markup.html_to_data(html, None)["tables"] == [[{"Name": "Gadget", "Price": "$99"}]]


def test_converter_markdown_inline_text_and_sections(markup: Any) -> None:
    md = (
        "---\ntitle: Release Notes\nversion: 2.1.0\n---\n\n## Overview\n"
        "This **release** introduces [new features](https://example.com).\n\n"
        "| Feature | Status |\n|---------|--------|\n| Search  | GA     |\n"
    )
    got = markup.markdown_to_data(md, None)
    assert got["frontMatter"] == {"title": "Release Notes", "version": "2.1.0"}
    assert got["tables"] == [[{"Feature": "Search", "Status": "GA"}]]
    assert got["sections"] == [
        {"heading": "Overview", "level": 2, "content": "This release introduces new features."}
    ]
    sections = "## Overview\nGeneral introduction.\n\n## API Reference\nDetails about the API.\n\n## API Usage\nHow to use the API.\n"
    filtered = markup.markdown_to_data(sections, "API")["sections"]
    assert [s["heading"] for s in filtered] == ["API Reference", "API Usage"]
    assert len(markup.markdown_to_data(sections, None)["sections"]) == 3


@pytest.mark.parametrize(("fixture", "kind"), [("avro", ".avsc"), ("proto", ".proto")])
def test_binary_format_needs_output_schema(fixture: str, kind: str, tmp_path: Path) -> None:
    spec = ENGINE / "formats" / f"{fixture}-capability.yaml"
    errors = [d for d in diagnostics(spec, tmp_path) if " error " in d]
    assert len(errors) == 1, errors
    # located at the consumed operation (line 58: `- method: "GET"` of get-records)
    assert f"{fixture}-capability.yaml:58:15: error naftiko-output-schema" in errors[0]
    assert f"outputSchema to its {kind} file" in errors[0]


def with_schema(fixture: str, fmt: str, schema: Path, out: Path) -> Path:
    """The engine's fixture with the outputSchema its format requires."""
    text = (ENGINE / "formats" / f"{fixture}-capability.yaml").read_text()
    line = f'outputRawFormat: "{fmt}"'
    assert text.count(line) == 1
    text = text.replace(line, f'{line}\n              outputSchema: "{schema.as_posix()}"')
    spec = out / f"{fixture}-capability.yaml"
    spec.write_text(text)
    return spec


def avro_bytes(records: list[dict[str, Any]]) -> bytes:
    import json

    import fastavro

    schema = fastavro.parse_schema(json.loads((SCHEMAS / "test-records.avsc").read_text()))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, {"records": records})
    return buffer.getvalue()


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def proto_bytes(records: list[dict[str, Any]]) -> bytes:
    """RecordsList of test-records.proto, encoded by hand (wire type 2 for every field)."""
    out = b""
    for r in records:
        record = b"".join(
            _field(n, (r[k] or "").encode()) for n, k in ((1, "id"), (2, "title"), (3, "description"))
        )
        out += _field(1, record)
    return out


@pytest.mark.parametrize("fmt", ["avro", "protobuf"])
async def test_binary_format_decoded_and_mapped(fmt: str, tmp_path: Path) -> None:
    fixture, schema = ("avro", "test-records.avsc") if fmt == "avro" else ("proto", "test-records.proto")
    spec = with_schema(fixture, fmt, SCHEMAS / schema, tmp_path)
    built = build(spec, tmp_path / "out", mcp=False)
    requirements = (tmp_path / "out" / built.package / "requirements.txt").read_text()
    assert ("fastavro" in requirements) == (fmt == "avro")
    prefix = "MOCK_AVRO" if fmt == "avro" else "MOCK_PROTO"
    fake = FakeUpstream(name=fmt)
    body = avro_bytes(RECORDS) if fmt == "avro" else proto_bytes(RECORDS)
    route = fake.expect(
        "GET", "/api/records", headers={"Accept": f"application/{fmt}"}, reply_type="application/octet-stream"
    )
    route.reply = body
    async with serve(built, {prefix: fake}) as running:
        got = await running.rest("GET", "/avro/records" if fmt == "avro" else "/proto/records")
        route.reply = body[:-3]  # a truncated answer is the upstream's fault
        broken = await running.rest("GET", "/avro/records" if fmt == "avro" else "/proto/records")
    assert got.status == 200, got.body
    expected = [dict(r) for r in RECORDS]
    if fmt == "protobuf":
        expected[1]["description"] = ""  # proto2 `required string`: sent empty
    assert got.json == expected
    assert broken.status == 502, broken.body


def test_unsupported_html_selector_is_a_build_error(tmp_path: Path) -> None:
    text = (ENGINE / "formats" / "html-capability.yaml").read_text()
    spec = tmp_path / "html-capability.yaml"
    spec.write_text(text.replace('outputSchema: "table.products"', 'outputSchema: "table > tr"'))
    errors = [d for d in diagnostics(spec, tmp_path / "out") if " error " in d]
    assert len(errors) == 1 and ":52:29: error naftiko-output-schema" in errors[0], errors
