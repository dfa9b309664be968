"""The offload registry and Relax partitioning (rvtvm.accel), on the host: which operators each
entry's predicate takes, the reasons it gives for the others, priority between overlapping
entries, user-registered entries and targets, and what the lowering hands the driver.

Whether the offloaded operators compute the right thing is tested on the boards
(test_accel_e2e.py), against TFLite Micro."""

import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from tvm import relax

from rvtvm import compile_model
from rvtvm.accel import builtin, layout, registry
from rvtvm.accel.partition import partition
from rvtvm.errors import ModelError
from rvtvm.frontend import load_model

from .tflite_builder import ModelBuilder

REPO = Path(__file__).resolve().parent.parent
Q = (0.05, -3)


def tflite(tmp_path, build) -> Path:
    m = ModelBuilder(seed=1)
    build(m)
    path = tmp_path / "model.tflite"
    path.write_bytes(m.build())
    return path


def report_of(tmp_path, build, target="rvtvm"):
    _, report = partition(load_model(tflite(tmp_path, build)).mod, target)
    return report


def cpu_reasons(report) -> dict[str, list[str]]:
    return {item["op"]: [r for rs in item["reasons"].values() for r in rs] for item in report.cpu}


# --- the builtin target's predicates -----------------------------------------------------------


def test_every_supported_unit_is_offloaded(tmp_path):
    def build(m):
        x = m.add_input((1, 9, 7, 3), q=Q)
        c = m.conv2d(x, 8, (3, 3), Q, stride=(2, 2))  # SAME: padded
        d = m.depthwise_conv2d(c, (3, 3), Q, padding="VALID")
        p = m.conv2d(d, 5, (1, 1), Q, weight_scales=0.01)  # per-tensor
        m.mark_output(m.fully_connected(p, 4, Q))

    report = report_of(tmp_path, build)
    assert [(o["op"], o["entry"]) for o in report.offloaded] == [
        ("CONV_2D #0", "rvtvm.conv2d"), ("DEPTHWISE_CONV_2D #1", "rvtvm.depthwise_conv2d"),
        ("CONV_2D #2", "rvtvm.conv2d"), ("FULLY_CONNECTED #3", "rvtvm.fully_connected")]
    assert report.cpu == []


@pytest.mark.parametrize("case, op, reason", [
    ("dilation", "CONV_2D #0", "dilation [2, 2]"),
    ("depth multiplier", "DEPTHWISE_CONV_2D #0", "not depthwise with multiplier 1"),
    ("weights too large", "CONV_2D #0", "exceed the 65536 B weight scratchpad"),
    ("batch", "CONV_2D #0", "batch 2, the driver takes one image"),
])
def test_predicates_refuse_with_reasons(case, op, reason, tmp_path):
    def build(m):
        if case == "dilation":
            x = m.add_input((1, 8, 8, 4), q=Q)
            y = m.conv2d(x, 4, (3, 3), Q, dilation=(2, 2))
        elif case == "depth multiplier":
            x = m.add_input((1, 6, 6, 4), q=Q)
            y = m.depthwise_conv2d(x, (3, 3), Q, depth_multiplier=2)
        elif case == "weights too large":
            # 3 x ceil(3 * 2800 / 8) packed words of 64 B per group of 8 channels: 201,600 B
            x = m.add_input((1, 3, 3, 2800), q=Q)
            y = m.conv2d(x, 1, (3, 3), Q, padding="VALID", weight_max=1, bias_max=None)
        else:
            x = m.add_input((2, 5, 5, 3), q=Q)
            y = m.conv2d(x, 4, (3, 3), Q)
        m.mark_output(y)

    report = report_of(tmp_path, build)
    assert report.offloaded == []
    reasons = cpu_reasons(report)
    assert list(reasons) == [op]
    assert any(reason in r for r in reasons[op]), reasons


def test_a_mix_offloads_what_matches_and_says_why_not_for_the_rest(tmp_path):
    def build(m):
        x = m.add_input((1, 8, 8, 4), q=Q)
        a = m.conv2d(x, 8, (3, 3), Q)
        b = m.conv2d(a, 8, (3, 3), Q, dilation=(2, 2))
        c = m.depthwise_conv2d(b, (3, 3), Q)
        s = m.add_tensor((1, 8, 8, 8), "int8", *Q)
        m.add_op("ADD", [a, c], [s])
        pooled = m.pool2d("AVERAGE_POOL_2D", s, (8, 8), Q)
        m.mark_output(m.fully_connected(m.reshape(pooled, (1, 8)), 3, Q))

    report = report_of(tmp_path, build)
    assert [o["op"] for o in report.offloaded] == ["CONV_2D #0", "DEPTHWISE_CONV_2D #2", "ADD #3", "FULLY_CONNECTED #6"]
    reasons = {item["op"]: item["reasons"] for item in report.cpu}
    assert set(reasons) == {"CONV_2D #1", "AVERAGE_POOL_2D #4"}
    # Both entries whose pattern matched the dilated convolution say why they refused it.
    assert "dilation [2, 2]" in " ".join(reasons["CONV_2D #1"]["rvtvm.conv2d"])
    assert "not depthwise" in " ".join(reasons["CONV_2D #1"]["rvtvm.depthwise_conv2d"])
    assert reasons["AVERAGE_POOL_2D #4"] == {"": ["no rvtvm entry matches it"]}


def test_a_broadcasting_add_stays_on_the_cpu(tmp_path):
    def build(m):
        x = m.add_input((1, 4, 4, 8), q=Q)
        gains = m.add_const(m.rng.integers(-128, 128, (1, 1, 1, 8)), "int8", q=(0.02, 3))
        y = m.add_tensor((1, 4, 4, 8), "int8", *Q)
        m.add_op("ADD", [x, gains], [y])
        m.mark_output(y)

    report = report_of(tmp_path, build)
    assert report.offloaded == []
    [item] = report.cpu
    assert item["op"] == "ADD #0" and "broadcasting" in item["reasons"]["rvtvm.add"][0]


def test_the_lowered_model_calls_the_driver_with_marshalled_arguments(tmp_path):
    """A padded conv: the call gets TFLite's own bias back (input zero point unfolded),
    input_offset = -zero point, pad_top/left, and the weights packed for the array."""
    zp = -3

    def build(m):
        x = m.add_input((1, 5, 5, 2), q=(0.05, zp))
        m.mark_output(m.conv2d(x, 3, (3, 3), Q))

    path = tflite(tmp_path, build)
    mlf = compile_model(path, tmp_path / "m.tar", accel="rvtvm")
    with tarfile.open(mlf.path) as tar:
        lib = tar.extractfile("codegen/host/src/lib0.c").read().decode()
    call = re.search(r"int32_t status = rvtvm_accel_conv2d_s8\(([^;]*)\);", lib).group(1).split(", ")
    assert [int(a) for a in call[1:4] + call[7:]] == [5, 5, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, -zp, Q[1], -128, 127]
    assert mlf.metadata["accel"]["offloaded"][0]["step"] == 0
    # The constants the call reads: the weights packed for the array, TFLite's bias in the params.
    from rvtvm.tflite.reader import read_tflite

    g = read_tflite(path)
    w, bias = (g.tensors[i].data for i in g.operators[0].inputs[1:3])
    mod, _ = partition(load_model(path).mod, "rvtvm")
    [call] = [b.value for b in mod["main"].body.blocks[0].bindings
              if isinstance(b.value, relax.Call) and "rvtvm_conv2d" in str(b.value.args[0])]
    x, packed, params = call.args[1].fields
    np.testing.assert_array_equal(packed.value.numpy(), layout.conv2d_weights(w))
    np.testing.assert_array_equal(params.value.numpy()[:, 0], bias)


# --- priority, user entries, user targets ---------------------------------------------------------


@pytest.fixture
def scratch_target():
    """A second accelerator target, removed after the test."""
    name = "scratch"
    registry.register_target(registry.AccelTarget(name, "a test target"), replace=True)
    yield name
    registry._TARGETS.pop(name, None)
    registry._ENTRIES.pop(name, None)


def _conv_entry(target, name, priority, predicate):
    root, names = builtin._unit_pattern("relax.nn.conv2d")
    return registry.AccelEntry(target, name, root, names, predicate, builtin._lower_conv,
                               kernels={"root": "requantize"}, priority=priority)


def test_priority_between_overlapping_entries(tmp_path, scratch_target):
    """Both entries match every conv; the higher priority one takes those its predicate accepts
    (8 output channels) and the other gets the rest, whatever the registration order."""
    registry.register(_conv_entry(scratch_target, "any", 0, lambda m: []))
    registry.register(_conv_entry(scratch_target, "eight", 5,
                                  lambda m: [] if m.shape()[-1] == 8 else [f"{m.shape()[-1]} channels, not 8"]))

    def build(m):
        x = m.add_input((1, 6, 6, 3), q=Q)
        m.mark_output(m.conv2d(m.conv2d(x, 8, (3, 3), Q), 4, (1, 1), Q))

    report = report_of(tmp_path, build, scratch_target)
    assert [(o["op"], o["entry"]) for o in report.offloaded] == [("CONV_2D #0", "scratch.eight"), ("CONV_2D #1", "scratch.any")]
    assert [e.name for e in registry.entries(scratch_target)] == ["eight", "any"]


def test_registry_refuses_duplicates_and_unknown_targets(scratch_target):
    entry = _conv_entry(scratch_target, "any", 0, lambda m: [])
    registry.register(entry)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(entry)
    registry.register(entry, replace=True)
    with pytest.raises(ValueError, match="unknown accelerator target"):
        registry.register(_conv_entry("nowhere", "any", 0, lambda m: []))
    with pytest.raises(ModelError, match="unknown accelerator 'nowhere'"):
        registry.get_target("nowhere")


def test_builtin_geometry_is_the_rtl_default():
    """builtin.py's predicates assume the SoC's accelerator: rvtvm_accel.v's parameter defaults."""
    text = (REPO / "rtl" / "accel" / "rvtvm_accel.v").read_text()
    params = {k: int(v) for k, v in re.findall(r"\b([A-Z_]+) = (\d+)", text)}
    assert (params["ROWS"], params["COLS"]) == (builtin.ROWS, builtin.COLS)
    assert (params["IN_SPAD_BYTES"], params["W_SPAD_BYTES"], params["OUT_SPAD_BYTES"]) == (
        builtin.IN_SPAD_BYTES, builtin.W_SPAD_BYTES, builtin.OUT_SPAD_BYTES)
    assert params["PARAM_CHANNELS"] == builtin.PARAM_CHANNELS


def test_unknown_accelerator_is_one_clear_error(tmp_path, run_cli):
    path = tflite(tmp_path, lambda m: m.mark_output(m.conv2d(m.add_input((1, 4, 4, 2), q=Q), 2, (1, 1), Q)))
    done = run_cli("compile", path, "-o", tmp_path / "m.tar", "--accel", "nope")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == "rvtvm: error: unknown accelerator 'nope' (registered: rvtvm)"


def test_compile_prints_the_report(tmp_path, run_cli):
    def build(m):
        x = m.add_input((1, 8, 8, 4), q=Q)
        m.mark_output(m.conv2d(m.conv2d(x, 4, (3, 3), Q), 4, (3, 3), Q, dilation=(2, 2)))

    done = run_cli("compile", tflite(tmp_path, build), "-o", tmp_path / "m.tar", "--accel", "rvtvm")
    assert done.returncode == 0, done.stderr
    assert "accelerator rvtvm: 1 operators offloaded, 1 on the CPU" in done.stdout
    assert re.search(r"offloaded\s+CONV_2D #0\s+rvtvm.conv2d", done.stdout)
    assert re.search(r"cpu\s+CONV_2D #1\s+rvtvm.conv2d: dilation \[2, 2\]", done.stdout)


def test_run_with_accel_on_a_project_is_refused(tmp_path, run_cli):
    done = run_cli("run", tmp_path, "--accel", "rvtvm")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("rvtvm: error: --accel applies when TARGET is a model file")


def test_an_entry_lowering_an_intermediate_value_is_refused(tmp_path, scratch_target):
    root, names = builtin._unit_pattern("relax.nn.conv2d")
    registry.register(registry.AccelEntry(
        scratch_target, "bad", root, names, lambda m: [],
        lambda m: registry.ExternCall("f", [m["acc"], registry.OUTPUT]), kernels={"root": "requantize"}))
    path = tflite(tmp_path, lambda m: m.mark_output(m.conv2d(m.add_input((1, 4, 4, 2), q=Q), 2, (1, 1), Q)))
    with pytest.raises(ModelError, match="intermediate value"):
        partition(load_model(path).mod, scratch_target)


def test_extern_arguments_are_checked():
    from tvm import relax

    from rvtvm.accel.extern import emit_extern

    bb = relax.BlockBuilder()
    for args, msg in (([1], "OUTPUT exactly once"), ([registry.OUTPUT, 2**31], "does not fit an int32"),
                      ([registry.OUTPUT, 1.5], "cannot pass a float")):
        with pytest.raises(ModelError, match=msg):
            emit_extern(bb, registry.ExternCall("f", args), (1,), "int8", "f")
    assert np.int8  # numpy arrays are constants: covered by the builtin entries above
