"""Partition a Relax model for an accelerator target, then lower what it takes to driver calls.

1. `FuseOpsByPattern` with one `FusionPattern` per registry entry, highest priority first. The
   entry's kernels and predicate are its check: a refused match falls through to the next entry,
   and every refusal's reasons are kept for the report.
2. Each composite function the fusion made is matched again inside (the same pattern, now on
   the composite's body), the entry's `lower` turns the match into an `ExternCall`, and the call
   to the composite becomes `call_tir` of that call's PrimFunc (extern.py).
3. Everything else is left as it was, for the CPU lowering (rvtvm/lower.py).

This runs before rvtvm's own fusion, on the model as the frontend built it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tvm
from tvm import relax
from tvm.relax.expr_functor import PyExprMutator, mutator
from tvm.relax.transform import FusionPattern

from ..errors import ModelError
from .extern import emit_extern
from .registry import AccelEntry, Match, entries, get_target

_COMPOSITE_PREFIX = "rvtvm.accel:"


@dataclass
class OffloadReport:
    """What went to the accelerator and what stayed on the CPU, and why.

    `offloaded`: [{"op", "entry", "func"}] in model order (the compiler adds "step"); `cpu`: [{"op", "reasons"}] where
    reasons maps each entry whose pattern matched to what its predicate refused, or is
    {"": ["no <target> entry matches it"]} for a model operator no pattern matched."""

    target: str
    offloaded: list[dict] = field(default_factory=list)
    cpu: list[dict] = field(default_factory=list)
    sources: list[Path] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"target": self.target, "offloaded": self.offloaded, "cpu": self.cpu,
                "sources": [p.name for p in self.sources]}

    def lines(self) -> list[str]:
        return report_lines(self.to_json())


def report_lines(report: dict) -> list[str]:
    """An offload report (metadata.json "accel") for a terminal: a line per operator."""
    out = [f"accelerator {report['target']}: {len(report['offloaded'])} operators offloaded, {len(report['cpu'])} on the CPU"]
    for item in report["offloaded"]:
        out.append(f"  offloaded  {item['op']:<24} {item['entry']}")
    for item in report["cpu"]:
        why = "; ".join(f"{entry}: {', '.join(r)}" if entry else ", ".join(r) for entry, r in item["reasons"].items())
        out.append(f"  cpu        {item['op']:<24} {why}")
    return out


def partition(mod: tvm.IRModule, target: str) -> tuple[tvm.IRModule, OffloadReport]:
    """`mod` with every operator the target's entries accept lowered to a driver call."""
    accel = get_target(target)
    report = OffloadReport(accel.name, sources=list(accel.sources))
    candidates: dict = {}  # operator -> {"op", "reasons": {entry: [...]}, "accepted"}
    by_name: dict[str, AccelEntry] = {}
    patterns = []
    for entry in entries(target):
        name = _COMPOSITE_PREFIX + entry.qualified_name
        by_name[name] = entry
        patterns.append(FusionPattern(name, entry.pattern, entry.annotations, _checker(mod, entry, candidates)))

    fused = relax.transform.FuseOpsByPattern(patterns, bind_constants=True, annotate_codegen=False)(mod)
    lowering = _LowerComposites(fused, by_name, report)
    main = lowering.visit_expr(fused["main"])
    if lowering.error is not None:
        raise lowering.error
    out = lowering.builder_.get()
    out["main"] = main
    out = relax.transform.DeadCodeElimination(["main"])(out)

    lowered_ops = {item["op"] for item in report.offloaded}
    for info in candidates.values():
        if not info["accepted"] and info["op"] not in lowered_ops:
            report.cpu.append({"op": info["op"], "reasons": info["reasons"]})
    seen = lowered_ops | {item["op"] for item in report.cpu}
    for op in _model_operators(out):
        if op not in seen:
            report.cpu.append({"op": op, "reasons": {"": [f"no {target} entry matches it"]}})
    for entry in entries(target):
        if any(item["entry"] == entry.qualified_name for item in report.offloaded):
            report.sources += [p for p in entry.sources if p not in report.sources]
    return out, report


def _checker(mod: tvm.IRModule, entry: AccelEntry, candidates: dict):
    def check(context) -> bool:
        m = Match(mod, context.matched_expr, dict(context.annotated_expr))
        for name, kernel in entry.kernels.items():
            if name not in m or m.kernel_attr("rvtvm.kernel", name) != kernel:
                return False  # another kernel: not a candidate for this entry at all
        reasons = [str(r) for r in entry.predicate(m)]
        # Each pattern's pass sees a rewritten function, so one operator is a new expression
        # for each entry: the model operator it came from identifies it where known.
        source = m.kernel_attr("rvtvm.source")
        key = str(source) if source is not None else context.matched_expr
        info = candidates.setdefault(key, {"op": m.describe(), "reasons": {}, "accepted": False})
        if reasons:
            info["reasons"][entry.qualified_name] = reasons
        else:
            info["accepted"] = True
        return not reasons

    return check


def _model_operators(mod: tvm.IRModule) -> list[str]:
    """The model operators (TFLite kernels tagged "rvtvm.source") still called from main."""
    ops = []

    def visit(expr):
        if isinstance(expr, relax.Call) and isinstance(expr.op, tvm.ir.Op) and expr.op.name == "relax.call_tir":
            func = mod.functions.get(expr.args[0])
            if func is not None and func.attrs is not None and "rvtvm.source" in func.attrs:
                ops.append(str(func.attrs["rvtvm.source"]))

    relax.analysis.post_order_visit(mod["main"], visit)
    return ops


@mutator
class _LowerComposites(PyExprMutator):
    def __init__(self, mod: tvm.IRModule, by_name: dict[str, AccelEntry], report: OffloadReport):
        super().__init__(mod)
        self.fused = mod
        self.by_name = by_name
        self.report = report
        # An exception raised in here would reach the caller as TVM's RuntimeError: it is kept,
        # and partition() raises it.
        self.error: Exception | None = None

    def visit_call_(self, call: relax.Call) -> relax.Expr:
        call = super().visit_call_(call)
        if self.error is not None:
            return call
        try:
            return self._lower(call)
        except Exception as exc:  # noqa: BLE001 (re-raised by partition)
            self.error = exc
            return call

    def _lower(self, call: relax.Call) -> relax.Expr:
        if not isinstance(call.op, tvm.ir.GlobalVar):
            return call
        func = self.fused.functions.get(call.op)
        composite = func.attrs.get("Composite") if isinstance(func, relax.Function) and func.attrs is not None else None
        entry = self.by_name.get(str(composite)) if composite is not None else None
        if entry is None:
            return call
        m = _match_inside(self.fused, func, entry)
        extern = entry.lower(m)
        args = dict(zip(func.params, call.args))
        extern.args = [_outside(a, args, entry) for a in extern.args]
        out_shape = extern.out_shape or m.shape()
        out_dtype = extern.out_dtype or m.dtype()
        lowered = emit_extern(self.builder_, extern, out_shape, out_dtype, f"{entry.target}_{entry.name}")
        self.report.offloaded.append({"op": m.describe(), "entry": entry.qualified_name, "func": lowered.args[0].name_hint})
        return lowered


def _match_inside(mod: tvm.IRModule, func: relax.Function, entry: AccelEntry) -> Match:
    """The entry's match on a composite function's body (inputs are the function's params)."""
    var2val = relax.analysis.get_var2val(func)
    body = func.body
    root = var2val.get(body.body, body.body) if isinstance(body, relax.SeqExpr) else body
    matched = entry.pattern.extract_matched_expr(root, var2val)
    if matched is None:
        raise ModelError(f"{entry.qualified_name}: its pattern does not match the composite it made")
    exprs = {name: matched[p] for name, p in entry.annotations.items() if p in matched}
    return Match(mod, root, exprs)


def _outside(arg, params: dict, entry: AccelEntry):
    """An argument of the lowered call, in terms of main's values: the composite's inputs become
    the values main passed, constants stay; anything computed inside the pattern is refused."""
    if isinstance(arg, relax.Expr) and not isinstance(arg, tvm.ir.GenericConst):
        if not (isinstance(arg, relax.Var) and arg in params):
            raise ModelError(f"{entry.qualified_name}: lower() passed an intermediate value of the pattern; "
                             "pass the pattern's inputs, constants or numpy arrays")
        return params[arg]
    return arg
