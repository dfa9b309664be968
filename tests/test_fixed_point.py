"""rvtvm.tflite.fixed_point against a plain-Python transcription of gemmlowp/TFLite's integer
functions. TVM's simplifier has rewritten these expressions wrongly before (a uint32 cast
judged non-negative, a shift amount judged unbounded), so they run through TVM (llvm and the
per-channel path) on edge values and many random ones."""

import numpy as np
import pytest
import tvm
from tvm import te

from rvtvm.tflite.fixed_point import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)


def wrap32(v: int) -> int:
    return (v + 2**31) % 2**32 - 2**31


def srdhm(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) // (1 << 31)  # C division truncates toward zero
    return q if ab + nudge >= 0 else -q


def rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if (x & mask) > threshold else 0)


def mbqm(x: int, m: int, s: int) -> int:
    return rdbpot(srdhm(wrap32(x * (1 << max(s, 0))), m), max(-s, 0))


def run_elementwise(fn, *columns: np.ndarray) -> np.ndarray:
    """fn(*loads) over int32 columns, compiled for the host."""
    n = len(columns[0])
    ins = [te.placeholder((n,), "int32", f"in{k}") for k in range(len(columns))]
    out = te.compute((n,), lambda i: fn(*[t(i) for t in ins]), name="out")
    lib = tvm.compile(tvm.IRModule({"main": te.create_prim_func(ins + [out])}), target="llvm")
    result = tvm.runtime.tensor(np.zeros(n, np.int32))
    lib["main"](*[tvm.runtime.tensor(c.astype(np.int32)) for c in columns], result)
    return result.numpy()


EDGES = np.array([0, 1, -1, 2, -2, 3, -3, 1 << 30, -(1 << 30), INT32_MAX, INT32_MIN, INT32_MIN + 1], np.int64)


def test_srdhm_edges_and_random():
    rng = np.random.default_rng(0)
    a = np.concatenate([np.repeat(EDGES, len(EDGES)), rng.integers(INT32_MIN, INT32_MAX, 3000)])
    b = np.concatenate([np.tile(EDGES, len(EDGES)), rng.integers(INT32_MIN, INT32_MAX, 3000)])
    got = run_elementwise(saturating_rounding_doubling_high_mul, a, b)
    np.testing.assert_array_equal(got, [srdhm(int(x), int(y)) for x, y in zip(a, b)])


@pytest.mark.parametrize("exponent", [0, 1, 2, 7, 30, 31])
def test_rounding_divide_by_constant_pot(exponent):
    rng = np.random.default_rng(exponent)
    x = np.concatenate([EDGES, rng.integers(INT32_MIN, INT32_MAX, 2000)])
    got = run_elementwise(lambda v: rounding_divide_by_pot(v, exponent), x)
    np.testing.assert_array_equal(got, [rdbpot(int(v), exponent) for v in x])


def test_multiply_by_quantized_multiplier_per_channel_and_per_tensor():
    """Shifts of both signs, loaded per element (the per-channel path) and as constants."""
    rng = np.random.default_rng(1)
    reals = [2.5, 1.5, 1.0, 0.75, 0.25, 0.0123, 3.1e-5, 7.9e-9]
    pairs = [quantize_multiplier(r) for r in reals]
    n = 4000
    x = rng.integers(-(1 << 20), 1 << 20, n)
    which = rng.integers(0, len(pairs), n)
    m = np.array([pairs[k][0] for k in which])
    s = np.array([pairs[k][1] for k in which])
    expected = [mbqm(int(v), int(mm), int(ss)) for v, mm, ss in zip(x, m, s)]
    np.testing.assert_array_equal(run_elementwise(multiply_by_quantized_multiplier, x, m, s), expected)
    for mult, shift in pairs:
        got = run_elementwise(lambda v: multiply_by_quantized_multiplier(v, mult, shift), x)
        np.testing.assert_array_equal(got, [mbqm(int(v), mult, shift) for v in x], err_msg=f"shift {shift}")


def test_quantize_multiplier_matches_tflite():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    # Double-rounding TFLite (what TFLM builds) keeps shifts above 30 rather than clamping.
    assert quantize_multiplier(1.5 * 2**30) == (1610612736, 31)
    # A mantissa that rounds up to 2**31 carries into the shift.
    assert quantize_multiplier(1 - 2**-40) == (1 << 30, 1)
    assert quantize_multiplier(2**-40) == (0, 0)
