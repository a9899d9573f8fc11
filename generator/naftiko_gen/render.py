"""The render stage: a planned package layout → text, one Jinja template per generated module.

Rendering decides nothing about what a package holds (plan/layout.py does); it turns each
module of the layout into Python source (still to be formatted, see formatting.py), each OpenAPI
document and the MCP client configuration into JSON, and copies the runtime modules and the
static files the layout lists.
"""

from __future__ import annotations

import functools
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from naftiko_gen import cache, pyexpr
from naftiko_gen.pyliteral import py
from naftiko_gen.resources import runtime_source, template_folder, template_folder_installed

if TYPE_CHECKING:  # jinja2 is imported when first needed: a fully cached build never renders
    import jinja2

    from naftiko_gen.plan.ir import Plan


def _pydoc(value: Any, limit: int = 160) -> str:
    """Text that is safe inside a triple-quoted docstring: one line, quotes and backslashes escaped."""
    text = str(value)
    if not (text.isascii() and text.isprintable()):  # else no control or space character but " "
        text = "".join(
            " " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in text
        )
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("\\", "\\\\").replace('"', '\\"')


# The wheel's build (setup.py) compiles every template into Python modules in this folder, with
# a manifest of what they were compiled from, so that the first build after installing does not
# spend ~0.1 s of CPU parsing and compiling templates (issue #18: one spec cold <= 0.5 s). They
# are used only when the manifest matches this Jinja, these settings and these template sources;
# otherwise (an editable install, another Jinja, an edited template) the templates are compiled
# as before, into the user cache folder. Nothing is ever written beside them at run time.
PRECOMPILED = "_compiled"
_MANIFEST = "manifest.json"


def _new_environment() -> jinja2.Environment:
    """The environment's settings and filters, without a loader or a cache."""
    import jinja2

    env = jinja2.Environment(
        autoescape=False,  # noqa: S701 - the output is Python, not HTML: values go through |py or |pydoc
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["py"] = py
    env.filters["pydoc"] = _pydoc
    env.filters["tuple"] = tuple
    env.filters["value"] = pyexpr.value
    env.filters["text"] = lambda parts, secret="client": pyexpr.text(tuple(parts), secret)
    env.filters["output"] = pyexpr.output
    env.filters["path"] = pyexpr.path
    env.filters["rest_input"] = pyexpr.rest_input
    env.filters["rest_checks"] = pyexpr.rest_checks
    env.filters["mcp_input"] = pyexpr.mcp_input
    return env


def _stamp(env: jinja2.Environment, templates: Path) -> dict[str, str]:
    """What compiled templates depend on: Jinja's version, the settings that change the code it
    generates, and every template source (names and bytes)."""
    import jinja2

    settings = (
        env.block_start_string, env.block_end_string, env.variable_start_string,
        env.variable_end_string, env.comment_start_string, env.comment_end_string,
        env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
        env.newline_sequence, env.keep_trailing_newline, env.optimized, env.autoescape,
        env.undefined.__name__, sorted(env.filters), sorted(env.tests),
    )  # fmt: skip
    sources = hashlib.sha256()
    for path in sorted(templates.glob("*.j2")):
        data = path.read_bytes()
        sources.update(f"{path.name}\0{len(data)}\0".encode() + data)
    return {
        "jinja2": jinja2.__version__,
        "settings": repr(settings),
        "templates": sources.hexdigest(),
    }


def precompile(target: Path) -> None:
    """Compile every template into `target` (Jinja's own compile_templates, for its ModuleLoader)
    and write the manifest `environment` checks. Run when the wheel is built (setup.py)."""
    import jinja2

    env = _new_environment()
    folder = template_folder()
    env.loader = jinja2.FileSystemLoader(str(folder))
    env.compile_templates(str(target), extensions=["j2"], zip=None, ignore_errors=False)
    stamp = json.dumps(_stamp(env, folder), indent=2) + "\n"
    (target / _MANIFEST).write_text(stamp, encoding="utf-8")


def _precompiled(env: jinja2.Environment, templates: Path) -> Path | None:
    """The folder of precompiled templates, if there is one and it was compiled from these."""
    folder = template_folder_installed() / PRECOMPILED
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none (a source checkout, an editable install) or damaged
        return None
    return folder if manifest == _stamp(env, templates) else None


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja environment (one per process). Templates come precompiled with the wheel where
    they match (see PRECOMPILED); otherwise compiled templates are kept in the user cache folder
    (never in the installation), where one exists."""
    import jinja2

    env = _new_environment()
    templates = template_folder()
    source = jinja2.FileSystemLoader(str(templates))
    compiled = _precompiled(env, templates)
    if compiled is not None:
        # A template missing from the folder (TemplateNotFound) is read from its source.
        env.loader = jinja2.ChoiceLoader([jinja2.ModuleLoader(str(compiled)), source])
        return env
    env.loader = source
    folder = cache.jinja_folder()
    env.bytecode_cache = _compiled_templates(folder) if folder else None
    return env


def _compiled_templates(folder: Path) -> jinja2.BytecodeCache:
    """Jinja's file cache, reading a damaged entry as a miss (Jinja itself would raise)."""
    import jinja2

    class Tolerant(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                super().load_bytecode(bucket)
            except Exception:  # noqa: BLE001 - torn or foreign: compiled again and rewritten
                bucket.reset()

    return Tolerant(str(folder))


def header(spec: str) -> str:
    # The spec path is shown as text in a comment: keep it to one printable line.
    shown = "".join(ch if ch.isprintable() else "?" for ch in spec)
    return f"# Code generated by naftiko-gen from {shown}. DO NOT EDIT."


@dataclass
class Rendered:
    """One package as text: `modules` still go through the format stage (then `head` goes on
    top of each: black and ruff keep a leading comment as it is), `files` are final. Paths are
    relative to the output folder."""

    head: str
    modules: dict[str, str]
    files: dict[str, str]


def render_plan(plan: Plan) -> Rendered:
    layout = plan.layout
    assert layout is not None, "make_plan sets the layout"
    env = environment()
    head = header(plan.spec) + "\n"
    title = plan.label or plan.package
    base = f"{plan.package}/"
    modules = {
        base
        + m.name: env.get_template(m.template)
        .render(plan=plan, header="", title=title, **m.context)
        .lstrip("\n")
        for m in layout.modules
    }
    files = {base + name: head + runtime_source(name) for name in layout.runtime}
    files.update({base + path: text for path, text in layout.copies.items()})
    for name, document in layout.openapi.items():
        files[base + name] = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    files[base + "requirements.txt"] = head + layout.requirements
    if layout.mcp_clients is not None:
        files[base + "mcp.json"] = json.dumps(layout.mcp_clients, indent=2) + "\n"
    return Rendered(head, modules, files)
