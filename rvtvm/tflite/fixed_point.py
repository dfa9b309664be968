"""TFLite Micro's integer arithmetic, as TIR expressions and as the Python that derives constants.

Bit-exactness with TFLite Micro rests on these few functions (tensorflow/lite/kernels/internal/
common.h and gemmlowp's fixedpoint.h, double-rounding variant, which is what TFLM builds):

- quantize_multiplier(real) -> (multiplier, shift): real ~= multiplier * 2**(shift - 31), with
  the multiplier a Q31 value in [2**30, 2**31).
- saturating_rounding_doubling_high_mul(a, b): (a * b * 2) >> 32, rounded half up, saturating
  the one overflow case (INT32_MIN * INT32_MIN).
- rounding_divide_by_pot(x, e): x / 2**e, rounded half away from zero.
- multiply_by_quantized_multiplier(x, m, s): SRDHM(x << max(s, 0), m) >> max(-s, 0), rounded.

The TIR versions take and return int32 PrimExprs; a multiplier or shift may be a constant or a
per-channel load, so the shift direction is chosen per element with a select.
"""

from __future__ import annotations

import math

import tvm
from tvm import tirx

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier, on a Python float (a C double, as TFLM computes it)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = round_half_away(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    # No clamp of shifts above 30: only TFLite's single-rounding build has one, and TFLM (what
    # the tflite-micro package runs) is the double-rounding build.
    return int(q_fixed), shift


def quantize_multiplier_smaller_than_one_exp(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp: the shift is a left shift, always <= 0."""
    if not 0.0 < real < 1.0:
        raise ValueError(f"multiplier {real} is not in (0, 1)")
    return quantize_multiplier(real)


def round_half_away(x: float) -> int:
    """std::round: halves go away from zero (Python's round() goes to even)."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _i32(v) -> tvm.ir.Expr:
    return v if isinstance(v, tvm.ir.Expr) else tirx.const(int(v), "int32")


def _i64(v) -> tvm.ir.Expr:
    return tirx.Cast("int64", v) if isinstance(v, tvm.ir.Expr) else tirx.const(int(v), "int64")


# No tirx.Let below, though arguments are used several times: TVM's llvm pipeline vectorizes
# element-wise loops and its bound analysis then fails on Let-bound vars ("bound for x conflicts
# with memorization"). Each function grows its argument's tree a few times over; callers keep
# nesting shallow by computing intermediate stages as separate TE computes (see kernels.add).


def saturating_rounding_doubling_high_mul(a, b) -> tvm.ir.Expr:
    """gemmlowp adds a sign-dependent nudge and divides, truncating; that is exactly rounding
    half up, (a*b + 2**30) >> 31, and the one overflow (INT32_MIN * INT32_MIN) is the one result
    above INT32_MAX. Written this way it has no select for TVM's simplifier to misjudge and no
    64-bit division."""
    product = _i64(_i32(a)) * _i64(_i32(b))
    high = tirx.shift_right(product + tirx.const(1 << 30, "int64"), tirx.const(31, "int64"))
    return tirx.Cast("int32", tirx.min(high, tirx.const(INT32_MAX, "int64")))


def rounding_divide_by_pot(x, exponent) -> tvm.ir.Expr:
    x, exponent = _i32(x), _i32(exponent)
    one, zero = tirx.const(1, "int32"), tirx.const(0, "int32")
    if isinstance(exponent, tirx.IntImm):  # (1 << 31) - 1 is not an int32 constant
        mask = tirx.const((1 << exponent.value) - 1, "int32")
    else:
        # Not INT32_MAX >> (31 - e): TVM's bound analysis then decides the rounding term is
        # always 0 and deletes it.
        mask = tirx.shift_left(one, exponent) - one
    remainder = tirx.bitwise_and(x, mask)
    threshold = tirx.shift_right(mask, one) + tirx.Select(x < zero, one, zero)
    return tirx.shift_right(x, exponent) + tirx.Select(remainder > threshold, one, zero)


def multiply_by_quantized_multiplier(x, multiplier, shift) -> tvm.ir.Expr:
    x, multiplier, shift = _i32(x), _i32(multiplier), _i32(shift)
    zero = tirx.const(0, "int32")
    if isinstance(shift, tirx.IntImm):  # a per-tensor shift: no select in the generated code
        left, right = max(shift.value, 0), max(-shift.value, 0)
        if left > 30:
            raise ValueError(f"a multiplier of 2**{shift.value} or more overflows int32 (TFLite too)")
        shifted = x if left == 0 else _wrapping_shl(x, _i32(left))
        high = saturating_rounding_doubling_high_mul(shifted, multiplier)
        return high if right == 0 else rounding_divide_by_pot(high, _i32(right))
    left = tirx.max(shift, zero)
    right = tirx.max(zero - shift, zero)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(_wrapping_shl(x, left), multiplier), right)


def _wrapping_shl(x: tvm.ir.Expr, amount: tvm.ir.Expr) -> tvm.ir.Expr:
    """x * 2**amount in int32, written as TFLite writes it (`x * (1 << left_shift)`). Not done
    through uint32: TVM's simplifier takes int32(uint32 value) to be non-negative and would then
    drop SRDHM's negative nudge."""
    return x * tirx.shift_left(tirx.const(1, "int32"), amount)
