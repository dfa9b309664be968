"""The convolution, depthwise and fully-connected layers of a TFLite model, as accelerator shapes.

The benchmark runs every such layer of the MLPerf Tiny models on the accelerator; each shape here
carries exactly what the driver's API takes (rvtvm/accel.h), padding resolved to top/left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tflite

from ..tflite.reader import read_tflite


@dataclass(frozen=True)
class LayerShape:
    """One operator. `kind` is conv2d, depthwise_conv2d or fully_connected; a fully-connected
    layer of `rows` x `in_c` inputs is stored as in_h = out_h = rows, in_w = out_w = 1, 1x1."""

    name: str
    kind: str
    in_h: int
    in_w: int
    in_c: int
    out_h: int
    out_w: int
    out_c: int
    kernel_h: int = 1
    kernel_w: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_top: int = 0
    pad_left: int = 0

    @property
    def macs(self) -> int:
        taps = self.kernel_h * self.kernel_w * (1 if self.kind == "depthwise_conv2d" else self.in_c)
        return self.out_h * self.out_w * self.out_c * taps

    def describe(self) -> str:
        if self.kind == "fully_connected":
            return f"fc {self.in_h}x{self.in_c} -> {self.out_c}"
        k = "dw" if self.kind == "depthwise_conv2d" else "conv"
        return (f"{k} {self.kernel_h}x{self.kernel_w}/{self.stride_h} {self.in_h}x{self.in_w}x{self.in_c}"
                f" -> {self.out_h}x{self.out_w}x{self.out_c}")


def gemm(m: int, k: int, n: int) -> LayerShape:
    """An M x K by K x N matrix product, run as a fully-connected layer of M rows."""
    return LayerShape(f"gemm {m}x{k}x{n}", "fully_connected", m, 1, k, m, 1, n)


def _same_padding(size: int, kernel: int, stride: int, out: int) -> int:
    """TFLite's SAME padding puts the smaller half before."""
    return max((out - 1) * stride + kernel - size, 0) // 2


def model_layers(path: Path, prefix: str = "") -> list[LayerShape]:
    """Every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED of the model, in execution order."""
    graph = read_tflite(Path(path))
    layers = []
    for op in graph.operators:
        if op.opcode not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        x, w = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
        y = graph.tensors[op.outputs[0]]
        name = f"{prefix}{op.index}"
        if op.opcode == "FULLY_CONNECTED":
            out_c, in_c = w.shape
            rows = max(1, int(_product(x.shape)) // in_c)
            layers.append(LayerShape(name, "fully_connected", rows, 1, in_c, rows, 1, out_c))
            continue
        _, in_h, in_w, in_c = x.shape
        _, out_h, out_w, out_c = y.shape
        o = op.options
        stride_h, stride_w = o.StrideH(), o.StrideW()
        if o.DilationHFactor() != 1 or o.DilationWFactor() != 1:
            continue  # not a shape the accelerator takes
        kernel_h, kernel_w = (w.shape[1], w.shape[2])
        same = o.Padding() == tflite.Padding.SAME
        pad_top = _same_padding(in_h, kernel_h, stride_h, out_h) if same else 0
        pad_left = _same_padding(in_w, kernel_w, stride_w, out_w) if same else 0
        kind = "conv2d" if op.opcode == "CONV_2D" else "depthwise_conv2d"
        layers.append(LayerShape(name, kind, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w,
                                 stride_h, stride_w, pad_top, pad_left))
    return layers


def _product(shape) -> int:
    result = 1
    for d in shape:
        result *= int(d)
    return result
