"""authentication blocks, consumed (outbound) and exposed (inbound)."""

from __future__ import annotations

from generator.loader import Node
from generator.model import Auth
from generator.reader.common import Reader


def auth(r: Reader, node: Node | None, consumes_side: bool) -> Auth | None:
    if node is None or node.value is None:
        return None
    if r.expect_map(node, "'authentication'") is None:
        return None
    w = "'authentication'"
    kind = r.text(node, "type", w, required=True)
    if kind is None:
        return None
    kind_l = kind.lower()
    a = Auth(kind_l, node.pos, {k: node.value_pos(k) for k in node.value})
    if kind_l == "bearer":
        r.check_keys(node, ("type", "token"), w)
        a.token = r.text(node, "token", w, required=True)
    elif kind_l in ("basic", "digest"):
        r.check_keys(node, ("type", "username", "password"), w)
        a.username = r.text(node, "username", w, required=True)
        a.password = r.text(node, "password", w, required=True)
    elif kind_l == "apikey":
        # Real specs spell apikey three ways: {key, value, placement}, {in, name, value}, {header, key}.
        r.check_keys(
            node, ("type", "key", "value", "placement"), w, lenient=("in", "name", "header")
        )
        header_alias = r.text(node, "header", w)
        name_alias = r.text(node, "name", w)
        if header_alias is not None:
            a.key, a.value, a.placement = header_alias, r.text(node, "key", w), "header"
        else:
            a.key = r.text(node, "key", w) or name_alias
            a.value = r.text(node, "value", w)
            placement = r.text(node, "placement", w) or r.text(node, "in", w) or "header"
            if placement not in ("header", "query"):
                r.error(
                    "naftiko-schema-enum",
                    f"apikey placement '{placement}' is not supported; use header or query",
                    node.pos,
                )
            a.placement = placement
        if a.key is None or a.value is None:
            r.error(
                "naftiko-auth-incomplete",
                "apikey auth needs 'key' and 'value'; add them",
                node.pos,
            )
            return None
    elif kind_l == "oauth2":
        if consumes_side:
            r.error(
                "naftiko-unsupported-auth",
                "oauth2 describes a resource server and cannot authenticate upstream calls; "
                "use bearer with a token from binds",
                node.pos_of("type"),
            )
        else:
            r.error(
                "naftiko-unsupported-auth",
                "oauth2 on an exposed adapter is not supported by naftiko-gen yet; use bearer or apikey",
                node.pos_of("type"),
            )
        return None
    else:
        r.error(
            "naftiko-unsupported-auth",
            f"authentication type '{kind}' is not supported; use bearer, basic, digest or apikey",
            node.pos_of("type"),
        )
        return None
    return a
