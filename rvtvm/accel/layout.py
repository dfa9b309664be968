"""The accelerator's data layouts (rtl/README.md, "What it computes"), packed on the host.

Weights are packed at compile time into the words the array reads, one ROWS x COLS word per
step, byte i*COLS + j holding w[i][j] (reduction lane i, output lane j); output channels go in
groups of COLS, zero-padded. Per-channel parameters are 16-byte entries: bias, multiplier,
shift, 0 (int32, little endian). The driver's software backend reads the same layouts, so the
packers here and the C agree by construction of the tests that compare them.
"""

from __future__ import annotations

import numpy as np

ROWS = 8
COLS = 8


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def conv2d_weights(weights: np.ndarray, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    """OHWI int8 weights -> packed bytes. For a tap row, the KW*C bytes of the window are
    consecutive in NHWC, so they are split into ceil(KW*C / rows) steps of `rows` lanes."""
    oc, kh, kw, c = weights.shape
    groups, steps = _ceil_div(oc, cols), _ceil_div(kw * c, rows)
    flat = np.zeros((groups * cols, kh, steps * rows), dtype=np.int8)
    flat[:oc, :, :kw * c] = weights.reshape(oc, kh, kw * c)
    # [g, j, ty, tx, i] -> [g, ty, tx, i, j]
    packed = flat.reshape(groups, cols, kh, steps, rows).transpose(0, 2, 3, 4, 1)
    return np.ascontiguousarray(packed).reshape(-1)


def depthwise_conv2d_weights(weights: np.ndarray, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    """HWC int8 weights (depth multiplier 1) -> packed bytes: one diagonal word per tap and
    group of `cols` channels."""
    if rows != cols:
        raise ValueError("depthwise packing needs a square array (ROWS == COLS)")
    kh, kw, c = weights.shape
    groups = _ceil_div(c, cols)
    padded = np.zeros((kh, kw, groups * cols), dtype=np.int8)
    padded[:, :, :c] = weights
    packed = np.zeros((groups, kh, kw, rows, cols), dtype=np.int8)
    lanes = np.arange(cols)
    packed[:, :, :, lanes, lanes] = padded.reshape(kh, kw, groups, cols).transpose(2, 0, 1, 3)
    return packed.reshape(-1)


def fully_connected_weights(weights: np.ndarray, rows: int = ROWS, cols: int = COLS) -> np.ndarray:
    """NK int8 weights -> packed bytes: a 1x1 convolution over K channels."""
    n, k = weights.shape
    return conv2d_weights(weights.reshape(n, 1, 1, k), rows, cols)


def channel_params(bias, multiplier, shift) -> np.ndarray:
    """Per-channel (bias, multiplier, shift) -> [channels, 4] int32 entries."""
    bias, multiplier, shift = (np.asarray(a, dtype=np.int64).reshape(-1) for a in (bias, multiplier, shift))
    if shift.size and (shift.min() < -31 or shift.max() > 31):
        raise ValueError(f"a requantization shift of {int(shift[np.abs(shift).argmax()])} is outside [-31, 31]: "
                         "the accelerator cannot apply it")
    entries = np.zeros((bias.size, 4), dtype=np.int32)
    entries[:, 0], entries[:, 1], entries[:, 2] = bias, multiplier, shift
    return entries
