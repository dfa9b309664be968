"""TE computes for the int8 arithmetic TFLite Micro does outside a convolution's MAC loop.

Each function mirrors one TFLM reference kernel (tensorflow/lite/kernels/internal/reference/...)
and is checked bit for bit against the tflite-micro package by tests/test_tflite_ops.py. The
constants they take (multipliers, shifts, offsets, activation bounds) are derived in
importer.py exactly as TFLM's Prepare functions derive them.

A per-channel parameter is a te.Tensor indexed by the last (channel) axis; a per-tensor one is
a Python int, which TIR folds into the code as an immediate.
"""

from __future__ import annotations

from tvm import te, tirx

from .fixed_point import multiply_by_quantized_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul


def _clamp_to(dtype: str, value, lo: int, hi: int):
    return tirx.Cast(dtype, tirx.max(tirx.min(value, tirx.const(hi, "int32")), tirx.const(lo, "int32")))


def _channel(param, c):
    return param(c) if isinstance(param, te.Tensor) else param


def requantize(acc: te.Tensor, bias: te.Tensor, multiplier, shift, output_zero_point: int, act_min: int, act_max: int,
               out_dtype: str = "int8") -> te.Tensor:
    """conv / depthwise / fully-connected epilogue: MultiplyByQuantizedMultiplier(acc + bias)
    + output offset, clamped to the fused activation's range."""

    def f(*i):
        c = i[-1]
        scaled = multiply_by_quantized_multiplier(acc(*i) + bias(c), _channel(multiplier, c), _channel(shift, c))
        return _clamp_to(out_dtype, scaled + output_zero_point, act_min, act_max)

    return te.compute(acc.shape, f, name="requantize")


def _broadcast_index(shape_out, shape_in, index):
    """Index into an input of `shape_in` broadcast (numpy rules) to `shape_out`."""
    lead = len(shape_out) - len(shape_in)
    return [0 if int(d) == 1 and int(shape_out[lead + k]) != 1 else index[lead + k] for k, d in enumerate(shape_in)]


def add(a: te.Tensor, b: te.Tensor, out_shape, p: dict) -> te.Tensor:
    """reference_integer_ops::Add: both inputs rescaled to a common 2**left_shift fixed point,
    summed, then rescaled to the output."""
    left = 1 << p["left_shift"]

    def scaled(t, i, offset, mult, shift):
        v = (t(*_broadcast_index(out_shape, t.shape, i)).astype("int32") + offset) * left
        return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(v, mult), -shift)

    # Two stages, so that neither expression nests two rescales (see fixed_point.py).
    total = te.compute(
        out_shape,
        lambda *i: scaled(a, i, p["input1_offset"], p["input1_multiplier"], p["input1_shift"])
        + scaled(b, i, p["input2_offset"], p["input2_multiplier"], p["input2_shift"]),
        name="add_sum",
    )

    def f(*i):
        out = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(total(*i), p["output_multiplier"]), -p["output_shift"])
        return _clamp_to("int8", out + p["output_offset"], p["act_min"], p["act_max"])

    return te.compute(out_shape, f, name="add_int8")


def mul(a: te.Tensor, b: te.Tensor, out_shape, p: dict) -> te.Tensor:
    """reference_integer_ops::Mul: (x1 + off1) * (x2 + off2), requantized."""

    def f(*i):
        x1 = a(*_broadcast_index(out_shape, a.shape, i)).astype("int32") + p["input1_offset"]
        x2 = b(*_broadcast_index(out_shape, b.shape, i)).astype("int32") + p["input2_offset"]
        out = multiply_by_quantized_multiplier(x1 * x2, p["output_multiplier"], p["output_shift"])
        return _clamp_to("int8", out + p["output_offset"], p["act_min"], p["act_max"])

    return te.compute(out_shape, f, name="mul_int8")


def _pool_window(shape_in, filt, stride, pad):
    """Per output position, the filter taps that fall inside the input (TFLM never pads pools)."""
    (_, in_h, in_w, _), (fh, fw), (sh, sw), (ph, pw) = shape_in, filt, stride, pad

    def bounds(oy, ox):
        y0, x0 = oy * sh - ph, ox * sw - pw
        ys, ye = tirx.max(0, -y0), tirx.min(fh, in_h - y0)
        xs, xe = tirx.max(0, -x0), tirx.min(fw, in_w - x0)
        return y0, x0, ys, ye, xs, xe

    return bounds


def average_pool(x: te.Tensor, out_shape, filt, stride, pad, act_min: int, act_max: int) -> te.Tensor:
    """reference_integer_ops::AveragePool: sum of the taps inside the input, divided by their
    count with rounding half away from zero (C integer division truncates toward zero)."""
    bounds = _pool_window(x.shape, filt, stride, pad)
    rh, rw = te.reduce_axis((0, filt[0]), "rh"), te.reduce_axis((0, filt[1]), "rw")

    def tap(b, oy, ox, c):
        y0, x0, ys, ye, xs, xe = bounds(oy, ox)
        inside = tirx.all(rh >= ys, rh < ye, rw >= xs, rw < xe)
        return te.sum(tirx.if_then_else(inside, x(b, y0 + rh, x0 + rw, c).astype("int32"), 0), axis=[rh, rw])

    total = te.compute(out_shape, tap, name="pool_sum")

    def average(b, oy, ox, c):
        _, _, ys, ye, xs, xe = bounds(oy, ox)
        count = (ye - ys) * (xe - xs)
        s = total(b, oy, ox, c)
        half = tirx.truncdiv(count, 2)
        rounded = tirx.truncdiv(tirx.Select(s > 0, s + half, s - half), count)
        return _clamp_to("int8", rounded, act_min, act_max)

    return te.compute(out_shape, average, name="average_pool")


def max_pool(x: te.Tensor, out_shape, filt, stride, pad, act_min: int, act_max: int) -> te.Tensor:
    """reference_integer_ops::MaxPool: max over the taps inside the input, then clamped."""
    bounds = _pool_window(x.shape, filt, stride, pad)
    rh, rw = te.reduce_axis((0, filt[0]), "rh"), te.reduce_axis((0, filt[1]), "rw")

    def tap(b, oy, ox, c):
        y0, x0, ys, ye, xs, xe = bounds(oy, ox)
        inside = tirx.all(rh >= ys, rh < ye, rw >= xs, rw < xe)
        return te.max(tirx.if_then_else(inside, x(b, y0 + rh, x0 + rw, c).astype("int32"), -128), axis=[rh, rw])

    biggest = te.compute(out_shape, tap, name="pool_max")
    return te.compute(out_shape, lambda *i: _clamp_to("int8", biggest(*i), act_min, act_max), name="max_pool")


def requantize_int8(x: te.Tensor, input_offset: int, multiplier: int, shift: int, output_offset: int) -> te.Tensor:
    """QUANTIZE from int8 to int8 (reference_ops::Requantize)."""
    return te.compute(
        x.shape,
        lambda *i: _clamp_to("int8", multiply_by_quantized_multiplier(x(*i).astype("int32") + input_offset, multiplier, shift) + output_offset, -128, 127),
        name="requantize_int8",
    )


# Scales reach the C as one-element constant tensors, not immediates: TVM's C backend prints
# float immediates with 7 significant digits, which does not round-trip a float32 (9 needed), let
# alone the double TFLM multiplies by.


def quantize(x: te.Tensor, scale: te.Tensor, zero_point: int) -> te.Tensor:
    """reference_ops::AffineQuantize: round(x / scale) + zero point, clamped. `scale` is a
    float32[1]. The division is float32 as in TFLM, and std::round rounds halves away from zero:
    done with trunc, whose remainder is exact in float, rather than floor(x + 0.5), which rounds
    0.49999997 up."""

    def f(*i):
        q = x(*i) / scale(0)
        q = tirx.max(tirx.min(q, tirx.const(1e4, "float32")), tirx.const(-1e4, "float32"))
        t = tirx.trunc(q)
        half = tirx.const(0.5, "float32")
        bump = tirx.Select(q - t >= half, 1, tirx.Select(t - q >= half, -1, 0))
        return _clamp_to("int8", t.astype("int32") + bump + zero_point, -128, 127)

    return te.compute(x.shape, f, name="quantize")


def dequantize(x: te.Tensor, scale: te.Tensor, zero_point: int) -> te.Tensor:
    """reference_ops::Dequantize: float(double scale * (x - zero point)); `scale` is a float64[1]."""
    return te.compute(
        x.shape,
        lambda *i: tirx.Cast("float32", scale(0) * (x(*i).astype("int32") - zero_point).astype("float64")),
        name="dequantize",
    )
