"""REST `forward` resources → routes that pass every request under a path prefix to one upstream."""

from __future__ import annotations

import re
from urllib.parse import quote

from naftiko_gen import mustache
from naftiko_gen.diagnostics import Report
from naftiko_gen.model import Capability, RestResource
from naftiko_gen.naming import Names, snake
from naftiko_gen.plan import ir
from naftiko_gen.plan.consumed import PATH_SAFE, ConsumedPlanner
from naftiko_gen.suggest import did_you_mean

HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Never copied, even when trusted: they describe this hop, not the request.
HOP_BY_HOP = frozenset(
    ("host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te")
)


def plan_forward(
    res: RestResource,
    cap: Capability,
    consumed: ConsumedPlanner,
    names: Names,
    report: Report,
) -> ir.Forward | None:
    fw = res.forward
    assert fw is not None
    target = cap.consumes_by_namespace().get(fw.target)
    if target is None:
        known = [c.namespace for c in cap.consumes]
        hint = did_you_mean(fw.target, known) or (
            f"; consumes namespaces: {', '.join(known)}" if known else ""
        )
        report.error(
            "naftiko-forward-target",
            f"'forward' of '{res.path}' targets '{fw.target}', which no consumes adapter "
            f"declares{hint}",
            fw.pos,
        )
        return None
    parts = mustache.parse_path(res.path)
    if parts and isinstance(parts[-1], mustache.Var):
        parts = parts[:-1]  # `/legacy/{{path}}`: the placeholder is the forwarded tail
    literal = "".join(p for p in parts if isinstance(p, str))
    prefix = "/" + literal.strip("/")
    if any(isinstance(p, mustache.Var) for p in parts) or "{" in literal or "}" in literal:
        report.error(
            "naftiko-rest-path",
            f"forward path '{res.path}' may end with one placeholder (the forwarded rest of the "
            "path) and have no other",
            res.pos,
        )
        return None
    if quote(prefix, safe=PATH_SAFE.replace("%", "")) != prefix or prefix == "/":
        report.error(
            "naftiko-rest-path",
            f"forward path '{res.path}' must be a fixed prefix such as /legacy, in ASCII letters, "
            "digits and - . _ ~",
            res.pos,
        )
        return None
    headers: list[str] = []
    for h in fw.trusted_headers:
        if not HEADER_NAME.match(h):
            report.error(
                "naftiko-forward-target", f"trusted header '{h}' is not a header name", fw.pos
            )
            return None
        if h.lower() in HOP_BY_HOP:
            report.warning(
                "naftiko-forward-target",
                f"trusted header '{h}' describes the connection, not the request; it is not copied",
                fw.pos,
            )
            continue
        headers.append(h)
    return ir.Forward(
        func=names.take(snake("forward_" + (res.name or prefix))),
        prefix=prefix,
        spec_path=res.path,
        upstream=consumed.forwarded(target),
        trusted_headers=tuple(headers),
        description=res.description,
    )
