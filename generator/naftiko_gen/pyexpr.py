"""Plan values and output expressions → Python expressions (the templates' filters).

Spec strings only ever become literals (through `py`); names come from the plan, where they
were made identifiers that cannot collide.
"""

from __future__ import annotations

import re
from typing import Any

from naftiko_gen.plan import ir
from naftiko_gen.pyliteral import py

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def value(v: Any, secret: str = "client") -> str:
    """A plan value; `secret` is the object whose .secret() returns bind values."""
    if isinstance(v, ir.ArgRef):
        return v.name
    if isinstance(v, ir.SecretRef):
        return f"{secret}.secret({py(v.name)})"
    if isinstance(v, ir.EnvRef):
        return f"os.environ.get({py(v.name)})"
    if isinstance(v, ir.TextTemplate):
        return text(v.parts, secret)
    if isinstance(v, (ir.Select, ir.Coerce)):  # an earlier orchestration step's data
        return output(v, secret)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{py(str(k))}: {value(x, secret)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x, secret) for x in v) + "]"
    return py(v)


def text(parts: tuple[Any, ...], secret: str = "client") -> str:
    """A text template: literal pieces and values joined as text."""
    pieces: list[str] = []
    for p in parts:
        if isinstance(p, str):
            if p:
                pieces.append(py(p))
        elif isinstance(p, ir.SecretRef):
            pieces.append(value(p, secret))  # already text
        else:
            pieces.append(f"rt.text({value(p, secret)})")
    return " + ".join(pieces) if pieces else '""'


# Literal text an f-string holds as it is: no brace, quote, backslash or control character (a NUL
# is not even valid source; found by the property test).
_F_PLAIN = re.compile(r"[^{}\"'\\\x00-\x1f\x7f]*\Z")


def path(op: ir.UpstreamOp) -> str:
    """The upstream path: literal pieces, each value one percent-encoded segment.

    An f-string when every value is a variable (the common case); concatenation otherwise,
    so no spec text ever sits inside an f-string expression.
    """
    names = {k.py: k.name for k in op.kwargs}

    def segment(p: Any, quote: str) -> str:
        label = names.get(p.name, "path") if isinstance(p, ir.ArgRef) else "path"
        if not _SAFE_NAME.match(label):
            label = "path"
        return f"rt.segment({value(p)}, {quote}{label}{quote})"

    if not any(not isinstance(p, str) for p in op.path):
        return py("".join(op.path))
    if all(isinstance(p, ir.ArgRef) or (isinstance(p, str) and _F_PLAIN.match(p)) for p in op.path):
        # Only literal pieces with nothing an f-string reads specially (a fixed parameter value
        # from the spec may hold a brace or a quote: then concatenation below).
        inner = "".join(p if isinstance(p, str) else "{" + segment(p, "'") + "}" for p in op.path)
        return f'f"{inner}"'
    return " + ".join(py(p) if isinstance(p, str) else segment(p, '"') for p in op.path)


def output(o: Any, secret: str = "client") -> str:
    """An output expression over `data` (the upstream answer) and the handler's inputs."""
    if isinstance(o, ir.Select):
        if not o.steps:
            return o.source
        steps = ", ".join("m.EACH" if s is ir.EACH else py(s) for s in o.steps)
        return f"m.select({o.source}, {steps})"
    if isinstance(o, ir.Fields):
        return "{" + ", ".join(f"{py(k)}: {output(v, secret)}" for k, v in o.fields) + "}"
    if isinstance(o, ir.Each):
        source = f"m.as_list({output(o.source, secret)})"
        if o.item is None:
            return source
        return f"[{output(o.item, secret)} for item in {source}]"
    if isinstance(o, ir.Coerce):
        inner = output(o.inner, secret) if isinstance(o.inner, ir.Select) else value(o.inner)
        return f"m.coerce({py(o.kind)}, {inner})"
    if isinstance(o, ir.Const):
        return py(o.value)
    raise TypeError(f"not an output expression: {o!r}")


def uses(o: Any, kind: type) -> bool:
    """Whether an expression tree contains a node of `kind` (to decide imports)."""
    if isinstance(o, kind):
        return True
    if isinstance(o, ir.Fields):
        return any(uses(v, kind) for _, v in o.fields)
    if isinstance(o, ir.Each):
        return uses(o.source, kind) or uses(o.item, kind)
    if isinstance(o, ir.Coerce):
        return uses(o.inner, kind)
    if isinstance(o, ir.TextTemplate):
        return any(uses(p, kind) for p in o.parts)
    if isinstance(o, dict):
        return any(uses(v, kind) for v in o.values())
    if isinstance(o, (list, tuple)):
        return any(uses(v, kind) for v in o)
    if isinstance(o, ir.Body):
        return uses(o.value, kind)
    return False


def rest_checks(i: ir.Input) -> bool:
    """Whether reading this REST input also checks it (its type, pattern or presence): then the
    handler reads it even when nothing uses its value, so that a bad request is refused."""
    if i.location in ("raw", "content-type"):
        return False
    plain = i.type == "string" and not i.pattern and i.location != "body"
    return not (plain and (not i.required or i.location == "path"))


def rest_input(i: ir.Input) -> str:
    """How a REST handler reads one input from the request."""
    if i.location == "raw":  # the body as it came, at most client_max_size (else 413)
        return "await request.read()"
    if i.location == "content-type":
        return 'request.headers.get("Content-Type")'
    if i.location == "path":
        source = f"request.match_info[{py(i.key or i.name)}]"
    elif i.location == "query":
        method = "getall" if i.type == "array" else "get"
        source = f"request.query.{method}({py(i.name)}{', None' if method == 'getall' else ''})"
    elif i.location == "header":
        source = f"request.headers.get({py(i.name)})"
    elif i.location == "cookie":
        source = f"request.cookies.get({py(i.name)})"
    else:
        steps = ", ".join("m.EACH" if s is ir.EACH else py(s) for s in i.body_path or ())
        source = f"m.select(payload, {steps})" if steps else "payload"
    if not rest_checks(i):
        return source
    args = [py(i.name), source]
    if i.type != "string" or i.pattern:
        args.append(py(i.type))
    if i.pattern:
        args.append(py(i.pattern))
    if i.location != "query":
        args.append(f"where={py(i.location)}")
    if i.required and i.location != "path":
        args.append("required=True")
    return f"_rest.param({', '.join(args)})"


def mcp_input(i: ir.Input) -> str:
    """How a tool function reads one argument."""
    if i.type == "binary":  # base64 text → bytes
        return f"_mcp.binary(args, {py(i.name)}{', required=True' if i.required else ''})"
    args = ["args", py(i.name), py(i.type)]
    if i.required:
        args.append("required=True")
    if i.pattern:
        args.append(f"pattern={py(i.pattern)}")
    return f"_mcp.arg({', '.join(args)})"
