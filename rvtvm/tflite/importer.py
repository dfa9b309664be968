"""Build integer-only Relax from an int8 TFLite model, bit-exact with TFLite Micro.

Shape of the output, per operator kind:

- CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED become a recognisable unit
      [nn.pad(x, zero point)] -> nn.conv2d | matmul (int8 x int8 -> int32) -> call_tir(requantize)
  where requantize (attr "rvtvm.kernel" = "requantize") adds the bias, applies TFLM's
  MultiplyByQuantizedMultiplier per channel, adds the output zero point and clamps to the fused
  activation. The input zero point is folded into the bias at import (sum (x - zx) w =
  sum x w - zx sum w), and padding is done with the zero point, so the MAC loop is a plain
  int8 dot product. lower.py fuses each unit into one operator.
- ADD, MUL, pools, SOFTMAX, LOGISTIC, MEAN, QUANTIZE, DEQUANTIZE become call_tir of a TE kernel
  (kernels.py, activations.py), also tagged with "rvtvm.kernel".
- RESHAPE, PAD, CONCATENATION stay Relax operators.

Every constant TFLM derives in its Prepare step (multipliers, shifts, activation bounds) is
derived here the same way, down to which products are float and which double.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tflite
import tvm
from tvm import relax, te

from ..errors import ModelError
from . import kernels
from .fixed_point import quantize_multiplier, quantize_multiplier_smaller_than_one_exp, round_half_away
from .reader import OperatorInfo, Subgraph, TensorInfo, read_tflite

_SAME = tflite.Padding.SAME
_ACTIVATIONS = {v: k for k, v in vars(tflite.ActivationFunctionType).items() if not k.startswith("_")}


@dataclass
class ImportedModel:
    mod: tvm.IRModule
    input_names: list[str]
    output_names: list[str]
    quantization: dict[str, dict] = field(default_factory=dict)  # port name -> scale, zero_point


def from_tflite(path: Path) -> ImportedModel:
    graph = read_tflite(path)
    unsupported = [f"{op.opcode} (operator #{op.index})" for op in graph.operators if op.opcode not in _CONVERTERS]
    if unsupported:
        raise ModelError(f"unsupported operators in {path.name}: {', '.join(unsupported)}")
    return _Importer(graph, path.name).run()


class _Importer:
    def __init__(self, graph: Subgraph, filename: str):
        self.g = graph
        self.filename = filename
        self.bb = relax.BlockBuilder()
        self.values: dict[int, relax.Expr] = {}
        self.current: OperatorInfo | None = None  # the operator being converted

    # --- graph walk ------------------------------------------------------------------------

    def run(self) -> ImportedModel:
        g = self.g
        params = []
        for idx in g.inputs:
            t = g.tensors[idx]
            if t.dtype not in ("int8", "float32", "int32"):
                raise ModelError(f"model input '{t.name}' has type {t.dtype.rstrip('?')}; rvtvm imports int8 models (int8 or float32 inputs)")
            var = relax.Var(t.name, relax.TensorType(t.shape, t.dtype))
            params.append(var)
            self.values[idx] = var
        error = None
        with self.bb.function("main", params):
            with self.bb.dataflow():
                for op in g.operators:
                    self.current = op
                    try:
                        result = _CONVERTERS[op.opcode](self, op)
                        self._check_shape(op, result)
                    except ModelError as exc:
                        error = ModelError(f"{self.filename}: operator #{op.index} {op.opcode}: {exc}")
                        break
                    self.values[op.outputs[0]] = result
                # On an error the function is still closed properly (with a placeholder output):
                # leaving the builder's scopes open makes TVM print a warning when it is freed.
                outs = [relax.const(np.zeros(1, np.int8))] if error else [self.value(i) for i in g.outputs]
                out = self.bb.emit_output(outs[0] if len(outs) == 1 else relax.Tuple(outs))
            self.bb.emit_func_output(out)
        if error:
            raise error
        mod = self.bb.get()
        names = [g.tensors[i].name for i in g.inputs], [g.tensors[i].name for i in g.outputs]
        quant = {}
        for idx in g.inputs + g.outputs:
            q = g.tensors[idx].quant
            if q is not None and g.tensors[idx].dtype == "int8":
                quant[g.tensors[idx].name] = {"scale": float(q.scale[0]), "zero_point": int(q.zero_point[0])}
        return ImportedModel(mod, names[0], names[1], quant)

    def _check_shape(self, op: OperatorInfo, value: relax.Expr) -> None:
        want = self.g.tensors[op.outputs[0]].shape
        got = tuple(int(d) for d in value.ty.shape)
        if want and got != want:
            raise ModelError(f"computed output shape {got}, the model says {want}")

    def tensor(self, idx: int) -> TensorInfo:
        return self.g.tensors[idx]

    def value(self, idx: int) -> relax.Expr:
        if idx in self.values:
            return self.values[idx]
        t = self.g.tensors[idx]
        if t.data is None:
            raise ModelError(f"tensor '{t.name}' is read before any operator writes it")
        return relax.const(t.data)

    def call_kernel(self, name: str, compute, args: list[relax.Expr], params: dict | None = None) -> relax.Expr:
        """Emit call_tir of a TE kernel, tagged so that later passes can recognise it.

        Attributes of the kernel's PrimFunc, read by the accelerator offload (rvtvm.accel):
        "rvtvm.kernel" its name; "rvtvm.source" the TFLite operator, e.g. "CONV_2D #3";
        "rvtvm.params" the scalar quantization parameters the kernel has baked in."""
        # int64 extents, as LegalizeOps makes them: FuseTIR joins buffers only if their types match.
        placeholders = [te.placeholder(_i64_shape(a.ty.shape), a.ty.dtype, f"in{i}") for i, a in enumerate(args)]
        out = compute(*placeholders)
        func = te.create_prim_func(placeholders + [out]).without_attr("global_symbol").with_attr("rvtvm.kernel", name)
        if self.current is not None:
            func = func.with_attr("rvtvm.source", f"{self.current.opcode} #{self.current.index}")
        if params:
            func = func.with_attr("rvtvm.params", {k: int(v) for k, v in params.items()})
        gv = self.bb.add_func(func, name)
        return self.bb.emit(relax.call_tir(gv, args, relax.TensorType(tuple(int(d) for d in out.shape), out.dtype)))

    # --- shared pieces ---------------------------------------------------------------------

    def quant(self, idx: int, what: str):
        t = self.g.tensors[idx]
        if t.quant is None:
            raise ModelError(f"{what} '{t.name}' has no quantization parameters; rvtvm imports fully int8-quantized models")
        return t.quant

    def expect_type(self, idx: int, *dtypes: str, what: str = "tensor") -> TensorInfo:
        t = self.g.tensors[idx]
        if t.dtype not in dtypes:
            raise ModelError(f"{what} '{t.name}' has type {t.dtype.rstrip('?')}, expected {' or '.join(dtypes)}")
        return t

    def activation_range(self, op: OperatorInfo, out_idx: int) -> tuple[int, int]:
        """CalculateActivationRangeQuantized for an int8 output."""
        code = op.options.FusedActivationFunction() if op.options is not None else 0
        q = self.quant(out_idx, "output")
        scale, zp = np.float32(q.scale[0]), int(q.zero_point[0])

        def level(x: float) -> int:
            return zp + round_half_away(float(np.float32(x) / scale))

        name = _ACTIVATIONS.get(code, str(code))
        if name == "NONE":
            return -128, 127
        if name == "RELU":
            return max(-128, level(0.0)), 127
        if name == "RELU6":
            return max(-128, level(0.0)), min(127, level(6.0))
        if name == "RELU_N1_TO_1":
            return max(-128, level(-1.0)), min(127, level(1.0))
        raise ModelError(f"fused activation {name} is not supported")

    def folded_bias(self, op: OperatorInfo, channels: int, weight_sums: np.ndarray, input_zp: int) -> np.ndarray:
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias_t = self.expect_type(op.inputs[2], "int32", what="bias")
            if bias_t.data is None:
                raise ModelError("the bias is not a constant")
            bias = bias_t.data.astype(np.int64).reshape(-1)
        else:
            bias = np.zeros(channels, np.int64)
        folded = bias - input_zp * weight_sums.astype(np.int64)
        if folded.min() < -(2**31) or folded.max() >= 2**31:
            raise ModelError("the bias with the input zero point folded in overflows int32")
        return folded.astype(np.int32)

    def multipliers(self, real: np.ndarray):
        pairs = [quantize_multiplier(float(r)) for r in real]
        mult = np.array([m for m, _ in pairs], np.int32)
        shift = np.array([s for _, s in pairs], np.int32)
        if mult.size == 1:
            return int(mult[0]), int(shift[0])
        return relax.const(mult), relax.const(shift)

    def requantize(self, op, acc, bias: np.ndarray, mult, shift) -> relax.Expr:
        out_idx = op.outputs[0]
        self.expect_type(out_idx, "int8", what="output")
        zp = int(self.quant(out_idx, "output").zero_point[0])
        lo, hi = self.activation_range(op, out_idx)
        args = [acc, relax.const(bias)]
        per_channel = not isinstance(mult, int)
        if per_channel:
            args += [mult, shift]

        def compute(a, b, *rest):
            m, s = (rest[0], rest[1]) if per_channel else (mult, shift)
            return kernels.requantize(a, b, m, s, zp, lo, hi)

        params = dict(output_offset=zp, act_min=lo, act_max=hi)
        if not per_channel:
            params.update(multiplier=mult, shift=shift)
        return self.call_kernel("requantize", compute, args, params)

    def conv_like_input(self, op):
        x = self.expect_type(op.inputs[0], "int8", what="input")
        w = self.expect_type(op.inputs[1], "int8", what="weights")
        if w.data is None:
            raise ModelError("the weights are not a constant")
        xq, wq = self.quant(x.index, "input"), self.quant(w.index, "weights")
        if np.any(wq.zero_point != 0):
            raise ModelError("weights with a nonzero zero point are not supported (TFLite int8 weights are symmetric)")
        return x, w, xq, wq

    def conv_multipliers(self, op, xq, wq, channels: int):
        """PopulateConvolutionQuantizationParams: double(input) * double(filter[c]) / double(output)."""
        oq = self.quant(op.outputs[0], "output")
        scales = wq.scale if wq.per_channel else np.repeat(wq.scale[:1], channels)
        real = np.array([float(xq.scale[0]) * float(s) / float(oq.scale[0]) for s in scales])
        if not wq.per_channel:
            real = real[:1]
        return self.multipliers(real)

    def padded(self, x_expr, pads: tuple[int, int, int, int], zero_point: int):
        if not any(pads):
            return x_expr
        top, bottom, left, right = pads
        return self.bb.emit(relax.op.nn.pad(x_expr, [0, 0, top, bottom, left, right, 0, 0], pad_value=float(zero_point)))


def _i64_shape(shape) -> list:
    return [tvm.tirx.IntImm("int64", int(d)) for d in shape]


# --- padding, as TFLite computes it (kernels/padding.h) ----------------------------------------


def _out_size(padding: int, size: int, filt: int, stride: int, dilation: int) -> int:
    eff = (filt - 1) * dilation + 1
    if padding == _SAME:
        return (size + stride - 1) // stride
    return (size + stride - eff) // stride


def _pad_amounts(padding: int, size: int, filt: int, stride: int, dilation: int) -> tuple[int, int, int]:
    out = _out_size(padding, size, filt, stride, dilation)
    eff = (filt - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2, total - total // 2


def _spatial(opts, in_h, in_w, fh, fw, dilation=(1, 1)):
    sh, sw = opts.StrideH(), opts.StrideW()
    if sh < 1 or sw < 1 or dilation[0] < 1 or dilation[1] < 1:
        raise ModelError("strides and dilations must be at least 1")
    oh, pt, pb = _pad_amounts(opts.Padding(), in_h, fh, sh, dilation[0])
    ow, pl, pr = _pad_amounts(opts.Padding(), in_w, fw, sw, dilation[1])
    if oh < 1 or ow < 1:
        raise ModelError(f"the filter ({fh}x{fw}) does not fit the input ({in_h}x{in_w})")
    return (oh, ow), (sh, sw), (pt, pb, pl, pr)


# --- converters -------------------------------------------------------------------------------


def _conv2d(im: _Importer, op: OperatorInfo) -> relax.Expr:
    x, w, xq, wq = im.conv_like_input(op)
    o = op.options
    _, in_h, in_w, cin = x.shape
    cout, fh, fw, wcin = w.shape
    if wcin != cin:
        raise ModelError(f"grouped convolution (input has {cin} channels, filter {wcin}) is not supported")
    dil = (o.DilationHFactor(), o.DilationWFactor())
    _, strides, pads = _spatial(o, in_h, in_w, fh, fw, dil)
    zx = int(xq.zero_point[0])
    xin = im.padded(im.value(x.index), pads, zx)
    kernel = relax.const(np.ascontiguousarray(w.data.transpose(1, 2, 3, 0)))  # OHWI -> HWIO
    acc = im.bb.emit(relax.op.nn.conv2d(xin, kernel, strides=strides, dilation=dil, data_layout="NHWC", kernel_layout="HWIO", out_dtype="int32"))
    bias = im.folded_bias(op, cout, w.data.astype(np.int64).sum(axis=(1, 2, 3)), zx)
    return im.requantize(op, acc, bias, *im.conv_multipliers(op, xq, wq, cout))


def _depthwise_conv2d(im: _Importer, op: OperatorInfo) -> relax.Expr:
    x, w, xq, wq = im.conv_like_input(op)
    o = op.options
    _, in_h, in_w, cin = x.shape
    _, fh, fw, cout = w.shape
    mult = o.DepthMultiplier() or cout // cin
    if cout != cin * mult:
        raise ModelError(f"{cout} output channels is not {cin} input channels x depth multiplier {mult}")
    dil = (o.DilationHFactor(), o.DilationWFactor())
    _, strides, pads = _spatial(o, in_h, in_w, fh, fw, dil)
    zx = int(xq.zero_point[0])
    xin = im.padded(im.value(x.index), pads, zx)
    # [1, H, W, C*M] is HWIO with one input channel per group: output channel c*M+m reads channel c.
    kernel = relax.const(np.ascontiguousarray(w.data.reshape(fh, fw, 1, cout)))
    acc = im.bb.emit(relax.op.nn.conv2d(xin, kernel, strides=strides, dilation=dil, groups=cin, data_layout="NHWC", kernel_layout="HWIO", out_dtype="int32"))
    bias = im.folded_bias(op, cout, w.data.astype(np.int64).sum(axis=(0, 1, 2)), zx)
    return im.requantize(op, acc, bias, *im.conv_multipliers(op, xq, wq, cout))


def _fully_connected(im: _Importer, op: OperatorInfo) -> relax.Expr:
    x, w, xq, wq = im.conv_like_input(op)
    o = op.options
    if o is not None and o.WeightsFormat() != 0:
        raise ModelError("shuffled weights formats are not supported")
    units, depth = w.shape
    count = int(np.prod(x.shape))
    if count % depth:
        raise ModelError(f"input of {count} elements does not divide into rows of {depth}")
    batch = count // depth
    xin = im.value(x.index)
    if tuple(x.shape) != (batch, depth):
        xin = im.bb.emit(relax.op.reshape(xin, (batch, depth)))
    acc = im.bb.emit(relax.op.matmul(xin, relax.const(np.ascontiguousarray(w.data.T)), out_dtype="int32"))
    zx = int(xq.zero_point[0])
    bias = im.folded_bias(op, units, w.data.astype(np.int64).sum(axis=1), zx)
    oq = im.quant(op.outputs[0], "output")
    if wq.per_channel:
        mult, shift = im.conv_multipliers(op, xq, wq, units)
    else:
        # GetQuantizedConvolutionMultipler: the input x filter product is float, then double.
        real = float(np.float32(xq.scale[0]) * np.float32(wq.scale[0])) / float(oq.scale[0])
        mult, shift = im.multipliers(np.array([real]))
    y = im.requantize(op, acc, bias, mult, shift)
    want = im.tensor(op.outputs[0]).shape
    if want and tuple(want) != (batch, units):
        y = im.bb.emit(relax.op.reshape(y, want))
    return y


def _elementwise_quant(im: _Importer, op: OperatorInfo):
    a = im.expect_type(op.inputs[0], "int8", what="input")
    b = im.expect_type(op.inputs[1], "int8", what="input")
    im.expect_type(op.outputs[0], "int8", what="output")
    out_shape = tuple(np.broadcast_shapes(a.shape, b.shape))
    return a, b, im.quant(a.index, "input"), im.quant(b.index, "input"), im.quant(op.outputs[0], "output"), out_shape


def _add(im: _Importer, op: OperatorInfo) -> relax.Expr:
    a, b, qa, qb, qo, out_shape = _elementwise_quant(im, op)
    left_shift = 20
    sa, sb, so = (float(q.scale[0]) for q in (qa, qb, qo))
    twice_max = 2 * max(sa, sb)  # std::max of the float scales, then double
    m1, s1 = quantize_multiplier_smaller_than_one_exp(sa / twice_max)
    m2, s2 = quantize_multiplier_smaller_than_one_exp(sb / twice_max)
    mo, sO = quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * so))
    lo, hi = im.activation_range(op, op.outputs[0])
    p = dict(left_shift=left_shift, input1_offset=-int(qa.zero_point[0]), input2_offset=-int(qb.zero_point[0]),
             input1_multiplier=m1, input1_shift=s1, input2_multiplier=m2, input2_shift=s2, output_multiplier=mo,
             output_shift=sO, output_offset=int(qo.zero_point[0]), act_min=lo, act_max=hi)
    return im.call_kernel("add_int8", lambda x, y: kernels.add(x, y, out_shape, p), [im.value(a.index), im.value(b.index)], p)


def _mul(im: _Importer, op: OperatorInfo) -> relax.Expr:
    a, b, qa, qb, qo, out_shape = _elementwise_quant(im, op)
    mult, shift = quantize_multiplier(float(qa.scale[0]) * float(qb.scale[0]) / float(qo.scale[0]))
    lo, hi = im.activation_range(op, op.outputs[0])
    p = dict(input1_offset=-int(qa.zero_point[0]), input2_offset=-int(qb.zero_point[0]), output_multiplier=mult,
             output_shift=shift, output_offset=int(qo.zero_point[0]), act_min=lo, act_max=hi)
    return im.call_kernel("mul_int8", lambda x, y: kernels.mul(x, y, out_shape, p), [im.value(a.index), im.value(b.index)], p)


def _pool(kind):
    def convert(im: _Importer, op: OperatorInfo) -> relax.Expr:
        x = im.expect_type(op.inputs[0], "int8", what="input")
        im.expect_type(op.outputs[0], "int8", what="output")
        o = op.options
        n, in_h, in_w, c = x.shape
        filt = (o.FilterHeight(), o.FilterWidth())
        (oh, ow), strides, (pt, _, pl, _) = _spatial(o, in_h, in_w, *filt)
        lo, hi = im.activation_range(op, op.outputs[0])
        out_shape = (n, oh, ow, c)
        fn = kernels.average_pool if kind == "average" else kernels.max_pool
        return im.call_kernel(f"{kind}_pool_int8", lambda t: fn(t, out_shape, filt, strides, (pt, pl), lo, hi), [im.value(x.index)])

    return convert


def _reshape(im: _Importer, op: OperatorInfo) -> relax.Expr:
    shape = im.tensor(op.outputs[0]).shape
    if not shape and op.options is not None and op.options.NewShapeLength():
        shape = tuple(int(d) for d in op.options.NewShapeAsNumpy())
    return im.bb.emit(relax.op.reshape(im.value(op.inputs[0]), shape))


def _softmax(im: _Importer, op: OperatorInfo) -> relax.Expr:
    from .activations import softmax_int8

    x = im.expect_type(op.inputs[0], "int8", what="input")
    im.expect_type(op.outputs[0], "int8", what="output")
    qx, qo = im.quant(x.index, "input"), im.quant(op.outputs[0], "output")
    _require_output_quant(qo, 1 / 256, -128, "SOFTMAX")
    beta = float(op.options.Beta()) if op.options is not None else 1.0
    return im.call_kernel("softmax_int8", lambda t: softmax_int8(t, float(qx.scale[0]), beta, int(qo.zero_point[0])), [im.value(x.index)])


def _logistic(im: _Importer, op: OperatorInfo) -> relax.Expr:
    from .activations import logistic_int8

    x = im.expect_type(op.inputs[0], "int8", what="input")
    im.expect_type(op.outputs[0], "int8", what="output")
    qx, qo = im.quant(x.index, "input"), im.quant(op.outputs[0], "output")
    _require_output_quant(qo, 1 / 256, -128, "LOGISTIC")
    return im.call_kernel("logistic_int8", lambda t: logistic_int8(t, float(qx.scale[0]), int(qx.zero_point[0]), int(qo.zero_point[0])), [im.value(x.index)])


def _mean(im: _Importer, op: OperatorInfo) -> relax.Expr:
    from .activations import mean_int8

    x = im.expect_type(op.inputs[0], "int8", what="input")
    im.expect_type(op.outputs[0], "int8", what="output")
    axes_t = im.tensor(op.inputs[1])
    if axes_t.data is None:
        raise ModelError("the reduction axes are not a constant")
    axes = sorted({int(a) % len(x.shape) for a in axes_t.data.reshape(-1)})
    keep = bool(op.options.KeepDims()) if op.options is not None else False
    qx, qo = im.quant(x.index, "input"), im.quant(op.outputs[0], "output")
    return im.call_kernel(
        "mean_int8",
        lambda t: mean_int8(t, axes, keep, float(qx.scale[0]), int(qx.zero_point[0]), float(qo.scale[0]), int(qo.zero_point[0])),
        [im.value(x.index)],
    )


def _require_output_quant(q, scale: float, zero_point: int, op: str) -> None:
    if abs(float(q.scale[0]) - scale) > 1e-8 * scale or int(q.zero_point[0]) != zero_point:
        raise ModelError(f"int8 {op} output must have scale 1/256 and zero point -128 (as TFLite Micro requires)")


def _quantize(im: _Importer, op: OperatorInfo) -> relax.Expr:
    x = im.expect_type(op.inputs[0], "float32", "int8", what="input")
    im.expect_type(op.outputs[0], "int8", what="output")
    qo = im.quant(op.outputs[0], "output")
    so, zo = float(qo.scale[0]), int(qo.zero_point[0])
    if x.dtype == "float32":
        scale = relax.const(np.array([so], np.float32))
        return im.call_kernel("quantize", lambda t, s: kernels.quantize(t, s, zo), [im.value(x.index), scale])
    qx = im.quant(x.index, "input")
    mult, shift = quantize_multiplier(float(qx.scale[0]) / so)
    zx = int(qx.zero_point[0])
    return im.call_kernel("requantize_int8", lambda t: kernels.requantize_int8(t, -zx, mult, shift, zo), [im.value(x.index)])


def _dequantize(im: _Importer, op: OperatorInfo) -> relax.Expr:
    x = im.expect_type(op.inputs[0], "int8", what="input")
    im.expect_type(op.outputs[0], "float32", what="output")
    q = im.quant(x.index, "input")
    scale = relax.const(np.array([float(q.scale[0])], np.float64))
    return im.call_kernel("dequantize", lambda t, s: kernels.dequantize(t, s, int(q.zero_point[0])), [im.value(x.index), scale])


def _same_quant(im: _Importer, a: int, b: int) -> bool:
    qa, qb = im.tensor(a).quant, im.tensor(b).quant
    if qa is None or qb is None:
        return qa is qb
    return np.array_equal(qa.scale, qb.scale) and np.array_equal(qa.zero_point, qb.zero_point)


def _pad(im: _Importer, op: OperatorInfo) -> relax.Expr:
    x = im.expect_type(op.inputs[0], "int8", what="input")
    pads_t = im.tensor(op.inputs[1])
    if pads_t.data is None:
        raise ModelError("the paddings are not a constant")
    if not _same_quant(im, x.index, op.outputs[0]):
        raise ModelError("input and output quantization differ")
    value = int(im.quant(op.outputs[0], "output").zero_point[0])
    if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        c = im.tensor(op.inputs[2])
        if c.data is None:
            raise ModelError("the pad value is not a constant")
        value = int(c.data.reshape(-1)[0])
    pads = pads_t.data.reshape(-1, 2)
    if pads.shape[0] != len(x.shape) or pads.min() < 0:
        raise ModelError(f"paddings {pads.tolist()} do not fit an input of rank {len(x.shape)}")
    flat = [int(v) for pair in pads for v in pair]
    return im.bb.emit(relax.op.nn.pad(im.value(x.index), flat, pad_value=float(value)))


def _concatenation(im: _Importer, op: OperatorInfo) -> relax.Expr:
    for idx in op.inputs:
        im.expect_type(idx, "int8", what="input")
        if not _same_quant(im, idx, op.outputs[0]):
            raise ModelError("inputs with quantization different from the output are not supported")
    if op.options is not None and op.options.FusedActivationFunction() != 0:
        raise ModelError("a fused activation on CONCATENATION is not supported")
    axis = op.options.Axis() if op.options is not None else 0
    return im.bb.emit(relax.op.concat([im.value(i) for i in op.inputs], axis=axis))


_CONVERTERS = {
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv2d,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _add,
    "MUL": _mul,
    "AVERAGE_POOL_2D": _pool("average"),
    "MAX_POOL_2D": _pool("max"),
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
    "LOGISTIC": _logistic,
    "MEAN": _mean,
    "QUANTIZE": _quantize,
    "DEQUANTIZE": _dequantize,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concatenation,
}
