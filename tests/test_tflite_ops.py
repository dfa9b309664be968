"""The int8 TFLite frontend, operator by operator: rvtvm's host run (TVM llvm) must be bit-exact
with TFLite Micro's reference kernels on several random inputs per model.

Default quantization parameters are picked so that outputs mostly land inside int8 (a test that
saturates everything proves little); the saturation cases are named as such."""

import numpy as np
import pytest
import tvm
from tvm import relax

import rvtvm
from rvtvm.frontend import load_model

from .tflite_builder import (
    LOGISTIC_OUTPUT_Q,
    SOFTMAX_OUTPUT_Q,
    ModelBuilder,
    binary_model,
    concat_model,
    conv2d_model,
    depthwise_model,
    dequantize_model,
    fully_connected_model,
    logistic_model,
    mean_model,
    pad_model,
    pool_model,
    quantize_model,
    reshape_model,
    softmax_model,
)
from .conftest import require_tools
from .tflm_reference import random_inputs, run_tflm

N_TRIALS = 3  # random input sets per model; one compile serves them all


def compile_on_host(model: bytes, tmp_path):
    """Loads the model with rvtvm and compiles it for the host; returns (loaded, run)."""
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    loaded = load_model(path)
    vm = relax.VirtualMachine(tvm.compile(loaded.mod, target="llvm"), tvm.cpu())

    def run(inputs: list[np.ndarray]) -> list[np.ndarray]:
        out = vm["main"](*[tvm.runtime.tensor(a) for a in inputs])
        return [out.numpy()] if hasattr(out, "numpy") else [o.numpy() for o in out]

    return loaded, run


def assert_matches_tflm(model: bytes, tmp_path, *, seed=0, int_range=None, inputs=None):
    """rvtvm == TFLM, bit for bit, on N_TRIALS random input sets (or on the given ones)."""
    _, run = compile_on_host(model, tmp_path)
    rng = np.random.default_rng(seed)
    input_sets = inputs or [random_inputs(model, rng, int_range) for _ in range(N_TRIALS)]
    seen = []
    for trial, xs in enumerate(input_sets):
        expected, got = run_tflm(model, xs), run(xs)
        assert len(got) == len(expected), f"{len(got)} outputs, TFLM has {len(expected)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            where = f"input set {trial}, output {i}"
            assert (g.dtype, g.shape) == (e.dtype, e.shape), f"{where}: got {g.dtype}{g.shape}, TFLM {e.dtype}{e.shape}"
            if e.dtype.kind == "f":  # bit-exact, not merely equal
                e, g = e.view(np.uint32), g.view(np.uint32)
            np.testing.assert_array_equal(g, e, err_msg=where)
            seen.append(e.reshape(-1))
    # Guards the test itself: a constant reference output would pass almost any implementation.
    assert len(np.unique(np.concatenate(seen))) > 1, "TFLM's output is constant: the case tests nothing"


# --- CONV_2D -------------------------------------------------------------------------------------

# Each case overrides these; "int_range" narrows the random inputs (for cases whose effective
# scale is > 1, where full-range inputs would only saturate).
CONV_DEFAULTS = dict(input_shape=(1, 7, 5, 3), in_q=(0.05, -3), out_channels=4, kernel=(3, 3), out_q=(0.3, 5))

# Effective scale input_scale * weight_scale / output_scale > 1 is a left shift in TFLite's
# requantization (2.5 -> shift +2; exactly 1.0 -> shift +1 with multiplier 2**30). Small weights,
# bias and inputs keep the accumulator small enough for outputs to stay mostly inside int8.
LEFT_SHIFT = dict(in_q=(0.5, 0), out_q=(0.1, 0), weight_scales=0.5, weight_max=1, bias_max=10, int_range=(-20, 20))
MIXED_SHIFTS = [0.5, 0.05, 0.3, 0.002]  # per-channel effective scales 2.5, 0.25, 1.5, 0.01

CONV_CASES = {
    "same-s1-relu6": dict(padding="SAME", fused_activation="RELU6"),
    "valid-s1-none": dict(padding="VALID"),
    "same-s2-relu": dict(padding="SAME", stride=(2, 2), fused_activation="RELU"),
    "valid-s2": dict(padding="VALID", stride=(2, 2)),
    "same-dilation2": dict(padding="SAME", dilation=(2, 2)),
    "valid-dilation2": dict(input_shape=(1, 7, 6, 3), padding="VALID", dilation=(2, 2)),
    "k1x3-s1x2-5ch": dict(input_shape=(1, 5, 7, 5), kernel=(1, 3), stride=(1, 2), out_channels=3),
    "k2x2-same-even-kernel": dict(kernel=(2, 2), padding="SAME", stride=(2, 2)),
    "per-tensor": dict(weight_scales=0.01),
    "no-bias": dict(bias_max=None),
    "batch2": dict(input_shape=(2, 5, 5, 3)),
    "zp-in-128-out127": dict(in_q=(0.05, -128), out_q=(0.8, 127)),
    "zp-in127-out-128": dict(in_q=(0.05, 127), out_q=(0.8, -128)),
    "relu-zp-128": dict(out_q=(0.3, -128), fused_activation="RELU"),
    "relu_n1_to_1": dict(out_q=(0.01, 0), fused_activation="RELU_N1_TO_1"),
    "saturating": dict(out_q=(0.0005, 0)),
    "left-shift": {**LEFT_SHIFT, "input_shape": (1, 5, 5, 2), "kernel": (1, 1), "out_channels": 3},
    "effective-scale-1": {**LEFT_SHIFT, "input_shape": (1, 5, 5, 2), "kernel": (1, 1), "out_q": (0.25, 0)},
    "per-channel-mixed-shifts": {**LEFT_SHIFT, "input_shape": (1, 5, 5, 2), "kernel": (1, 1),
                                 "weight_scales": MIXED_SHIFTS},
}


def _split_inputs(case: dict) -> tuple[dict, tuple | None]:
    case = dict(case)
    return case, case.pop("int_range", None)


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d(case, tmp_path):
    params, int_range = _split_inputs({**CONV_DEFAULTS, **case})
    assert_matches_tflm(conv2d_model(**params), tmp_path, int_range=int_range)


# --- DEPTHWISE_CONV_2D ---------------------------------------------------------------------------

DEPTHWISE_DEFAULTS = dict(input_shape=(1, 7, 5, 3), in_q=(0.05, -3), kernel=(3, 3), out_q=(0.2, 5))

DEPTHWISE_CASES = {
    "same-s1-relu6": dict(padding="SAME", fused_activation="RELU6"),
    "valid-s2": dict(padding="VALID", stride=(2, 2)),
    "same-s2-relu": dict(padding="SAME", stride=(2, 2), fused_activation="RELU"),
    "same-dilation2": dict(padding="SAME", dilation=(2, 2)),
    "valid-dilation2": dict(input_shape=(1, 7, 6, 3), padding="VALID", dilation=(2, 2)),
    "multiplier2": dict(depth_multiplier=2),
    "multiplier3-s2-5ch": dict(input_shape=(1, 5, 5, 5), depth_multiplier=3, stride=(2, 2)),
    "multiplier2-from-1ch": dict(input_shape=(1, 6, 6, 1), depth_multiplier=2, padding="VALID"),
    "per-tensor": dict(weight_scales=0.01),
    "no-bias": dict(bias_max=None),
    "zp-in-128-out127": dict(in_q=(0.05, -128), out_q=(0.5, 127)),
    "zp-in127-out-128": dict(in_q=(0.05, 127), out_q=(0.5, -128)),
    "relu_n1_to_1": dict(out_q=(0.01, 0), fused_activation="RELU_N1_TO_1"),
    "saturating": dict(out_q=(0.0005, 0)),
    "left-shift": {**LEFT_SHIFT, "input_shape": (1, 5, 5, 3), "kernel": (1, 1)},
    "per-channel-mixed-shifts": {**LEFT_SHIFT, "input_shape": (1, 5, 5, 2), "kernel": (1, 1),
                                 "depth_multiplier": 2, "weight_scales": MIXED_SHIFTS},
}


@pytest.mark.parametrize("case", DEPTHWISE_CASES.values(), ids=DEPTHWISE_CASES.keys())
def test_depthwise_conv2d(case, tmp_path):
    params, int_range = _split_inputs({**DEPTHWISE_DEFAULTS, **case})
    assert_matches_tflm(depthwise_model(**params), tmp_path, int_range=int_range)


# --- FULLY_CONNECTED -----------------------------------------------------------------------------

FC_DEFAULTS = dict(input_shape=(1, 10), in_q=(0.05, -3), units=5, out_q=(0.2, 2))

FC_CASES = {
    "per-channel": dict(),
    "per-tensor": dict(weight_scales=0.01),
    "batch3-odd": dict(input_shape=(3, 7), units=3),
    "4d-input": dict(input_shape=(1, 1, 1, 8)),
    "flattened-input": dict(input_shape=(1, 2, 2, 3), in_features=12),
    "relu": dict(fused_activation="RELU"),
    "relu6": dict(fused_activation="RELU6", out_q=(0.1, -128)),
    "relu_n1_to_1": dict(out_q=(0.01, 0), fused_activation="RELU_N1_TO_1"),
    "no-bias": dict(bias_max=None),
    "zp-in-128-out127": dict(in_q=(0.05, -128), out_q=(0.5, 127)),
    "zp-in127-out-128": dict(in_q=(0.05, 127), out_q=(0.5, -128)),
    "saturating": dict(out_q=(0.0005, 0)),
    "left-shift": {**LEFT_SHIFT, "input_shape": (2, 2), "units": 4},
    "per-channel-mixed-shifts": {**LEFT_SHIFT, "input_shape": (2, 2), "units": 4, "weight_scales": MIXED_SHIFTS},
}


@pytest.mark.parametrize("case", FC_CASES.values(), ids=FC_CASES.keys())
def test_fully_connected(case, tmp_path):
    params, int_range = _split_inputs({**FC_DEFAULTS, **case})
    assert_matches_tflm(fully_connected_model(**params), tmp_path, int_range=int_range)


# --- ADD and MUL ---------------------------------------------------------------------------------

BINARY_CASES = {
    "same-quant": dict(q_a=(0.05, -3), q_b=(0.05, -3), out_q=(0.1, -3)),
    "different-quant": dict(q_a=(0.05, -3), q_b=(0.1, 10), out_q=(0.12, -5)),
    "zp-extremes-out127": dict(q_a=(0.05, -128), q_b=(0.07, 127), out_q=(0.1, 127)),
    "zp-128-out-128": dict(q_a=(0.05, -128), q_b=(0.02, -128), out_q=(0.08, -128)),
    "zp127-inputs": dict(q_a=(0.05, 127), q_b=(0.02, 127), out_q=(0.1, 0)),
    "saturating": dict(q_a=(0.05, -3), q_b=(0.1, 10), out_q=(0.001, 0)),
    "relu": dict(q_a=(0.05, -3), q_b=(0.1, 10), out_q=(0.12, -5), fused_activation="RELU"),
    "relu6": dict(q_a=(0.05, -3), q_b=(0.1, 10), out_q=(0.05, -20), fused_activation="RELU6"),
    "relu_n1_to_1": dict(q_a=(0.01, -3), q_b=(0.02, 10), out_q=(0.01, 0), fused_activation="RELU_N1_TO_1"),
    "broadcast-channel": dict(shape_b=(1, 1, 1, 3), q_a=(0.05, -3), q_b=(0.1, 10), out_q=(0.12, -5)),
    "broadcast-rank1": dict(shape_b=(3,), q_a=(0.05, -3), q_b=(0.1, 10), out_q=(0.12, -5)),
    "broadcast-both-sides": dict(shape_a=(1, 4, 1, 3), shape_b=(1, 1, 5, 3), q_a=(0.05, -3), q_b=(0.1, 10),
                                 out_q=(0.12, -5)),
    "odd-5ch": dict(shape_a=(1, 3, 5, 5), shape_b=(1, 3, 5, 5), q_a=(0.03, 7), q_b=(0.1, -10), out_q=(0.1, 0)),
}


@pytest.mark.parametrize("op, scale_factor", [("ADD", 1.0), ("MUL", 5.0)], ids=["ADD", "MUL"])
@pytest.mark.parametrize("case", BINARY_CASES.values(), ids=BINARY_CASES.keys())
def test_add_mul(op, scale_factor, case, tmp_path):
    params = {"shape_a": (1, 4, 4, 3), "shape_b": (1, 4, 4, 3), **case}
    if op == "MUL":  # products span a wider range than sums: widen the output scale to match
        scale, zero_point = params["out_q"]
        params["out_q"] = (scale * scale_factor, zero_point)
    assert_matches_tflm(binary_model(op, **params), tmp_path)


# --- AVERAGE_POOL_2D and MAX_POOL_2D (TFLM requires the output quantized like the input) ---------

POOL_CASES = {
    "3x3-same-s2": dict(filter_size=(3, 3), padding="SAME", stride=(2, 2)),
    "3x3-same-s1": dict(filter_size=(3, 3), padding="SAME"),
    "2x2-same-s2-odd": dict(filter_size=(2, 2), padding="SAME", stride=(2, 2)),
    "2x2-valid-s2": dict(filter_size=(2, 2), padding="VALID", stride=(2, 2)),
    "3x2-valid-s1": dict(filter_size=(3, 2), padding="VALID"),
    "global-7x5": dict(filter_size=(7, 5), padding="VALID"),
    "relu": dict(filter_size=(3, 3), padding="SAME", stride=(2, 2), fused_activation="RELU"),
    "relu6": dict(filter_size=(3, 3), padding="SAME", fused_activation="RELU6", q=(0.02, -100)),
    "zp-128": dict(filter_size=(3, 3), padding="SAME", stride=(2, 2), q=(0.05, -128)),
    "zp127": dict(filter_size=(3, 3), padding="SAME", stride=(2, 2), q=(0.05, 127)),
}


@pytest.mark.parametrize("op", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pool(op, case, tmp_path):
    params = {"input_shape": (1, 7, 5, 3), "q": (0.05, -3), **case}
    assert_matches_tflm(pool_model(op, **params), tmp_path)


# --- SOFTMAX and LOGISTIC (TFLM requires output scale 1/256, zero point -128) --------------------

@pytest.mark.parametrize(
    "shape, in_q, beta",
    [
        ((1, 10), (0.1, -3), 1.0),
        ((1, 10), (0.02, 0), 1.0),
        ((1, 10), (0.005, 0), 1.0),
        ((1, 10), (0.5, 5), 1.0),
        ((1, 10), (0.1, -3), 0.5),
        ((1, 10), (0.05, 10), 2.0),
        ((1, 10), (0.1, -128), 1.0),
        ((1, 10), (0.1, 127), 1.0),
        ((2, 7), (0.08, 3), 1.0),
        ((1, 2, 3, 5), (0.1, -3), 1.0),
    ],
    ids=["s0.1", "s0.02", "s0.005", "s0.5-mostly-cut-off", "beta0.5", "beta2", "zp-128", "zp127", "batch2-7", "4d"],
)
def test_softmax(shape, in_q, beta, tmp_path):
    assert_matches_tflm(softmax_model(shape, in_q, beta=beta), tmp_path)


@pytest.mark.parametrize(
    "shape, in_q",
    [
        ((1, 16), (0.1, -3)),
        ((1, 16), (0.02, 0)),
        ((1, 16), (0.5, 0)),
        ((1, 16), (0.05, -128)),
        ((1, 16), (0.05, 127)),
        ((1, 3, 5, 3), (0.08, 10)),
    ],
    ids=["s0.1", "s0.02", "s0.5", "zp-128", "zp127", "4d-odd"],
)
def test_logistic(shape, in_q, tmp_path):
    assert_matches_tflm(logistic_model(shape, in_q), tmp_path)


# --- MEAN ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("keep_dims", [True, False], ids=["keep_dims", "drop_dims"])
@pytest.mark.parametrize(
    "shape, axes, in_q, out_q",
    [
        ((1, 4, 5, 3), [1, 2], (0.05, -3), (0.05, -3)),
        ((1, 4, 5, 3), [1, 2], (0.05, -3), (0.02, 10)),
        ((1, 7, 5, 5), [1, 2], (0.05, -128), (0.04, -128)),
        ((1, 4, 5, 3), [-3, -2], (0.05, 127), (0.05, 127)),
        ((1, 4, 5, 3), [3], (0.05, -3), (0.04, 0)),
    ],
    ids=["hw-same-quant", "hw-requant", "hw-odd-zp-128", "negative-axes-zp127", "channels"],
)
def test_mean(shape, axes, in_q, out_q, keep_dims, tmp_path):
    assert_matches_tflm(mean_model(shape, in_q, axes, out_q, keep_dims=keep_dims), tmp_path)


# --- PAD, CONCATENATION, RESHAPE -----------------------------------------------------------------

@pytest.mark.parametrize(
    "shape, q, paddings",
    [
        ((1, 3, 4, 3), (0.05, -3), [[0, 0], [1, 1], [1, 1], [0, 0]]),
        ((1, 3, 4, 3), (0.05, -128), [[0, 0], [0, 2], [1, 0], [0, 0]]),
        ((1, 3, 4, 3), (0.05, 127), [[0, 0], [0, 0], [0, 0], [1, 2]]),
        ((2, 5), (0.05, 9), [[1, 0], [2, 3]]),
    ],
    ids=["hw-symmetric", "hw-asymmetric-zp-128", "channels-zp127", "2d"],
)
def test_pad(shape, q, paddings, tmp_path):
    assert_matches_tflm(pad_model(shape, q, paddings), tmp_path)


# TFLM's int8 CONCATENATION requires every input to share the output's scale and zero point.
@pytest.mark.parametrize(
    "shapes, q, axis",
    [
        ([(1, 2, 3, 3), (1, 2, 3, 5)], (0.05, -3), 3),
        ([(1, 2, 3, 3), (1, 2, 3, 5), (1, 2, 3, 1)], (0.05, -128), -1),
        ([(1, 2, 3, 3), (1, 1, 3, 3)], (0.05, 127), 1),
        ([(2, 3), (2, 4)], (0.1, 0), 1),
    ],
    ids=["channels", "three-inputs-axis-1", "height-zp127", "2d"],
)
def test_concatenation(shapes, q, axis, tmp_path):
    assert_matches_tflm(concat_model(shapes, [q] * len(shapes), q, axis=axis), tmp_path)


@pytest.mark.parametrize(
    "shape, new_shape, shape_input, in_options",
    [
        ((1, 2, 3, 4), (1, 24), True, True),
        ((1, 2, 3, 4), (1, 24), False, True),
        ((1, 2, 3, 4), (1, 24), True, False),
        ((1, 24), (2, 3, 4), True, True),
        ((1, 1, 1, 5), (1, 5), True, True),
    ],
    ids=["flatten", "options-only", "shape-tensor-only", "unflatten", "squeeze"],
)
def test_reshape(shape, new_shape, shape_input, in_options, tmp_path):
    model = reshape_model(shape, (0.05, -3), new_shape, shape_input=shape_input, in_options=in_options)
    assert_matches_tflm(model, tmp_path)


def test_reshape_with_inferred_dimension(tmp_path):
    m = ModelBuilder()
    x = m.add_input((1, 2, 3, 4), q=(0.05, -3))
    y = m.add_tensor((1, 24), "int8", 0.05, -3)
    m.add_op("RESHAPE", [x, m.add_const(np.array([1, -1], np.int32))], [y], new_shape=[1, -1])
    m.mark_output(y)
    assert_matches_tflm(m.build(), tmp_path)


# --- QUANTIZE and DEQUANTIZE ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "out_q",
    [(0.05, -3), (0.25, 0), (0.01, -128), (0.1, 127), (0.003, 5)],
    ids=["s0.05", "s0.25-exact-halves", "zp-128-saturating", "zp127", "s0.003-saturating"],
)
def test_quantize(out_q, tmp_path):
    model = quantize_model((1, 4, 6), out_q)
    rng = np.random.default_rng(1)
    scale, zero_point = out_q
    # Values at exactly k + 1/2 steps check rounding (half away from zero), in both signs.
    halves = ((np.arange(24) - 12 + 0.5) * scale).astype(np.float32).reshape(1, 4, 6)
    inputs = [[rng.uniform(-4, 4, (1, 4, 6)).astype(np.float32)] for _ in range(N_TRIALS)] + [[halves], [-halves]]
    assert_matches_tflm(model, tmp_path, inputs=inputs)


@pytest.mark.parametrize(
    "in_q",
    [(0.05, -3), (0.1, -128), (0.003, 127), (1 / 3, 0), (0.0078125, -1)],
    ids=["s0.05", "zp-128", "zp127", "s1/3", "s2^-7"],
)
def test_dequantize(in_q, tmp_path):
    every_int8 = np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16)
    assert_matches_tflm(dequantize_model((1, 16, 16), in_q), tmp_path, inputs=[[every_int8]])


# --- models with several operators ---------------------------------------------------------------

# Chains use small weights (weight_max) so activations stay mostly unsaturated layer after layer.

def chain_conv_depthwise_residual_pool_fc_softmax() -> bytes:
    relu6_q = (6 / 255, -128)
    m = ModelBuilder(seed=3)
    x = m.add_input((1, 8, 8, 3), q=(0.05, -3))
    c = m.conv2d(x, 8, (3, 3), relu6_q, stride=(2, 2), fused_activation="RELU6", weight_max=30)
    d = m.depthwise_conv2d(c, (3, 3), relu6_q, fused_activation="RELU6", weight_max=30)
    residual = m.add_tensor((1, 4, 4, 8), "int8", 0.05, -128)
    m.add_op("ADD", [c, d], [residual])
    pooled = m.pool2d("AVERAGE_POOL_2D", residual, (4, 4), (0.05, -128))
    logits = m.fully_connected(m.reshape(pooled, (1, 8)), 5, (0.05, 0), weight_max=20)
    m.mark_output(m.add_unary("SOFTMAX", logits, SOFTMAX_OUTPUT_Q))
    return m.build()


def chain_pad_maxpool_concat_mul_mean_logistic() -> bytes:
    q = (0.05, -3)
    m = ModelBuilder(seed=4)
    x = m.add_input((1, 6, 5, 4), q=q)
    padded = m.add_tensor((1, 8, 7, 4), "int8", *q)
    m.add_op("PAD", [x, m.add_const(np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32))], [padded])
    pooled = m.pool2d("MAX_POOL_2D", padded, (2, 2), q, stride=(2, 2), padding="SAME")
    conv = m.conv2d(padded, 4, (3, 3), q, stride=(2, 2), weight_max=8)
    cat = m.add_tensor((1, 4, 4, 8), "int8", *q)
    m.add_op("CONCATENATION", [pooled, conv], [cat], axis=3)
    gains = m.add_const(m.rng.integers(-127, 128, (1, 1, 1, 8)), "int8", q=(0.01, 0))
    scaled = m.add_tensor((1, 4, 4, 8), "int8", 0.05, 0)
    m.add_op("MUL", [cat, gains], [scaled])
    mean = m.add_tensor((1, 8), "int8", 0.02, 0)
    m.add_op("MEAN", [scaled, m.add_const(np.array([1, 2], np.int32))], [mean], keep_dims=False)
    m.mark_output(m.add_unary("LOGISTIC", mean, LOGISTIC_OUTPUT_Q))
    return m.build()


def chain_float_boundaries() -> bytes:
    """QUANTIZE -> FULLY_CONNECTED -> DEQUANTIZE: float in, float out, integer inside."""
    m = ModelBuilder(seed=5)
    x = m.add_input((1, 12), "float32")
    # A scale that 7 significant digits do not pin down (TVM's C backend prints no more).
    q = m.add_unary("QUANTIZE", x, (0.030123456, 4))
    fc = m.fully_connected(q, 6, (0.1, -7), fused_activation="RELU")
    m.mark_output(m.add_unary("DEQUANTIZE", fc, None, out_dtype="float32"))
    return m.build()


def several_inputs_and_outputs() -> bytes:
    """Same shapes, different quantization: swapping inputs or outputs changes the values."""
    m = ModelBuilder()
    a = m.add_input((1, 3, 3, 4), q=(0.05, -3))
    b = m.add_input((1, 3, 3, 4), q=(0.2, 40))
    total = m.add_tensor((1, 3, 3, 4), "int8", 0.25, 10)
    m.add_op("ADD", [a, b], [total])
    product = m.add_tensor((1, 3, 3, 4), "int8", 0.5, -60)
    m.add_op("MUL", [a, b], [product])
    m.mark_output(product, total)
    return m.build()


CHAINS = {
    "conv-depthwise-residual-pool-fc-softmax": chain_conv_depthwise_residual_pool_fc_softmax,
    "pad-maxpool-concat-mul-mean-logistic": chain_pad_maxpool_concat_mul_mean_logistic,
    "quantize-fc-dequantize": chain_float_boundaries,
    "two-inputs-two-outputs": several_inputs_and_outputs,
}


@pytest.mark.parametrize("make_model", CHAINS.values(), ids=CHAINS.keys())
def test_chain(make_model, tmp_path):
    assert_matches_tflm(make_model(), tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("make_model", CHAINS.values(), ids=CHAINS.keys())
def test_chain_on_qemu(make_model, tmp_path):
    """The device flow (rvtvm's lowering and CPU schedule, the AOT executor, the firmware) for
    every operator kind, against TFLM: the MLPerf models cover only some of them."""
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    model = make_model()
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    rng = np.random.default_rng(11)
    input_sets = [random_inputs(model, rng) for _ in range(2)]
    compiled, results = rvtvm.run_model(path, input_sets, workdir=tmp_path / "work")
    names = [port["name"] for port in compiled.metadata["outputs"]]
    for trial, (xs, result) in enumerate(zip(input_sets, results)):
        for name, expected in zip(names, run_tflm(model, xs)):
            got = result.outputs[name].reshape(expected.shape)
            if expected.dtype.kind == "f":
                expected, got = expected.view(np.uint32), got.view(np.uint32)
            np.testing.assert_array_equal(got, expected, err_msg=f"input set {trial}, output {name}")


def test_quantization_metadata(tmp_path):
    model = conv2d_model((1, 5, 5, 3), (0.05, -3), 4, (3, 3), (0.3, 5))
    loaded, _ = compile_on_host(model, tmp_path)
    assert len(loaded.input_names) == 1 and len(loaded.output_names) == 1
    for name, (scale, zero_point) in [(loaded.input_names[0], (0.05, -3)), (loaded.output_names[0], (0.3, 5))]:
        assert loaded.quantization[name]["zero_point"] == zero_point
        assert loaded.quantization[name]["scale"] == pytest.approx(float(np.float32(scale)), rel=1e-7)
