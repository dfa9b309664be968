"""Read a .tflite flatbuffer into plain Python objects, or fail with one clear ModelError.

The flatbuffer accessors of the `tflite` package trust their input: a truncated or foreign file
raises whatever Python error the first bad offset produces. Everything here is read eagerly,
inside one guard, so a malformed file never escapes as an IndexError deep in the importer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tflite

from ..errors import ModelError

# TensorType -> numpy dtype, for the types an int8 model carries.
_DTYPES = {
    tflite.TensorType.FLOAT32: "float32",
    tflite.TensorType.INT32: "int32",
    tflite.TensorType.INT8: "int8",
    tflite.TensorType.INT16: "int16",
    tflite.TensorType.INT64: "int64",
    tflite.TensorType.UINT8: "uint8",
    tflite.TensorType.BOOL: "bool",
}
_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
_OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


@dataclass
class Quantization:
    scale: np.ndarray  # float32, one per tensor or one per channel
    zero_point: np.ndarray  # int64, same length
    axis: int  # the channel dimension when there are several scales

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1


@dataclass
class TensorInfo:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str  # numpy name; "<TYPE>?" for a type rvtvm cannot read
    quant: Quantization | None
    data: np.ndarray | None  # constants only


@dataclass
class OperatorInfo:
    index: int
    opcode: str  # BuiltinOperator name, or "CUSTOM(<name>)"
    inputs: list[int]  # -1 for an omitted optional input
    outputs: list[int]
    options: object | None  # the tflite.<Op>Options table, already initialised


@dataclass
class Subgraph:
    tensors: list[TensorInfo]
    operators: list[OperatorInfo]
    inputs: list[int]
    outputs: list[int]
    name: str = ""


def read_tflite(path: Path) -> Subgraph:
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ModelError(f"{path.name} is not a valid TFLite model (no TFL3 identifier); check the file")
    try:
        return _read(data)
    except ModelError:
        raise
    except Exception as exc:  # any bad offset surfaces as some Python error
        raise ModelError(f"{path.name} is not a valid TFLite model (truncated or corrupt: {type(exc).__name__}); re-export it") from exc


def _read(data: bytes) -> Subgraph:
    model = tflite.Model.GetRootAs(data, 0)
    if model.SubgraphsLength() < 1:
        raise ModelError("the TFLite model has no subgraph")
    if model.SubgraphsLength() > 1:
        raise ModelError("the TFLite model has several subgraphs (control flow); rvtvm reads single-subgraph models")
    graph = model.Subgraphs(0)
    buffers = [model.Buffers(i) for i in range(model.BuffersLength())]
    opcodes = [_opcode_name(model.OperatorCodes(i)) for i in range(model.OperatorCodesLength())]

    tensors = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        tensors.append(_tensor(i, t, buffers, data))
    operators = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if not 0 <= op.OpcodeIndex() < len(opcodes):
            raise ValueError("opcode index out of range")
        ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        for idx in ins + outs:
            if not -1 <= idx < len(tensors):
                raise ValueError("tensor index out of range")
        operators.append(OperatorInfo(i, opcodes[op.OpcodeIndex()], ins, outs, _options(op)))
    inputs = [int(x) for x in graph.InputsAsNumpy()] if graph.InputsLength() else []
    outputs = [int(x) for x in graph.OutputsAsNumpy()] if graph.OutputsLength() else []
    for idx in inputs + outputs:
        if not 0 <= idx < len(tensors):
            raise ValueError("tensor index out of range")
    name = graph.Name().decode() if graph.Name() else ""
    return Subgraph(tensors, operators, inputs, outputs, name)


def _opcode_name(code) -> str:
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM({code.CustomCode().decode(errors='replace')})"
    return _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")


def _tensor(index: int, t, buffers, data: bytes) -> TensorInfo:
    ttype = t.Type()
    dtype = _DTYPES.get(ttype, f"{_TYPE_NAMES.get(ttype, ttype)}?")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    name = t.Name().decode(errors="replace") if t.Name() else f"tensor_{index}"
    quant = None
    q = t.Quantization()
    if q is not None and q.ScaleLength() > 0:
        scale = q.ScaleAsNumpy().astype(np.float32)
        zp = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros(scale.shape, np.int64)
        quant = Quantization(scale, zp, int(q.QuantizedDimension()))
    const = None
    b = t.Buffer()
    if not 0 <= b < max(len(buffers), 1):
        raise ValueError("buffer index out of range")
    if buffers and b > 0:
        buf = buffers[b]
        raw = _buffer_bytes(buf, data)
        if raw is not None and len(raw) > 0:
            if dtype.endswith("?"):
                raise ModelError(f"constant tensor '{name}' has type {dtype[:-1]}, which rvtvm does not read")
            const = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()
    return TensorInfo(index, name, shape, dtype, quant, const)


def _buffer_bytes(buf, data: bytes) -> bytes | None:
    if buf.Offset() > 1:  # buffers stored after the flatbuffer (models over 2 GB)
        end = buf.Offset() + buf.Size()
        if end > len(data):
            raise ValueError("buffer beyond the end of the file")
        return data[buf.Offset() : end]
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy().tobytes()


def _options(op):
    kind = op.BuiltinOptionsType()
    if kind == 0:
        return None
    name = _OPTION_NAMES.get(kind)
    cls = getattr(getattr(tflite, name, None), name, None) or getattr(tflite, name, None)
    table = op.BuiltinOptions()
    if cls is None or table is None:
        return None
    options = cls()
    options.Init(table.Bytes, table.Pos)
    return options
