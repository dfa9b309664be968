"""The TFLite frontend's error contract: every bad model is one ModelError with a useful message,
never a crash. The unsupported-type models are ones TFLite Micro itself runs, so the error is
rvtvm's limitation, not a broken file."""

import re

import numpy as np
import pytest

from rvtvm.errors import ModelError
from rvtvm.frontend import load_model

from .tflite_builder import LOGISTIC_OUTPUT_Q, ModelBuilder, conv2d_model
from .tflm_reference import random_inputs, run_tflm


def write(tmp_path, data: bytes):
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    return path


def assert_tflm_runs(model: bytes):
    run_tflm(model, random_inputs(model, np.random.default_rng(0)))


def two_unsupported_ops_model() -> bytes:
    """FULLY_CONNECTED (#0), GATHER (#1), LOGISTIC (#2), ARG_MAX (#3)."""
    m = ModelBuilder()
    x = m.add_input((1, 8), q=(0.05, -3))
    hidden = m.fully_connected(x, 6, (0.2, 1))
    gathered = m.add_tensor((1, 3), "int8", 0.2, 1)
    m.add_op("GATHER", [hidden, m.add_const(np.array([0, 2, 4], np.int32))], [gathered], axis=1)
    probabilities = m.add_unary("LOGISTIC", gathered, LOGISTIC_OUTPUT_Q)
    best = m.add_tensor((1,), "int32")
    m.add_op("ARG_MAX", [probabilities, m.add_const(np.array([1], np.int32))], [best])
    m.mark_output(best)
    return m.build()


def test_every_unsupported_operator_is_named_once(tmp_path):
    model = two_unsupported_ops_model()
    assert_tflm_runs(model)
    with pytest.raises(ModelError) as info:
        load_model(write(tmp_path, model))
    message = str(info.value)
    assert "GATHER (operator #1)" in message
    assert "ARG_MAX (operator #3)" in message
    assert "FULLY_CONNECTED" not in message and "LOGISTIC" not in message


def test_repeated_unsupported_operator_is_named_at_each_index(tmp_path):
    m = ModelBuilder()
    x = m.add_input((1, 8), q=(0.05, -3))
    first = m.add_tensor((1, 4), "int8", 0.05, -3)
    m.add_op("GATHER", [x, m.add_const(np.array([7, 0, 3, 3], np.int32))], [first], axis=1)
    squashed = m.add_unary("LOGISTIC", first, LOGISTIC_OUTPUT_Q)
    second = m.add_tensor((1, 2), "int8", *LOGISTIC_OUTPUT_Q)
    m.add_op("GATHER", [squashed, m.add_const(np.array([1, 2], np.int32))], [second], axis=1)
    m.mark_output(second)
    model = m.build()
    assert_tflm_runs(model)
    with pytest.raises(ModelError) as info:
        load_model(write(tmp_path, model))
    assert "GATHER (operator #0)" in str(info.value) and "GATHER (operator #2)" in str(info.value)


def _valid_model() -> bytes:
    return conv2d_model((1, 5, 5, 3), (0.05, -3), 4, (3, 3), (0.3, 5))


@pytest.mark.parametrize(
    "make_bytes",
    [
        pytest.param(lambda: _valid_model()[: len(_valid_model()) // 2], id="first-half"),
        pytest.param(lambda: _valid_model()[:-40], id="last-40-bytes-cut"),
        pytest.param(lambda: _valid_model()[:12], id="header-only"),
        pytest.param(lambda: b"", id="empty"),
        pytest.param(lambda: np.random.default_rng(0).bytes(4096), id="random-4k"),
        pytest.param(lambda: np.random.default_rng(1).bytes(7), id="random-7-bytes"),
        # The right file identifier, with the root table offset pointing past the end.
        pytest.param(lambda: b"\xf0\xff\x00\x00TFL3" + bytes(8), id="identifier-bad-root"),
        pytest.param(lambda: b"ir_version: 8\ngraph { }\n", id="text"),
    ],
)
def test_broken_file_is_not_a_valid_tflite_model(make_bytes, tmp_path):
    with pytest.raises(ModelError, match="not a valid TFLite model"):
        load_model(write(tmp_path, make_bytes()))


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        load_model(tmp_path / "absent.tflite")


# --- types TFLM runs but an int8 frontend does not ------------------------------------------------
# The error must name the type and say where: the operator or one of the offending tensors.

def float32_conv_model() -> bytes:
    rng = np.random.default_rng(0)
    m = ModelBuilder()
    x = m.add_input((1, 4, 4, 2), "float32", name="image")
    weights = m.add_tensor((3, 3, 3, 2), "float32", data=rng.normal(size=(3, 3, 3, 2)), name="conv_weights")
    bias = m.add_tensor((3,), "float32", data=rng.normal(size=3), name="conv_bias")
    y = m.add_tensor((1, 4, 4, 3), "float32", name="features")
    m.add_op("CONV_2D", [x, weights, bias], [y])
    m.mark_output(y)
    return m.build()


def int16x8_conv_model() -> bytes:
    """16-bit activations, int8 weights, int64 bias: TFLM's 16x8 quantization scheme."""
    rng = np.random.default_rng(0)
    m = ModelBuilder()
    x = m.add_input((1, 4, 4, 2), "int16", q=(0.001, 0), name="image")
    weights = m.add_tensor((3, 3, 3, 2), "int8", [0.01] * 3, data=rng.integers(-127, 128, (3, 3, 3, 2)))
    bias = m.add_tensor((3,), "int64", [0.00001] * 3, data=rng.integers(-1000, 1000, 3), name="conv_bias")
    y = m.add_tensor((1, 4, 4, 3), "int16", 0.002, 0, name="features")
    m.add_op("CONV_2D", [x, weights, bias], [y])
    m.mark_output(y)
    return m.build()


def int4_weights_fc_model() -> bytes:
    rng = np.random.default_rng(0)
    m = ModelBuilder()
    x = m.add_input((1, 8), q=(0.05, -3))
    weights = m.add_tensor((4, 8), "int4", 0.1, 0, data=rng.integers(-7, 8, (4, 8)), name="fc_weights")
    bias = m.add_tensor((4,), "int32", 0.005, 0, data=rng.integers(-100, 100, 4))
    y = m.add_tensor((1, 4), "int8", 0.3, 2)
    m.add_op("FULLY_CONNECTED", [x, weights, bias], [y])
    m.mark_output(y)
    return m.build()


@pytest.mark.parametrize(
    "make_model, type_name, places",
    [
        (float32_conv_model, "float32", ["CONV_2D", "image", "conv_weights", "conv_bias", "features"]),
        (int16x8_conv_model, "int16", ["CONV_2D", "image", "features"]),
        (int4_weights_fc_model, "int4", ["FULLY_CONNECTED", "fc_weights"]),
    ],
    ids=["float32-conv", "int16x8-conv", "int4-weights-fc"],
)
def test_unsupported_tensor_type_is_a_clear_model_error(make_model, type_name, places, tmp_path):
    model = make_model()
    assert_tflm_runs(model)
    with pytest.raises(ModelError) as info:
        load_model(write(tmp_path, model))
    message = str(info.value)
    assert re.search(type_name, message, re.IGNORECASE), f"the type is not named: {message}"
    assert any(place in message for place in places), f"neither the operator nor a tensor is named: {message}"


def test_operator_error_names_the_operator_and_leaves_no_noise(tmp_path, run_cli):
    """An operator rvtvm refuses for its parameters (here int8 CONCATENATION of inputs quantized
    unlike the output, which TFLM refuses too) is named with its index, in one line on stderr:
    no TVM warning about a half-built function."""
    m = ModelBuilder()
    a, b = m.add_input((1, 2, 2, 3), q=(0.1, 0)), m.add_input((1, 2, 2, 3), q=(0.2, 0))
    y = m.add_tensor((1, 2, 2, 6), "int8", 0.1, 0)
    m.add_op("CONCATENATION", [a, b], [y], axis=3)
    m.mark_output(y)
    path = write(tmp_path, m.build())
    with pytest.raises(ModelError, match=r"operator #0 CONCATENATION: inputs with quantization different"):
        load_model(path)
    done = run_cli("compile", path, "-o", tmp_path / "model.tar")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if not line.startswith("[rvtvm]")]
    assert len(errors) == 1 and "operator #0 CONCATENATION" in errors[0], done.stderr
