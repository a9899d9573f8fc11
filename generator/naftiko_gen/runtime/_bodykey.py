"""An API key sent in the request body: a field of the JSON object, or a form field.

A request without a body sends a JSON object holding only the key.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import aiohttp

from . import _runtime as rt

Handler = Callable[[aiohttp.ClientRequest], Awaitable[aiohttp.ClientResponse]]
FORM = "application/x-www-form-urlencoded"


def adder(
    name: str, value: str
) -> Callable[[aiohttp.ClientRequest, Handler], Awaitable[aiohttp.ClientResponse]]:
    """A client middleware that adds `name: value` to the body of every request."""

    async def middleware(
        request: aiohttp.ClientRequest, handler: Handler
    ) -> aiohttp.ClientResponse:
        payload: Any = request.body
        body = payload if isinstance(payload, bytes) else bytes(await payload.as_bytes())
        kind = request.headers.get("Content-Type", "").lower()
        if kind.startswith(FORM):
            extra = urlencode([(name, value)]).encode("ascii")
            body = body + b"&" + extra if body else extra
        elif not body or kind.startswith("application/json"):
            data = json.loads(body) if body else {}
            if not isinstance(data, dict):
                raise rt.InputError(
                    "the api key cannot be added to a JSON body that is not an object"
                )
            body = rt.json_bytes({**data, name: value})
            request.headers["Content-Type"] = "application/json"
        else:
            raise rt.InputError(f"the api key cannot be added to a {kind or 'binary'} body")
        await request.update_body(body)
        return await handler(request)

    return middleware
