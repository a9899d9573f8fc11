"""Orchestration (`steps` + `mappings`) and aggregate functions (`ref`) → functions of functions.py.

A chain of steps becomes one async function with one awaited upstream call per `call` step and
one `_steps.lookup(...)` per `lookup` step; `mappings` become the composite output. The data flow
is checked here, with located errors: step names are unique, a step reads only inputs and steps
that ran before it, a lookup's table is an earlier call step, a field of a lookup is one it keeps.
`script` steps run code the spec points at: they are never generated.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from naftiko_gen.diagnostics import Pos, Report
from naftiko_gen.jsonpath import JsonPathError, compile_path
from naftiko_gen.model import (
    AggregateFunction,
    Callable,
    Capability,
    ConsumedParam,
    McpHints,
    McpTool,
    OutputParam,
    Step,
    StepMapping,
)
from naftiko_gen.naming import Names, snake
from naftiko_gen.plan import ir
from naftiko_gen.plan.consumed import CALLER_PREFIXES, ConsumedPlanner
from naftiko_gen.plan.outputs import FAILED, has_values, steps_literal
from naftiko_gen.plan.wiring import Wiring, bind_names, bind_output
from naftiko_gen.suggest import did_you_mean

# Module-level names of functions.py, and the locals every function has.
MODULE_NAMES = (
    "rt", "m", "upstream", "_steps", "_formats", "_cache", "_metrics", "Any", "annotations",
    "client", "output", "data", "answer", "item",
)  # fmt: skip
SCALAR_KINDS = ("number", "integer", "boolean")


class StepPlanner:
    def __init__(
        self, cap: Capability, wiring: Wiring, consumed: ConsumedPlanner, report: Report
    ) -> None:
        self.cap = cap
        self.wiring = wiring
        self.consumed = consumed
        self.report = report
        self.functions: list[ir.Function] = []
        self.names = Names(MODULE_NAMES)
        self.signatures: dict[str, ir.Function] = {}
        self.aggregate_functions: dict[str, AggregateFunction] = {}
        self.by_ref: dict[str, ir.Function | None] = {}
        for agg in cap.aggregates:
            for fn in agg.functions:
                if fn.name is not None:
                    self.aggregate_functions.setdefault(f"{agg.namespace}.{fn.name}", fn)

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.report.error(rule, message, pos)

    # -- aggregate functions (`ref`) ----------------------------------------------------------

    def resolve_ref(self, target: Callable, kind: str) -> AggregateFunction | None:
        assert target.ref is not None
        key = f"{target.ref.namespace}.{target.ref.operation}"
        fn = self.aggregate_functions.get(key)
        if fn is None:
            known = sorted(self.aggregate_functions)
            hint = did_you_mean(key, known) or (
                f"; known functions: {', '.join(known[:8])}"
                if known
                else "; declare it under 'capability.aggregates'"
            )
            self.error(
                "naftiko-ref-resolves",
                f"{kind} refers to '{key}', which no aggregate declares{hint}",
                target.ref.pos,
            )
        return fn

    def aggregate(self, key: str, fn: AggregateFunction) -> ir.Function | None:
        """The function of an aggregate function, planned once whoever refers to it."""
        if key in self.by_ref:
            return self.by_ref[key]
        self.by_ref[key] = None
        inputs = self.wiring.exposed_inputs(fn.params, rest=False)
        planned = self.function(
            fn, key, fn.description, inputs, f"function '{key}'", fn.name or key,
            cacheable=bool(fn.semantics.cacheable),
        )  # fmt: skip
        self.by_ref[key] = planned
        return planned

    def all_aggregates(self) -> None:
        """Every aggregate function gets its function, referred to or not (and is checked)."""
        for key, fn in self.aggregate_functions.items():
            self.aggregate(key, fn)

    # -- what routes and tools call ---------------------------------------------------------

    def action(
        self,
        target: Callable,
        func: str,
        inputs: list[ir.Input],
        kind: str,
        local: Names,
        rest_method: str | None,
    ) -> ir.Action | None:
        """A route or tool that calls a function of functions.py (its steps, or its `ref`)."""
        if target.ref is not None:
            spec = self.resolve_ref(target, kind)
            if spec is None:
                return None
            key = f"{target.ref.namespace}.{target.ref.operation}"
            fn = self.aggregate(key, spec)
            if fn is None:
                return None
            if rest_method is not None and spec.semantics.safe and rest_method != "GET":
                self.report.warning(
                    "naftiko-safe-method",
                    f"{kind} exposes '{key}', which is safe (it changes nothing), as {rest_method}; "
                    "expose it as GET so clients and caches may repeat it",
                    target.ref.pos,
                )
            declared = {i.name for i in inputs}
            for p in fn.inputs:  # ref operations and tools take the function's inputs
                if p.name in declared:
                    continue
                if rest_method is None:
                    location, body_path = "argument", None
                elif rest_method in ("GET", "DELETE"):
                    location, body_path = "query", None
                else:
                    location, body_path = "body", (p.name,)
                inputs.append(
                    ir.Input(
                        p.name, p.type, p.required, location, p.description, p.pattern, body_path
                    )
                )
        else:
            fn = self.function(
                target, f"steps of {kind}", target.description, inputs, kind, target.name or func
            )
            if fn is None:
                return None
        for i in inputs:
            i.py = local.take(snake(i.name))
        by_name = {i.name: i for i in inputs}
        kwargs: list[tuple[str, Any]] = []
        for p in fn.inputs:
            found = by_name.get(p.name)
            kwargs.append((p.py, ir.ArgRef(found.py) if found else None))
        wanted = {p.name for p in fn.inputs}
        for i in inputs:
            i.used = i.name in wanted
        return ir.Action(
            func=func,
            inputs=inputs,
            call=None,
            target=f"functions.{fn.func}",
            function=ir.FunctionCall(fn, kwargs),
        )

    def hinted(self, target: McpTool) -> McpTool:
        """A ref tool with its hints from the function's semantics, explicit hints winning."""
        assert target.ref is not None
        spec = self.aggregate_functions.get(f"{target.ref.namespace}.{target.ref.operation}")
        h = target.hints
        if spec is None:
            return target
        sem = spec.semantics
        derived = McpHints(
            read_only=True if sem.safe else None,
            destructive=False if sem.safe else None,
            idempotent=True if sem.idempotent else None,
        )
        hints = McpHints(
            read_only=h.read_only if h.read_only is not None else derived.read_only,
            destructive=h.destructive if h.destructive is not None else derived.destructive,
            idempotent=h.idempotent if h.idempotent is not None else derived.idempotent,
            open_world=h.open_world,
        )
        return dataclasses.replace(target, hints=hints)

    # -- one function ---------------------------------------------------------------------

    def function(
        self,
        target: Callable,
        key: str,
        description: str | None,
        inputs: list[ir.Input],
        kind: str,
        base: str,
        cacheable: bool = False,
    ) -> ir.Function | None:
        """Steps, a single call or mock outputs → a function over `inputs` (by name).
        `cacheable`: its answers may be kept (mock outputs, which call nothing, are not)."""
        local = Names(MODULE_NAMES)
        params = [
            ir.Input(i.name, i.type, i.required, "argument", i.description, i.pattern)
            for i in inputs
        ]
        for p in params:
            p.py = local.take(snake(p.name))
        if target.steps is not None:
            orchestration = self.orchestration(target, params, local, kind)
            if orchestration is None:
                return None
            fn = ir.Function("", key, description, params, orchestration=orchestration)
        else:
            action = self.single(target, params, local, kind)
            if action is None:
                return None
            fn = ir.Function("", key, description, params, action=action)
        fn.cacheable = cacheable and (
            fn.orchestration is not None or (fn.action is not None and fn.action.call is not None)
        )
        # Two adapters exposing the same steps over the same inputs share one function (a
        # cacheable one only with another cacheable one).
        signature = repr(
            ([(p.name, p.py) for p in params], fn.orchestration, fn.action, fn.cacheable)
        )
        shared = self.signatures.get(signature)
        if shared is not None:
            return shared
        fn.func = self.names.take(snake(base))
        if fn.action is not None:
            fn.action.func = fn.func
        self.signatures[signature] = fn
        self.functions.append(fn)
        return fn

    def single(
        self, target: Callable, params: list[ir.Input], local: Names, kind: str
    ) -> ir.Action | None:
        """An aggregate function with `call` (or mock outputs): planned like a tool, whose
        arguments are the function's parameters."""
        co = self.wiring.resolve_call(target, kind)
        if target.call is not None and co is None:
            return None
        if target.call is None and not has_values(target.outputs):
            self.error(
                "naftiko-nothing-to-do",
                f"{kind} has no 'call', 'steps' or outputParameters with 'value'; add one",
                target.pos,
            )
            return None
        call = self.wiring.call(target, co, params, "", None) if co else None
        for p in params:
            if not p.py:  # an upstream parameter the function did not declare: an argument too
                p.py = local.take(snake(p.name))
        output = self.wiring.outputs(target, co)
        if output is FAILED:
            return None
        names = {p.name: p.py for p in params}
        if call is not None:
            call.kwargs = [(k, bind_names(v, names)) for k, v in call.kwargs]
        return ir.Action(
            func="",
            inputs=params,
            call=call,
            output=bind_output(output, names),
            target=call.op.key if call else "mock output",
        )

    # -- steps ----------------------------------------------------------------------------

    def orchestration(
        self, target: Callable, params: list[ir.Input], local: Names, kind: str
    ) -> ir.Orchestration | None:
        assert target.steps is not None
        ok = True
        ran: dict[str, ir.CallStep | ir.LookupStep] = {}
        declared = {s.name for s in target.steps}
        planned: list[ir.CallStep | ir.LookupStep] = []
        for step in target.steps:
            if step.name in ran:
                self.error(
                    "naftiko-step-name-unique",
                    f"step name '{step.name}' is used twice in {kind}; rename one "
                    "(mappings and later steps refer to steps by name)",
                    step.pos,
                )
                ok = False
                continue
            if step.kind == "script":
                self.error(
                    "naftiko-step-script",
                    f"step '{step.name}' of {kind} is a script: naftiko-gen generates code a reviewer "
                    "reads and never runs spec-supplied scripts; replace it with call and lookup "
                    "steps, or implement it in a hand-written service the capability calls",
                    step.pos,
                )
                ok = False
                var = local.take(snake(step.name))  # reported: later readers are not errors too
                ran[step.name] = ir.LookupStep(
                    step.name, var, ir.Select(var, ()), (), ir.Select(var, ()), ()
                )
                continue
            var = local.take(snake(step.name))
            scope = Scope(self, params, ran, declared, kind, step)
            if step.kind == "call":
                done: ir.CallStep | ir.LookupStep | None = self.call_step(step, var, scope)
            else:
                done = self.lookup_step(step, var, scope)
            if done is None or scope.failed:
                ok = False
                # Later steps may still refer to it: check them against a placeholder.
                done = ir.LookupStep(step.name, var, ir.Select(var, ()), (), ir.Select(var, ()), ())
            ran[step.name] = done
            planned.append(done)
        scope = Scope(self, params, ran, declared, kind, None)
        output = self.mappings(target.mappings, target.outputs, scope, target.pos)
        if not ok or scope.failed:
            return None
        return ir.Orchestration(planned, output)

    def call_step(self, step: Step, var: str, scope: Scope) -> ir.CallStep | None:
        assert step.call is not None
        co = self.wiring.resolve_call(step, f"step '{step.name}'")  # type: ignore[arg-type]
        if co is None:
            return None
        consumed_params = {p.name: p for p in co.all_params()}
        args: dict[str, Any] = {}
        for wv in step.with_values:
            args[wv.key] = scope.value(wv.value, wv.pos, consumed_params.get(wv.key))
        op = self.wiring.upstream_op(co)
        for caller in self.consumed.caller_names(co):
            if caller.name in args:
                continue
            found = scope.input(caller.name)
            if found is not None:
                args[caller.name] = ir.ArgRef(found.py)
            elif caller.path or caller.required:
                self.error(
                    "naftiko-step-reference",
                    f"step '{step.name}' calls '{co.key}', which needs '{caller.name}'; add "
                    f"'with: {{{caller.name}: ...}}' (an input as '{{{{name}}}}', an earlier "
                    "step's field as '$.step.field')",
                    step.pos,
                )
                return None
        known = [k.name for k in op.kwargs]
        unknown = [wv for wv in step.with_values if wv.key not in known]
        if not known:  # nothing to misspell: the engine accepts it (its own fixtures do)
            for wv in unknown:
                self.report.warning(
                    "naftiko-with-ignored",
                    f"step '{step.name}' sets '{wv.key}', but '{co.key}' takes no parameters; "
                    "it is ignored",
                    wv.pos,
                )
            unknown = []
        for wv in unknown:
            hint_text = did_you_mean(wv.key, known) or f"; it takes: {', '.join(known)}"
            self.error(
                "naftiko-with-unknown-param",
                f"step '{step.name}' sets '{wv.key}', which '{co.key}' does not take{hint_text}",
                wv.pos,
            )
        if unknown:
            return None
        call = ir.Call(op, [(k.py, args[k.name]) for k in op.kwargs if k.name in args])
        return ir.CallStep(step.name, var, call)

    def lookup_step(self, step: Step, var: str, scope: Scope) -> ir.LookupStep | None:
        missing = [
            key
            for key, value in (
                ("index", step.index),
                ("match", step.match),
                ("lookupValue", step.lookup_value),
            )
            if not value
        ]
        if missing or not step.fields:
            missing += [] if step.fields else ["outputParameters"]
            self.error(
                "naftiko-step-lookup",
                f"lookup step '{step.name}' needs {', '.join(missing)}",
                step.pos,
            )
            return None
        assert step.index and step.match and step.lookup_value
        index_pos = step.positions.get("index", step.pos)
        table = scope.step(step.index, index_pos)
        if table is None:
            return None
        if not isinstance(table, ir.CallStep):
            self.error(
                "naftiko-step-lookup",
                f"lookup step '{step.name}' looks up in '{step.index}', a lookup step whose result "
                "is not a list of entries; 'index' names an earlier call step that answers an array",
                index_pos,
            )
            return None
        key = self.match_key(step, table)
        if key is None:
            return None
        value = scope.path(step.lookup_value, step.positions.get("lookupValue", step.pos))
        if not isinstance(value, ir.Select):
            if not scope.failed:
                self.error(
                    "naftiko-step-lookup",
                    f"lookupValue '{step.lookup_value}' of step '{step.name}' must be a JSONPath "
                    "into an input or an earlier step ($.step.field)",
                    step.positions.get("lookupValue", step.pos),
                )
            return None
        return ir.LookupStep(
            step.name, var, ir.Select(table.var, ()), key, value, tuple(step.fields)
        )

    def match_key(self, step: Step, table: ir.CallStep) -> tuple[Any, ...] | None:
        """The key of each table entry: a named output of the consumed operation, else a field."""
        assert step.match is not None
        co = self.wiring.ops.get(table.call.op.key)
        alias = next((o for o in co.op.outputs if o.name == step.match), None) if co else None
        if alias is None:
            return (step.match,)
        try:
            steps = compile_path(alias.value)
        except JsonPathError as exc:
            self.error("naftiko-jsonpath", f"{exc}; use $.field or $.a.b", alias.pos)
            return None
        if any(s.kind == "each" for s in steps):
            self.error(
                "naftiko-step-lookup",
                f"output '{alias.name}' used as the key of step '{step.name}' selects several "
                f"values ('{alias.value}'); a key is one field of each entry ($.field)",
                alias.pos,
            )
            return None
        return steps_literal(steps)

    # -- mappings → the composite output --------------------------------------------------

    def mappings(
        self, mappings: list[StepMapping], outputs: list[OutputParam], scope: Scope, pos: Pos
    ) -> Any:
        kinds = {o.name: o.type for o in outputs if o.name}
        tree: dict[str, Any] = {}
        for mp in mappings:
            value: Any = scope.path(mp.value, mp.pos) if mp.value.strip().startswith("$") else None
            if value is None and not mp.value.strip().startswith("$"):
                value = ir.Const(mp.value)
            if value is None:
                continue
            parts = mp.target.split(".")
            if any(not p for p in parts):
                self.error(
                    "naftiko-step-reference",
                    f"targetName '{mp.target}' has an empty part; write name or parent.child",
                    mp.pos,
                )
                scope.failed = True
                continue
            kind = kinds.get(mp.target) if len(parts) == 1 else None
            if kind in SCALAR_KINDS and isinstance(value, ir.Select):
                value = ir.Coerce(kind, value)
            node = tree
            for part in parts[:-1]:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    self.error(
                        "naftiko-step-reference",
                        f"targetName '{mp.target}' puts a field inside '{part}', which another "
                        "mapping sets to a value",
                        mp.pos,
                    )
                    scope.failed = True
                    break
                node = child
            else:
                if parts[-1] in node:
                    self.error(
                        "naftiko-step-reference",
                        f"targetName '{mp.target}' is mapped twice; remove one",
                        mp.pos,
                    )
                    scope.failed = True
                    continue
                node[parts[-1]] = value
        if not mappings:
            # No mappings: the answer of the last call step, as it is.
            last = list(scope.ran.values())
            if not last:
                self.error("naftiko-step-reference", "the orchestration has no steps", pos)
                scope.failed = True
                return ir.Const(None)
            return ir.Select(last[-1].var, ())

        def fields(node: dict[str, Any]) -> ir.Fields:
            return ir.Fields(
                tuple((k, fields(v) if isinstance(v, dict) else v) for k, v in node.items())
            )

        return fields(tree)


class Scope:
    """What one step (or the mappings) may read: the function's inputs and the steps that ran."""

    def __init__(
        self,
        planner: StepPlanner,
        params: list[ir.Input],
        ran: dict[str, ir.CallStep | ir.LookupStep],
        declared: set[str],
        kind: str,
        step: Step | None,
    ) -> None:
        self.planner = planner
        self.params = {p.name: p for p in params}
        self.ran = dict(ran)
        self.declared = declared
        self.kind = kind
        self.where = f"step '{step.name}'" if step else f"a mapping of {kind}"
        self.failed = False

    def error(self, rule: str, message: str, pos: Pos) -> None:
        self.failed = True
        self.planner.error(rule, message, pos)

    def input(self, name: str) -> ir.Input | None:
        return self.params.get(name)

    def step(self, name: str, pos: Pos) -> ir.CallStep | ir.LookupStep | None:
        found = self.ran.get(name)
        if found is not None:
            return found
        if name in self.declared:
            self.error(
                "naftiko-step-reference",
                f"{self.where} reads step '{name}', which has not run yet; steps run in the order "
                "written: move it after that step",
                pos,
            )
        else:
            hint = did_you_mean(name, sorted(self.ran)) or (
                f"; steps before it: {', '.join(self.ran)}" if self.ran else ""
            )
            self.error(
                "naftiko-step-reference",
                f"{self.where} reads step '{name}', which {self.kind} does not declare{hint}",
                pos,
            )
        return None

    def path(self, text: str, pos: Pos) -> ir.Select | None:
        """`$.step.field…` or `$.input…` → a selection over a step's data or an input."""
        try:
            steps = compile_path(text)
        except JsonPathError as exc:
            self.error("naftiko-jsonpath", f"{exc}; use $.step.field or $.step.a[0].b", pos)
            return None
        literal = steps_literal(steps)
        if not literal or not isinstance(literal[0], str):
            self.error(
                "naftiko-step-reference",
                f"'{text}' must start with a step or input name: $.step.field",
                pos,
            )
            return None
        head, rest = literal[0], literal[1:]
        if head in self.ran or head in self.declared or head not in self.params:
            found = self.step(head, pos)
            if found is None:
                return None
            if isinstance(found, ir.LookupStep) and found.fields and rest:
                field = rest[0]
                if isinstance(field, str) and field not in found.fields:
                    self.error(
                        "naftiko-step-reference",
                        f"'{text}' reads '{field}' of lookup step '{head}', which keeps only "
                        f"{', '.join(found.fields)}; add it to that step's outputParameters",
                        pos,
                    )
                    return None
            return ir.Select(found.var, rest)
        return ir.Select(self.params[head].py, rest)

    def value(self, value: Any, pos: Pos, hint: ConsumedParam | None) -> Any:
        """A `with` value of a step: `$.step.field`, an input (`{{name}}`, `ns.name`), a literal."""
        if isinstance(value, str) and value.strip().startswith("$"):
            return self.path(value.strip(), pos)
        prefixes = set(CALLER_PREFIXES) | self.planner.consumed.exposed_ns

        def ensure(
            name: str, hint: ConsumedParam | None, where: Pos, path: bool = False
        ) -> ir.Input:
            found = self.params.get(name)
            if found is not None:
                return ir.Input(found.py, "", False, "")
            head = name.split(".")[0]
            if head in self.declared:
                self.error(
                    "naftiko-step-reference",
                    f"{self.where} reads '{{{{{name}}}}}'; read an earlier step's field as "
                    f"'$.{name}'",
                    where,
                )
            else:
                hint_text = did_you_mean(name, sorted(self.params)) or (
                    f"; inputs: {', '.join(self.params)}" if self.params else "; it has no inputs"
                )
                self.error(
                    "naftiko-step-reference",
                    f"{self.where} reads '{name}', which is not an input of {self.kind}{hint_text}",
                    where,
                )
            return ir.Input("None", "", False, "")

        if isinstance(value, str) and re.fullmatch(r"\s*\{\{[^{}]+\}\}\s*", value):
            inner = value.strip()[2:-2].strip()
            if inner.split(".")[0] in self.declared and inner.split(".")[0] not in self.params:
                return self.path("$." + inner, pos)
        return self.planner.wiring.with_value(value, pos, prefixes, ensure, hint)
