"""The verilator_soc board: the same firmware as on QEMU, on PicoRV32 + our RTL under Verilator.

Outputs must be identical to QEMU's (and instret too: it is the same program on the same data);
a trapping, hanging or interrupted simulation must end with one clear error and leave no
simulator behind (conftest's autouse fixture checks that after every test)."""

import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

import rvtvm
from rvtvm import bare_firmware, examples, mlperf_tiny, soc_sim
from rvtvm.errors import FirmwareError
from rvtvm.host_reference import run_on_host

from .conftest import ctrl_c_while_emulating, require_tools, require_verilator, soc_pids
from .test_failures import one_line_error
from .tflm_reference import random_inputs, run_tflm

pytestmark = [pytest.mark.verilator, pytest.mark.qemu]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def simulator() -> Path:
    require_verilator()
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    return soc_sim.build()


def test_soc_rtl_is_lint_clean() -> None:
    """verilator --lint-only -Wall over rtl/soc and rtl/accel; waivers only in the .vlt files."""
    require_verilator()
    assert "%Warning" not in soc_sim.lint_soc()


def _build(mlf: Path, project: Path, board: str, **options) -> Path:
    rvtvm.create_project(project, mlf, board=board, options=options or None)
    rvtvm.build(project)
    return project


@pytest.fixture(scope="module")
def int_mlp_projects(simulator, tmp_path_factory):
    work = tmp_path_factory.mktemp("int_mlp")
    compiled = rvtvm.compile_model(examples.int_mlp(), work / "model.tar")
    return compiled, {board: _build(compiled.path, work / board, board) for board in ("qemu_riscv32", "verilator_soc")}


@pytest.mark.parametrize("name", ["int_mlp", "conv_relu_dense", "onnx_cnn"])
def test_examples_are_identical_to_qemu(name, simulator, tmp_path):
    model = examples.write_onnx_cnn(tmp_path / "cnn.onnx") if name == "onnx_cnn" else examples.EXAMPLES[name]()
    compiled = rvtvm.compile_model(model, tmp_path / "model.tar")
    inputs = [examples.random_inputs(compiled.metadata, seed=s) for s in range(2)]
    results = {board: rvtvm.run(_build(compiled.path, tmp_path / board, board), inputs)
               for board in ("qemu_riscv32", "verilator_soc")}
    for qemu, soc in zip(results["qemu_riscv32"], results["verilator_soc"]):
        assert list(soc.outputs) == list(qemu.outputs)
        for key in qemu.outputs:
            np.testing.assert_array_equal(soc.outputs[key], qemu.outputs[key])
        assert soc.instret == qemu.instret  # the same instructions ran
        assert soc.cycles > soc.instret  # and the SoC's counter counts clock cycles
    ref = run_on_host(model, compiled.metadata, inputs[0])
    for key in ref:
        np.testing.assert_allclose(results["verilator_soc"][0].outputs[key], ref[key], rtol=1e-5, atol=1e-6)


def test_host_driven_on_the_soc(int_mlp_projects, tmp_path):
    """board=verilator_soc with project_type=host_driven: the stock tvm.rpc client runs every
    operator on the SoC and times it in clock cycles."""
    compiled, _ = int_mlp_projects
    project = _build(compiled.path, tmp_path / "hd", "verilator_soc", project_type="host_driven")
    inputs = examples.random_inputs(compiled.metadata, seed=3)
    result = rvtvm.run_host_driven(project, inputs)
    ref = run_on_host(examples.int_mlp(), compiled.metadata, inputs)
    for key in ref:
        np.testing.assert_array_equal(result.outputs[key], ref[key])
    assert result.operators and all(op.cycles > 0 for op in result.operators)


def test_cli_runs_on_the_soc(int_mlp_projects, run_cli):
    _, projects = int_mlp_projects
    done = run_cli("run", projects["verilator_soc"])
    assert done.returncode == 0, done.stderr
    assert "cycles" in done.stdout


# -- a broken or hung simulation ---------------------------------------------------------------


def test_firmware_trap_on_the_soc_is_reported(int_mlp_projects, tmp_path, run_cli):
    """PicoRV32 halts on an illegal instruction; the harness says where and the run fails with
    that line instead of waiting for an answer that never comes."""
    compiled, _ = int_mlp_projects
    project = _build(compiled.path, tmp_path / "trap", "verilator_soc", compile_definitions="-DRVTVM_TEST_TRAP_ON_RUN")
    with pytest.raises(FirmwareError, match=r"the CPU trapped at pc 0x8[0-9a-f]{7}"):
        rvtvm.run(project, [examples.random_inputs(compiled.metadata)])
    one_line_error(run_cli("run", project), "the CPU trapped at pc 0x8")


def test_hung_firmware_on_the_soc_times_out(int_mlp_projects, tmp_path):
    compiled, _ = int_mlp_projects
    project = _build(compiled.path, tmp_path / "hang", "verilator_soc", compile_definitions="-DRVTVM_TEST_HANG_ON_RUN")
    start = time.monotonic()
    with pytest.raises(FirmwareError, match=r"no answer from the firmware within 2 s"):
        rvtvm.run(project, [examples.random_inputs(compiled.metadata)], timeout_sec=2)
    assert time.monotonic() - start < 60


def test_ctrl_c_during_a_soc_run_leaves_nothing(int_mlp_projects, tmp_path, cli_command):
    compiled, _ = int_mlp_projects
    project = _build(compiled.path, tmp_path / "hang", "verilator_soc", compile_definitions="-DRVTVM_TEST_HANG_ON_RUN")
    returncode, stderr = ctrl_c_while_emulating(cli_command("run", project, "--timeout", "120"), soc_pids)
    assert returncode == 130, stderr
    assert "Traceback" not in stderr, stderr


# -- the harness itself --------------------------------------------------------------------------


def _simulate(simulator: Path, *plusargs: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(simulator), *plusargs], input=stdin, capture_output=True, timeout=timeout)


def _summary_line(stderr: bytes) -> str:
    return stderr.decode().strip().splitlines()[-2]


def test_harness_reports_every_way_a_run_ends(simulator, int_mlp_projects, tmp_path):
    _, projects = int_mlp_projects
    soc_elf = projects["verilator_soc"] / "build" / "firmware.elf"
    qemu_elf = projects["qemu_riscv32"] / "build" / "firmware.elf"

    timed_out = _simulate(simulator, f"+elf={soc_elf}", "+timeout=5000")  # waits for input forever
    assert timed_out.returncode == 124
    assert "timeout: still running after 5000 cycles" in timed_out.stderr.decode()
    assert re.fullmatch(r"SOC exit=124 cycles=5000 seconds=\S+ cycles_per_second=\d+", _summary_line(timed_out.stderr))

    # Built for QEMU's 16 MiB: its stack lies above the SoC's 1 MiB of RAM, so the first push faults.
    faulted = _simulate(simulator, f"+elf={qemu_elf}", "+timeout=100000")
    assert faulted.returncode == 3
    assert re.search(r"accessed unmapped address 0x80f[0-9a-f]{5} \(pc 0x8000[0-9a-f]{4}\)", faulted.stderr.decode())

    not_elf = tmp_path / "not.elf"
    not_elf.write_bytes(b"hello")
    bad = _simulate(simulator, f"+elf={not_elf}")
    assert bad.returncode == 2 and "is not a little-endian 32-bit RISC-V ELF" in bad.stderr.decode()
    missing = _simulate(simulator)
    assert missing.returncode == 2 and "usage" in missing.stderr.decode()

    trace = tmp_path / "wave.vcd"
    traced = _simulate(simulator, f"+elf={soc_elf}", "+timeout=300", f"+trace={trace}")
    assert traced.returncode == 124
    assert trace.read_text().count("\n#") >= 600  # a timestamp per clock edge


def test_uart_fifo_backpressure_and_overrun(simulator, tmp_path):
    """The UART queues 16 bytes. Offered faster than the firmware reads (no backpressure, as on
    a wire), the 17th on are dropped and LSR's overrun bit is set until LSR is read; with the
    harness's default backpressure (QEMU's behaviour) nothing is lost."""
    elf = bare_firmware.build([REPO / "tests" / "c" / "uart_overrun.c"], tmp_path / "uart.elf")
    sent = bytes(range(0x40, 0x40 + 40))

    def report(*plusargs):
        done = _simulate(simulator, f"+elf={elf}", "+timeout=2000000", "+uart_rx_gap=1", *plusargs, stdin=sent)
        assert done.returncode == 0, done.stderr
        found = re.search(rb"lsr=0x([0-9a-f]{8}) lsr_again=0x([0-9a-f]{8}) count=(\d+) bytes=((?:0x[0-9a-f]{8})*)", done.stdout)
        assert found, done.stdout
        received = bytes(int(h, 16) for h in re.findall(rb"0x([0-9a-f]{8})", found.group(4)))
        return int(found.group(1), 16), int(found.group(2), 16), received

    lsr, lsr_again, received = report("+uart_no_backpressure")
    assert lsr & 0x02 and lsr & 0x01, f"LSR {lsr:#x}: overrun and data ready expected"
    assert not lsr_again & 0x02, "reading LSR clears the overrun flag"
    assert received == sent[:16]

    lsr, _, received = report()
    assert not lsr & 0x02
    assert received == sent


@pytest.mark.slow
@pytest.mark.parametrize("name", list(mlperf_tiny.MODELS.values()))
def test_mlperf_tiny_on_the_soc_is_identical_to_qemu_and_tflm(name, simulator, tmp_path):
    """The four MLPerf Tiny models, CPU only, on PicoRV32: the same output bytes as QEMU and TFLite
    Micro, and the same instruction count as QEMU."""
    path = mlperf_tiny.models_dir() / f"{name}.tflite"
    compiled = rvtvm.compile_model(path, tmp_path / "model.tar")
    x = random_inputs(path, np.random.default_rng(7))
    [expected] = run_tflm(path.read_bytes(), x)
    results = {board: rvtvm.run(_build(compiled.path, tmp_path / board, board, stack_size_bytes=16384), [x],
                                timeout_sec=900)[0]
               for board in ("qemu_riscv32", "verilator_soc")}
    for board, result in results.items():
        [got] = result.outputs.values()
        np.testing.assert_array_equal(got.reshape(expected.shape), expected, err_msg=f"{name} on {board}")
    assert results["verilator_soc"].instret == results["qemu_riscv32"].instret
