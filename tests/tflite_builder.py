"""Build small int8 TFLite flatbuffers for tests, with the `tflite` package's generated builders.

Two levels:

- ModelBuilder: add tensors (activations, constants with data, per-tensor or per-channel
  quantization), operators with their builtin options, mark inputs and outputs, build() -> bytes.
  Its layer helpers (conv2d, depthwise_conv2d, fully_connected, pool2d) also make the weights,
  the bias and the output tensor, with the quantization TFLite's converter produces: symmetric
  int8 weights with per-channel scales along the output-channel dimension, an int32 bias with
  scale input_scale * weight_scale[c] and zero point 0.
- *_model factories: one-operator models as bytes, for the per-operator tests.

Quantization is given as (scale, zero_point) tuples, e.g. `q=(0.05, -128)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import flatbuffers
import numpy as np
import tflite

# TFLM requires these output quantizations for int8 SOFTMAX and LOGISTIC.
SOFTMAX_OUTPUT_Q = (1.0 / 256, -128)
LOGISTIC_OUTPUT_Q = (1.0 / 256, -128)

_DTYPES = {
    "float32": (tflite.TensorType.FLOAT32, np.float32),
    "int32": (tflite.TensorType.INT32, np.int32),
    "int64": (tflite.TensorType.INT64, np.int64),
    "int16": (tflite.TensorType.INT16, np.int16),
    "int8": (tflite.TensorType.INT8, np.int8),
    "uint8": (tflite.TensorType.UINT8, np.uint8),
    "int4": (tflite.TensorType.INT4, np.int8),  # two values per byte in the buffer
}

Quant = tuple[float, int]


@dataclass
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scales: list[float] | None
    zero_points: list[int] | None
    quantized_dimension: int
    data: bytes | None
    name: str

    @property
    def q(self) -> Quant:
        """The per-tensor (scale, zero_point)."""
        assert self.scales is not None and len(self.scales) == 1, f"{self.name} is not per-tensor quantized"
        return self.scales[0], self.zero_points[0]


@dataclass
class _Op:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict


def _as_list(v) -> list | None:
    if v is None:
        return None
    return [v] if np.isscalar(v) else list(v)


def _raw_bytes(data, dtype: str, shape: Sequence[int]) -> bytes:
    array = np.asarray(data, dtype=_DTYPES[dtype][1])
    if array.size != math.prod(shape):
        raise ValueError(f"{array.size} values for a tensor of shape {tuple(shape)}")
    flat = array.reshape(-1)
    if dtype == "int4":
        if flat.min() < -8 or flat.max() > 7:
            raise ValueError("int4 data out of [-8, 7]")
        nibbles = np.concatenate([flat, np.zeros(flat.size % 2, np.int8)]).astype(np.uint8) & 0xF
        return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).tobytes()  # low nibble first
    return flat.astype(flat.dtype.newbyteorder("<")).tobytes()


def conv_output_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's ComputeOutSize."""
    effective = (kernel - 1) * dilation + 1
    if padding == "SAME":
        return (size + stride - 1) // stride
    return (size - effective + stride) // stride


class ModelBuilder:
    """One subgraph; tensors and operators are referred to by index, in the order added."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)  # for the weights the layer helpers make
        self.tensors: list[TensorSpec] = []
        self.ops: list[_Op] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    # --- tensors -------------------------------------------------------------------------------

    def add_tensor(
        self,
        shape: Sequence[int],
        dtype: str = "int8",
        scale: float | Sequence[float] | None = None,
        zero_point: int | Sequence[int] | None = None,
        data=None,
        quantized_dimension: int = 0,
        name: str | None = None,
    ) -> int:
        """A tensor; scale/zero_point lists make it per-channel along quantized_dimension; data
        (anything numpy can convert) makes it a constant with its own buffer."""
        scales, zero_points = _as_list(scale), _as_list(zero_point)
        if scales is not None and zero_points is None:
            zero_points = [0] * len(scales)
        if scales is not None and len(scales) != len(zero_points):
            raise ValueError("scale and zero_point lists differ in length")
        shape = tuple(int(d) for d in shape)
        raw = None if data is None else _raw_bytes(data, dtype, shape)
        self.tensors.append(
            TensorSpec(shape, dtype, scales, zero_points, quantized_dimension, raw, name or f"t{len(self.tensors)}")
        )
        return len(self.tensors) - 1

    def add_input(
        self, shape: Sequence[int], dtype: str = "int8", q: Quant | None = None, name: str | None = None
    ) -> int:
        scale, zero_point = q if q is not None else (None, None)
        t = self.add_tensor(shape, dtype, scale, zero_point, name=name)
        self.inputs.append(t)
        return t

    def add_const(self, data, dtype: str = "int32", q: Quant | None = None) -> int:
        array = np.asarray(data)
        scale, zero_point = q if q is not None else (None, None)
        return self.add_tensor(array.shape, dtype, scale, zero_point, data=array)

    def mark_output(self, *tensors: int) -> None:
        self.outputs.extend(tensors)

    def spec(self, t: int) -> TensorSpec:
        return self.tensors[t]

    # --- operators -----------------------------------------------------------------------------

    def add_op(self, op: str, inputs: Sequence[int], outputs: Sequence[int], **options) -> None:
        """An operator by BuiltinOperator name; options are the keyword arguments of its options
        builder below (e.g. padding="SAME", stride=(2, 2), fused_activation="RELU6").
        An input index of -1 is an omitted optional input."""
        if op not in _OPTION_BUILDERS:
            raise ValueError(f"the test builder does not know {op}")
        self.ops.append(_Op(op, list(inputs), list(outputs), options))

    def add_unary(self, op: str, x: int, out_q: Quant | None, out_dtype: str = "int8", **options) -> int:
        """An operator whose output has the input's shape; returns the output tensor."""
        scale, zero_point = out_q if out_q is not None else (None, None)
        y = self.add_tensor(self.spec(x).shape, out_dtype, scale, zero_point)
        self.add_op(op, [x], [y], **options)
        return y

    # --- layers that make their own weights ----------------------------------------------------

    def _weight_scales(self, weight_scales, channels: int) -> list[float]:
        if weight_scales is None:  # per-channel, spread over a decade like real models
            return list(self.rng.uniform(0.002, 0.02, channels))
        return _as_list(weight_scales)

    def _weights(self, shape, scales: list[float], axis: int, weight_max: int) -> int:
        data = self.rng.integers(-weight_max, weight_max + 1, size=shape, dtype=np.int8)
        return self.add_tensor(shape, "int8", scales, [0] * len(scales), data=data, quantized_dimension=axis)

    def _bias(self, x: int, weight_scales: list[float], channels: int, bias_max: int | None) -> int:
        if bias_max is None:
            return -1
        in_scale = self.spec(x).q[0]
        scales = [in_scale * s for s in weight_scales]
        data = self.rng.integers(-bias_max, bias_max + 1, size=channels, dtype=np.int32)
        return self.add_tensor((channels,), "int32", scales, [0] * len(scales), data=data)

    def conv2d(
        self,
        x: int,
        out_channels: int,
        kernel: tuple[int, int],
        out_q: Quant,
        *,
        stride: tuple[int, int] = (1, 1),
        dilation: tuple[int, int] = (1, 1),
        padding: str = "SAME",
        fused_activation: str = "NONE",
        weight_scales: float | Sequence[float] | None = None,
        weight_max: int = 127,
        bias_max: int | None = 2000,
    ) -> int:
        """CONV_2D with weights [O, KH, KW, I] quantized along dim 0. weight_scales: a float for
        per-tensor, a list (one per output channel) or None (random) for per-channel;
        bias_max=None omits the bias."""
        n, h, w, c = self.spec(x).shape
        scales = self._weight_scales(weight_scales, out_channels)
        weights = self._weights((out_channels, *kernel, c), scales, 0, weight_max)
        bias = self._bias(x, scales, out_channels, bias_max)
        out_shape = (
            n,
            conv_output_size(h, kernel[0], stride[0], dilation[0], padding),
            conv_output_size(w, kernel[1], stride[1], dilation[1], padding),
            out_channels,
        )
        y = self.add_tensor(out_shape, "int8", *out_q)
        self.add_op(
            "CONV_2D", [x, weights, bias], [y],
            padding=padding, stride=stride, dilation=dilation, fused_activation=fused_activation,
        )
        return y

    def depthwise_conv2d(
        self,
        x: int,
        kernel: tuple[int, int],
        out_q: Quant,
        *,
        depth_multiplier: int = 1,
        stride: tuple[int, int] = (1, 1),
        dilation: tuple[int, int] = (1, 1),
        padding: str = "SAME",
        fused_activation: str = "NONE",
        weight_scales: float | Sequence[float] | None = None,
        weight_max: int = 127,
        bias_max: int | None = 2000,
    ) -> int:
        """DEPTHWISE_CONV_2D with weights [1, KH, KW, C * depth_multiplier] quantized along dim 3;
        bias_max=None omits the bias."""
        n, h, w, c = self.spec(x).shape
        out_channels = c * depth_multiplier
        scales = self._weight_scales(weight_scales, out_channels)
        weights = self._weights((1, *kernel, out_channels), scales, 3, weight_max)
        bias = self._bias(x, scales, out_channels, bias_max)
        out_shape = (
            n,
            conv_output_size(h, kernel[0], stride[0], dilation[0], padding),
            conv_output_size(w, kernel[1], stride[1], dilation[1], padding),
            out_channels,
        )
        y = self.add_tensor(out_shape, "int8", *out_q)
        # Without a bias the input list is cut short rather than given a -1 entry (as CONV_2D
        # and FULLY_CONNECTED get here): TFLM's int8 DEPTHWISE_CONV_2D segfaults on a -1 bias.
        inputs = [x, weights] if bias < 0 else [x, weights, bias]
        self.add_op(
            "DEPTHWISE_CONV_2D", inputs, [y],
            padding=padding, stride=stride, dilation=dilation,
            depth_multiplier=depth_multiplier, fused_activation=fused_activation,
        )
        return y

    def fully_connected(
        self,
        x: int,
        units: int,
        out_q: Quant,
        *,
        fused_activation: str = "NONE",
        weight_scales: float | Sequence[float] | None = None,
        weight_max: int = 127,
        bias_max: int | None = 2000,
        in_features: int | None = None,
    ) -> int:
        """FULLY_CONNECTED (keep_num_dims false) with weights [units, in_features] quantized
        along dim 0; TFLite flattens the input to [size / in_features, in_features], and
        in_features defaults to the input's last dimension."""
        shape = self.spec(x).shape
        depth = in_features or shape[-1]
        batch = math.prod(shape) // depth
        scales = self._weight_scales(weight_scales, units)
        weights = self._weights((units, depth), scales, 0, weight_max)
        bias = self._bias(x, scales, units, bias_max)
        y = self.add_tensor((batch, units), "int8", *out_q)
        self.add_op("FULLY_CONNECTED", [x, weights, bias], [y], fused_activation=fused_activation)
        return y

    def pool2d(
        self,
        op: str,
        x: int,
        filter_size: tuple[int, int],
        out_q: Quant,
        *,
        stride: tuple[int, int] = (1, 1),
        padding: str = "VALID",
        fused_activation: str = "NONE",
    ) -> int:
        """AVERAGE_POOL_2D or MAX_POOL_2D."""
        n, h, w, c = self.spec(x).shape
        out_shape = (
            n,
            conv_output_size(h, filter_size[0], stride[0], 1, padding),
            conv_output_size(w, filter_size[1], stride[1], 1, padding),
            c,
        )
        y = self.add_tensor(out_shape, "int8", *out_q)
        self.add_op(
            op, [x], [y], padding=padding, stride=stride, filter_size=filter_size, fused_activation=fused_activation
        )
        return y

    def reshape(self, x: int, new_shape: Sequence[int], *, shape_input: bool = True, in_options: bool = True) -> int:
        """RESHAPE keeping the quantization; the target shape as an int32 input tensor and/or
        in ReshapeOptions.new_shape (converters write both)."""
        spec = self.spec(x)
        y = self.add_tensor(new_shape, spec.dtype, spec.scales, spec.zero_points)
        inputs = [x, self.add_const(np.array(new_shape, np.int32))] if shape_input else [x]
        options = {"new_shape": list(new_shape)} if in_options else {}
        self.add_op("RESHAPE", inputs, [y], **options)
        return y

    # --- serialization -------------------------------------------------------------------------

    def build(self) -> bytes:
        if not self.inputs or not self.outputs:
            raise ValueError("mark the subgraph's inputs and outputs before build()")
        fb = flatbuffers.Builder(1024)

        # Buffer 0 is the empty sentinel that every non-constant tensor points at.
        buffer_data = [None] + [t.data for t in self.tensors if t.data is not None]
        buffers = [_buffer(fb, data) for data in buffer_data]
        tensors, next_buffer = [], 1
        for t in self.tensors:
            buffer_index = 0
            if t.data is not None:
                buffer_index, next_buffer = next_buffer, next_buffer + 1
            tensors.append(_tensor(fb, t, buffer_index))

        op_names = list(dict.fromkeys(op.name for op in self.ops))
        operators = [_operator(fb, op, op_names.index(op.name)) for op in self.ops]
        opcodes = [_opcode(fb, name) for name in op_names]

        name = fb.CreateString("main")
        tensor_vec = _offsets(fb, tflite.SubGraphStartTensorsVector, tensors)
        inputs_vec = _int32s(fb, tflite.SubGraphStartInputsVector, self.inputs)
        outputs_vec = _int32s(fb, tflite.SubGraphStartOutputsVector, self.outputs)
        ops_vec = _offsets(fb, tflite.SubGraphStartOperatorsVector, operators)
        tflite.SubGraphStart(fb)
        tflite.SubGraphAddTensors(fb, tensor_vec)
        tflite.SubGraphAddInputs(fb, inputs_vec)
        tflite.SubGraphAddOutputs(fb, outputs_vec)
        tflite.SubGraphAddOperators(fb, ops_vec)
        tflite.SubGraphAddName(fb, name)
        subgraph = tflite.SubGraphEnd(fb)

        description = fb.CreateString("rvtvm test model")
        subgraphs_vec = _offsets(fb, tflite.ModelStartSubgraphsVector, [subgraph])
        opcodes_vec = _offsets(fb, tflite.ModelStartOperatorCodesVector, opcodes)
        buffers_vec = _offsets(fb, tflite.ModelStartBuffersVector, buffers)
        tflite.ModelStart(fb)
        tflite.ModelAddVersion(fb, 3)
        tflite.ModelAddOperatorCodes(fb, opcodes_vec)
        tflite.ModelAddSubgraphs(fb, subgraphs_vec)
        tflite.ModelAddDescription(fb, description)
        tflite.ModelAddBuffers(fb, buffers_vec)
        fb.Finish(tflite.ModelEnd(fb), file_identifier=b"TFL3")
        return bytes(fb.Output())


# --- flatbuffer pieces ---------------------------------------------------------------------------


def _offsets(fb, start_vector, offsets: list[int]) -> int:
    start_vector(fb, len(offsets))
    for off in reversed(offsets):  # flatbuffers are built back to front
        fb.PrependUOffsetTRelative(off)
    return fb.EndVector()


def _int32s(fb, start_vector, values) -> int:
    start_vector(fb, len(values))
    for v in reversed(list(values)):
        fb.PrependInt32(int(v))
    return fb.EndVector()


def _numbers(fb, values, dtype) -> int:
    return fb.CreateNumpyVector(np.asarray(values, dtype=dtype))


def _buffer(fb, data: bytes | None) -> int:
    data_vec = None
    if data:
        # 16-byte aligned so int32/float data can be read in place, as TFLite's converter does.
        fb.StartVector(1, len(data), 16)
        fb.head -= len(data)
        fb.Bytes[fb.head : fb.head + len(data)] = data
        data_vec = fb.EndVector()
    tflite.BufferStart(fb)
    if data_vec is not None:
        tflite.BufferAddData(fb, data_vec)
    return tflite.BufferEnd(fb)


def _tensor(fb, t: TensorSpec, buffer_index: int) -> int:
    quant = None
    if t.scales is not None:
        scale_vec = _numbers(fb, t.scales, np.float32)
        zp_vec = _numbers(fb, t.zero_points, np.int64)
        tflite.QuantizationParametersStart(fb)
        tflite.QuantizationParametersAddScale(fb, scale_vec)
        tflite.QuantizationParametersAddZeroPoint(fb, zp_vec)
        tflite.QuantizationParametersAddQuantizedDimension(fb, t.quantized_dimension)
        quant = tflite.QuantizationParametersEnd(fb)
    name = fb.CreateString(t.name)
    shape = _int32s(fb, tflite.TensorStartShapeVector, t.shape)
    tflite.TensorStart(fb)
    tflite.TensorAddShape(fb, shape)
    tflite.TensorAddType(fb, _DTYPES[t.dtype][0])
    tflite.TensorAddBuffer(fb, buffer_index)
    tflite.TensorAddName(fb, name)
    if quant is not None:
        tflite.TensorAddQuantization(fb, quant)
    return tflite.TensorEnd(fb)


def _opcode(fb, name: str) -> int:
    code = getattr(tflite.BuiltinOperator, name)
    tflite.OperatorCodeStart(fb)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(fb, min(code, 127))  # int8 field, 127 = "see builtin_code"
    tflite.OperatorCodeAddBuiltinCode(fb, code)
    tflite.OperatorCodeAddVersion(fb, 1)
    return tflite.OperatorCodeEnd(fb)


def _operator(fb, op: _Op, opcode_index: int) -> int:
    options_type, options = _OPTION_BUILDERS[op.name](fb, **op.options)
    inputs = _int32s(fb, tflite.OperatorStartInputsVector, op.inputs)
    outputs = _int32s(fb, tflite.OperatorStartOutputsVector, op.outputs)
    tflite.OperatorStart(fb)
    tflite.OperatorAddOpcodeIndex(fb, opcode_index)
    tflite.OperatorAddInputs(fb, inputs)
    tflite.OperatorAddOutputs(fb, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(fb, options_type)
        tflite.OperatorAddBuiltinOptions(fb, options)
    return tflite.OperatorEnd(fb)


# --- builtin options, one builder per operator; keyword arguments are the test-facing names ------

_OPT = tflite.BuiltinOptions


def _act(name: str) -> int:
    return getattr(tflite.ActivationFunctionType, name)


def _pad(name: str) -> int:
    return getattr(tflite.Padding, name)


def _conv_options(fb, padding="SAME", stride=(1, 1), dilation=(1, 1), fused_activation="NONE"):
    tflite.Conv2DOptionsStart(fb)
    tflite.Conv2DOptionsAddPadding(fb, _pad(padding))
    tflite.Conv2DOptionsAddStrideH(fb, stride[0])
    tflite.Conv2DOptionsAddStrideW(fb, stride[1])
    tflite.Conv2DOptionsAddDilationHFactor(fb, dilation[0])
    tflite.Conv2DOptionsAddDilationWFactor(fb, dilation[1])
    tflite.Conv2DOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    return _OPT.Conv2DOptions, tflite.Conv2DOptionsEnd(fb)


def _depthwise_options(fb, padding="SAME", stride=(1, 1), dilation=(1, 1), depth_multiplier=1, fused_activation="NONE"):
    tflite.DepthwiseConv2DOptionsStart(fb)
    tflite.DepthwiseConv2DOptionsAddPadding(fb, _pad(padding))
    tflite.DepthwiseConv2DOptionsAddStrideH(fb, stride[0])
    tflite.DepthwiseConv2DOptionsAddStrideW(fb, stride[1])
    tflite.DepthwiseConv2DOptionsAddDilationHFactor(fb, dilation[0])
    tflite.DepthwiseConv2DOptionsAddDilationWFactor(fb, dilation[1])
    tflite.DepthwiseConv2DOptionsAddDepthMultiplier(fb, depth_multiplier)
    tflite.DepthwiseConv2DOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    return _OPT.DepthwiseConv2DOptions, tflite.DepthwiseConv2DOptionsEnd(fb)


def _fully_connected_options(fb, fused_activation="NONE", keep_num_dims=False):
    tflite.FullyConnectedOptionsStart(fb)
    tflite.FullyConnectedOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    tflite.FullyConnectedOptionsAddKeepNumDims(fb, keep_num_dims)
    return _OPT.FullyConnectedOptions, tflite.FullyConnectedOptionsEnd(fb)


def _pool_options(fb, padding="VALID", stride=(1, 1), filter_size=(2, 2), fused_activation="NONE"):
    tflite.Pool2DOptionsStart(fb)
    tflite.Pool2DOptionsAddPadding(fb, _pad(padding))
    tflite.Pool2DOptionsAddStrideH(fb, stride[0])
    tflite.Pool2DOptionsAddStrideW(fb, stride[1])
    tflite.Pool2DOptionsAddFilterHeight(fb, filter_size[0])
    tflite.Pool2DOptionsAddFilterWidth(fb, filter_size[1])
    tflite.Pool2DOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    return _OPT.Pool2DOptions, tflite.Pool2DOptionsEnd(fb)


def _add_options(fb, fused_activation="NONE"):
    tflite.AddOptionsStart(fb)
    tflite.AddOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    return _OPT.AddOptions, tflite.AddOptionsEnd(fb)


def _mul_options(fb, fused_activation="NONE"):
    tflite.MulOptionsStart(fb)
    tflite.MulOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    return _OPT.MulOptions, tflite.MulOptionsEnd(fb)


def _reshape_options(fb, new_shape=None):
    if new_shape is None:
        return _OPT.NONE, None
    shape = _int32s(fb, tflite.ReshapeOptionsStartNewShapeVector, new_shape)
    tflite.ReshapeOptionsStart(fb)
    tflite.ReshapeOptionsAddNewShape(fb, shape)
    return _OPT.ReshapeOptions, tflite.ReshapeOptionsEnd(fb)


def _softmax_options(fb, beta=1.0):
    tflite.SoftmaxOptionsStart(fb)
    tflite.SoftmaxOptionsAddBeta(fb, beta)
    return _OPT.SoftmaxOptions, tflite.SoftmaxOptionsEnd(fb)


def _concatenation_options(fb, axis=-1, fused_activation="NONE"):
    tflite.ConcatenationOptionsStart(fb)
    tflite.ConcatenationOptionsAddAxis(fb, axis)
    tflite.ConcatenationOptionsAddFusedActivationFunction(fb, _act(fused_activation))
    return _OPT.ConcatenationOptions, tflite.ConcatenationOptionsEnd(fb)


def _reducer_options(fb, keep_dims=False):
    tflite.ReducerOptionsStart(fb)
    tflite.ReducerOptionsAddKeepDims(fb, keep_dims)
    return _OPT.ReducerOptions, tflite.ReducerOptionsEnd(fb)


def _gather_options(fb, axis=0, batch_dims=0):
    tflite.GatherOptionsStart(fb)
    tflite.GatherOptionsAddAxis(fb, axis)
    tflite.GatherOptionsAddBatchDims(fb, batch_dims)
    return _OPT.GatherOptions, tflite.GatherOptionsEnd(fb)


def _arg_max_options(fb, output_type="int32"):
    tflite.ArgMaxOptionsStart(fb)
    tflite.ArgMaxOptionsAddOutputType(fb, _DTYPES[output_type][0])
    return _OPT.ArgMaxOptions, tflite.ArgMaxOptionsEnd(fb)


def _no_options(fb):
    return _OPT.NONE, None


_OPTION_BUILDERS = {
    "CONV_2D": _conv_options,
    "DEPTHWISE_CONV_2D": _depthwise_options,
    "FULLY_CONNECTED": _fully_connected_options,
    "ADD": _add_options,
    "MUL": _mul_options,
    "AVERAGE_POOL_2D": _pool_options,
    "MAX_POOL_2D": _pool_options,
    "RESHAPE": _reshape_options,
    "SOFTMAX": _softmax_options,
    "CONCATENATION": _concatenation_options,
    "MEAN": _reducer_options,
    "PAD": _no_options,
    "QUANTIZE": _no_options,
    "DEQUANTIZE": _no_options,
    "LOGISTIC": _no_options,
    # Not in rvtvm's operator set: for the unsupported-operator error tests.
    "GATHER": _gather_options,
    "ARG_MAX": _arg_max_options,
}


# --- one-operator models -------------------------------------------------------------------------


def _single(builder: ModelBuilder, y: int) -> bytes:
    builder.mark_output(y)
    return builder.build()


def conv2d_model(input_shape, in_q: Quant, out_channels: int, kernel, out_q: Quant, *, seed: int = 0, **conv) -> bytes:
    """A CONV_2D model; **conv are ModelBuilder.conv2d's keyword arguments."""
    m = ModelBuilder(seed)
    x = m.add_input(input_shape, q=in_q)
    return _single(m, m.conv2d(x, out_channels, kernel, out_q, **conv))


def depthwise_model(input_shape, in_q: Quant, kernel, out_q: Quant, *, seed: int = 0, **dw) -> bytes:
    m = ModelBuilder(seed)
    x = m.add_input(input_shape, q=in_q)
    return _single(m, m.depthwise_conv2d(x, kernel, out_q, **dw))


def fully_connected_model(input_shape, in_q: Quant, units: int, out_q: Quant, *, seed: int = 0, **fc) -> bytes:
    m = ModelBuilder(seed)
    x = m.add_input(input_shape, q=in_q)
    return _single(m, m.fully_connected(x, units, out_q, **fc))


def pool_model(op: str, input_shape, q: Quant, filter_size, *, out_q: Quant | None = None, **pool) -> bytes:
    """AVERAGE_POOL_2D / MAX_POOL_2D; TFLM wants the output quantized like the input (the default)."""
    m = ModelBuilder()
    x = m.add_input(input_shape, q=q)
    return _single(m, m.pool2d(op, x, filter_size, out_q or q, **pool))


def binary_model(op: str, shape_a, q_a: Quant, shape_b, q_b: Quant, out_q: Quant, *, fused_activation="NONE") -> bytes:
    """ADD or MUL of two inputs, numpy-broadcast to the output shape."""
    m = ModelBuilder()
    a = m.add_input(shape_a, q=q_a)
    b = m.add_input(shape_b, q=q_b)
    y = m.add_tensor(np.broadcast_shapes(tuple(shape_a), tuple(shape_b)), "int8", *out_q)
    m.add_op(op, [a, b], [y], fused_activation=fused_activation)
    return _single(m, y)


def softmax_model(input_shape, in_q: Quant, *, beta: float = 1.0) -> bytes:
    m = ModelBuilder()
    x = m.add_input(input_shape, q=in_q)
    return _single(m, m.add_unary("SOFTMAX", x, SOFTMAX_OUTPUT_Q, beta=beta))


def logistic_model(input_shape, in_q: Quant) -> bytes:
    m = ModelBuilder()
    x = m.add_input(input_shape, q=in_q)
    return _single(m, m.add_unary("LOGISTIC", x, LOGISTIC_OUTPUT_Q))


def quantize_model(input_shape, out_q: Quant) -> bytes:
    """QUANTIZE float32 -> int8."""
    m = ModelBuilder()
    x = m.add_input(input_shape, "float32")
    return _single(m, m.add_unary("QUANTIZE", x, out_q))


def dequantize_model(input_shape, in_q: Quant) -> bytes:
    """DEQUANTIZE int8 -> float32."""
    m = ModelBuilder()
    x = m.add_input(input_shape, q=in_q)
    return _single(m, m.add_unary("DEQUANTIZE", x, None, out_dtype="float32"))


def mean_model(input_shape, in_q: Quant, axes, out_q: Quant, *, keep_dims: bool) -> bytes:
    m = ModelBuilder()
    x = m.add_input(input_shape, q=in_q)
    axes_t = m.add_const(np.array(axes, np.int32))
    rank = len(input_shape)
    reduced = {a % rank for a in axes}
    out_shape = [1 if i in reduced else d for i, d in enumerate(input_shape) if keep_dims or i not in reduced]
    y = m.add_tensor(out_shape, "int8", *out_q)
    m.add_op("MEAN", [x, axes_t], [y], keep_dims=keep_dims)
    return _single(m, y)


def pad_model(input_shape, q: Quant, paddings) -> bytes:
    """PAD with an int32 [rank, 2] paddings tensor; int8 padding takes the zero point's value."""
    m = ModelBuilder()
    x = m.add_input(input_shape, q=q)
    pads = np.array(paddings, np.int32)
    out_shape = [d + int(p.sum()) for d, p in zip(input_shape, pads)]
    y = m.add_tensor(out_shape, "int8", *q)
    m.add_op("PAD", [x, m.add_const(pads)], [y])
    return _single(m, y)


def concat_model(shapes, in_qs: Sequence[Quant], out_q: Quant, *, axis: int) -> bytes:
    m = ModelBuilder()
    xs = [m.add_input(shape, q=q) for shape, q in zip(shapes, in_qs)]
    out_shape = list(shapes[0])
    out_shape[axis] = sum(s[axis] for s in shapes)
    y = m.add_tensor(out_shape, "int8", *out_q)
    m.add_op("CONCATENATION", xs, [y], axis=axis)
    return _single(m, y)


def reshape_model(input_shape, q: Quant, new_shape, *, shape_input: bool = True, in_options: bool = True) -> bytes:
    m = ModelBuilder()
    x = m.add_input(input_shape, q=q)
    return _single(m, m.reshape(x, new_shape, shape_input=shape_input, in_options=in_options))
