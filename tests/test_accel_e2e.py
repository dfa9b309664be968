"""Models compiled with --accel rvtvm, end to end on both boards, bit-exact with TFLite Micro:
on verilator_soc the offloaded operators run on the accelerator (the MMIO backend), on
qemu_riscv32 the same Model Library Format runs them through the driver's software backend.

Also: a user-registered entry with its own C function (examples/offload_add), a driver error
reaching the user, the Project API's accel options, the MLPerf Tiny models (slow) and
scripts/bench."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rvtvm
from rvtvm import mlperf_tiny
from rvtvm.accel import registry
from rvtvm.errors import RvtvmError

from .conftest import require_tools, require_verilator
from .tflite_builder import SOFTMAX_OUTPUT_Q, ModelBuilder
from .tflm_reference import random_inputs, run_tflm

REPO = Path(__file__).resolve().parent.parent
Q = (0.05, -3)
BOARDS = ["qemu_riscv32", "verilator_soc"]
MLPERF = {"kws": "kws_ref_model", "vww": "vww_96_int8", "resnet": "pretrainedResnet_quant", "ad": "ad01_int8"}


def require_board(board: str) -> None:
    require_tools("riscv64-unknown-elf-gcc")
    if board == "qemu_riscv32":
        require_tools("qemu-system-riscv32")
    else:
        require_verilator()


def mixed_model() -> bytes:
    """Offloaded units (padded strided conv, depthwise, pointwise per-tensor, ADD, FC) between
    CPU operators (a dilated conv the predicate refuses, average pool, softmax)."""
    relu6 = (6 / 255, -128)
    m = ModelBuilder(seed=7)
    x = m.add_input((1, 10, 9, 3), q=(0.04, 5))
    c = m.conv2d(x, 12, (3, 3), relu6, stride=(2, 2), fused_activation="RELU6", weight_max=40)
    d = m.depthwise_conv2d(c, (3, 3), relu6, fused_activation="RELU6", weight_max=40)
    p = m.conv2d(d, 12, (1, 1), Q, weight_scales=0.004)
    dil = m.conv2d(c, 12, (3, 3), Q, dilation=(2, 2), weight_max=20)
    s = m.add_tensor((1, 5, 5, 12), "int8", 0.08, 2)
    m.add_op("ADD", [p, dil], [s])
    pooled = m.pool2d("AVERAGE_POOL_2D", s, (5, 5), (0.08, 2))
    logits = m.fully_connected(m.reshape(pooled, (1, 12)), 7, (0.1, 3), weight_max=30)
    m.mark_output(m.add_unary("SOFTMAX", logits, SOFTMAX_OUTPUT_Q))
    return m.build()


def run_and_compare(model: bytes, tmp_path: Path, board: str, *, inputs: int = 2, seed: int = 0):
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    rng = np.random.default_rng(seed)
    input_sets = [random_inputs(model, rng) for _ in range(inputs)]
    compiled, results = rvtvm.run_model(path, input_sets, board=board, accel="rvtvm", workdir=tmp_path / "work",
                                        timeout_sec=600)
    names = [port["name"] for port in compiled.metadata["outputs"]]
    for trial, (xs, result) in enumerate(zip(input_sets, results)):
        for name, expected in zip(names, run_tflm(model, xs)):
            np.testing.assert_array_equal(result.outputs[name].reshape(expected.shape), expected,
                                          err_msg=f"{board}, input set {trial}, output {name}")
    return compiled, results


@pytest.mark.qemu
@pytest.mark.verilator
@pytest.mark.parametrize("board", BOARDS)
def test_mixed_model_bit_exact(board, tmp_path):
    require_board(board)
    compiled, _ = run_and_compare(mixed_model(), tmp_path, board)
    report = compiled.metadata["accel"]
    assert [o["op"] for o in report["offloaded"]] == ["CONV_2D #0", "DEPTHWISE_CONV_2D #1", "CONV_2D #2", "ADD #4",
                                                       "FULLY_CONNECTED #7"]
    assert {c["op"] for c in report["cpu"]} == {"CONV_2D #3", "AVERAGE_POOL_2D #5", "SOFTMAX #8"}
    backend = (tmp_path / "work" / "project" / "board.mk").read_text()
    assert ("accel_mmio.c" if board == "verilator_soc" else "accel_sw.c") in backend


@pytest.fixture
def example_add_entry():
    """examples/offload_add registered on target rvtvm for one test (above the builtin add)."""
    spec = importlib.util.spec_from_file_location("offload_add", REPO / "examples" / "offload_add" / "offload_add.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module.ENTRY
    registry.unregister("rvtvm", "example_add")


@pytest.mark.qemu
def test_user_registered_add_runs_its_own_c_function(example_add_entry, tmp_path):
    """The README's example: ADD becomes a call of example_add_s8, whose C file the compiler
    ships in the Model Library Format; a broadcasting ADD is refused, by it and by the builtin
    add entry, with their reasons."""
    require_board("qemu_riscv32")
    m = ModelBuilder(seed=9)
    x = m.add_input((1, 6, 6, 4), q=Q)
    c = m.conv2d(x, 4, (3, 3), (0.07, 1))
    s = m.add_tensor((1, 6, 6, 4), "int8", 0.1, -5)
    m.add_op("ADD", [x, c], [s], fused_activation="RELU")
    bias = m.add_const(m.rng.integers(-128, 128, (1, 1, 1, 4)), "int8", q=(0.02, 3))
    t = m.add_tensor((1, 6, 6, 4), "int8", 0.1, 0)
    m.add_op("ADD", [s, bias], [t])
    m.mark_output(t)
    compiled, _ = run_and_compare(m.build(), tmp_path, "qemu_riscv32", inputs=3)
    report = compiled.metadata["accel"]
    assert [(o["op"], o["entry"]) for o in report["offloaded"]] == [("CONV_2D #0", "rvtvm.conv2d"),
                                                                    ("ADD #1", "rvtvm.example_add")]
    [refused] = report["cpu"]
    assert refused["op"] == "ADD #2" and set(refused["reasons"]) == {"rvtvm.example_add", "rvtvm.add"}
    assert "broadcasting" in refused["reasons"]["rvtvm.example_add"][0]
    assert report["sources"] == ["add_s8.c"]


@pytest.fixture
def failing_entry():
    """A conv entry that passes the driver a stride of 0, which it must refuse at run time."""
    from rvtvm.accel import builtin

    def lower(m):
        call = builtin._lower_conv(m)
        call.args[12] = 0  # stride_h
        return call

    root, names = builtin._unit_pattern("relax.nn.conv2d")
    registry.register(registry.AccelEntry("rvtvm", "broken", root, names, lambda m: [], lower,
                                          kernels={"root": "requantize"}, priority=100))
    yield
    registry.unregister("rvtvm", "broken")


@pytest.mark.qemu
def test_a_driver_error_reaches_the_user_with_its_name(failing_entry, tmp_path):
    require_board("qemu_riscv32")
    m = ModelBuilder()
    m.mark_output(m.conv2d(m.add_input((1, 4, 4, 2), q=Q), 2, (1, 1), Q))
    path = tmp_path / "model.tflite"
    path.write_bytes(m.build())
    with pytest.raises(RvtvmError, match="rvtvm_accel_conv2d_s8 failed: RVTVM_ERR_ACCEL_ARGUMENT"):
        rvtvm.run_model(path, None, accel="rvtvm", workdir=tmp_path / "work")


def test_project_options_for_the_accelerator(tmp_path):
    m = ModelBuilder()
    m.mark_output(m.conv2d(m.add_input((1, 4, 4, 2), q=Q), 2, (1, 1), Q))
    path = tmp_path / "model.tflite"
    path.write_bytes(m.build())
    accel = rvtvm.compile_model(path, tmp_path / "accel.tar", accel="rvtvm").path
    plain = rvtvm.compile_model(path, tmp_path / "plain.tar").path
    with pytest.raises(RvtvmError, match="board qemu_riscv32 has no accelerator; use accel_backend=software"):
        rvtvm.create_project(tmp_path / "p1", accel, board="qemu_riscv32", options={"accel_backend": "hardware"})
    with pytest.raises(RvtvmError, match="compiled without --accel; compile it with rvtvm compile --accel rvtvm"):
        rvtvm.create_project(tmp_path / "p2", plain, board="qemu_riscv32", options={"accel": "rvtvm"})
    with pytest.raises(RvtvmError, match="option accel='other', but the model was compiled for accelerator 'rvtvm'"):
        rvtvm.create_project(tmp_path / "p3", accel, board="qemu_riscv32", options={"accel": "other"})
    # software on the SoC: the driver's CPU backend, the accelerator left idle
    project = rvtvm.create_project(tmp_path / "p4", accel, board="verilator_soc", options={"accel_backend": "software"})
    assert "accel_sw.c" in (project / "board.mk").read_text()
    assert (project / "accel_driver" / "include" / "rvtvm" / "accel.h").is_file()
    # a CPU-only model's project has no driver
    project = rvtvm.create_project(tmp_path / "p5", plain, board="verilator_soc")
    assert "accel" not in (project / "board.mk").read_text() and not (project / "accel_driver").exists()


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.verilator
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("name", MLPERF)
def test_mlperf_tiny_accelerated_bit_exact(name, board, tmp_path):
    """Every MLPerf Tiny model, compiled once with --accel rvtvm, on both boards."""
    require_board(board)
    path = mlperf_tiny.models_dir() / f"{MLPERF[name]}.tflite"
    run_and_compare(path.read_bytes(), tmp_path, board, inputs=1, seed=len(name))


@pytest.mark.verilator
def test_bench_quick_prints_the_tables_and_saves_the_plot(tmp_path):
    require_board("verilator_soc")
    plot = tmp_path / "layers.png"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bench.py"), "--quick", "--plot", str(plot)],
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    [row] = [line for line in done.stdout.splitlines() if line.startswith("| ad |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    cpu, accel = (int(cells[i].replace(",", "")) for i in (2, 3))
    assert accel < cpu and cells[-1] == "bit-exact"
    layers = [line for line in done.stdout.splitlines() if "FULLY_CONNECTED #" in line]
    assert len(layers) == 10 and all("| accel |" in line for line in layers)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
