"""rvtvm's own accelerator (rtl/accel, driven through accel_driver/include/rvtvm/accel.h): the
target "rvtvm" and its entries for the units the TFLite importer emits,

    [nn.pad(x, zero point)] -> nn.conv2d (NHWC, HWIO) | matmul -> call_tir(requantize, bias[, mult, shift])

as convolution, depthwise convolution (groups = channels, multiplier 1) and fully connected,
and the importer's int8 ADD kernel (`call_tir(add_int8, a, b)`) of two same-shape tensors as an
add pass.

Marshalling. The importer folds the input zero point into the bias and pads with it, so the sum
is a plain int8 dot product. The driver instead pads natively (padded taps add nothing) and
takes -zero point as input_offset: with a pad, the call gets pad_top/pad_left, input_offset =
-pad value and the bias unfolded again (bias + zp * sum(w), TFLite's own bias); without one,
input_offset = 0 and the folded bias give the same int32 sums. Weights are repacked for the
array (layout.py) and the bias, multipliers and shifts become per-channel params, all at
compile time.
"""

from __future__ import annotations

import numpy as np
from tvm.relax.dpl import GlobalVarPattern, TuplePattern, is_const, is_op, wildcard

from . import layout
from .registry import OUTPUT, AccelEntry, AccelTarget, ExternCall, Match, register, register_target

TARGET = "rvtvm"

# The hardware rvtvm_soc instantiates: rtl/accel/rvtvm_accel.v's parameter defaults (a test
# keeps these equal). The driver reads the real sizes from the ID registers at run time.
ROWS, COLS = layout.ROWS, layout.COLS
IN_SPAD_BYTES = W_SPAD_BYTES = OUT_SPAD_BYTES = 65536
PARAM_CHANNELS = 512


def _unit_pattern(acc_op: str):
    """(pattern, annotations) for `[pad] -> acc_op -> call_tir(requantize, bias[, mult, shift])`;
    only a convolution takes the pad."""
    x, weights = wildcard(), is_const()
    pad = is_op("relax.nn.pad")(x)
    acc = is_op(acc_op)(pad | x if acc_op == "relax.nn.conv2d" else x, weights)
    bias, mult, shift = is_const(), is_const(), is_const()
    args = TuplePattern([acc, bias]) | TuplePattern([acc, bias, mult, shift])
    root = is_op("relax.call_tir")(GlobalVarPattern(), args)
    names = {"input": x, "weights": weights, "acc": acc, "bias": bias, "mult": mult, "shift": shift, "root": root}
    if acc_op == "relax.nn.conv2d":
        names["pad"] = pad
    return root, names


# --- shared checks -----------------------------------------------------------------------------


def _ints(values) -> list[int]:
    return [int(v) for v in values]


def _requantization(m: Match) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict] | None:
    """bias, multipliers and shifts per output channel, and the scalars, or None if the
    requantize kernel is not the importer's (its parameters are unknown)."""
    p = m.params()
    if not {"output_offset", "act_min", "act_max"} <= p.keys():
        return None
    bias = m.const("bias").astype(np.int64).reshape(-1)
    if "mult" in m:
        mult, shift = m.const("mult").reshape(-1), m.const("shift").reshape(-1)
    elif {"multiplier", "shift"} <= p.keys():
        mult, shift = np.full(bias.shape, p["multiplier"]), np.full(bias.shape, p["shift"])
    else:
        return None
    return bias, mult.astype(np.int64), shift.astype(np.int64), p


def _common_reasons(m: Match) -> list[str]:
    reasons = []
    if m.dtype("input") != "int8" or m.dtype("weights") != "int8":
        reasons.append(f"operands are {m.dtype('input')} x {m.dtype('weights')}, the array multiplies int8 x int8")
    if m.dtype() != "int8":
        reasons.append(f"the output is {m.dtype()}, the requantizer writes int8")
    rq = _requantization(m)
    if rq is None:
        reasons.append("the requantization is not rvtvm's TFLite importer's (its parameters are unknown)")
    else:
        _, _, shift, p = rq
        if shift.size and (shift.min() < -31 or shift.max() > 31):
            reasons.append(f"a requantization shift of {int(shift[np.abs(shift).argmax()])} is outside [-31, 31]")
        if not -128 <= p["act_min"] <= p["act_max"] <= 127 or not -128 <= p["output_offset"] <= 127:
            reasons.append("the output offset or activation range is not within int8")
    return reasons


def _fit_reasons(kernel_h: int, kernel_w: int, depth: int, taps_per_group: int) -> list[str]:
    """What the driver would refuse as TOO_LARGE: one group of COLS channels' packed weights,
    or one output pixel's input window, larger than its scratchpad."""
    reasons = []
    group_weights = taps_per_group * ROWS * COLS
    if group_weights > W_SPAD_BYTES:
        reasons.append(f"{group_weights} B of packed weights per {COLS} channels exceed the {W_SPAD_BYTES} B weight scratchpad")
    if kernel_h * kernel_w * depth > IN_SPAD_BYTES:
        reasons.append(f"a {kernel_h}x{kernel_w}x{depth} input window exceeds the {IN_SPAD_BYTES} B input scratchpad")
    return reasons


def _conv_geometry(m: Match):
    """(strides, pad_top, pad_left, input_offset) of a matched conv2d, padding resolved."""
    attrs = m["acc"].attrs
    strides = _ints(attrs.strides)
    if "pad" not in m:
        return strides, 0, 0, 0
    width = _ints(m["pad"].attrs.pad_width)
    return strides, width[2], width[4], -int(float(m["pad"].attrs.pad_value))


def _conv_reasons(m: Match, depthwise: bool) -> list[str]:
    reasons = _common_reasons(m)
    attrs = m["acc"].attrs
    if (attrs.data_layout, attrs.kernel_layout, attrs.out_layout) != ("NHWC", "HWIO", "NHWC"):
        return reasons + [f"layouts {attrs.data_layout}/{attrs.kernel_layout}/{attrs.out_layout}, the driver takes NHWC/HWIO/NHWC"]
    n, in_h, in_w, in_c = m.shape("input")
    kh, kw, w_in, w_out = m.shape("weights")
    groups = int(attrs.groups)
    if n != 1:
        reasons.append(f"batch {n}, the driver takes one image")
    if _ints(attrs.dilation) != [1, 1]:
        reasons.append(f"dilation {_ints(attrs.dilation)}, the array steps through dense windows only")
    if depthwise:
        if groups != in_c or w_in != 1 or w_out != in_c:
            return reasons + [f"not depthwise with multiplier 1 (groups {groups}, {in_c} -> {w_out} channels)"]
        if ROWS != COLS:
            reasons.append("depthwise needs a square array")
    elif groups != 1:
        return reasons + [f"grouped convolution (groups {groups})"]
    if "pad" in m:
        width = _ints(m["pad"].attrs.pad_width)
        value = float(m["pad"].attrs.pad_value)
        if width[0:2] != [0, 0] or width[6:8] != [0, 0]:
            reasons.append(f"padding {width} pads the batch or channel axis")
        if not (value.is_integer() and -128 <= value <= 127):
            reasons.append(f"pad value {value} is not an int8 (the driver pads with -input_offset)")
        if not (width[2] < kh and width[3] < kh and width[4] < kw and width[5] < kw):
            reasons.append(f"padding {width[2:6]} reaches a whole {kh}x{kw} kernel past the input")
    taps = kh * kw if depthwise else kh * -(-(kw * in_c) // ROWS)
    return reasons + _fit_reasons(kh, kw, 1 if depthwise else in_c, taps)


def _unfolded_bias(bias: np.ndarray, weight_sums: np.ndarray, input_offset: int) -> np.ndarray:
    return bias - input_offset * weight_sums.astype(np.int64)  # bias + zp * sum(w)


# --- the entries --------------------------------------------------------------------------------


def _lower_conv(m: Match) -> ExternCall:
    bias, mult, shift, p = _requantization(m)
    strides, pad_top, pad_left, input_offset = _conv_geometry(m)
    hwio = m.const("weights")
    ohwi = np.ascontiguousarray(hwio.transpose(3, 0, 1, 2))
    params = layout.channel_params(_unfolded_bias(bias, ohwi.sum(axis=(1, 2, 3), dtype=np.int64), input_offset), mult, shift)
    _, in_h, in_w, in_c = m.shape("input")
    _, out_h, out_w, out_c = m.shape()
    kh, kw = hwio.shape[:2]
    return ExternCall("rvtvm_accel_conv2d_s8", [
        m["input"], in_h, in_w, in_c, layout.conv2d_weights(ohwi), params, OUTPUT, out_h, out_w, out_c,
        kh, kw, strides[0], strides[1], pad_top, pad_left, input_offset, p["output_offset"], p["act_min"], p["act_max"]])


def _lower_depthwise(m: Match) -> ExternCall:
    bias, mult, shift, p = _requantization(m)
    strides, pad_top, pad_left, input_offset = _conv_geometry(m)
    hwio = m.const("weights")
    hwc = np.ascontiguousarray(hwio.reshape(hwio.shape[0], hwio.shape[1], hwio.shape[3]))
    params = layout.channel_params(_unfolded_bias(bias, hwc.sum(axis=(0, 1), dtype=np.int64), input_offset), mult, shift)
    _, in_h, in_w, channels = m.shape("input")
    _, out_h, out_w, _ = m.shape()
    kh, kw = hwc.shape[:2]
    return ExternCall("rvtvm_accel_depthwise_conv2d_s8", [
        m["input"], in_h, in_w, channels, layout.depthwise_conv2d_weights(hwc), params, OUTPUT, out_h, out_w,
        kh, kw, strides[0], strides[1], pad_top, pad_left, input_offset, p["output_offset"], p["act_min"], p["act_max"]])


def _fc_reasons(m: Match) -> list[str]:
    reasons = _common_reasons(m)
    if len(m.shape("input")) != 2 or len(m.shape("weights")) != 2:
        return reasons + [f"matmul of {len(m.shape('input'))}-D by {len(m.shape('weights'))}-D, the driver takes 2-D x 2-D"]
    k = m.shape("input")[1]
    return reasons + _fit_reasons(1, 1, k, -(-k // ROWS))


def _lower_fc(m: Match) -> ExternCall:
    bias, mult, shift, p = _requantization(m)
    rows, in_features = m.shape("input")
    nk = np.ascontiguousarray(m.const("weights").T)  # the importer's [K, N] back to TFLite's [N, K]
    return ExternCall("rvtvm_accel_fully_connected_s8", [
        m["input"], rows, in_features, layout.fully_connected_weights(nk), layout.channel_params(bias, mult, shift),
        OUTPUT, nk.shape[0], 0, p["output_offset"], p["act_min"], p["act_max"]])


def _add_reasons(m: Match) -> list[str]:
    reasons = []
    if not m.shape("a") == m.shape("b") == m.shape():
        reasons.append(f"broadcasting {m.shape('a')} + {m.shape('b')}: the add pass takes two same-shape tensors")
    if (m.dtype("a"), m.dtype("b"), m.dtype()) != ("int8", "int8", "int8"):
        reasons.append(f"{m.dtype('a')} + {m.dtype('b')} -> {m.dtype()}, the add pass is int8")
    p = m.params()
    if not _ADD_PARAMS <= p.keys():
        return reasons + ["the ADD is not rvtvm's TFLite importer's (its parameters are unknown)"]
    if not (-256 <= p["input1_offset"] <= 255 and -256 <= p["input2_offset"] <= 255 and 0 <= p["left_shift"] <= 20):
        reasons.append("an input offset or the left shift is out of the add pass's range")
    if any(not -31 <= p[k] <= 31 for k in ("input1_shift", "input2_shift", "output_shift")):
        reasons.append("a shift is outside [-31, 31]")
    return reasons


_ADD_PARAMS = {"input1_offset", "input1_multiplier", "input1_shift", "input2_offset", "input2_multiplier",
               "input2_shift", "left_shift", "output_multiplier", "output_shift", "output_offset", "act_min", "act_max"}


def _lower_add(m: Match) -> ExternCall:
    p = m.params()
    return ExternCall("rvtvm_accel_add_s8", [
        m["a"], m["b"], OUTPUT, m.size(), p["input1_offset"], p["input1_multiplier"], p["input1_shift"],
        p["input2_offset"], p["input2_multiplier"], p["input2_shift"], p["left_shift"], p["output_multiplier"],
        p["output_shift"], p["output_offset"], p["act_min"], p["act_max"]])


register_target(AccelTarget(TARGET, "rvtvm's int8 accelerator (rtl/accel; accel_driver/)", project_driver=True))

for _name, _acc, _predicate, _lower in (
    ("conv2d", "relax.nn.conv2d", lambda m: _conv_reasons(m, depthwise=False), _lower_conv),
    ("depthwise_conv2d", "relax.nn.conv2d", lambda m: _conv_reasons(m, depthwise=True), _lower_depthwise),
    ("fully_connected", "relax.matmul", _fc_reasons, _lower_fc),
):
    _root, _names = _unit_pattern(_acc)
    register(AccelEntry(TARGET, _name, _root, _names, _predicate, _lower, kernels={"root": "requantize"}))

_a, _b = wildcard(), wildcard()
_add = is_op("relax.call_tir")(GlobalVarPattern(), TuplePattern([_a, _b]))
register(AccelEntry(TARGET, "add", _add, {"a": _a, "b": _b, "root": _add}, _add_reasons, _lower_add,
                    kernels={"root": "add_int8"}))
