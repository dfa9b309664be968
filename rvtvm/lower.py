"""Lower a Relax model to fused TIR operators and a flat list of steps for the AOT executor.

After legalization and fusion, a model's `main` is a straight line of `R.call_tir` bindings.
`extract_graph` walks those bindings and records which tensor each operator reads and writes,
so that the executor can call the operators in order and the planner can place the tensors.
Anything that is still a high-level Relax operator at that point has no C lowering and is
reported by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import tvm
from tvm import relax
from tvm.relax.transform import FusionPattern

from .errors import ModelError
from .schedule import schedule_operators

# Tensor kinds: where a tensor's bytes live on the device.
INPUT, OUTPUT, CONST, ARENA = "input", "output", "const", "arena"


@dataclass
class Tensor:
    id: str
    kind: str
    shape: tuple[int, ...]
    dtype: str
    index: int = -1  # position among inputs / outputs / constants
    value: np.ndarray | None = None  # constants only

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Step:
    """One operator call: `func(*args)`, inputs first, then the tensors it writes."""

    func: str
    args: list[str]
    num_outputs: int


@dataclass
class Graph:
    tensors: dict[str, Tensor] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # Model outputs that no operator writes directly (an input or constant returned as is, or
    # one tensor returned twice): copied into the output buffer after the last step.
    output_copies: list[tuple[str, str]] = field(default_factory=list)


def lower_relax(mod: tvm.IRModule) -> tvm.IRModule:
    """Legalize every Relax operator to TIR, fuse neighbours into single operators and give the
    fused operators rvtvm's default CPU schedule."""
    return schedule_operators(fuse_operators(mod))


def fuse_operators(mod: tvm.IRModule) -> tvm.IRModule:
    """Legalized, fused TIR operators, not yet scheduled."""
    seq = tvm.ir.transform.Sequential(
        [
            relax.transform.FuseOpsByPattern(quantized_unit_patterns(mod), bind_constants=False),
            relax.transform.DecomposeOpsForInference(),
            relax.transform.LegalizeOps(),
            relax.transform.AnnotateTIROpPattern(),
            relax.transform.FoldConstant(),
            relax.transform.FuseOps(),
            relax.transform.FuseTIR(),
            relax.transform.DeadCodeElimination(),
        ]
    )
    with tvm.transform.PassContext(opt_level=3):
        return seq(mod)


def quantized_unit_patterns(mod: tvm.IRModule) -> list:
    """The int8 units the TFLite importer emits, so that each becomes one operator:
    [pad] -> conv2d | matmul -> call_tir(requantize). (FuseOps alone leaves the pad apart, which
    costs a whole padded copy of the input.)"""
    from tvm.relax.dpl import GlobalVarPattern, TuplePattern, is_op, wildcard

    def requantize_of(acc, n_params):
        return is_op("relax.call_tir")(GlobalVarPattern(), TuplePattern([acc] + [wildcard() for _ in range(n_params)]))

    def is_requantize(context) -> bool:
        call = context.matched_expr
        gv = call.args[0]
        func = mod.functions.get(gv) if isinstance(gv, tvm.ir.GlobalVar) else None
        return func is not None and func.attrs is not None and func.attrs.get("rvtvm.kernel") == "requantize"

    x = wildcard()
    conv = is_op("relax.nn.conv2d")(is_op("relax.nn.pad")(x) | x, wildcard())
    dense = is_op("relax.matmul")(wildcard(), wildcard())
    patterns = []
    for name, acc in (("rvtvm.qconv2d", conv), ("rvtvm.qdense", dense)):
        for n_params in (1, 3):  # bias; or bias, per-channel multipliers and shifts
            patterns.append(FusionPattern(name, requantize_of(acc, n_params), {}, is_requantize))
    return patterns


def tir_functions(mod: tvm.IRModule) -> tvm.IRModule:
    """The module's PrimFuncs, each exported under its own name (FuseTIR leaves them private)."""
    funcs = {}
    for gv, func in mod.functions.items():
        if isinstance(func, tvm.tirx.PrimFunc):
            funcs[gv.name_hint] = func.with_attr("global_symbol", gv.name_hint)
    return tvm.IRModule(funcs)


def _static_tensor(ty, what: str) -> tuple[tuple[int, ...], str]:
    if not isinstance(ty, relax.TensorType) or not isinstance(ty.shape, relax.ShapeExpr):
        raise ModelError(f"{what} is not a tensor of known shape ({ty}); only static shapes are supported")
    shape = []
    for dim in ty.shape.values:
        if not isinstance(dim, tvm.tirx.IntImm):
            raise ModelError(f"{what} has dynamic dimension '{dim}'; give the model fixed input shapes")
        shape.append(int(dim.value))
    return tuple(shape), str(ty.dtype)


class _GraphBuilder:
    def __init__(self) -> None:
        self.graph = Graph()
        self.bound: dict[relax.Var, str | list[str]] = {}  # Relax var -> tensor id (or tuple)
        self.const_ids: dict[int, str] = {}

    def new_tensor(self, kind: str, shape, dtype, prefix: str, value=None) -> str:
        tid = f"{prefix}{len(self.graph.tensors)}"
        self.graph.tensors[tid] = Tensor(tid, kind, tuple(shape), dtype, value=value)
        return tid

    def constant(self, const: tvm.ir.GenericConst) -> str:
        # FuseTIR may bind one weight to several calls; store it once.
        key = const.value.__hash__()
        if key not in self.const_ids:
            value = const.value.numpy()
            tid = self.new_tensor(CONST, value.shape, str(value.dtype), "c", value=value)
            self.graph.tensors[tid].index = len(self.const_ids)
            self.const_ids[key] = tid
        return self.const_ids[key]

    def resolve(self, expr) -> str | list[str]:
        if isinstance(expr, relax.Var):
            if expr not in self.bound:
                raise ModelError(f"unsupported construct: variable {expr.name} used before it is defined")
            return self.bound[expr]
        if isinstance(expr, tvm.ir.GenericConst):
            return self.constant(expr)
        if isinstance(expr, relax.Tuple):
            return [self.resolve_tensor(f) for f in expr.fields]
        if isinstance(expr, relax.TupleGetItem):
            tup = self.resolve(expr.tuple_value)
            if not isinstance(tup, list):
                raise ModelError("unsupported construct: TupleGetItem on a tensor")
            return tup[expr.index]
        raise ModelError(f"unsupported construct in lowered model: {type(expr).__name__}")

    def resolve_tensor(self, expr) -> str:
        tid = self.resolve(expr)
        if isinstance(tid, list):
            raise ModelError("unsupported construct: nested tuples")
        return tid

    def bind(self, var: relax.Var, value) -> None:
        if isinstance(value, relax.Call):
            op = value.op
            if isinstance(op, tvm.ir.Op) and op.name == "relax.call_tir":
                self.bound[var] = self.call_tir(value)
                return
            name = op.name if isinstance(op, tvm.ir.Op) else getattr(op, "name_hint", str(op))
            if name in ("relax.call_pure_packed", "relax.call_packed") and value.args:
                # Legalization sent the operator to a host runtime function, e.g. relax.run.unique.
                symbol = getattr(value.args[0], "global_symbol", "")
                raise ModelError(
                    f"unsupported operator: {symbol.rsplit('.', 1)[-1]} (TVM lowers it to the host runtime "
                    f"function {symbol}, which has no bare-metal C implementation)"
                )
            if name.startswith("relax."):
                name = name[len("relax.") :]
            raise ModelError(f"unsupported operator: {name} (no lowering to C for it)")
        self.bound[var] = self.resolve(value)

    def call_tir(self, call: relax.Call) -> str | list[str]:
        if len(call.args) > 2:
            raise ModelError(f"unsupported operator: {call.args[0].name_hint} with symbolic shape arguments")
        func = call.args[0].name_hint
        args = [self.resolve_tensor(a) for a in call.args[1].fields]
        out_ty = call.ty_args[0]
        outs_ty = list(out_ty.fields) if isinstance(out_ty, relax.TupleType) else [out_ty]
        outs = []
        for i, ty in enumerate(outs_ty):
            shape, dtype = _static_tensor(ty, f"result {i} of {func}")
            outs.append(self.new_tensor(ARENA, shape, dtype, "t"))
        self.graph.steps.append(Step(func, args + outs, len(outs)))
        return outs if isinstance(out_ty, relax.TupleType) else outs[0]


def extract_graph(mod: tvm.IRModule, output_names: list[str] | None = None) -> Graph:
    """Turn the lowered `main` into tensors and steps. Model outputs are written in place."""
    main = mod["main"]
    b = _GraphBuilder()
    for i, param in enumerate(main.params):
        shape, dtype = _static_tensor(param.ty, f"input '{param.name}'")
        tid = b.new_tensor(INPUT, shape, dtype, "in")
        b.graph.tensors[tid].index = i
        b.graph.inputs.append(tid)
        b.bound[param] = tid

    body = main.body
    for block in body.blocks:
        for binding in block.bindings:
            if not isinstance(binding, relax.VarBinding):
                raise ModelError("unsupported construct: match_cast in the lowered model")
            b.bind(binding.var, binding.value)

    result = b.resolve(body.body)
    results = result if isinstance(result, list) else [result]
    if output_names is not None and len(output_names) != len(results):
        raise ModelError(f"model has {len(results)} outputs but {len(output_names)} output names")

    g = b.graph
    written_in_place: dict[str, str] = {}  # arena tensor -> the output buffer that replaced it
    for i, tid in enumerate(results):
        t = g.tensors[tid]
        out = Tensor(f"out{i}", OUTPUT, t.shape, t.dtype, index=i)
        g.tensors[out.id] = out
        g.outputs.append(out.id)
        if tid in written_in_place:
            g.output_copies.append((written_in_place[tid], out.id))
        elif t.kind == ARENA:
            # The producing operator writes straight into the caller's output buffer.
            for step in g.steps:
                step.args = [out.id if a == tid else a for a in step.args]
            written_in_place[tid] = out.id
        else:
            g.output_copies.append((tid, out.id))
    for tid in written_in_place:
        del g.tensors[tid]
    return g
