"""Small example models, built in code so the demo, the tests and the benchmark need no files.

- `conv_relu_dense`: float32 conv2d + relu + dense, the classic first model.
- `int_mlp`: integer-only, int8 in and out with int32 accumulation and shift requantization,
  so device and host must agree bit for bit.
- `write_onnx_cnn`: the float model as an ONNX file, to exercise the ONNX frontend.
Weights are drawn from a fixed seed so every run compiles the same model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tvm
from tvm import relax


def conv_relu_dense(seed: int = 0) -> tvm.IRModule:
    rng = np.random.default_rng(seed)
    w_conv = rng.standard_normal((8, 3, 3, 3)).astype("float32") * 0.3
    b_conv = rng.standard_normal((1, 8, 1, 1)).astype("float32") * 0.1
    w_fc = rng.standard_normal((10, 8 * 8 * 8)).astype("float32") * 0.05
    b_fc = rng.standard_normal((1, 10)).astype("float32") * 0.1

    bb = relax.BlockBuilder()
    x = relax.Var("image", relax.TensorType((1, 3, 16, 16), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            y = bb.emit(relax.op.nn.conv2d(x, relax.const(w_conv), padding=1))
            y = bb.emit(relax.op.add(y, relax.const(b_conv)))
            y = bb.emit(relax.op.nn.relu(y))
            y = bb.emit(relax.op.nn.max_pool2d(y, pool_size=2, strides=2))
            y = bb.emit(relax.op.reshape(y, (1, 8 * 8 * 8)))
            y = bb.emit(relax.op.matmul(y, relax.op.permute_dims(relax.const(w_fc))))
            out = bb.emit_output(relax.op.add(y, relax.const(b_fc)))
        bb.emit_func_output(out)
    return bb.get()


def int_mlp(seed: int = 1) -> tvm.IRModule:
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-128, 128, (64, 32), dtype="int8")
    b1 = rng.integers(-2000, 2000, (1, 32), dtype="int32")
    w2 = rng.integers(-128, 128, (32, 16), dtype="int8")
    b2 = rng.integers(-2000, 2000, (1, 16), dtype="int32")

    def layer(bb, x, w, b, shift):
        acc = bb.emit(relax.op.matmul(relax.op.astype(x, "int32"), relax.op.astype(relax.const(w), "int32")))
        acc = bb.emit(relax.op.add(acc, relax.const(b)))
        acc = bb.emit(relax.op.right_shift(acc, relax.const(np.int32(shift))))
        return bb.emit(relax.op.astype(relax.op.clip(acc, -128, 127), "int8"))

    bb = relax.BlockBuilder()
    x = relax.Var("features", relax.TensorType((1, 64), "int8"))
    with bb.function("main", [x]):
        with bb.dataflow():
            h = layer(bb, x, w1, b1, 9)
            h = bb.emit(relax.op.maximum(h, relax.const(np.int8(0))))
            out = bb.emit_output(layer(bb, h, w2, b2, 7))
        bb.emit_func_output(out)
    return bb.get()


def write_onnx_cnn(path: "str | Path", seed: int = 2) -> Path:
    """Conv + Relu + Flatten + Gemm, float32, as an ONNX file."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype("float32") * 0.5, "conv_w"),
        numpy_helper.from_array(rng.standard_normal((4,)).astype("float32") * 0.1, "conv_b"),
        numpy_helper.from_array(rng.standard_normal((4 * 6 * 6, 5)).astype("float32") * 0.1, "fc_w"),
        numpy_helper.from_array(rng.standard_normal((5,)).astype("float32") * 0.1, "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("Flatten", ["relu"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["scores"]),
    ]
    graph = helper.make_graph(
        nodes,
        "onnx_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 5])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = Path(path)
    onnx.save(model, str(path))
    return path


EXAMPLES = {"conv_relu_dense": conv_relu_dense, "int_mlp": int_mlp}


def random_inputs(metadata: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs of the right shapes and dtypes: N(0,1) for floats, the full range for integers."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for port in metadata["inputs"]:
        dt = np.dtype(port["dtype"])
        if dt.kind == "f":
            inputs[port["name"]] = rng.standard_normal(port["shape"]).astype(dt)
        else:
            info = np.iinfo(dt)
            inputs[port["name"]] = rng.integers(info.min, info.max, port["shape"], dtype=dt, endpoint=True)
    return inputs
