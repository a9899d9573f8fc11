"""The requests each protocol era accepts, method by method: the checks the SDK's per-version
request models make (mcp_types.methods.CLIENT_REQUESTS), as plain functions. A malformed
request of a spec method is "Invalid request parameters" (-32602), in the SDK's words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._mcp_wire import INVALID_PARAMS, Failure

VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
INFO_KEY = "io.modelcontextprotocol/clientInfo"
LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel"


def bad_params() -> Failure:
    # The SDK's words for every malformed request of a spec method.
    return Failure(INVALID_PARAMS, "Invalid request parameters", "")


# -- request parameters: the checks the SDK's per-version models make ----------------------

CLIENT_CAPABILITIES = ("roots", "sampling", "elicitation", "experimental", "extensions", "tasks")
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


def _string(params: Mapping[str, Any], key: str, required: bool = True) -> None:
    value = params.get(key)
    if not isinstance(value, str) and (required or value is not None):
        raise bad_params()


def _object(params: Mapping[str, Any], key: str, required: bool = True) -> None:
    value = params.get(key)
    if not isinstance(value, dict) and (required or value is not None):
        raise bad_params()


def check_params(method: str, params: Mapping[str, Any]) -> None:
    """Failure(INVALID_PARAMS) when `params` do not fit a spec method's request."""
    meta = params.get("_meta")
    if meta is not None:
        token = meta.get("progressToken") if isinstance(meta, dict) else None
        if not isinstance(meta, dict) or not isinstance(token, str | int | None):
            raise bad_params()
    if method.endswith("/list"):
        _string(params, "cursor", required=False)
    elif method == "tools/call":
        _string(params, "name")
        _object(params, "arguments", required=False)
    elif method == "prompts/get":
        _string(params, "name")
        _object(params, "arguments", required=False)
        if any(not isinstance(v, str) for v in (params.get("arguments") or {}).values()):
            raise bad_params()
    elif method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        _string(params, "uri")
    elif method == "initialize":
        _string(params, "protocolVersion")
        _object(params, "capabilities")
        _object(params, "clientInfo")
        _string(params["clientInfo"], "name")
        _string(params["clientInfo"], "version")
        # Only the capabilities the spec defines have a shape; others are ignored (MCP
        # 2025-11-25, lifecycle: capabilities are negotiated, an unknown one is not an error).
        given = params["capabilities"]
        if any(not isinstance(given.get(k), dict | None) for k in CLIENT_CAPABILITIES):
            raise bad_params()
    elif method == "logging/setLevel":
        if params.get("level") not in LOG_LEVELS:
            raise bad_params()
    elif method == "completion/complete":
        _object(params, "ref")
        _object(params, "argument")
        _string(params["argument"], "name")
        _string(params["argument"], "value")


# Methods of the handshake-era protocol: their parameters are checked even when not served.
SPEC_METHODS = frozenset(
    ("initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
     "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "prompts/list",
     "prompts/get", "logging/setLevel", "completion/complete")
)  # fmt: skip


# -- the 2026-07-28 request surface: what pydantic (lax mode) accepts in mcp_types' models ---

Check = Callable[[Any], bool]
_TRUTHS = frozenset(("0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes"))


def _str(value: Any) -> bool:
    return isinstance(value, str)


def _dict(value: Any) -> bool:
    return isinstance(value, dict)


def _token(value: Any) -> bool:  # str | int: an integral float or a bool converts to int
    return isinstance(value, str | int) or (isinstance(value, float) and value.is_integer())


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return value in (0, 1)
    return isinstance(value, str) and value.lower() in _TRUTHS


def _opt(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _list(check: Check) -> Check:
    return lambda value: isinstance(value, list) and all(check(item) for item in value)


def _map(check: Check) -> Check:
    return lambda value: isinstance(value, dict) and all(check(item) for item in value.values())


def _model(**fields: Check) -> Check:
    """An object whose fields (wire names) pass their checks; a missing field is None."""
    items = tuple(fields.items())
    return lambda value: isinstance(value, dict) and all(
        check(value.get(key)) for key, check in items
    )


def _one_of(*checks: Check) -> Check:
    return lambda value: any(check(value) for check in checks)


_ICON = _model(
    src=_str, mimeType=_opt(_str), sizes=_opt(_list(_str)),
    theme=_opt(lambda value: value in ("dark", "light")),
)  # fmt: skip
_IMPLEMENTATION = _model(
    name=_str, version=_str, title=_opt(_str), description=_opt(_str), websiteUrl=_opt(_str),
    icons=_opt(_list(_ICON)),
)  # fmt: skip
_CAPABILITIES = _model(
    elicitation=_opt(_model(form=_opt(_dict), url=_opt(_dict))),
    experimental=_opt(_map(_dict)), extensions=_opt(_map(_dict)), roots=_opt(_dict),
    sampling=_opt(_model(context=_opt(_dict), tools=_opt(_dict))),
)  # fmt: skip
_META = _model(
    **{
        CAPABILITIES_KEY: _CAPABILITIES, INFO_KEY: _opt(_IMPLEMENTATION),
        LOG_LEVEL_KEY: _opt(lambda value: value in LOG_LEVELS), VERSION_KEY: _str,
        "progressToken": _opt(_token),
    }
)  # fmt: skip
# A client's answers to a server's input requests: an elicitation's, a root list or a sampled
# message (whose content blocks are only checked to be objects).
_INPUT_RESPONSE = _one_of(
    _model(
        action=lambda value: value in ("accept", "cancel", "decline"),
        content=_opt(_map(_one_of(_list(_str), lambda value: not isinstance(value, dict | list)))),
    ),
    _model(roots=_list(_model(uri=_str, name=_opt(_str), _meta=_opt(_dict)))),
    _model(
        model=_str, role=lambda value: value in ("assistant", "user"), stopReason=_opt(_str),
        content=_one_of(_dict, _list(_dict)), _meta=_opt(_dict),
    ),
)  # fmt: skip
_INPUT = {"inputResponses": _opt(_map(_INPUT_RESPONSE)), "requestState": _opt(_str)}
_PAGE = _model(_meta=_META, cursor=_opt(_str))
SURFACE: dict[str, Check] = {
    "server/discover": _model(_meta=_META),
    "tools/list": _PAGE,
    "tools/call": _model(_meta=_META, name=_str, arguments=_opt(_dict), **_INPUT),
    "resources/list": _PAGE,
    "resources/templates/list": _PAGE,
    "resources/read": _model(_meta=_META, uri=_str, **_INPUT),
    "prompts/list": _PAGE,
    "prompts/get": _model(_meta=_META, name=_str, arguments=_opt(_map(_str)), **_INPUT),
    "completion/complete": _model(
        _meta=_META,
        argument=_model(name=_str, value=_str),
        context=_opt(_model(arguments=_opt(_map(_str)))),
        ref=_one_of(
            _model(name=_str, title=_opt(_str), type=lambda value: value == "ref/prompt"),
            _model(type=lambda value: value == "ref/resource", uri=_str),
        ),
    ),
    "subscriptions/listen": _model(
        _meta=_META,
        notifications=_model(
            promptsListChanged=_opt(_bool), resourceSubscriptions=_opt(_list(_str)),
            resourcesListChanged=_opt(_bool), toolsListChanged=_opt(_bool),
        ),
    ),
}  # fmt: skip
