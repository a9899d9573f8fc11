"""outputParameters → an output expression over the upstream data and the caller's inputs."""

from __future__ import annotations

from collections.abc import Callable as Fn
from typing import Any

from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.jsonpath import JsonPathError, compile_path
from naftiko_gen.model import OutputParam
from naftiko_gen.plan import ir
from naftiko_gen.runtime._mapping import coerce

PARSEABLE_FORMATS = (
    "json", "xml", "csv", "tsv", "psv", "yaml", "html", "markdown", "avro", "protobuf"
)  # fmt: skip
FAILED = object()  # compile() result when the outputs are in error


def steps_literal(steps: Any) -> tuple[Any, ...]:
    return tuple(ir.EACH if s.kind == "each" else s.value for s in steps)


class OutputCompiler:
    def __init__(
        self,
        report: Report,
        fmt: str,
        mock: bool,
        template: Fn[[Any, Any], Any],
    ) -> None:
        self.report = report
        self.fmt = fmt
        self.mock = mock
        self.template = template  # a `value` → plan value over input names

    def compile(self, outputs: list[OutputParam], pos: Pos) -> Any:
        """An output expression; None to relay the upstream body as is; FAILED on error."""
        if not outputs:
            return None
        if len(outputs) == 1 and outputs[0].name is None:
            only = outputs[0]
            if self.is_passthrough(only):
                return None
            return self.expr(only, "data")
        fields: dict[str, Any] = {}
        for o in outputs:
            if o.name is None:
                self.report.error(
                    "naftiko-output-name",
                    "with several outputParameters each needs a 'name' (the key in the result)",
                    o.pos,
                )
                return FAILED
            if o.name in fields:
                self.report.error(
                    "naftiko-output-name", f"output '{o.name}' is declared twice", o.pos
                )
                return FAILED
            fields[o.name] = self.expr(o, "data")
        return ir.Fields(tuple(fields.items()))

    def is_passthrough(self, o: OutputParam) -> bool:
        return (
            o.value is None
            and not o.properties
            and o.items is None
            and (o.mapping is None or o.mapping.strip() in ("$", "$."))
            and not self.mock
            # xml, csv, yaml … mapped at the root still become JSON
            and (self.fmt == "json" or self.fmt not in PARSEABLE_FORMATS)
        )

    def select(self, o: OutputParam, source: str) -> ir.Select:
        if o.mapping is None:
            return ir.Select(source, ())
        try:
            steps = compile_path(o.mapping)
        except JsonPathError as exc:
            self.report.error(
                "naftiko-jsonpath", f"{exc}; naftiko-gen supports $.a.b, $[0], $.a[*].b", o.pos
            )
            return ir.Select(source, ())
        if steps and self.fmt not in PARSEABLE_FORMATS:
            self.report.error(
                "naftiko-output-format",
                f"outputRawFormat '{self.fmt}' cannot be mapped with JSONPath; remove the mapping "
                "to pass the body through",
                o.pos,
            )
        return ir.Select(source, steps_literal(steps))

    def expr(self, o: OutputParam, source: str) -> Any:
        if o.value is not None:
            value = self.template(o.value, o.pos)
            if isinstance(value, (str, int, float, bool)) or value is None:
                return ir.Const(
                    coerce(o.type, value)
                )  # the runtime's own conversion, at build time
            return ir.Coerce(o.type, value)
        if o.type == "object" and o.properties:
            return ir.Fields(tuple((k, self.expr(v, source)) for k, v in o.properties.items()))
        if o.type == "array":
            selected = self.select(o, source)
            if o.items is None or self.is_identity_item(o.items):
                return ir.Each(selected, None)
            return ir.Each(selected, self.expr(o.items, "item"))
        if self.mock:
            return ir.Const(None)
        if o.type in ("number", "integer", "boolean"):
            # XML and CSV carry every value as text; JSON numbers pass through unchanged.
            return ir.Coerce(o.type, self.select(o, source))
        return self.select(o, source)

    def is_identity_item(self, o: OutputParam) -> bool:
        return (
            o.value is None
            and not o.properties
            and (o.mapping is None or o.mapping.strip() in ("$", "$."))
        )


def uses_mapping(output: Any) -> bool:
    """Whether an output expression needs the mapping helpers (select, as_list, coerce)."""
    if isinstance(output, ir.Select):
        return bool(output.steps)
    if isinstance(output, (ir.Each, ir.Coerce)):
        return True
    if isinstance(output, ir.Fields):
        return any(uses_mapping(v) for _, v in output.fields)
    return False


def has_values(outputs: list[OutputParam]) -> bool:
    """Whether any output parameter (or one nested in it) declares a literal `value`."""
    return any(
        o.value is not None
        or has_values(list(o.properties.values()))
        or (o.items is not None and has_values([o.items]))
        for o in outputs
    )
