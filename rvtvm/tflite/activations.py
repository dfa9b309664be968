"""TFLite Micro's int8 SOFTMAX, LOGISTIC and MEAN as TE computes, bit-exact with its reference kernels.

Every constant is derived in Python the way TFLite Micro derives it in its Prepare functions (float
tensor scales widened to double, then double arithmetic). At run time the computes use int32
arithmetic, and int64 only for SaturatingRoundingDoublingHighMul's product and for a few rounding
shifts (adds and constant shifts, never a 64-bit division): the C they lower to has no float and
calls nothing (rv32imc GCC inlines all of it). Checked bit for bit against the tflite_micro package
by tests/test_tflite_activations.py.

Sources followed (tflite-micro, double-rounding build, which is what the `tflite_micro` package is):
- SOFTMAX: kernels/softmax_common.cc (CalculateSoftmaxParams) and reference_ops::Softmax
  (internal/reference/softmax.h) with gemmlowp's exp_on_negative_values and GetReciprocal.
- LOGISTIC: kernels/logistic_common.cc and reference_integer_ops::Logistic (gemmlowp::logistic on
  FixedPoint<int32, 4>).
- MEAN: kernels/reduce_common.cc and reference_ops::QuantizedMeanOrSum.

How the TIR is kept small and robust
-----------------------------------
gemmlowp's fixed-point code reuses its intermediate values; written naively as one TIR expression
tree, the exp barrel shifter alone would copy its input 2**7 times. Two things keep it small:

- The primitives are rewritten (exactly) so that an operand is used once where possible:
  SaturatingRoundingDoublingHighMul is floor((a*b + 2**30) / 2**31) clamped to INT32_MAX (the
  nudge-and-truncate of gemmlowp is round-half-up), and a barrel-shifter step
  `bit ? SRDHM(r, M) : r` is one product with the factor `bit ? M : 2**31`.
- Values used more than once are bound with `Let`, so the C has one local per binding. TVM's
  analysers substitute let-bound values when they visit them, so what they see is still the
  inlined tree: the computations are split into a few te.compute stages (buffers) so that no
  stage's inlined tree grows beyond a few thousand nodes.

The per-element stages of SOFTMAX and LOGISTIC depend only on an int8 quantity (x - row max,
or x), so for tensors of more than 256 elements the fixed-point path is evaluated once for each
of the 256 possible values and the tensor is mapped through that table; smaller tensors are
computed element by element (the exp / table stages are the only tensor-sized scratch).

TVM pitfalls met on the way (they shaped the code): its simplifier assumes int32 arithmetic never
overflows and rearranges it accordingly (so (y - 2**30) * 2 became an overflowing y * 2 - 2**31;
hence int64 or bit operations wherever a rearrangement could overflow), it bounds uint32 casts of
negative values wrongly, and comparisons of let-bound values against constants near the int32
limits make it build out-of-range literals.
"""

from __future__ import annotations

import math

import numpy as np
from tvm import te, tirx

from .fixed_point import quantize_multiplier, round_half_away


__all__ = ["softmax_int8", "logistic_int8", "mean_int8", "softmax_params", "logistic_params", "mean_params"]

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
INT8_MIN, INT8_MAX = -128, 127


# --------------------------------------------------------------------------------------------
# Constants, derived as TFLite Micro derives them.


def _f32(v: float) -> float:
    """A TfLiteTensor's scale or a builtin option is a C float: round to it, then widen to double."""
    return float(np.float32(v))


def _input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """CalculateInputRadius (non TFLITE_EMULATE_FLOAT): floor of a double quotient."""
    max_input_rescaled = (
        1.0 * ((1 << input_integer_bits) - 1) * float(1 << (total_signed_bits - input_integer_bits))
        / float(1 << input_left_shift)
    )
    return int(math.floor(max_input_rescaled))


def softmax_params(input_scale: float, beta: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) of TFLite Micro's int8 softmax."""
    scaled_diff_integer_bits = 5
    max_real_multiplier = float((1 << 31) - 1)
    real = min(_f32(beta) * _f32(input_scale) * float(1 << (31 - scaled_diff_integer_bits)), max_real_multiplier)
    if not real > 1.0:  # QuantizeMultiplierGreaterThanOne's TFLITE_CHECK
        raise ValueError(f"softmax: beta * input_scale = {beta * input_scale} is too small for TFLite")
    multiplier, left_shift = quantize_multiplier(real)
    diff_min = -_input_radius(scaled_diff_integer_bits, left_shift)
    return multiplier, left_shift, diff_min


def logistic_params(input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, input_range_radius) of TFLite Micro's int8 logistic.

    TFLite Micro uses frexp directly here, without QuantizeMultiplier's 2**31 carry check; with a
    float scale the mantissa has 24 bits, so q * 2**31 never rounds up to 2**31 anyway."""
    input_integer_bits = 4
    real = _f32(input_scale) * float(1 << (31 - input_integer_bits))
    q, left_shift = math.frexp(real)
    multiplier = round_half_away(q * (1 << 31))
    if multiplier >= 1 << 31:
        raise ValueError(f"logistic: input scale {input_scale} gives an out-of-range multiplier")
    return multiplier, left_shift, _input_radius(input_integer_bits, left_shift, 31)


def mean_params(input_scale: float, output_scale: float, num_elements: int) -> tuple[int, int]:
    """(multiplier, shift) that QuantizedMeanOrSum applies to (sum - zp * n) for a mean over n
    elements: QuantizeMultiplier(in/out scale), then the 1/n folded into the multiplier."""
    multiplier, shift = quantize_multiplier(_f32(input_scale) / _f32(output_scale))
    n_shift = min(num_elements.bit_length() - 1, 32, 31 + shift)  # 63 - clz64(n), clamped
    multiplier = (multiplier << n_shift) // num_elements  # C division of non-negative int64s
    return int(np.int64(multiplier).astype(np.int32)), shift - n_shift


# --------------------------------------------------------------------------------------------
# TIR building blocks. Every value is an int32 PrimExpr unless said otherwise.

# Above this many elements, SOFTMAX's exp and LOGISTIC go through a 256-entry table.
TABLE_THRESHOLD = 256


class _Lets:
    """Binds intermediate values to fresh variables; `wrap` nests the bindings around a body."""

    def __init__(self) -> None:
        self._binds: list = []

    def __call__(self, value, name: str = "t"):
        if isinstance(value, (tirx.IntImm, tirx.Var)):
            return value
        var = tirx.Var(name, value.ty)
        self._binds.append((var, value))
        return var

    def wrap(self, body):
        for var, value in reversed(self._binds):
            body = tirx.Let(var, value, body)
        return body


def _c(v: int, dtype: str = "int32"):
    return tirx.const(int(v), dtype)


def _i64(x):
    return tirx.Cast("int64", x)


def _i32(x):
    return tirx.Cast("int32", x)


def _srdhm(a, b, saturate: bool = True):
    """gemmlowp::SaturatingRoundingDoublingHighMul(a, b), a Python int being a constant operand.

    gemmlowp adds 2**30 (or 1 - 2**30 when a*b < 0) and divides by 2**31 truncating; both cases
    equal floor((a*b + 2**30) / 2**31), an arithmetic shift, so no 64-bit division and no sign
    test. The one overflow, INT32_MIN * INT32_MIN, is the one quotient above INT32_MAX, so the
    clamp saturates it exactly as gemmlowp does. `saturate=False` leaves the clamp out where the
    caller knows an operand is never INT32_MIN (a constant operand is checked here)."""
    if isinstance(a, int) and isinstance(b, int):
        raise ValueError("constant SRDHM: fold it in Python")
    if (isinstance(a, int) and a != INT32_MIN) or (isinstance(b, int) and b != INT32_MIN):
        saturate = False
    a = _c(a) if isinstance(a, int) else a
    b = _c(b) if isinstance(b, int) else b
    high = tirx.shift_right(_i64(a) * _i64(b) + _c(1 << 30, "int64"), _c(31, "int64"))
    return _i32(tirx.min(high, _c(INT32_MAX, "int64")) if saturate else high)


def _mul_pot_or_keep(r, bit_set, multiplier: int):
    """`bit_set ? SRDHM(r, multiplier) : r` for a multiplier > 0 (r used once): multiplying by
    2**31 instead of the multiplier gives floor(r + 1/2) = r exactly."""
    factor = tirx.Select(bit_set, _c(multiplier, "int64"), _c(1 << 31, "int64"))
    return _i32(tirx.shift_right(_i64(r) * factor + _c(1 << 30, "int64"), _c(31, "int64")))


def _rdbpot(x, exponent: int):
    """gemmlowp::RoundingDivideByPOT (round half away from zero) by a constant in [0, 31], any x:
    floor((x + 2**(e-1) - (x < 0)) / 2**e), in int64 so that nothing can overflow. (gemmlowp's
    int32 mask-and-compare form trips TVM's bound analyser once let-bound values are substituted.)"""
    if not 0 <= exponent <= 31:
        raise ValueError(f"RoundingDivideByPOT exponent {exponent} outside [0, 31]")
    if exponent == 0:
        return x
    wide = _i64(x) + _i64(tirx.shift_right(x, _c(31))) + _c(1 << (exponent - 1), "int64")
    return _i32(tirx.shift_right(wide, _c(exponent, "int64")))


def _rdbpot_nonneg(x, exponent):
    """RoundingDivideByPOT of an x >= 0 by an exponent in [1, 31] (constant or run-time):
    round half up, i.e. x >> e plus the bit just below the cut."""
    if isinstance(exponent, int):
        exponent = _c(exponent)
    return tirx.shift_right(x, exponent) + tirx.bitwise_and(tirx.shift_right(x, exponent - _c(1)), _c(1))


def _srdhm_shifted(x, left_shift: int, multiplier: int):
    """SRDHM(x * 2**left_shift, multiplier) for an x the caller has bounded so that
    x * 2**left_shift fits in int32 (TFLite computes that product in int32). Computed as one int64
    product with the constant multiplier * 2**left_shift, so that neither the C nor TVM's
    simplifier (which freely rearranges int32 arithmetic assuming it never overflows) can meet an
    int32 overflow; the clamp is unnecessary as the multiplier is never INT32_MIN."""
    if not 0 <= left_shift <= 30 or not 0 <= multiplier < 2**31:
        raise ValueError(f"left shift {left_shift} / multiplier {multiplier} outside TFLite's range")
    scaled = _i64(x) * _c(multiplier << left_shift, "int64") + _c(1 << 30, "int64")
    return _i32(tirx.shift_right(scaled, _c(31, "int64")))


def _mbqm(lets: _Lets, x, multiplier: int, shift: int):
    """Double-rounding MultiplyByQuantizedMultiplier with per-tensor constants:
    RoundingDivideByPOT(SRDHM(x << max(shift, 0), multiplier), max(-shift, 0)). The caller
    guarantees that x << max(shift, 0) fits in int32."""
    left, right = max(shift, 0), max(-shift, 0)
    high = _srdhm_shifted(x, left, multiplier)
    return _rdbpot(lets(high, "high"), right) if right else high


_EXP_BARREL = [(-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401), (4, 242)]


def _exp_on_negative_values(lets: _Lets, a, integer_bits: int):
    """gemmlowp::exp_on_negative_values for the raw value `a` <= 0 (a variable) of a
    FixedPoint<int32, integer_bits>; returns the raw Q0.31 result, which is >= 0."""
    fractional_bits = 31 - integer_bits
    quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_quarter = lets(tirx.bitwise_and(a, _c(quarter - 1)) - _c(quarter), "amq")
    # Rescale<0>: a saturating shift left by integer_bits of a value in [-2**(f-2), 0), which
    # lands in [-2**29, 0) and so never saturates.
    # exp_on_interval_between_negative_one_quarter_and_0_excl, around -1/8:
    x = lets(a_mod_quarter_minus_quarter * _c(1 << integer_bits) + _c(1 << 28), "x")
    x2 = lets(_srdhm(x, x, saturate=False), "x2")  # |x| <= 2**28: no operand is INT32_MIN
    x3 = lets(_srdhm(x2, x, saturate=False), "x3")
    x4 = _srdhm(x2, x2, saturate=False)
    x4_over_4 = _rdbpot(lets(x4, "x4"), 2)
    inner = lets(_srdhm(x4_over_4 + x3, 715827883) + x2, "p")  # 715827883: 1/3
    poly = _rdbpot(inner, 1)
    constant_term = 1895147668  # exp(-1/8)
    result = lets(_c(constant_term) + _srdhm(constant_term, x + poly), "e")
    # The barrel shifter: multiply by exp(-2**k) for each set bit k of the part cut off above.
    remainder = lets(a_mod_quarter_minus_quarter - a, "rem")
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = lets(_mul_pot_or_keep(result, tirx.bitwise_and(remainder, _c(bit)) != _c(0), multiplier), "e")
    if integer_bits > 5:
        result = tirx.Select(a < _c(-(1 << (36 - integer_bits))), _c(0), result)
    return tirx.Select(a == _c(0), _c(INT32_MAX), result)


def _one_over_one_plus_x_for_x_in_0_1(lets: _Lets, a):
    """gemmlowp::one_over_one_plus_x_for_x_in_0_1 for a raw Q0.31 `a` >= 0; returns raw Q0.31."""
    # RoundingHalfSum(a, One) = (a + INT32_MAX + 1) / 2, which for a >= 0 is (a >> 1) + 2**30.
    half_denominator = lets(tirx.shift_right(a, _c(1)) + _c(1 << 30), "hd")
    # Newton-Raphson in Q2.29 from 48/17 - 32/17 * d; the SRDHMs below have an operand in
    # (0, 2**31) (d) or a constant, so none can saturate.
    x = lets(_c(1515870810) + _srdhm(half_denominator, -1010580540), "nr")
    for _ in range(3):
        one_minus = _c(1 << 29) - _srdhm(half_denominator, x, saturate=False)
        # Rescale<2> of a Q4.27 product: |x| <= 2 and |1 - d x| < 1 keep it below the saturation
        # bound 4, so a plain shift.
        x = lets(x + _srdhm(x, lets(one_minus, "om"), saturate=False) * _c(4), "nr")
    # Rescale<0>(ExactMulByPot<-1>(x)): a saturating doubling (x reaches 2**30 when a = 0), as a
    # clamp in int64: int32 comparisons of x against +-(2**30 - 1) make TVM's simplifier build
    # out-of-range int32 literals once x's let-bound value is substituted.
    doubled = _i64(x) * _c(2, "int64")
    return _i32(tirx.max(tirx.min(doubled, _c(INT32_MAX, "int64")), _c(INT32_MIN, "int64")))


def _count_leading_zeros_positive(x):
    """CountLeadingZeros(uint32(x)) for an int32 x > 0: 1 (the sign bit) plus the number of powers
    of two 2**t (t < 31) above x. A flat sum of comparisons: a binary search would nest selects,
    which TVM's analysers take exponential time over."""
    total = _c(1)
    for t in range(31):
        total = total + _i32(x < _c(1 << t))
    return total


def _clamp_int8(v):
    return tirx.Cast("int8", tirx.max(tirx.min(v, _c(INT8_MAX)), _c(INT8_MIN)))


def _num_elements(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


# --------------------------------------------------------------------------------------------
# SOFTMAX


def _softmax_exp(diff, multiplier: int, left_shift: int, diff_min: int):
    """exp(beta * scale * diff) in raw Q0.31 for an int32 diff = x - row max <= 0 where
    diff >= diff_min, else 0 (a 0 drops out of the sum and gives the output -128, as TFLite's
    skipped elements do)."""
    if diff_min >= 0:  # (left shift 31) only the row max itself counts, with exp(0) = One
        return tirx.Select(diff >= _c(0), _c(INT32_MAX), _c(0))
    lets = _Lets()
    diff = lets(diff, "diff")
    # Clamped to diff_min first so that the skipped lanes compute nothing that overflows:
    # diff * 2**left_shift >= diff_min * 2**left_shift > -31 * 2**26 (left_shift <= 30 here).
    clamped = tirx.max(diff, _c(diff_min))
    # MultiplyByQuantizedMultiplierGreaterThanOne, then exp_on_negative_values on Q5.26.
    scaled = lets(_srdhm_shifted(clamped, left_shift, multiplier), "sd")
    exp = _exp_on_negative_values(lets, scaled, 5)
    return lets.wrap(tirx.Select(diff >= _c(diff_min), exp, _c(0)))


def softmax_int8(x: te.Tensor, input_scale: float, beta: float, output_zero_point: int = -128) -> te.Tensor:
    """TFLite Micro's int8 -> int8 SOFTMAX over the last axis (output scale 1/256, zero point -128).

    Stages: row max; exp of each element (a [..., depth] int32 buffer, or for more than 256
    elements a 256-entry int32 table indexed by max - x); row sum of the exps in Q12.19; the
    sum's leading zeros; its reciprocal (GetReciprocal); the outputs."""
    if x.dtype != "int8":
        raise ValueError(f"softmax_int8 takes int8, got {x.dtype}")
    if output_zero_point != -128:
        raise ValueError("TFLite Micro's int8 softmax requires output zero point -128")
    multiplier, left_shift, diff_min = softmax_params(input_scale, beta)
    accum_bits = 12  # kAccumulationIntegerBits
    shape = list(x.shape)
    outer, depth = shape[:-1], shape[-1]

    k = te.reduce_axis((0, depth), name="k")
    row_max = te.compute(outer, lambda *i: te.max(_i32(x(*i, k)), axis=k), name="softmax_max")

    if _num_elements(shape) > TABLE_THRESHOLD:
        table = te.compute(
            (256,), lambda j: _softmax_exp(_c(0) - _i32(j), multiplier, left_shift, diff_min), name="softmax_exp_table"
        )

        def exp_at(idx):
            return table(row_max(*idx[:-1]) - _i32(x(*idx)))
    else:
        exps = te.compute(
            shape,
            lambda *idx: _softmax_exp(_i32(x(*idx)) - row_max(*idx[:-1]), multiplier, left_shift, diff_min),
            name="softmax_exp",
        )

        def exp_at(idx):
            return exps(*idx)

    # Sum of Rescale<12>(exp): exps are >= 0, so the rounding shift is round-half-up.
    j = te.reduce_axis((0, depth), name="j")
    sum_of_exps = te.compute(
        outer, lambda *i: te.sum(_rdbpot_nonneg(exp_at((*i, j)), accum_bits), axis=j),
        name="softmax_sum",
    )

    def headroom_of(*i):
        return _count_leading_zeros_positive(sum_of_exps(*i))

    # CountLeadingZeros of the sum (>= 2**19: the row max contributes exp(0) = 1).
    headroom = te.compute(outer, headroom_of, name="softmax_headroom")

    def reciprocal_of(*i):
        # GetReciprocal: one_over_one_plus_x_for_x_in_0_1((sum << headroom) - 2**31), formed as
        # ((sum << (headroom - 1)) - 2**30) << 1 to stay inside int32.
        # (sum << (headroom - 1)) is in [2**30, 2**31): dropping bit 30 subtracts 2**30. Bit
        # operations, because TVM's simplifier would expand (y - 2**30) * 2 into an overflowing
        # y * 2 - 2**31.
        lets = _Lets()
        half = tirx.shift_left(sum_of_exps(*i), headroom(*i) - _c(1))
        shifted_sum_minus_one = lets(tirx.shift_left(tirx.bitwise_and(half, _c((1 << 30) - 1)), _c(1)), "ssm1")
        return lets.wrap(_one_over_one_plus_x_for_x_in_0_1(lets, shifted_sum_minus_one))

    reciprocal = te.compute(outer, reciprocal_of, name="softmax_recip")

    def out_of(*idx):
        lets = _Lets()
        row = idx[:-1]
        # exponent = num_bits_over_unit + 31 - 8 with num_bits_over_unit = 12 - headroom. TFLite
        # checks exponent <= 31 (it aborts beyond: a sum of 2**28, 512 elements at the max);
        # clamping keeps the shifts defined.
        exponent = lets(tirx.min(_c(accum_bits + 31 - 8) - headroom(*row), _c(31)), "ex")
        # reciprocal > 0 and exp >= 0: the product never saturates and is >= 0.
        prod = lets(_srdhm(reciprocal(*row), exp_at(idx), saturate=False), "p")
        return lets.wrap(_clamp_int8(_rdbpot_nonneg(prod, exponent) + _c(INT8_MIN)))

    return te.compute(shape, out_of, name="softmax")


# --------------------------------------------------------------------------------------------
# LOGISTIC


def logistic_int8(x: te.Tensor, input_scale: float, input_zero_point: int, output_zero_point: int = -128) -> te.Tensor:
    """TFLite Micro's int8 LOGISTIC (output scale 1/256, zero point -128): the input rescaled to
    Q4.27, gemmlowp::logistic, rounded to Q0.8, offset by -128.

    Stages: exp_on_negative_values(-|input|) per element (int32), then the rest. For more than 256
    elements both run over the 256 possible inputs, and a last stage maps the tensor through the
    resulting int8 table."""
    if x.dtype != "int8":
        raise ValueError(f"logistic_int8 takes int8, got {x.dtype}")
    if output_zero_point != -128:
        raise ValueError("TFLite Micro's int8 logistic requires output zero point -128")
    multiplier, left_shift, radius = logistic_params(input_scale)
    input_integer_bits = 4

    def input_in_q4(lets: _Lets, v):
        # Clamped into (-radius, radius), the range the fixed-point path serves (the rest is
        # saturated below); there |v| * 2**left_shift < 15 * 2**27, so nothing overflows.
        inside = tirx.max(tirx.min(v, _c(radius - 1)), _c(1 - radius))
        return lets(_mbqm(lets, inside, multiplier, left_shift), "q4")

    def exp_stage(v):
        # exp_on_negative_values(-|a|) of gemmlowp::logistic's logistic_on_positive_values.
        lets = _Lets()
        a = input_in_q4(lets, lets(v, "v"))
        neg_abs = lets(tirx.min(a, _c(0) - a), "na")
        return lets.wrap(_exp_on_negative_values(lets, neg_abs, input_integer_bits))

    def out_stage(v, exp):
        lets = _Lets()
        v = lets(v, "v")
        a = input_in_q4(lets, v)
        result_if_positive = lets(_one_over_one_plus_x_for_x_in_0_1(lets, lets(exp, "ex")), "rp")
        q0 = tirx.Select(
            a == _c(0),
            _c(1 << 30),
            tirx.Select(a > _c(0), result_if_positive, _c(INT32_MAX) - result_if_positive),
        )
        # RoundingDivideByPOT(q0, 31 - 8) of a q0 >= 0, plus the output zero point.
        core = _clamp_int8(_rdbpot_nonneg(lets(q0, "q0"), 31 - 8) + _c(INT8_MIN))
        return lets.wrap(
            tirx.Select(v <= _c(-radius), _c(INT8_MIN, "int8"), tirx.Select(v >= _c(radius), _c(INT8_MAX, "int8"), core))
        )

    def saturated_only(v, radius):
        # With input_range_radius 0 (an input scale of 16 or more) every input saturates, and 0
        # goes to the low end because TFLite tests v <= -radius first.
        middle = tirx.Select(v >= _c(radius), _c(INT8_MAX), _c(0))
        return tirx.Cast("int8", tirx.Select(v <= _c(-radius), _c(INT8_MIN), middle))

    use_table = _num_elements(x.shape) > TABLE_THRESHOLD
    if use_table:
        def v_of(j):
            return _i32(j) - _c(128 + input_zero_point)  # the input code j - 128, minus the zero point
        domain = (256,)
    else:
        def v_of(*idx):
            return _i32(x(*idx)) - _c(input_zero_point)
        domain = x.shape

    if radius <= 1:
        # Nothing, or only v = 0, reaches the fixed-point path; logistic(0) is One/2, which
        # rounds to 128 in Q0.8, i.e. output 0. (Spelled out because TVM's simplifier trips
        # over let-bindings that fold to constants.)
        values = te.compute(domain, lambda *i: saturated_only(v_of(*i), radius), name="logistic" if not use_table else "logistic_table")
    else:
        exps = te.compute(domain, lambda *i: exp_stage(v_of(*i)), name="logistic_exp" if not use_table else "logistic_exp_table")
        values = te.compute(
            domain, lambda *i: out_stage(v_of(*i), exps(*i)), name="logistic" if not use_table else "logistic_table"
        )
    if not use_table:
        return values
    return te.compute(x.shape, lambda *idx: values(_i32(x(*idx)) + _c(128)), name="logistic")


# --------------------------------------------------------------------------------------------
# MEAN


def mean_int8(
    x: te.Tensor,
    axes: list[int],
    keepdims: bool,
    input_scale: float,
    input_zero_point: int,
    output_scale: float,
    output_zero_point: int,
) -> te.Tensor:
    """TFLite Micro's int8 MEAN over `axes` (reference_ops::QuantizedMeanOrSum): the int32 sum,
    minus zero point * count, times the in/out scale ratio with 1/count folded into the
    multiplier, plus the output zero point, clamped."""
    if x.dtype != "int8":
        raise ValueError(f"mean_int8 takes int8, got {x.dtype}")
    ndim = len(x.shape)
    reduced = sorted({a + ndim if a < 0 else a for a in axes})
    if not reduced or any(not 0 <= a < ndim for a in reduced):
        raise ValueError(f"mean axes {axes} out of range for rank {ndim}")
    num = _num_elements([x.shape[a] for a in reduced])
    if num == 0:
        raise ValueError("mean over an empty axis")
    multiplier, shift = mean_params(input_scale, output_scale, num)
    # |sum - zp * num| <= 255 * num; TFLite would wrap past int32 (and compute garbage): refuse.
    if 255 * num * (1 << max(shift, 0)) > INT32_MAX:
        raise ValueError(f"mean over {num} elements with scale ratio {input_scale / output_scale} overflows int32 in TFLite")
    # temp_sum - input_zero_point * num, which TFLite computes in int64 and truncates to int32.
    offset = input_zero_point * num

    raxes = {a: te.reduce_axis((0, x.shape[a]), name=f"r{a}") for a in reduced}
    kept = [a for a in range(ndim) if a not in raxes]
    if keepdims:
        out_shape = [tirx.const(1, x.shape[a].ty) if a in raxes else x.shape[a] for a in range(ndim)]
    else:
        out_shape = [x.shape[a] for a in kept]

    def in_index(out_idx):
        if keepdims:
            return tuple(raxes[a] if a in raxes else out_idx[a] for a in range(ndim))
        pos = dict(zip(kept, out_idx))
        return tuple(raxes[a] if a in raxes else pos[a] for a in range(ndim))

    sums = te.compute(
        out_shape,
        lambda *o: te.sum(_i32(x(*in_index(o))), axis=[raxes[a] for a in reduced]),
        name="mean_sum",
    )

    def f(*o):
        lets = _Lets()
        shifted_sum = lets(sums(*o) - _c(offset), "ss")
        scaled = _mbqm(lets, shifted_sum, multiplier, shift)
        return lets.wrap(_clamp_int8(scaled + _c(output_zero_point)))

    return te.compute(out_shape, f, name="mean")
