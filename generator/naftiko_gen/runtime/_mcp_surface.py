"""The requests each protocol era accepts, method by method: the checks the SDK's per-version
request models make (mcp_types.methods.CLIENT_REQUESTS), as plain functions, one surface per
schema revision (SURFACES; an era row of _mcp_eras.py names its revision). A method missing
from an era's surface is not that era's ("Method not found"); a malformed request of one is
"Invalid request parameters" (-32602), in the SDK's words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._mcp_wire import INVALID_PARAMS, Failure

# The 2026-07-28 envelope: the `_meta` keys every request carries.
VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
INFO_KEY = "io.modelcontextprotocol/clientInfo"
LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel"

CLIENT_CAPABILITIES = ("roots", "sampling", "elicitation", "experimental", "extensions", "tasks")
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


def bad_params() -> Failure:
    # The SDK's words for every malformed request of a spec method.
    return Failure(INVALID_PARAMS, "Invalid request parameters", "")


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

    # A loop, not all() over a generator: every request runs one, and the loop takes half the time.
    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for key, field in items:  # noqa: SIM110
            if not field(value.get(key)):
                return False
        return True

    return check


def _one_of(*checks: Check) -> Check:
    return lambda value: any(check(value) for check in checks)


# -- 2025-11-25: the handshake versions' requests (the SDK checks all four with its models) -----


def _id_token(value: Any) -> bool:  # a progress token here: a string or an integer, strictly
    return isinstance(value, str | int)


_PARAMS_META = _opt(_model(progressToken=_opt(_id_token)))
_LISTING = _model(_meta=_PARAMS_META, cursor=_opt(_str))
_BY_URI = _model(_meta=_PARAMS_META, uri=_str)
HANDSHAKE: dict[str, Check] = {
    "initialize": _model(
        _meta=_PARAMS_META, protocolVersion=_str, clientInfo=_model(name=_str, version=_str),
        # Only the capabilities the spec defines have a shape; others are ignored (MCP
        # 2025-11-25, lifecycle: capabilities are negotiated, an unknown one is not an error).
        capabilities=_model(**{name: _opt(_dict) for name in CLIENT_CAPABILITIES}),
    ),
    "ping": _model(_meta=_PARAMS_META),
    "tools/list": _LISTING,
    "tools/call": _model(_meta=_PARAMS_META, name=_str, arguments=_opt(_dict)),
    "resources/list": _LISTING,
    "resources/read": _BY_URI,
    "resources/templates/list": _LISTING,
    "resources/subscribe": _BY_URI,
    "resources/unsubscribe": _BY_URI,
    "prompts/list": _LISTING,
    "prompts/get": _model(_meta=_PARAMS_META, name=_str, arguments=_opt(_map(_str))),
    "logging/setLevel": _model(_meta=_PARAMS_META, level=lambda value: value in LOG_LEVELS),
    "completion/complete": _model(
        _meta=_PARAMS_META, ref=_dict, argument=_model(name=_str, value=_str)
    ),
}  # fmt: skip


# -- 2026-07-28: what pydantic (lax mode) accepts in mcp_types' models ----------------------

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
ENVELOPE: dict[str, Check] = {
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


# Schema revision → its requests: method → the check of its params.
SURFACES: dict[str, Mapping[str, Check]] = {"2025-11-25": HANDSHAKE, "2026-07-28": ENVELOPE}
