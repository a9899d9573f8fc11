"""dialect: a consumes `baseUri` built from the environment.

    '{{SNOWFLAKE_ACCOUNT_URL}}'                           → the variable SNOWFLAKE_ACCOUNT_URL
    '{{env.SALESFORCE_INSTANCE_URL}}/services/data/v59.0' → SALESFORCE_INSTANCE_URL + the path
    'https://dev.azure.com/{organization}'                → ORGANIZATION (upper snake case)

One meaning: every placeholder is an environment variable (`{{X}}`, `{{env.X}}`, `{{bindNs.X}}`:
X as written; `{x}`: x in upper snake case), read once at start-up by the generated server
(`_config.load_config`), which stops with one line naming a missing variable. `<NS>_BASE_URL`
still overrides the whole URL. The generated `Upstream.base_url` is then a template whose
placeholders are `{NAME}` (a literal baseUri never holds a brace).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from naftiko_gen.naming import env_name, snake

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}|\{([^{}]*)\}")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SAFE = "/:@!$&'()*+,;=-._~%"


def env_template(uri: str) -> tuple[str, str, list[str]] | None:
    """(runtime template with `{NAME}` placeholders, a sample URL to validate, [NAME, ...]) of a
    baseUri with placeholders; None without any, or when a placeholder names no variable."""
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for m in _PLACEHOLDER.finditer(uri):
        pieces.append((uri[at : m.start()], None))
        if m[1] is not None:
            name = m[1].rpartition(".")[2]  # {{env.X}} and {{bindNs.X}} name X
        else:
            name = env_name(snake(m[2])) if m[2].strip() else ""
        if not _ENV.match(name):
            return None
        pieces.append(("", name))
        at = m.end()
    if not at:
        return None
    pieces.append((uri[at:], None))
    template, sample, names = "", "", []
    for i, (text, name) in enumerate(pieces):
        if name is None:
            template += quote(text, safe=_SAFE)
            sample += text
            continue
        names.append(name)
        template += "{" + name + "}"
        sample += "https://placeholder.invalid" if i == 1 and not pieces[0][0] else "placeholder"
    return template, sample, list(dict.fromkeys(names))
