"""The MCP wire format, shared by both servers (SDK-free and `--sdk`), both transports and both
protocol eras: what a message must be to be read, what is answered when it is not, and how an
answer is written.

The rules are the specifications', not the `mcp` SDK's where the two differ (each difference is
named in tests/test_mcp_differential.py and tested in tests/protocol/):

* JSON-RPC 2.0 §4 / §5.1 and the MCP spec (2025-11-25, basic): a body or line that is not JSON,
  not UTF-8 or holds a lone surrogate escape (`"\\ud800"`: not a Unicode string) is a Parse
  error (-32700); JSON that is not one request, notification or response object, or a request
  whose id is not a string or an integer (`null`, `1.5`, `true`), is an Invalid Request
  (-32600). Both are answered with a null id (§5: the id could not be read). The SDK reads a
  bad id as a notification and answers nothing on stdio.
* Answers are strict JSON (RFC 8259): no NaN or Infinity, no lone surrogates, whatever an
  upstream sent.
* Content-Type is compared as a media type (RFC 9110 §8.3.1: type and subtype are
  case-insensitive; parameters such as charset are allowed): `application/json` exactly.
* One request-size limit, MAX_REQUEST_BYTES, for an HTTP body and a stdio line alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

# The largest request read: an HTTP body (413 above it) or a stdio line (-32600 above it).
# The SDK's default (mcp.server.transport_security.DEFAULT_MAX_REQUEST_BODY_SIZE) too.
MAX_REQUEST_BYTES = 4 * 1024 * 1024

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND = -32700, -32600, -32601
INVALID_PARAMS, INTERNAL_ERROR, UNSUPPORTED_VERSION = -32602, -32603, -32022

JSON = "application/json"


class Failure(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def wire(self) -> dict[str, Any]:
        found: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            found["data"] = self.data
        return found


NOT_UTF8 = Failure(PARSE_ERROR, "Parse error: the message is not UTF-8")
NOT_UNICODE = Failure(PARSE_ERROR, "Parse error: a string holds a lone surrogate escape")
NOT_A_MESSAGE = Failure(
    INVALID_REQUEST,
    "Invalid Request: not one JSON-RPC 2.0 request, notification or response object "
    "(a request's id must be a string or an integer)",
)
TOO_LARGE = Failure(
    INVALID_REQUEST, f"Invalid Request: over the {MAX_REQUEST_BYTES}-byte request limit"
)

# A high surrogate escape not followed by a low one, or a low one not after a high one. Only a
# hint: an escaped backslash before "u" would match too, so a match is confirmed on the parsed
# strings (a rare, slower path; most bodies hold no "\ud8.." escape at all).
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
# In a Python string a surrogate code point is always a lone one (pairs decode to one).
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse(raw: bytes) -> Any:
    """A message's JSON; Failure(PARSE_ERROR) when it is not UTF-8 JSON of Unicode strings."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NOT_UTF8 from None
    try:
        message = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Failure(PARSE_ERROR, f"Parse error: {exc}") from None
    if _SURROGATE_HINT.search(raw) is not None and not _unicode(message):
        raise NOT_UNICODE
    return message


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _unicode(value: Any) -> bool:
    """Whether every string in `value` (keys too) is valid Unicode (encodes as UTF-8)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def is_id(value: Any) -> bool:
    """An MCP request id: a string or an integer (not null, not a fraction, not a boolean)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def classify(message: Any) -> str:
    """'request', 'notification', 'response' (a client's answer: ignored) or '' (invalid).

    A method with an id member is a request, whose id must be valid; without one, a
    notification (JSON-RPC 2.0 §4.1).
    """
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return ""
    if isinstance(message.get("method"), str):
        if not isinstance(message.get("params"), dict | None):
            return ""
        if "id" not in message:
            return "notification"
        return "request" if is_id(message["id"]) else ""
    if "result" in message:
        return (
            "response" if is_id(message.get("id")) and isinstance(message["result"], dict) else ""
        )
    found = message.get("error")
    if isinstance(found, dict) and (message.get("id") is None or is_id(message.get("id"))):
        if isinstance(found.get("code"), int) and isinstance(found.get("message"), str):
            return "response"
    return ""


def answer(request_id: Any, outcome: Mapping[str, Any] | Failure) -> dict[str, Any]:
    if isinstance(outcome, Failure):
        return {"jsonrpc": "2.0", "id": request_id, "error": outcome.wire()}
    return {"jsonrpc": "2.0", "id": request_id, "result": outcome}


def encode(message: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as the SDK writes it; always strict (see `strict`)."""
    try:
        return json.dumps(
            message, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
    except (ValueError, UnicodeEncodeError):  # NaN, Infinity or a lone surrogate got in
        return json.dumps(strict(message), ensure_ascii=False, separators=(",", ":")).encode()


def strict(value: Any) -> Any:
    """`value` as strict JSON data: NaN and ±Infinity become null, lone surrogates U+FFFD."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        if value.isascii():
            return value
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {strict(k): strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(item) for item in value]
    return value


def upstream_json(text: str) -> tuple[Any, bool]:
    """An upstream's JSON text (None when it is not JSON) and whether it had to be made strict
    (NaN, Infinity or a lone surrogate: Python's and JavaScript's lax encoders write those)."""
    if not text.strip():
        return None, False
    if "NaN" not in text and "Infinity" not in text and "\\u" not in text:
        try:
            return json.loads(text), False
        except (ValueError, RecursionError):
            return None, False
    lax = False

    def constant(name: str) -> None:
        nonlocal lax
        lax = True
        return None

    try:
        data = json.loads(text, parse_constant=constant)
    except (ValueError, RecursionError):
        return None, False
    if not _unicode(data):
        return strict(data), True
    return data, lax


def media_type(header: str | None) -> str:
    """A Content-Type's media type, lower-cased, without parameters ('' when absent)."""
    return (header or "").split(";", 1)[0].strip().lower()


def is_json(header: str | None) -> bool:
    """Whether a Content-Type names JSON: `application/json`, any case, any parameters."""
    return media_type(header) == JSON


def accepts(accept: str) -> tuple[bool, bool]:
    """The SDK's reading of Accept: whether it takes JSON (application/json, application/* or
    */*), and event streams (text/event-stream, text/* or */*); media types in any case."""
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    wildcard = "*/*" in types
    return (
        wildcard or JSON in types or "application/*" in types,
        wildcard or "text/event-stream" in types or "text/*" in types,
    )
