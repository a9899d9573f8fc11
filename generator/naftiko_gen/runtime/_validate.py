"""Tool arguments checked against the tool's inputSchema (JSON Schema 2020-12) before any call.

Shipped only when a tool's schema comes from the upstream's OpenAPI document (request body
fields, required ones, enums): those rules are worth enforcing before spending an upstream call.
The validator is compiled once, when the server module is imported.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from . import _runtime as rt
from ._mcp import Args, Tool, ToolFunction

# `jsonschema` comes with `mcp`; imported by name so that type checkers need no stubs for it.
_jsonschema: Any = importlib.import_module("jsonschema")


def checked(tool: Tool, function: ToolFunction) -> ToolFunction:
    """`function`, called only with arguments valid against `tool.input_schema`."""
    validator = _jsonschema.Draft202012Validator(tool.input_schema)

    async def call(client: rt.Client, args: Args) -> rt.Result:
        check(validator, args)
        return await function(client, args)

    return call


def check(validator: Any, args: Mapping[str, Any]) -> None:
    """rt.InputError naming the first problem: "body: 'tag' is a required property"."""
    # An argument sent as null is an absent one, as everywhere else in the generated servers.
    present = {k: v for k, v in args.items() if v is not None}
    error = _jsonschema.exceptions.best_match(validator.iter_errors(present))
    if error is None:
        return
    where = ".".join(str(p) for p in error.absolute_path)
    message = str(error.message)
    if len(message) > 300:
        message = message[:297] + "..."
    raise rt.InputError(f"{where}: {message}" if where else message)
