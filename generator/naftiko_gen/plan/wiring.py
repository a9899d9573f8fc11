"""Exposed operations and tools → their inputs and the upstream call they make (`with`)."""

from __future__ import annotations

import re
from collections.abc import Callable as Fn
from typing import Any

from naftiko_gen import mustache
from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.jsonpath import JsonPathError, compile_path
from naftiko_gen.model import Callable, Capability, ConsumedParam, ExposedParam
from naftiko_gen.plan import ir
from naftiko_gen.plan.consumed import (
    BINARY_BODY,
    BINARY_TYPE,
    CALLER_PREFIXES,
    ConsumedOp,
    ConsumedPlanner,
    is_binary,
    strip_caller_prefix,
)
from naftiko_gen.plan.outputs import OutputCompiler, steps_literal
from naftiko_gen.plan.secrets import Secrets
from naftiko_gen.suggest import did_you_mean

EnsureInput = Fn[[str, ConsumedParam | None, Pos], ir.Input]


class Wiring:
    def __init__(
        self,
        cap: Capability,
        ops: dict[str, ConsumedOp],
        consumed: ConsumedPlanner,
        secrets: Secrets,
        report: Report,
    ) -> None:
        self.cap = cap
        self.ops = ops
        self.consumed = consumed
        self.secrets = secrets
        self.report = report
        self.exposed_ns = consumed.exposed_ns
        self.used: dict[str, ir.UpstreamOp] = {}

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.report.error(rule, message, pos)

    def resolve_call(self, target: Callable, kind: str) -> ConsumedOp | None:
        if target.call is None:
            return None
        key = f"{target.call.namespace}.{target.call.operation}"
        co = self.ops.get(key)
        if co is None and (key in self.cap.broken or target.call.namespace in self.cap.broken):
            # the broken operation or adapter was reported (or skipped) where it stands
            self.error(
                "naftiko-call-resolves",
                f"{kind} calls '{key}', which could not be read (see its diagnostics)",
                target.call.pos,
            )
            return None
        if co is None:
            namespaces = [c.namespace for c in self.cap.consumes]
            known = sorted(self.ops)
            hint = did_you_mean(key, known)
            if not hint and target.call.namespace not in namespaces:
                hint = did_you_mean(target.call.namespace, namespaces)
            in_namespace = [k for k in known if k.startswith(target.call.namespace + ".")]
            if not hint and target.call.namespace in namespaces and not in_namespace:
                hint = "; it declares no operations"
            elif not hint:
                hint = f"; known operations: {', '.join(known[:8])}" if known else ""
            if target.call.namespace not in namespaces:
                self.error(
                    "naftiko-call-resolves",
                    f"{kind} calls '{key}', but no consumes adapter has namespace "
                    f"'{target.call.namespace}'{hint}",
                    target.call.pos,
                )
            else:
                self.error(
                    "naftiko-call-resolves",
                    f"{kind} calls '{key}', but consumes '{target.call.namespace}' has no operation "
                    f"'{target.call.operation}'{hint}",
                    target.call.pos,
                )
            return None
        return co

    def outputs(self, target: Callable, co: ConsumedOp | None) -> Any:
        """The target's output expression: None relays the answer as is; FAILED on error."""
        prefixes = set(CALLER_PREFIXES) | self.exposed_ns

        def template(value: Any, pos: Pos) -> Any:
            # Output values read the caller's inputs by name; nothing is synthesized.
            return self.with_value(
                value, pos, prefixes, lambda name, hint, pos: ir.Input(name, "", False, ""), None
            )

        fmt = co.op.output_format if co else "json"
        return OutputCompiler(self.report, fmt, co is None, template).compile(
            target.outputs, target.pos
        )

    def upstream_op(self, co: ConsumedOp) -> ir.UpstreamOp:
        found = self.used.get(co.key)
        if found is None:
            found = self.consumed.operation(co)
            self.used[co.key] = found
        return found

    # -- inputs --------------------------------------------------------------------------

    def exposed_inputs(self, params: list[ExposedParam], rest: bool) -> list[ir.Input]:
        out: list[ir.Input] = []
        seen: set[str] = set()
        for p in params:
            if p.name in seen:
                self.error(
                    "naftiko-input-names-unique",
                    f"input parameter '{p.name}' is declared twice; remove one",
                    p.pos,
                )
                continue
            seen.add(p.name)
            if p.pattern is not None:
                try:
                    re.compile(p.pattern)
                except (re.error, RecursionError, OverflowError):
                    self.error(
                        "naftiko-pattern",
                        f"pattern '{p.pattern}' of '{p.name}' is not a valid regular expression",
                        p.pos,
                    )
                    continue
            if rest:
                loc = p.location or "query"
                body_path = None
                if loc == "body":
                    # A body input is the field of its name, `body` included; only an explicit
                    # `value: $.` binds the whole payload (None: the payload itself).
                    body_path = (p.name,)
                    if isinstance(p.value, str) and p.value.startswith("$"):
                        try:
                            body_path = steps_literal(compile_path(p.value)) or None
                        except JsonPathError as exc:
                            self.error(
                                "naftiko-jsonpath", f"{exc}; use $.field.sub or $.list[0]", p.pos
                            )
                required = loc == "path" or bool(p.required)
            else:
                loc = "argument"
                body_path = None
                required = p.required is not False
            out.append(ir.Input(p.name, p.type, required, loc, p.description, p.pattern, body_path))
        return out

    # -- wiring --------------------------------------------------------------------------

    def wire(
        self,
        target: Callable,
        co: ConsumedOp,
        inputs: list[ir.Input],
        adapter_ns: str,
        rest_path_vars: list[str] | None,
        declared: bool | None = None,
    ) -> dict[str, Any]:
        """Consumed name → value over the caller's inputs (by input name). Adds inputs.

        `declared`: the target lists its own inputs (default: it has inputParameters). Then its
        `with` references must name one of them, and a consumed body field none of them fills is
        left out; without a list, the consumed operation's parameters become its inputs.
        """
        if declared is None:
            declared = bool(target.params)
        by_name = {i.name: i for i in inputs}
        declared_names = set(by_name)
        by_lower: dict[str, ir.Input] = {}
        for i in inputs:
            by_lower.setdefault(i.name.lower(), i)
        args: dict[str, Any] = {}
        prefixes = set(CALLER_PREFIXES) | {adapter_ns}
        consumed_params = {p.name: p for p in co.all_params()}
        path_vars = {
            strip_caller_prefix(v, self.exposed_ns) for v in mustache.path_vars(co.resource.path)
        }
        whole = sends_whole_body(co)

        def ensure_input(
            name: str, hint: ConsumedParam | None, pos: Pos, path: bool = False
        ) -> ir.Input:
            found = by_name.get(name)
            if found is None:
                lowered = by_lower.get(name.lower())
                if lowered is not None and lowered.location == "path":
                    found = lowered  # `with: {x: rest.apiTokenId}` on a route with {apitokenid}
            if found is not None:
                return found
            typ = (hint.type if hint and hint.type else None) or (
                "object"
                if name == "body" and (hint is None or hint.location == "body")
                else "string"
            )
            description = hint.description if hint else None
            # A value for a path placeholder is required, whatever the consumed side declares.
            required = path or bool(hint and (hint.required or hint.name in path_vars))
            if rest_path_vars is None:
                new = ir.Input(name, typ, required, "argument", description)
            else:
                if path:
                    location = "path"
                elif name == "body" and (hint is None or hint.location == "body"):
                    location = "body"
                elif hint is not None and hint.location in ("query", "header", "cookie", "body"):
                    location = hint.location
                else:
                    location = "query"
                # The request payload itself only fills the consumed `body` the upstream gets as
                # its whole body (the same JSON on both sides); any other body input is a field.
                passthrough = whole and hint is not None and hint.name == "body"
                body_path = (name,) if location == "body" and not passthrough else None
                new = ir.Input(name, typ, required, location, description, body_path=body_path)
            inputs.append(new)
            by_name[name] = new
            by_lower.setdefault(name.lower(), new)
            return new

        def reference(
            name: str, hint: ConsumedParam | None, pos: Pos, path: bool = False
        ) -> ir.Input:
            """An input a `with` value names: one the target declares (or a route placeholder)."""
            if declared and by_name.get(name) is None:
                lowered = by_lower.get(name.lower())
                if lowered is None or lowered.location != "path":
                    known = [i.name for i in inputs]
                    hint_text = did_you_mean(name, known) or (
                        f"; inputs: {', '.join(known)}" if known else "; it has no inputs"
                    )
                    self.error(
                        "naftiko-with-reference",
                        f"'with' reads '{name}', which is not an input of this "
                        f"{'operation' if rest_path_vars is not None else 'tool'}{hint_text}",
                        pos,
                    )
                    return ir.Input(name, "string", False, "argument")
            return ensure_input(name, hint, pos, path)

        self.check_with_keys(target, co)
        with_keys = {wv.key for wv in target.with_values}
        self.wire_path(target, co, args, with_keys, by_name, by_lower, ensure_input, rest_path_vars)
        for wv in target.with_values:
            args[wv.key] = self.with_value(
                wv.value, wv.pos, prefixes, reference, consumed_params.get(wv.key)
            )
            if wv.key in path_vars:
                for ref in ir.find(ir.ArgRef, args[wv.key]):
                    if ref.name in by_name:
                        self.path_input(
                            by_name[ref.name],
                            wv.key,
                            co,
                            wv.pos,
                            rest_path_vars is not None,
                            ref.name in declared_names,
                        )
        # Other names the upstream function takes: the caller supplies them by name.
        for caller in self.consumed.caller_names(co):
            if caller.name in args or caller.path:
                continue
            if is_binary(co) and caller.name in (BINARY_BODY, BINARY_TYPE):
                found = binary_input(caller.name, by_name.get(caller.name), rest_path_vars)
                if caller.name not in by_name:
                    inputs.append(found)
                    by_name[caller.name] = found
                args[caller.name] = ir.ArgRef(found.name)
                continue
            pos = caller.hint.pos if caller.hint else target.pos
            hint = caller.hint
            if (
                declared
                and hint is not None
                and hint.location == "body"
                and caller.name not in by_name
            ):
                self.unfilled_body(
                    target, co, caller.name, caller.required, rest_path_vars is not None
                )
                continue
            args[caller.name] = ir.ArgRef(ensure_input(caller.name, caller.hint, pos).name)
        return args

    def check_with_keys(self, target: Callable, co: ConsumedOp) -> None:
        """Every `with` key names something the consumed operation takes from its caller."""
        takes = [c.name for c in self.consumed.caller_names(co)]
        params = {p.name: p for p in co.all_params()}
        for wv in target.with_values:
            if wv.key in takes:
                continue
            fixed = params.get(wv.key)
            if fixed is not None and fixed.value is not None:
                self.error(
                    "naftiko-with-unknown-param",
                    f"'with' sets '{wv.key}', but '{co.key}' fixes it with its own 'value'; "
                    "remove one of the two",
                    wv.pos,
                )
                continue
            if not takes:  # nothing to misspell: the engine accepts it (its own fixtures do)
                self.report.warning(
                    "naftiko-with-ignored",
                    f"'with' sets '{wv.key}', but '{co.key}' takes no parameters; it is ignored",
                    wv.pos,
                )
                continue
            hint_text = did_you_mean(wv.key, takes) or f"; it takes: {', '.join(takes)}"
            self.error(
                "naftiko-with-unknown-param",
                f"'with' sets '{wv.key}', which '{co.key}' does not take{hint_text}",
                wv.pos,
            )

    def unfilled_body(
        self, target: Callable, co: ConsumedOp, name: str, required: bool, rest: bool
    ) -> None:
        """A consumed body field that neither `with` nor a declared input fills: left out."""
        where = "operation" if rest else "tool"
        fix = f"declare an input '{name}' or add 'with: {{{name}: ...}}'"
        if required:
            self.error(
                "naftiko-body-param-required",
                f"'{co.key}' requires the body field '{name}', which no input of this {where} "
                f"fills; {fix}",
                target.pos,
            )
            return
        self.report.warning(
            "naftiko-body-param-unfilled",
            f"'{co.key}' takes the body field '{name}', which no input of this {where} fills; "
            f"it is left out of the body ({fix})",
            target.pos,
        )

    def path_input(
        self, i: ir.Input, var: str, co: ConsumedOp, pos: Pos, rest: bool, declared: bool
    ) -> None:
        """An input filling a consumed path placeholder is required; where it is read from the
        route's query, header, cookie or body rather than its path, say so."""
        if rest and i.location not in ("path", "raw", "content-type"):
            self.report.warning(
                "naftiko-path-input",
                f"input '{i.name}' fills the path placeholder '{{{{{var}}}}}' of "
                f"'{co.resource.path}' but is read from the request's {i.location}; it is "
                f"required (a path parameter: a '{{{i.name}}}' placeholder in the route)",
                pos,
            )
        elif not rest and declared and not i.required and i.location == "argument":
            self.report.warning(
                "naftiko-path-input",
                f"input '{i.name}' is 'required: false' but fills the path placeholder "
                f"'{{{{{var}}}}}' of '{co.resource.path}'; it is required",
                pos,
            )
        i.required = True

    def wire_path(
        self,
        target: Callable,
        co: ConsumedOp,
        args: dict[str, Any],
        with_keys: set[str],
        by_name: dict[str, ir.Input],
        by_lower: dict[str, ir.Input],
        ensure_input: Any,
        rest_path_vars: list[str] | None,
    ) -> None:
        """Consumed path variables: from `with`, a same-named input (any case), else by position."""
        consumed_params = {p.name: p for p in co.all_params()}
        unmatched_exposed = list(rest_path_vars or [])
        pending: list[str] = []
        for var in mustache.path_vars(co.resource.path):
            name = strip_caller_prefix(var, self.exposed_ns)
            fixed = consumed_params.get(name)
            if name in with_keys or (fixed is not None and fixed.value is not None):
                continue
            found = by_name.get(name) or by_lower.get(name.lower())
            if found is not None:
                if found.description is None and fixed is not None:
                    found.description = fixed.description
                args[name] = ir.ArgRef(found.name)
                self.path_input(found, name, co, target.pos, rest_path_vars is not None, True)
                if found.name in unmatched_exposed:
                    unmatched_exposed.remove(found.name)
            else:
                pending.append(name)
        for name in pending:
            if rest_path_vars is not None:
                if unmatched_exposed:
                    exposed = unmatched_exposed.pop(0)
                    found = by_name.get(exposed)
                    hint = consumed_params.get(name)
                    if found is not None and found.description is None and hint is not None:
                        found.description = hint.description
                    args[name] = ir.ArgRef(exposed)
                    continue
                self.report.warning(
                    "naftiko-dialect-path-param-input",
                    f"consumed path '{co.resource.path}' needs '{name}', but the exposed path has no "
                    f"matching placeholder and 'with' does not set it; it is a required query "
                    f"parameter of the route (canonical: a path placeholder or 'with: {{{name}: ...}}')",
                    target.pos,
                )
                new = ensure_input(name, consumed_params.get(name), target.pos)
                new.required = True
                args[name] = ir.ArgRef(new.name)
                continue
            args[name] = ir.ArgRef(
                ensure_input(name, consumed_params.get(name), target.pos, path=True).name
            )

    def with_value(
        self,
        value: Any,
        pos: Pos,
        prefixes: set[str],
        ensure_input: Any,
        hint: ConsumedParam | None,
    ) -> Any:
        if isinstance(value, str):
            head, dot, rest = value.partition(".")
            if dot and head in prefixes and re.fullmatch(r"[A-Za-z0-9_\-\[\]]+", rest):
                return ir.ArgRef(ensure_input(rest, hint, pos).name)
            parts = mustache.parse(value)
            if not any(isinstance(p, mustache.Var) for p in parts):
                return value
            out: list[Any] = []
            for p in parts:
                if not isinstance(p, mustache.Var):
                    out.append(p)
                    continue
                h, d, r = p.name.partition(".")
                if d and h in prefixes:
                    out.append(ir.ArgRef(ensure_input(r, hint, pos).name))
                    continue
                secret = self.secrets.lookup(p.name, pos)
                if secret is not None:
                    out.append(secret)
                else:
                    out.append(ir.ArgRef(ensure_input(p.name, hint, pos).name))
            if len(out) == 1 and not isinstance(out[0], str):
                return out[0]
            return ir.TextTemplate(tuple(out))
        if isinstance(value, dict):
            return {
                str(k): self.with_value(v, pos, prefixes, ensure_input, None)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.with_value(v, pos, prefixes, ensure_input, None) for v in value]
        return value

    def call(
        self,
        target: Callable,
        co: ConsumedOp,
        inputs: list[ir.Input],
        adapter_ns: str,
        rest_path_vars: list[str] | None,
        declared: bool | None = None,
    ) -> ir.Call:
        """The upstream call: every keyword the function takes that the wiring fills."""
        args = self.wire(target, co, inputs, adapter_ns, rest_path_vars, declared)
        op = self.upstream_op(co)
        return ir.Call(op, [(k.py, args[k.name]) for k in op.kwargs if k.name in args])


def sends_whole_body(co: ConsumedOp) -> bool:
    """The consumed operation sends its one `in: body` parameter, named `body`, as the whole
    upstream body (no `body:` template)."""
    if co.op.body is not None:
        return False
    names = [p.name for p in co.all_params() if p.location == "body"]
    return names == ["body"]


def binary_input(
    name: str, declared: ir.Input | None, rest_path_vars: list[str] | None
) -> ir.Input:
    """The bytes of a binary body or their content type: REST reads the request's own body and
    Content-Type; a tool takes base64 text and a media type. A declared input is made so."""
    body = name == BINARY_BODY
    rest = rest_path_vars is not None
    if body:
        description = (
            "The raw request body, sent upstream as it is"
            if rest
            else "The bytes to send, base64-encoded"
        )
    else:
        description = "The media type of the bytes (default application/octet-stream)"
    found = declared or ir.Input(name, "string", False, "argument", description)
    found.type = "binary" if body else "string"
    found.required = body
    found.pattern = None
    found.body_path = None
    found.location = ("raw" if body else "content-type") if rest else "argument"
    return found


def bind_names(value: Any, names: dict[str, str], secrets_as_text: bool = False) -> Any:
    """Input names in a value → the handler's local variables (unknown names → None)."""
    if isinstance(value, ir.ArgRef):
        return ir.ArgRef(names[value.name]) if value.name in names else None
    if isinstance(value, ir.SecretRef) and secrets_as_text:
        return ""  # outputs never show secrets
    if isinstance(value, ir.TextTemplate):
        return ir.TextTemplate(
            tuple(
                p if isinstance(p, str) else (bind_names(p, names, secrets_as_text) or "")
                for p in value.parts
            )
        )
    if isinstance(value, dict):
        return {k: bind_names(v, names, secrets_as_text) for k, v in value.items()}
    if isinstance(value, list):
        return [bind_names(v, names, secrets_as_text) for v in value]
    return value


def bind_output(output: Any, local: dict[str, str]) -> Any:
    """An output expression with argument names bound to the local names of a function."""
    if isinstance(output, ir.Coerce) and not isinstance(output.inner, ir.Select):
        return ir.Coerce(output.kind, bind_names(output.inner, local, secrets_as_text=True))
    if isinstance(output, ir.Fields):
        return ir.Fields(tuple((k, bind_output(v, local)) for k, v in output.fields))
    if isinstance(output, ir.Each):
        return ir.Each(output.source, bind_output(output.item, local))
    return output
