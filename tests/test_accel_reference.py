"""rvtvm.accel.reference against TFLite Micro, bit for bit.

The reference is what the accelerator's RTL and both driver backends are checked against, so it
is checked here against the ground truth: one-operator int8 CONV_2D / DEPTHWISE_CONV_2D /
FULLY_CONNECTED models (tests/tflite_builder.py) run by the tflite-micro package. Everything
TFLM derives in its Prepare step (per-channel multiplier and shift, padding, activation range)
is derived here from the model's scales the way rvtvm's TFLite importer does it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tflite

from rvtvm.accel import reference
from rvtvm.tflite.fixed_point import quantize_multiplier, round_half_away
from rvtvm.tflite.reader import OperatorInfo, Subgraph, read_tflite

from .tflite_builder import conv2d_model, depthwise_model, fully_connected_model
from .tflm_reference import random_inputs, run_tflm

N_TRIALS = 3  # random input sets per model

_ACTIVATIONS = {v: k for k, v in vars(tflite.ActivationFunctionType).items() if not k.startswith("_")}


def activation_range(op: OperatorInfo, out_scale: float, out_zp: int) -> tuple[int, int]:
    """TFLM's CalculateActivationRangeQuantized for an int8 output (float32 division)."""
    def level(x: float) -> int:
        return out_zp + round_half_away(float(np.float32(x) / np.float32(out_scale)))

    name = _ACTIVATIONS[op.options.FusedActivationFunction()]
    low, high = {"NONE": (-128, 127), "RELU": (level(0.0), 127), "RELU6": (level(0.0), level(6.0)),
                 "RELU_N1_TO_1": (level(-1.0), level(1.0))}[name]
    return max(-128, low), min(127, high)


def same_padding(size: int, kernel: int, stride: int, out: int) -> int:
    """TFLite's ComputePadding: the smaller half of the total goes before."""
    return max((out - 1) * stride + kernel - size, 0) // 2


def multipliers(op: OperatorInfo, g: Subgraph, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (multiplier, shift) from input scale x weight scale / output scale: doubles,
    except a per-tensor FULLY_CONNECTED, whose input x filter product is a float first."""
    x, w, y = (g.tensors[i].quant for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if op.opcode == "FULLY_CONNECTED" and not w.per_channel:
        real = [float(np.float32(x.scale[0]) * np.float32(w.scale[0])) / float(y.scale[0])] * channels
    else:
        scales = w.scale if w.per_channel else np.repeat(w.scale[:1], channels)
        real = [float(x.scale[0]) * float(s) / float(y.scale[0]) for s in scales]
    pairs = [quantize_multiplier(r) for r in real]
    return np.array([m for m, _ in pairs]), np.array([s for _, s in pairs])


def reference_of(model: bytes, tmp_path: Path):
    """The one operator of `model` as a function of its int8 input, through rvtvm.accel.reference."""
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    g = read_tflite(path)
    (op,) = g.operators
    x_t, w_t, y_t = g.tensors[op.inputs[0]], g.tensors[op.inputs[1]], g.tensors[op.outputs[0]]
    channels = y_t.shape[-1]
    has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
    bias = g.tensors[op.inputs[2]].data.astype(np.int64) if has_bias else np.zeros(channels, np.int64)
    mult, shift = multipliers(op, g, channels)
    quant = dict(input_offset=-int(x_t.quant.zero_point[0]), output_offset=int(y_t.quant.zero_point[0]))
    quant["act_min"], quant["act_max"] = activation_range(op, float(y_t.quant.scale[0]), quant["output_offset"])

    if op.opcode == "FULLY_CONNECTED":
        def run(x):
            return reference.fully_connected(x.reshape(-1, w_t.shape[1]), w_t.data, bias, mult, shift, **quant)
        return run

    o = op.options
    stride = (o.StrideH(), o.StrideW())
    _, in_h, in_w, _ = x_t.shape
    _, out_h, out_w, _ = y_t.shape
    kh, kw = w_t.shape[1:3]
    if o.Padding() == tflite.Padding.SAME:
        pad = (same_padding(in_h, kh, stride[0], out_h), same_padding(in_w, kw, stride[1], out_w))
    else:
        pad = (0, 0)
    spatial = dict(stride=stride, pad=pad, out_hw=(out_h, out_w), **quant)
    if op.opcode == "CONV_2D":
        return lambda x: reference.conv2d(x[0], w_t.data, bias, mult, shift, **spatial)[None]
    return lambda x: reference.depthwise_conv2d(x[0], w_t.data[0], bias, mult, shift, **spatial)[None]


def assert_reference_matches_tflm(model: bytes, tmp_path: Path, seed: int = 0) -> None:
    run = reference_of(model, tmp_path)
    rng = np.random.default_rng(seed)
    seen = []
    for trial in range(N_TRIALS):
        (x,) = random_inputs(model, rng)
        (expected,) = run_tflm(model, [x])
        got = run(x)
        assert got.dtype == np.int8 and got.shape == expected.shape, f"{got.dtype}{got.shape} vs TFLM {expected.shape}"
        np.testing.assert_array_equal(got, expected, err_msg=f"input set {trial}")
        seen.append(expected.reshape(-1))
    # Guards the test itself: a constant output would pass almost any implementation.
    assert len(np.unique(np.concatenate(seen))) > 1, "TFLM's output is constant: the case tests nothing"


CONV_CASES = {
    "3x3 SAME": dict(input_shape=(1, 7, 5, 3), in_q=(0.05, -3), out_channels=4, kernel=(3, 3), out_q=(0.3, 5)),
    "3x3 SAME stride 2": dict(input_shape=(1, 8, 9, 4), in_q=(0.05, 10), out_channels=9, kernel=(3, 3), out_q=(0.3, -7),
                              stride=(2, 2)),
    "5x5 SAME stride 2, more padding after": dict(input_shape=(1, 6, 6, 2), in_q=(0.05, 0), out_channels=3, kernel=(5, 5),
                                                  out_q=(0.2, 0), stride=(2, 2)),
    "3x2 VALID stride (2, 1)": dict(input_shape=(1, 9, 6, 5), in_q=(0.04, -20), out_channels=11, kernel=(3, 2),
                                    out_q=(0.25, 3), stride=(2, 1), padding="VALID"),
    "1x1": dict(input_shape=(1, 4, 4, 16), in_q=(0.05, 1), out_channels=12, kernel=(1, 1), out_q=(0.2, 0)),
    "RELU6": dict(input_shape=(1, 6, 6, 3), in_q=(0.05, -3), out_channels=8, kernel=(3, 3), out_q=(0.03, -100),
                  fused_activation="RELU6"),
    "RELU": dict(input_shape=(1, 6, 6, 3), in_q=(0.05, -3), out_channels=8, kernel=(3, 3), out_q=(0.1, 20),
                 fused_activation="RELU"),
    "zero points -128, -128": dict(input_shape=(1, 5, 5, 3), in_q=(0.02, -128), out_channels=5, kernel=(3, 3),
                                   out_q=(0.2, -128)),
    "zero points 127, 127": dict(input_shape=(1, 5, 5, 3), in_q=(0.02, 127), out_channels=5, kernel=(3, 3),
                                 out_q=(0.2, 127)),
    "per-tensor weights, no bias": dict(input_shape=(1, 5, 6, 4), in_q=(0.05, 2), out_channels=6, kernel=(3, 3),
                                        out_q=(0.3, -1), weight_scales=0.01, bias_max=None),
    "effective scale above 1 (left shift)": dict(input_shape=(1, 5, 5, 2), in_q=(0.5, 0), out_channels=4,
                                                 kernel=(3, 3), out_q=(0.1, 0), weight_scales=0.5, weight_max=2,
                                                 bias_max=20),
    "saturating": dict(input_shape=(1, 5, 5, 3), in_q=(0.1, 0), out_channels=6, kernel=(3, 3), out_q=(0.01, 0)),
}

DEPTHWISE_CASES = {
    "3x3 SAME": dict(input_shape=(1, 7, 6, 9), in_q=(0.05, -3), kernel=(3, 3), out_q=(0.05, 2)),
    "3x3 SAME stride 2": dict(input_shape=(1, 8, 7, 16), in_q=(0.05, 4), kernel=(3, 3), out_q=(0.05, -2), stride=(2, 2)),
    "5x5 VALID": dict(input_shape=(1, 8, 9, 3), in_q=(0.05, 0), kernel=(5, 5), out_q=(0.08, 0), padding="VALID"),
    "RELU6": dict(input_shape=(1, 6, 6, 8), in_q=(0.05, -3), kernel=(3, 3), out_q=(0.03, -100), fused_activation="RELU6"),
    "zero points -128, 127": dict(input_shape=(1, 5, 5, 5), in_q=(0.02, -128), kernel=(3, 3), out_q=(0.02, 127)),
    "zero points 127, -128": dict(input_shape=(1, 5, 5, 5), in_q=(0.02, 127), kernel=(3, 3), out_q=(0.02, -128)),
    "no bias": dict(input_shape=(1, 5, 5, 4), in_q=(0.05, 0), kernel=(3, 3), out_q=(0.05, 0), bias_max=None),
}

FULLY_CONNECTED_CASES = {
    "1 row": dict(input_shape=(1, 10), in_q=(0.05, -3), units=5, out_q=(0.3, 5)),
    "4 rows": dict(input_shape=(4, 12), in_q=(0.05, 7), units=9, out_q=(0.3, -5)),
    "per-tensor weights": dict(input_shape=(3, 20), in_q=(0.05, 0), units=6, out_q=(0.3, 0), weight_scales=0.01),
    "RELU": dict(input_shape=(2, 16), in_q=(0.05, -3), units=8, out_q=(0.2, -20), fused_activation="RELU"),
    "RELU6": dict(input_shape=(2, 16), in_q=(0.05, -3), units=8, out_q=(0.04, -110), fused_activation="RELU6"),
    "zero points -128, -128": dict(input_shape=(2, 24), in_q=(0.02, -128), units=7, out_q=(0.2, -128)),
    "zero points 127, 127": dict(input_shape=(2, 24), in_q=(0.02, 127), units=7, out_q=(0.2, 127)),
}


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d(case: str, tmp_path: Path) -> None:
    assert_reference_matches_tflm(conv2d_model(**CONV_CASES[case]), tmp_path)


@pytest.mark.parametrize("case", DEPTHWISE_CASES)
def test_depthwise_conv2d(case: str, tmp_path: Path) -> None:
    assert_reference_matches_tflm(depthwise_model(**DEPTHWISE_CASES[case]), tmp_path)


@pytest.mark.parametrize("case", FULLY_CONNECTED_CASES)
def test_fully_connected(case: str, tmp_path: Path) -> None:
    assert_reference_matches_tflm(fully_connected_model(**FULLY_CONNECTED_CASES[case]), tmp_path)


def test_saturating_case_saturates(tmp_path: Path) -> None:
    """The 'saturating' case reaches both ends of int8, so the clamp is what is compared there."""
    model = conv2d_model(**CONV_CASES["saturating"])
    (x,) = random_inputs(model, np.random.default_rng(0))
    (y,) = run_tflm(model, [x])
    assert y.min() == -128 and y.max() == 127


ADD_CASES = {  # (scale a, zp a), (scale b, zp b), (scale out, zp out), fused activation
    "similar scales": ((0.05, -3), (0.06, 10), (0.1, -5), "NONE"),
    "b dominates": ((0.01, 127), (0.3, -128), (0.25, 0), "NONE"),
    "relu, saturating": ((0.2, 0), (0.2, 5), (0.02, -100), "RELU"),
    "relu6": ((0.05, -128), (0.04, -128), (6 / 255, -128), "RELU6"),
}


@pytest.mark.parametrize("case", ADD_CASES)
def test_add(case: str, tmp_path: Path) -> None:
    """reference.add with the parameters the TFLite importer derives (its kernel's rvtvm.params,
    what the offload passes the driver) against TFLM's ADD."""
    import tvm

    from rvtvm.frontend import load_model

    from .tflite_builder import ModelBuilder

    qa, qb, qo, act = ADD_CASES[case]
    m = ModelBuilder()
    a, b = m.add_input((1, 7, 9, 5), q=qa), m.add_input((1, 7, 9, 5), q=qb)
    out = m.add_tensor((1, 7, 9, 5), "int8", *qo)
    m.add_op("ADD", [a, b], [out], fused_activation=act)
    m.mark_output(out)
    model = m.build()
    path = tmp_path / "add.tflite"
    path.write_bytes(model)
    mod = load_model(path).mod
    [p] = [dict(f.attrs["rvtvm.params"]) for f in mod.functions.values()
           if isinstance(f, tvm.tirx.PrimFunc) and f.attrs.get("rvtvm.kernel") == "add_int8"]
    p = {k: int(v) for k, v in p.items()}
    rng = np.random.default_rng(5)
    for _ in range(4):
        xa, xb = random_inputs(model, rng)
        [expected] = run_tflm(model, [xa, xb])
        got = reference.add(xa, xb, a_offset=p["input1_offset"], a_multiplier=p["input1_multiplier"],
                            a_shift=p["input1_shift"], b_offset=p["input2_offset"], b_multiplier=p["input2_multiplier"],
                            b_shift=p["input2_shift"], left_shift=p["left_shift"], out_multiplier=p["output_multiplier"],
                            out_shift=p["output_shift"], output_offset=p["output_offset"], act_min=p["act_min"],
                            act_max=p["act_max"])
        np.testing.assert_array_equal(got, expected)
