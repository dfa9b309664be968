"""numpy model of TFLite Micro's int8 integer math for the accelerator's operators.

This is the independent reference the RTL, the driver's software backend and its MMIO backend are
all checked against. It works on plain (unpacked) TFLite layouts: NHWC activations without the
batch axis, OHWI convolution weights, HWC depthwise weights (multiplier 1), NK fully-connected
weights, and per-output-channel bias, multiplier and shift. Arithmetic is int64 with explicit
int32 wrapping where TFLM's int32 arithmetic would wrap.
"""

from __future__ import annotations

import numpy as np

INT32_MAX = 2**31 - 1


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement int32 wrap of int64 values."""
    return ((np.asarray(x, dtype=np.int64) + 2**31) % 2**32) - 2**31


def requantize(acc: np.ndarray, bias, multiplier, shift, output_offset: int, act_min: int, act_max: int) -> np.ndarray:
    """acc (int64, channels on the last axis) -> int8, as TFLM's per-channel requantization:
    MultiplyByQuantizedMultiplier(acc + bias, multiplier, shift) + output_offset, clamped."""
    z = rescale(np.asarray(acc, dtype=np.int64) + np.asarray(bias, dtype=np.int64), multiplier, shift)
    return np.clip(z + output_offset, act_min, act_max).astype(np.int8)


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int],
             out_hw: tuple[int, int], fill: int) -> np.ndarray:
    """[OH, OW, KH, KW, C] views of x [H, W, C] padded with `fill`."""
    (kh, kw), (sh, sw), (pt, pl), (oh, ow) = kernel, stride, pad, out_hw
    h, w, c = x.shape
    need_h, need_w = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    padded = np.full((max(need_h, pt + h), max(need_w, pl + w), c), fill, dtype=np.int64)
    padded[pt:pt + h, pl:pl + w] = x
    out = np.empty((oh, ow, kh, kw, c), dtype=np.int64)
    for oy in range(oh):
        for ox in range(ow):
            out[oy, ox] = padded[oy * sh:oy * sh + kh, ox * sw:ox * sw + kw]
    return out


def conv2d(x: np.ndarray, weights: np.ndarray, bias, multiplier, shift, *, stride=(1, 1), pad=(0, 0),
           out_hw: tuple[int, int], input_offset: int, output_offset: int, act_min: int = -128,
           act_max: int = 127) -> np.ndarray:
    """x [H, W, C] int8, weights [OC, KH, KW, C] int8 -> [OH, OW, OC] int8. Padded taps
    contribute nothing (they hold -input_offset, so in + input_offset = 0)."""
    oc, kh, kw, c = weights.shape
    win = _windows(x, (kh, kw), stride, pad, out_hw, -input_offset) + input_offset
    acc = np.einsum("yxhwc,ohwc->yxo", win, weights.astype(np.int64))
    return requantize(acc, bias, multiplier, shift, output_offset, act_min, act_max)


def depthwise_conv2d(x: np.ndarray, weights: np.ndarray, bias, multiplier, shift, *, stride=(1, 1), pad=(0, 0),
                     out_hw: tuple[int, int], input_offset: int, output_offset: int, act_min: int = -128,
                     act_max: int = 127) -> np.ndarray:
    """x [H, W, C] int8, weights [KH, KW, C] int8 (depth multiplier 1) -> [OH, OW, C] int8."""
    kh, kw, _ = weights.shape
    win = _windows(x, (kh, kw), stride, pad, out_hw, -input_offset) + input_offset
    acc = np.einsum("yxhwc,hwc->yxc", win, weights.astype(np.int64))
    return requantize(acc, bias, multiplier, shift, output_offset, act_min, act_max)


def fully_connected(x: np.ndarray, weights: np.ndarray, bias, multiplier, shift, *, input_offset: int,
                    output_offset: int, act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """x [M, K] int8, weights [N, K] int8 -> [M, N] int8."""
    acc = (x.astype(np.int64) + input_offset) @ weights.astype(np.int64).T
    return requantize(acc, bias, multiplier, shift, output_offset, act_min, act_max)


def rescale(x, multiplier, shift) -> np.ndarray:
    """TFLM's MultiplyByQuantizedMultiplier of int32 values (int32 wrapping of x first);
    multiplier and shift are scalars or broadcast along x's last axis."""
    multiplier, shift = np.asarray(multiplier, dtype=np.int64), np.asarray(shift, dtype=np.int64)
    x = wrap_int32(x)
    x = np.where(shift > 0, wrap_int32(x << np.maximum(shift, 0)), x)
    y = np.minimum((x * multiplier + (1 << 30)) >> 31, INT32_MAX)
    exponent = np.maximum(-shift, 0)
    mask = (np.int64(1) << exponent) - 1
    return (y >> exponent) + ((y & mask) > ((mask >> 1) + (y < 0)))


def add(a: np.ndarray, b: np.ndarray, *, a_offset: int, a_multiplier: int, a_shift: int, b_offset: int,
        b_multiplier: int, b_shift: int, left_shift: int, out_multiplier: int, out_shift: int,
        output_offset: int, act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """reference_integer_ops::Add, elementwise over same-shape int8 a and b (the add pass)."""
    xa = (np.asarray(a, dtype=np.int64) + a_offset) << left_shift
    xb = (np.asarray(b, dtype=np.int64) + b_offset) << left_shift
    total = rescale(xa, a_multiplier, a_shift) + rescale(xb, b_multiplier, b_shift)
    out = rescale(total, out_multiplier, out_shift) + output_offset
    return np.clip(out, act_min, act_max).astype(np.int8)
