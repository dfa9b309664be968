"""rvtvm.tflite.activations (SOFTMAX, LOGISTIC, MEAN) against TFLite Micro, bit for bit.

Each case builds a one-operator int8 TFLite model, runs it through the tflite_micro package (the
reference kernels: the int8 SOFTMAX and LOGISTIC go through gemmlowp's fixed-point exp and
reciprocal there) and compares with the TE compute built for the host. Inputs cover random
values, constant tensors at -128 / 0 / 127 (every element tied for the row max) and few-valued
tensors full of ties; LOGISTIC sees every int8 value.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import tvm
from tvm import te

from rvtvm.tflite.activations import (
    TABLE_THRESHOLD,
    logistic_int8,
    logistic_params,
    mean_int8,
    softmax_int8,
    softmax_params,
)

from .tflite_builder import logistic_model, mean_model, softmax_model
from .tflm_reference import run_tflm


def run_tflm_each(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """One inference per input array."""
    return [run_tflm(model, [x])[0] for x in inputs]


# --- the TE side ----------------------------------------------------------------------------


def run_te(fcompute, shape, inputs: list[np.ndarray], int64_shape: bool = False) -> list[np.ndarray]:
    dims = [tvm.tirx.const(d, "int64") for d in shape] if int64_shape else list(shape)
    x = te.placeholder(dims, "int8", name="x")
    y = fcompute(x)
    lib = tvm.compile(tvm.IRModule({"main": te.create_prim_func([x, y])}), target="llvm")
    out_shape = [int(d) for d in y.shape]
    outs = []
    for v in inputs:
        out = tvm.runtime.tensor(np.zeros(out_shape, np.int8))
        lib["main"](tvm.runtime.tensor(v), out)
        outs.append(out.numpy())
    return outs


def sample_inputs(shape, seed: int, random: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    xs = [np.full(shape, v, np.int8) for v in (-128, 0, 127)]
    xs += [rng.integers(-128, 128, size=shape, dtype=np.int8) for _ in range(random)]
    xs.append(rng.choice(np.array([-5, 3, 3, 100], np.int8), size=shape))  # ties at the max
    xs.append(rng.integers(-3, 3, size=shape, dtype=np.int8))  # small differences, many ties
    return xs


def assert_same(expected: list[np.ndarray], got: list[np.ndarray], inputs: list[np.ndarray]) -> None:
    for e, g, x in zip(expected, got, inputs):
        assert e.shape == g.shape, (e.shape, g.shape)
        if not np.array_equal(e, g):
            where = tuple(np.argwhere(e != g)[0])
            pytest.fail(f"{int(np.sum(e != g))} elements differ; first at {where}: TFLM {e[where]}, TE {g[where]}\ninput:\n{x}")


# --- SOFTMAX --------------------------------------------------------------------------------

SOFTMAX_CASES = [
    # (input scale, beta, shape)
    (0.1, 1.0, (7, 10)),
    (0.1, 0.5, (5, 12)),
    (1 / 16, 1.0, (4, 13)),
    (1 / 16, 0.5, (6, 2)),
    (0.5847, 1.0, (3, 10)),
    (0.5847, 0.5, (1, 1, 4, 13)),
    (3.0, 1.0, (5, 12)),
    (3.0, 0.5, (3, 2)),
    (1 / 256, 1.0, (4, 10)),  # every difference within diff_min
    (20.0, 1.0, (4, 12)),  # left shift 30, diff_min -1
    (40.0, 0.5, (3, 13)),  # multiplier capped at 2**31 - 1: left shift 31, diff_min 0
    (0.05, 1.0, (1, 2)),
    (0.1, 1.0, (30, 13)),  # > TABLE_THRESHOLD elements: the 256-entry exp table
    (0.5847, 0.5, (2, 300)),
]


@pytest.mark.parametrize("scale,beta,shape", SOFTMAX_CASES, ids=lambda v: str(v))
def test_softmax_matches_tflm(scale, beta, shape):
    xs = sample_inputs(shape, seed=len(shape) * 100 + shape[-1])
    model = softmax_model(shape, (scale, 0), beta=beta)
    assert_same(run_tflm_each(model, xs), run_te(lambda x: softmax_int8(x, scale, beta), shape, xs), xs)


def test_softmax_int64_shape():
    """The importer builds placeholders with int64 extents (as LegalizeOps does)."""
    shape = (3, 11)
    xs = sample_inputs(shape, seed=5)
    model = softmax_model(shape, (0.2, -7), beta=1.0)
    assert_same(run_tflm_each(model, xs), run_te(lambda x: softmax_int8(x, 0.2, 1.0), shape, xs, int64_shape=True), xs)


def test_softmax_params_follow_tflm():
    # beta * scale * 2**26 = 0.1 * 2**26: multiplier 0.8 * 2**31, left shift 23 (frexp of the
    # double product of the float scale and beta), radius floor(31 * 2**26 / 2**23) = 248.
    multiplier, left_shift, diff_min = softmax_params(0.1, 1.0)
    assert (left_shift, diff_min) == (23, -248)
    assert multiplier == round(float(np.float32(0.1)) * 2**26 / 2**23 * 2**31)
    # Capped at 2**31 - 1, which TFLite's double-rounding QuantizeMultiplier leaves at shift 31.
    assert softmax_params(40.0, 1.0) == (2**31 - 1, 31, 0)


# --- LOGISTIC -------------------------------------------------------------------------------

LOGISTIC_CASES = [
    # (input scale, input zero point)
    (1 / 16, -128),
    (1 / 16, 127),
    (0.1, 0),
    (0.1, -17),
    (0.5847, 42),
    (3.0, -128),
    (0.01, 5),
    (0.003, 0),  # input_range_radius beyond the int8 range: nothing saturates early
    (0.123456, 127),
    (7.5, 0),  # input_range_radius 1: only the zero point reaches the fixed-point path
    (20.0, -3),  # input_range_radius 0: everything saturates
]


@pytest.mark.parametrize("scale,zero_point", LOGISTIC_CASES, ids=lambda v: str(v))
def test_logistic_matches_tflm_on_every_input(scale, zero_point):
    shape = (2, 128)
    xs = [np.arange(-128, 128, dtype=np.int8).reshape(shape)]
    xs.append(np.random.default_rng(int(scale * 1000) + zero_point + 128).permutation(xs[0].reshape(-1)).reshape(shape))
    model = logistic_model(shape, (scale, zero_point))
    assert_same(run_tflm_each(model, xs), run_te(lambda x: logistic_int8(x, scale, zero_point), shape, xs), xs)


@pytest.mark.parametrize("shape", [(1, 4, 4, 20), (1, 1, 1, 1), (3, 5)], ids=str)
def test_logistic_table_and_small_shapes(shape):
    scale, zero_point = 0.0784, -9
    xs = sample_inputs(shape, seed=int(np.prod(shape)))
    model = logistic_model(shape, (scale, zero_point))
    got = run_te(lambda x: logistic_int8(x, scale, zero_point), shape, xs, int64_shape=True)
    assert_same(run_tflm_each(model, xs), got, xs)
    assert (int(np.prod(shape)) > TABLE_THRESHOLD) == (shape == (1, 4, 4, 20))


def test_logistic_params_follow_tflm():
    # scale * 2**27 = 2**23: frexp gives 0.5 * 2**24; radius floor(15 * 2**27 / 2**24) = 120.
    assert logistic_params(1 / 16) == (2**30, 24, 120)
    assert logistic_params(20.0)[2] == 0


# --- MEAN -----------------------------------------------------------------------------------

MEAN_QUANT = [
    ((0.1, -3), (0.1, -3)),  # equal quantization
    ((0.05, -128), (0.02, 5)),
    ((0.5847, 127), (0.3, -128)),
    ((0.02, 10), (0.09, -20)),
    ((0.3, 3), (0.05, -7)),
]


@pytest.mark.parametrize("keepdims", [True, False])
@pytest.mark.parametrize("in_q,out_q", MEAN_QUANT, ids=str)
def test_mean_global_average_pool_matches_tflm(in_q, out_q, keepdims):
    shape, axes = (2, 5, 7, 8), [1, 2]
    out_shape = (2, 1, 1, 8) if keepdims else (2, 8)
    xs = sample_inputs(shape, seed=int(in_q[0] * 100), random=3)
    model = mean_model(shape, in_q, axes, out_q, keep_dims=keepdims)
    got = run_te(lambda x: mean_int8(x, axes, keepdims, in_q[0], in_q[1], out_q[0], out_q[1]), shape, xs)
    assert_same(run_tflm_each(model, xs), got, xs)


@pytest.mark.parametrize(
    "shape,axes,keepdims",
    [((1, 16, 16, 4), [2, 1], False), ((1, 1, 1, 3), [1, 2], True), ((3, 4, 6), [1], False), ((2, 3, 4, 5), [-1], True), ((2, 3, 4, 5), [0, 3], False)],
    ids=str,
)
def test_mean_other_axes_match_tflm(shape, axes, keepdims):
    in_q, out_q = (0.04, 12), (0.03, -9)
    ndim = len(shape)
    reduced = {a % ndim for a in axes}
    out_shape = [1 if a in reduced else d for a, d in enumerate(shape)] if keepdims else [d for a, d in enumerate(shape) if a not in reduced]
    xs = sample_inputs(shape, seed=ndim, random=3)
    model = mean_model(shape, in_q, axes, out_q, keep_dims=keepdims)
    got = run_te(lambda x: mean_int8(x, axes, keepdims, in_q[0], in_q[1], out_q[0], out_q[1]), shape, xs, int64_shape=True)
    assert_same(run_tflm_each(model, xs), got, xs)


# --- plain C for a 32-bit target ------------------------------------------------------------


@pytest.mark.parametrize(
    "name,fcompute,shape",
    [
        ("softmax", lambda x: softmax_int8(x, 0.1, 1.0), (1, 10)),
        ("softmax_table", lambda x: softmax_int8(x, 0.1, 1.0), (20, 20)),
        ("logistic", lambda x: logistic_int8(x, 0.1, 3), (1, 16)),
        ("logistic_table", lambda x: logistic_int8(x, 0.1, 3), (1, 8, 8, 16)),
        ("mean", lambda x: mean_int8(x, [1, 2], False, 0.1, -3, 0.05, 7), (1, 7, 7, 32)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_lowers_to_integer_only_c(name, fcompute, shape):
    x = te.placeholder(shape, "int8", name="x")
    source = tvm.compile(tvm.IRModule({"main": te.create_prim_func([x, fcompute(x)])}), target="c").mod.inspect_source()
    kernel = source[source.index("int8_t* x = ") :]  # past TVM's argument checking
    assert "float" not in kernel and "double" not in kernel
    called = set(re.findall(r"\b([A-Za-z_]\w*)\s*\(", kernel))
    called -= {"if", "for", "while", "return", "sizeof", "int8_t", "int32_t", "int64_t", "uint32_t", "void"}
    assert called <= {"TVMBackendAllocWorkspace", "TVMBackendFreeWorkspace"}, called
