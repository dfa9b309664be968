"""Every bad input gets one clear line and a non-zero exit, never a traceback or a hang, and no
emulator outlives the command (the autouse fixture in conftest.py checks that after each test)."""

import os
import shutil
import signal
import sys
import time

import numpy as np
import pytest
import tvm
from tvm import relax

import rvtvm
from rvtvm import examples
from rvtvm.errors import FirmwareError, InputError, ModelError

from .conftest import ctrl_c_while_emulating, qemu_pids, require_tools


def one_line_error(proc, *needles):
    """The command failed with exactly one error line on stderr that mentions every needle."""
    assert proc.returncode not in (0, None)
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("rvtvm: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.fixture(scope="module")
def int_mlf(tmp_path_factory):
    return rvtvm.compile_model(examples.int_mlp(), tmp_path_factory.mktemp("mlf") / "model.tar")


@pytest.fixture(scope="module")
def int_project(int_mlf, tmp_path_factory):
    require_tools("riscv64-unknown-elf-gcc", "make")
    project = rvtvm.create_project(tmp_path_factory.mktemp("p") / "project", int_mlf.path)
    rvtvm.build(project)
    return project


def _debug_project(int_mlf, tmp_path, define, **options):
    """The integer model built with a firmware test hook (see main_standalone.c)."""
    require_tools("riscv64-unknown-elf-gcc", "make")
    project = rvtvm.create_project(tmp_path / "project", int_mlf.path, options={"compile_definitions": define, **options})
    rvtvm.build(project)
    return project


# -- model and compile-time errors -----------------------------------------------------------


def test_model_file_that_does_not_parse(tmp_path, run_cli):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07this is not protobuf")
    one_line_error(run_cli("compile", bad, "-o", tmp_path / "m.tar"), "broken.onnx", "not a valid ONNX model")
    one_line_error(run_cli("compile", tmp_path / "missing.onnx", "-o", tmp_path / "m.tar"), "not found")
    (tmp_path / "model.xyz").write_text("x")
    one_line_error(run_cli("compile", tmp_path / "model.xyz", "-o", tmp_path / "m.tar"), "unknown model format")


def test_unsupported_onnx_operator_is_named(tmp_path, run_cli):
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("DFT", ["x"], ["y"])
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "dft.onnx"))
    one_line_error(run_cli("compile", tmp_path / "dft.onnx", "-o", tmp_path / "m.tar"), "unsupported operator", "DFT")


def test_unsupported_relax_operator_is_named(tmp_path):
    # relax.unique has no TIR legalization (it calls a host runtime function instead).
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((4,), "float32"))
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(relax.op.unique(x))
        bb.emit_func_output(out)
    with pytest.raises(ModelError, match=r"unsupported operator: unique"):
        rvtvm.compile_model(bb.get(), tmp_path / "m.tar")


def test_model_too_big_for_the_board_is_refused_with_numbers(tmp_path):
    bb = relax.BlockBuilder()
    x = relax.Var("x", relax.TensorType((1, 4096), "int8"))
    w = np.ones((4096, 4096), "int8")  # 16 MiB of weights: more than qemu_riscv32's RAM
    with bb.function("main", [x]):
        with bb.dataflow():
            out = bb.emit_output(relax.op.matmul(x, relax.const(w)))
        bb.emit_func_output(out)
    compiled = rvtvm.compile_model(bb.get(), tmp_path / "big.tar")
    with pytest.raises(rvtvm.RvtvmError) as info:
        rvtvm.create_project(tmp_path / "project", compiled.path)
    message = str(info.value)
    assert "RAM" in message and str(compiled.metadata["memory"]["constant_bytes"]) in message.replace(",", "")
    assert "\n" not in message


# -- project errors ---------------------------------------------------------------------------


def test_unknown_board_and_option(int_mlf, tmp_path, run_cli):
    one_line_error(run_cli("project", "create", tmp_path / "a", "--mlf", int_mlf.path, "--board", "esp32"), "esp32", "qemu_riscv32")
    one_line_error(run_cli("project", "create", tmp_path / "b", "--mlf", int_mlf.path, "-o", "bogus_option=1"), "bogus_option")
    one_line_error(run_cli("project", "create", tmp_path / "c", "--mlf", tmp_path / "nope.tar"), "nope.tar")


def test_missing_toolchain(int_mlf, tmp_path, run_cli):
    project = rvtvm.create_project(tmp_path / "project", int_mlf.path)
    # A PATH with Python and make but no RISC-V compiler.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("make", "sh", "python3"):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), bin_dir / tool)
    proc = run_cli("project", "build", project, env={"PATH": str(bin_dir)})
    one_line_error(proc, "riscv64-unknown-elf-gcc")


# -- run-time errors --------------------------------------------------------------------------


@pytest.mark.qemu
def test_wrong_inputs_are_refused_before_the_board_sees_them(int_project, tmp_path, run_cli):
    require_tools("qemu-system-riscv32")
    good = {"features": np.zeros((1, 64), "int8")}
    with pytest.raises(InputError, match="unknown input 'feature'"):
        rvtvm.run(int_project, [{"feature": good["features"]}])
    with pytest.raises(InputError, match=r"shape \(1, 64\)"):
        rvtvm.run(int_project, [{"features": np.zeros((1, 63), "int8")}])
    with pytest.raises(InputError, match="must be int8, got float32"):
        rvtvm.run(int_project, [{"features": np.zeros((1, 64), "float32")}])
    np.save(tmp_path / "x.npy", np.zeros((2, 64), "int8"))
    one_line_error(run_cli("run", int_project, "--input", f"features={tmp_path / 'x.npy'}"), "shape")
    one_line_error(run_cli("run", int_project, "--input", f"oops={tmp_path / 'x.npy'}"), "unknown input 'oops'")
    done = run_cli("run", int_project)  # no inputs: one seeded random set, and it says so
    assert done.returncode == 0 and "random inputs (seed 0)" in done.stderr, done.stderr


@pytest.mark.qemu
def test_firmware_trap_reports_cause_and_pc(int_mlf, tmp_path, run_cli):
    require_tools("qemu-system-riscv32")
    project = _debug_project(int_mlf, tmp_path, "-DRVTVM_TEST_TRAP_ON_RUN")
    with pytest.raises(FirmwareError, match=r"firmware trapped: illegal instruction \(mcause 0x2\) at pc 0x8"):
        rvtvm.run(project, [examples.random_inputs(int_mlf.metadata)])
    np.save(tmp_path / "x.npy", np.zeros((1, 64), "int8"))
    one_line_error(run_cli("run", project, "--input", f"features={tmp_path / 'x.npy'}"), "illegal instruction", "pc 0x8")


@pytest.mark.qemu
def test_stack_overflow_is_reported_not_silent(int_mlf, tmp_path, run_cli):
    """A run that writes below its 2 KiB stack reservation gets STACK_OVERFLOW with the size,
    and so does the next one (the guard stays broken)."""
    require_tools("qemu-system-riscv32")
    project = _debug_project(int_mlf, tmp_path, "-DRVTVM_TEST_STACK_HOG_ON_RUN=8192", stack_size_bytes=2048)
    inputs = examples.random_inputs(int_mlf.metadata)
    with rvtvm.standalone_session(project, timeout_sec=20) as sess:
        for _ in range(2):
            with pytest.raises(FirmwareError, match=r"ERR_STACK_OVERFLOW \(the stack outgrew its 2048-byte reservation; raise stack_size_bytes\)"):
                sess.run(inputs)
    np.save(tmp_path / "x.npy", inputs["features"])
    one_line_error(run_cli("run", project, "--input", f"features={tmp_path / 'x.npy'}"), "ERR_STACK_OVERFLOW", "2048-byte")


@pytest.mark.qemu
def test_firmware_that_never_answers_times_out(int_mlf, tmp_path):
    require_tools("qemu-system-riscv32")
    project = _debug_project(int_mlf, tmp_path, "-DRVTVM_TEST_HANG_ON_RUN")
    start = time.monotonic()
    with pytest.raises(FirmwareError, match=r"no answer from the firmware within 2 s"):
        rvtvm.run(project, [examples.random_inputs(int_mlf.metadata)], timeout_sec=2)
    assert time.monotonic() - start < 30


@pytest.mark.qemu
def test_qemu_crash_during_a_session(int_project):
    require_tools("qemu-system-riscv32")
    before = qemu_pids()
    with pytest.raises(FirmwareError, match="board stopped"):
        with rvtvm.standalone_session(int_project, timeout_sec=10) as sess:
            sess.run(examples.random_inputs(sess.metadata))
            [pid] = qemu_pids() - before
            os.kill(pid, signal.SIGKILL)
            sess.run(examples.random_inputs(sess.metadata))


@pytest.mark.qemu
def test_ctrl_c_stops_the_emulator(int_mlf, tmp_path, cli_command):
    """SIGINT to the whole foreground process group, as a terminal's Ctrl-C sends it."""
    require_tools("qemu-system-riscv32")
    project = _debug_project(int_mlf, tmp_path, "-DRVTVM_TEST_HANG_ON_RUN")
    np.save(tmp_path / "x.npy", np.zeros((1, 64), "int8"))
    returncode, stderr = ctrl_c_while_emulating(
        cli_command("run", project, "--input", f"features={tmp_path / 'x.npy'}", "--timeout", "120"), qemu_pids)
    assert returncode == 130, stderr
    assert "Traceback" not in stderr
