"""An `ExternCall` as a TIR PrimFunc: one `call_extern` into the driver, its status checked.

The PrimFunc takes the call's tensors (graph tensors and packed constants) and its output as
buffers and passes their data pointers straight to the driver, so the accelerator's DMA reads
and writes them where they lie in the arena or the constants, with no copy through the CPU.
A nonzero status becomes a TVM error whose message names the function and the code, from
riscv_runtime/include/rvtvm/wire.h; the AOT executor then stops the inference with it.

TVM's C backend declares the callee itself (with non-const pointers), so the generated C does
not include the driver's header.
"""

from __future__ import annotations

import numpy as np
import tvm
from tvm import relax, te, tirx

from .. import wire
from ..errors import ModelError
from .registry import OUTPUT, ExternCall


def emit_extern(bb: relax.BlockBuilder, call: ExternCall, out_shape, out_dtype: str, name_hint: str) -> relax.Expr:
    """`call_tir` of the call's PrimFunc, which is added to `bb`'s module."""
    tensors: list[relax.Expr] = []
    plan: list = []  # per C argument: ("tensor", i) | ("output",) | ("int", v)
    for arg in call.args:
        if arg is OUTPUT:
            plan.append(("output",))
        elif isinstance(arg, (bool, np.bool_)):
            raise ModelError(f"{call.symbol}: a bool argument; pass an int")
        elif isinstance(arg, (int, np.integer)):
            if not -(2**31) <= int(arg) < 2**31:
                raise ModelError(f"{call.symbol}: argument {int(arg)} does not fit an int32")
            plan.append(("int", int(arg)))
        elif isinstance(arg, np.ndarray):
            plan.append(("tensor", len(tensors)))
            tensors.append(relax.const(np.ascontiguousarray(arg)))
        elif isinstance(arg, relax.Expr):
            plan.append(("tensor", len(tensors)))
            tensors.append(arg)
        else:
            raise ModelError(f"{call.symbol}: cannot pass a {type(arg).__name__} to C")
    if sum(1 for p in plan if p[0] == "output") != 1:
        raise ModelError(f"{call.symbol}: the arguments must name OUTPUT exactly once")

    def body(ins, outs):
        c_args = []
        for p in plan:
            if p[0] == "output":
                c_args.append(outs[0].data)
            elif p[0] == "tensor":
                c_args.append(ins[p[1]].data)
            else:
                c_args.append(tirx.IntImm("int32", p[1]))
        status = tirx.Var("status", "int32")
        return tirx.SeqStmt([tirx.Bind(status, tirx.call_extern("int32", call.symbol, *c_args)), _check(status, call.symbol)])

    # The PrimFunc is made here rather than by BlockBuilder.call_te, which rewrites every integer
    # in it to int64 (int64 arguments would not match the C prototype on rv32).
    placeholders = [te.placeholder([tirx.IntImm("int64", int(d)) for d in t.ty.shape], str(t.ty.dtype), f"in{i}")
                    for i, t in enumerate(tensors)]
    out = te.extern([[tirx.IntImm("int64", int(d)) for d in out_shape]], placeholders, body, dtype=out_dtype, name="accel_out")
    func = te.create_prim_func(placeholders + [out]).without_attr("global_symbol")
    gv = bb.add_func(func, name_hint)
    return relax.call_tir(gv, tensors, relax.TensorType([int(d) for d in out_shape], out_dtype))


def _check(status: tirx.Var, symbol: str) -> tirx.Stmt:
    """One assert per known error code, so the message says which (a TVM error message is
    constant text); the last catches any other nonzero status."""
    kind = tvm.ir.StringImm("RuntimeError")
    checks = []
    for code, name in sorted(wire.ERROR_NAMES.items()):
        if name.startswith("ERR_ACCEL_"):
            msg = f"{symbol} failed: RVTVM_{name} ({code:#06x})"
            # TVM 0.27's Python binding takes (condition, kind, parts), whatever its signature says.
            checks.append(tirx.AssertStmt(status != code, kind, [tvm.ir.StringImm(msg)]))
    checks.append(tirx.AssertStmt(status == 0, kind, [tvm.ir.StringImm(f"{symbol} failed with an unknown status")]))
    return tirx.IfThenElse(status != 0, tirx.SeqStmt(checks), None)
