"""authentication blocks, consumed (outbound) and exposed (inbound)."""

from __future__ import annotations

import re

from naftiko_gen.loader import Node
from naftiko_gen.model import Auth
from naftiko_gen.reader.common import Reader

# Signed upstream auth: canonical field -> the spellings accepted (the first is canonical; the
# others, seen in real specs and neighbouring tools, are read with a note).
SIGNED_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "oauth1": {
        "consumerKey": ("consumerKey", "consumer_key", "clientKey"),
        "consumerSecret": ("consumerSecret", "consumer_secret", "clientSecret"),
        "privateKey": ("privateKey", "signingKey", "rsaKey"),
        "token": ("token", "accessToken", "oauthToken"),
        "tokenSecret": ("tokenSecret", "accessSecret", "accessTokenSecret", "token_secret"),
        "signatureMethod": ("signatureMethod", "signature_method"),
        "realm": ("realm",),
        "bodyHash": ("bodyHash", "includeBodyHash"),
    },
    "aws-sig-v4": {
        "accessKeyId": ("accessKeyId", "accessKey"),
        "secretAccessKey": ("secretAccessKey", "secretKey"),
        "sessionToken": ("sessionToken",),
        "region": ("region",),
        "service": ("service", "serviceName"),
    },
    "certificate": {
        "certificate": ("certificate", "clientCertificate", "clientCert", "cert"),
        "privateKey": ("privateKey", "clientKey", "key"),
        "caCertificate": ("caCertificate", "caCert", "ca"),
        "password": ("password", "passphrase"),
    },
    "hmac": {
        "secret": ("secret", "key", "secretKey"),
        "algorithm": ("algorithm", "hash"),
        "header": ("header", "signatureHeader"),
        "signed": ("signed", "message", "stringToSign"),
        "encoding": ("encoding",),
        "prefix": ("prefix",),
        "timestampHeader": ("timestampHeader",),
        "nonceHeader": ("nonceHeader",),
    },
}
KIND_SPELLINGS = {
    "oauth1a": "oauth1",
    "oauth10a": "oauth1",
    "awsv4": "aws-sig-v4",
    "aws-sigv4": "aws-sig-v4",
    "sigv4": "aws-sig-v4",
    "mtls": "certificate",
    "clientcertificate": "certificate",
}
REQUIRED = {
    "oauth1": ("consumerKey",),
    "aws-sig-v4": ("accessKeyId", "secretAccessKey", "region", "service"),
    "certificate": ("certificate",),
    "hmac": ("secret", "algorithm", "header", "signed"),
}
OAUTH1_METHODS = ("HMAC-SHA1", "HMAC-SHA256", "HMAC-SHA512", "RSA-SHA1", "RSA-SHA256", "RSA-SHA512")
HMAC_ALGORITHMS = ("sha1", "sha256", "sha384", "sha512")
HMAC_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]*)\}")
HMAC_PLACEHOLDERS = (
    "method", "path", "query", "url", "host", "body", "bodySha256", "timestamp", "nonce",
)  # fmt: skip


def auth(r: Reader, node: Node | None, consumes_side: bool) -> Auth | None:
    if node is None or node.value is None:
        return None
    if r.expect_map(node, "'authentication'") is None:
        return None
    w = "'authentication'"
    kind = r.text(node, "type", w, required=True)
    if kind is None:
        return None
    kind_l = KIND_SPELLINGS.get(kind.lower().replace("_", "-"), kind.lower())
    spelled = None
    if kind_l in ("header", "query") and consumes_side:
        # `type: header` / `type: query`: an api key by where it goes.
        r.warn(
            "naftiko-schema-deviation",
            f"authentication type '{kind}' is read as apikey with placement {kind_l}",
            node.pos_of("type"),
        )
        kind_l, spelled = "apikey", kind_l
    elif kind_l != kind and kind_l in SIGNED_FIELDS:
        r.warn(
            "naftiko-schema-deviation",
            f"authentication type '{kind}' is read as {kind_l}",
            node.pos_of("type"),
        )
    a = Auth(kind_l, node.pos, {k: node.value_pos(k) for k in node.value})
    if kind_l == "bearer":
        r.check_keys(node, ("type", "token"), w)
        a.token = r.text(node, "token", w, required=True)
    elif kind_l in ("basic", "digest"):
        r.check_keys(node, ("type", "username", "password"), w)
        a.username = r.text(node, "username", w, required=True)
        a.password = r.text(node, "password", w, required=True)
    elif kind_l in SIGNED_FIELDS:
        r.warn(
            "naftiko-auth-extension",
            f"authentication type '{kind_l}' is an extension beyond the alpha2 schema; "
            "naftiko-gen signs every upstream request with it",
            node.pos_of("type"),
        )
        if not consumes_side:
            r.error(
                "naftiko-unsupported-auth",
                f"{kind_l} signs upstream requests; an exposed adapter cannot require it "
                "(use bearer, apikey or basic)",
                node.pos_of("type"),
            )
            return None
        return signed(r, node, a) if _fields(r, node, a) else None
    elif kind_l == "apikey":
        # Real specs spell apikey three ways: {key, value, placement}, {in, name, value}, {header, key}.
        r.check_keys(
            node, ("type", "key", "value", "placement"), w, lenient=("in", "name", "header")
        )
        header_alias = r.text(node, "header", w) if spelled != "query" else None
        name_alias = r.text(node, "name", w)
        if header_alias is not None:
            a.key, a.value, a.placement = header_alias, r.text(node, "key", w), "header"
        else:
            a.key = r.text(node, "key", w) or name_alias
            a.value = r.text(node, "value", w)
            placement = r.text(node, "placement", w) or r.text(node, "in", w) or spelled or "header"
            if placement not in ("header", "query", "body"):
                r.error(
                    "naftiko-schema-enum",
                    f"apikey placement '{placement}' is not supported; use header, query or body",
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
            return None
        return oauth2(r, node, a)
    else:
        r.error(
            "naftiko-unsupported-auth",
            f"authentication type '{kind}' is not supported; use bearer, basic, digest, apikey, "
            "oauth1, aws-sig-v4, hmac or certificate",
            node.pos_of("type"),
        )
        return None
    return a


def _fields(r: Reader, node: Node, a: Auth) -> bool:
    """Read a signed kind's fields into a.params by canonical name; False if one is missing."""
    w = f"'authentication' ({a.kind})"
    fields = SIGNED_FIELDS[a.kind]
    spellings = {s: canonical for canonical, all_ in fields.items() for s in all_}
    for key in node.value:
        if key == "type":
            continue
        canonical = spellings.get(key)
        if canonical is None:
            r.warn(
                "naftiko-unknown-key",
                f"unknown key '{key}' in {w} is ignored; known: {', '.join(fields)}",
                node.pos_of(key),
            )
            continue
        if canonical in a.params:
            continue  # two spellings of one field: the first wins
        if key != canonical:
            r.warn(
                "naftiko-schema-deviation",
                f"'{key}' is read as '{canonical}'",
                node.pos_of(key),
            )
        a.params[canonical] = (
            r.boolean(node, key, w) if canonical == "bodyHash" else r.text(node, key, w)
        )
        a.positions[canonical] = node.value_pos(key)
    missing = [f for f in REQUIRED[a.kind] if a.params.get(f) in (None, "")]
    if missing:
        quoted = [f"'{m}'" for m in missing]
        names = " and ".join([", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)
        r.error(
            "naftiko-auth-incomplete",
            f"{a.kind} auth needs {names}; add {'it' if len(missing) == 1 else 'them'}",
            node.pos,
        )
        return False
    return True


def signed(r: Reader, node: Node, a: Auth) -> Auth | None:
    """Check what a signed kind needs beyond its required fields."""
    p = a.params
    if a.kind == "oauth1":
        method = (p.get("signatureMethod") or "").upper().replace("_", "-")
        method = method or ("RSA-SHA256" if p.get("privateKey") else "HMAC-SHA1")
        if method not in OAUTH1_METHODS:
            r.error(
                "naftiko-schema-enum",
                f"OAuth 1.0a signatureMethod '{p['signatureMethod']}' is not supported; "
                f"use one of {', '.join(OAUTH1_METHODS)}",
                a.positions.get("signatureMethod", node.pos),
            )
            return None
        p["signatureMethod"] = method
        needs = "privateKey" if method.startswith("RSA-") else "consumerSecret"
        if not p.get(needs):
            r.error(
                "naftiko-auth-incomplete",
                f"oauth1 auth with {method} needs '{needs}'; add it",
                node.pos,
            )
            return None
    elif a.kind == "hmac":
        algorithm = p["algorithm"].lower().replace("-", "").removeprefix("hmac")
        if algorithm not in HMAC_ALGORITHMS:
            r.error(
                "naftiko-schema-enum",
                f"HMAC algorithm '{p['algorithm']}' is not supported; use sha1, sha256, sha384 "
                "or sha512",
                a.positions.get("algorithm", node.pos),
            )
            return None
        p["algorithm"] = algorithm
        if p.get("encoding") not in (None, "hex", "base64"):
            r.error(
                "naftiko-schema-enum",
                f"HMAC encoding '{p['encoding']}' is not supported; use hex or base64",
                a.positions.get("encoding", node.pos),
            )
            return None
        used = HMAC_PLACEHOLDER.findall(p["signed"])
        unknown = [u for u in used if u not in HMAC_PLACEHOLDERS]
        if unknown:
            r.error(
                "naftiko-schema-enum",
                f"'signed' uses {{{unknown[0]}}}, which is not a part of the request; "
                f"use {', '.join('{' + h + '}' for h in HMAC_PLACEHOLDERS)}",
                a.positions.get("signed", node.pos),
            )
            return None
        for part, header in (("timestamp", "timestampHeader"), ("nonce", "nonceHeader")):
            if part in used and not p.get(header):
                r.error(
                    "naftiko-auth-incomplete",
                    f"hmac 'signed' uses {{{part}}}; name the header that carries it to the "
                    f"upstream with '{header}'",
                    node.pos,
                )
                return None
    return a


OAUTH2_KEYS = (
    "type", "authorizationServerUri", "resource", "scopes", "audience", "tokenEndpoint",
    "tokenValidation",
)  # fmt: skip


def oauth2(r: Reader, node: Node, a: Auth) -> Auth | None:
    """A resource server: JWTs from the authorization server, checked against its key set.

    Keys come from `jwks` (a JWKS file, relative to the spec) or `jwksUri`, two extensions
    beyond the alpha2 schema; without either they are discovered at start-up from the
    authorization server's metadata (RFC 8414), as the schema describes.
    """
    w = "'authentication' (oauth2)"
    r.check_keys(node, OAUTH2_KEYS, w, lenient=("jwksUri", "jwks"))
    p = a.params
    for key in ("authorizationServerUri", "resource"):
        p[key] = r.text(node, key, w, required=True)
    if p["authorizationServerUri"] is None or p["resource"] is None:
        return None
    for key in ("audience", "jwksUri", "jwks", "tokenValidation"):
        p[key] = r.text(node, key, w)
    p["scopes"] = []
    for item in r.expect_list(node, "scopes", w):
        if not isinstance(item.value, str) or not item.value:
            r.error("naftiko-schema-type", "each oauth2 scope must be a non-empty text", item.pos)
            return None
        p["scopes"].append(item.value)
    if p["tokenValidation"] not in (None, "jwks"):
        r.error(
            "naftiko-oauth2-jwks",
            f"tokenValidation '{p['tokenValidation']}' is not supported; naftiko-gen checks "
            "JWT signatures against the authorization server's key set (jwks)",
            node.pos_of("tokenValidation"),
        )
        return None
    for key in ("authorizationServerUri", "resource", "jwksUri"):
        if p[key] is not None and not re.match(r"https?://[^/\s]+", p[key]):
            r.error(
                "naftiko-oauth2-jwks" if key == "jwksUri" else "naftiko-schema-type",
                f"oauth2 '{key}' must be an http(s) URL, not '{p[key]}'",
                node.pos_of(key),
            )
            return None
    return a
