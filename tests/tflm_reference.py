"""TFLite Micro's reference kernels, from Python: the ground truth the TFLite frontend must match."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tflite

# The interpreter's default arena (10x the model size) is too small for tiny models with
# scratch buffers; a fixed generous arena keeps that out of the way.
ARENA_BYTES = 4 << 20

_NUMPY_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.INT32: np.int32,
    tflite.TensorType.INT16: np.int16,
    tflite.TensorType.INT8: np.int8,
    tflite.TensorType.UINT8: np.uint8,
}


def _model_bytes(model: bytes | str | os.PathLike) -> bytes:
    return bytes(model) if isinstance(model, (bytes, bytearray)) else Path(model).read_bytes()


def run_tflm(model: bytes | str | os.PathLike, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Runs one inference; inputs in the subgraph's input order; returns every output."""
    from tflite_micro.python.tflite_micro import runtime

    data = _model_bytes(model)
    interpreter = runtime.Interpreter.from_bytes(data, arena_size=ARENA_BYTES)
    for i, array in enumerate(inputs):
        interpreter.set_input(np.ascontiguousarray(array), i)
    interpreter.invoke()
    n_outputs = tflite.Model.GetRootAs(data, 0).Subgraphs(0).OutputsLength()
    return [np.array(interpreter.get_output(i), copy=True) for i in range(n_outputs)]


def input_specs(model: bytes | str | os.PathLike) -> list[tuple[tuple[int, ...], type]]:
    """(shape, numpy dtype) of each subgraph input, read from the flatbuffer."""
    graph = tflite.Model.GetRootAs(_model_bytes(model), 0).Subgraphs(0)
    specs = []
    for i in range(graph.InputsLength()):
        tensor = graph.Tensors(graph.Inputs(i))
        specs.append((tuple(int(d) for d in tensor.ShapeAsNumpy()), _NUMPY_DTYPES[tensor.Type()]))
    return specs


def random_inputs(
    model: bytes | str | os.PathLike,
    rng: np.random.Generator,
    int_range: tuple[int, int] | None = None,
    float_range: float = 4.0,
) -> list[np.ndarray]:
    """Random inputs for every subgraph input: integers over their whole range by default (so
    the zero point's neighbourhood and both saturation ends are hit) or in int_range
    (inclusive), floats uniform in +-float_range."""
    arrays = []
    for shape, dtype in input_specs(model):
        if np.issubdtype(dtype, np.integer):
            low, high = int_range or (np.iinfo(dtype).min, np.iinfo(dtype).max)
            arrays.append(rng.integers(low, high, size=shape, dtype=dtype, endpoint=True))
        else:
            arrays.append(rng.uniform(-float_range, float_range, size=shape).astype(dtype))
    return arrays
