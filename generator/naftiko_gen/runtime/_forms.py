"""Form bodies: application/x-www-form-urlencoded and multipart/form-data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from . import _runtime as rt


def urlencoded(pairs: Iterable[tuple[str, Any]]) -> tuple[bytes, str]:
    encoded = urlencode([(k, rt.text(v)) for k, v in pairs]).encode("ascii")
    return encoded, "application/x-www-form-urlencoded"


def multipart(parts: Iterable[Mapping[str, Any]]) -> tuple[aiohttp.FormData, str]:
    form = aiohttp.FormData(default_to_multipart=True)  # plain fields only: still multipart
    for part in parts:
        form.add_field(
            str(part["name"]),
            rt.text(part.get("value")),
            filename=part.get("filename"),
            content_type=part.get("contentType"),
        )
    return form, ""  # aiohttp writes the multipart Content-Type with its boundary
