"""Upstream Avro and Protobuf bodies read as data, with the schema the build read.

Avro: one datum in Avro binary encoding (no container file), decoded with fastavro against the
operation's `outputSchema` (.avsc), as the engine's GenericDatumReader does. Protobuf: one
message of the first message type of the `outputSchema` .proto file (the engine's root), decoded
here from the wire format with the field layout the build parsed: fields by name, repeated fields
as arrays, enums by name, bytes in base64, absent fields left out.
"""

from __future__ import annotations

import base64
import importlib
import io
import struct
from typing import Any

Layout = dict[str, Any]  # {"root": name, "messages": {...}, "enums": {...}}


def decode(body: bytes, output_format: str, schema: Any) -> Any:
    if output_format == "avro":
        return _avro(body, schema)
    return _message(body, schema, schema["root"], 0)


def _avro(body: bytes, schema: Any) -> Any:
    try:
        fastavro = importlib.import_module("fastavro")
    except ImportError as exc:  # a package built without its requirements installed
        raise ValueError("reading Avro needs fastavro (pip install -r requirements.txt)") from exc
    stream = io.BytesIO(body)
    datum = fastavro.schemaless_reader(stream, fastavro.parse_schema(schema))
    if stream.tell() != len(body):
        raise ValueError("the Avro body has bytes after its datum")
    return _json_ready(datum)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # decimals, dates, uuids of logical types


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("a truncated or overlong varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


_FIXED = {
    "fixed32": "<I", "sfixed32": "<i", "float": "<f",
    "fixed64": "<Q", "sfixed64": "<q", "double": "<d",
}  # fmt: skip
_VARINT = ("int32", "int64", "uint32", "uint64", "sint32", "sint64", "bool", "enum")


def _scalar(kind: str, value: int, layout: Layout, enum: str | None) -> Any:
    if kind in ("int32", "int64"):
        return value - (1 << 64) if value >= 1 << 63 else value
    if kind in ("sint32", "sint64"):
        return (value >> 1) ^ -(value & 1)
    if kind == "bool":
        return value != 0
    if kind == "enum" and enum is not None:
        return layout["enums"].get(enum, {}).get(value, value)
    return value


def _message(data: bytes, layout: Layout, name: str, depth: int) -> dict[str, Any]:
    if depth > 64:
        raise ValueError("Protobuf messages nested too deep")
    fields = {f[0]: f for f in layout["messages"][name]}
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        values: list[Any] = []
        field = fields.get(number)
        kind = field[2] if field else ""
        if wire == 0:
            raw, pos = _varint(data, pos)
            values = [_scalar(kind, raw, layout, field[4] if field else None)]
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if pos + size > len(data):
                raise ValueError("a truncated fixed-size field")
            chunk, pos = data[pos : pos + size], pos + size
            fmt = _FIXED.get(kind, "<Q" if wire == 1 else "<I")
            values = [struct.unpack(fmt, chunk)[0]]
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ValueError("a truncated length-delimited field")
            chunk, pos = data[pos : pos + size], pos + size
            if kind == "string":
                values = [chunk.decode("utf-8")]
            elif kind == "bytes":
                values = [base64.b64encode(chunk).decode("ascii")]
            elif kind in ("message", "map") and field is not None:
                values = [_message(chunk, layout, field[4], depth + 1)]
            elif kind in _FIXED:  # packed fixed-size values
                width = struct.calcsize(_FIXED[kind])
                values = (
                    [v[0] for v in struct.iter_unpack(_FIXED[kind], chunk)]
                    if (len(chunk) % width == 0)
                    else []
                )
            elif kind in _VARINT:  # packed varints
                at = 0
                while at < len(chunk):
                    raw, at = _varint(chunk, at)
                    values.append(_scalar(kind, raw, layout, field[4] if field else None))
        else:
            raise ValueError(f"wire type {wire} is not supported")
        if field is None:
            continue  # an unknown field: skipped, as the wire format allows
        fname, repeated = field[1], field[3]
        if repeated:
            out.setdefault(fname, []).extend(values)
        elif values:
            out[fname] = values[-1]  # the last one wins
    for _number, fname, kind, _repeated, _entry in layout["messages"][name]:
        if kind == "map" and fname in out:  # map entries {key, value} as one object
            out[fname] = {str(e.get("key", "")): e.get("value") for e in out[fname]}
    return out
