"""Host-driven execution on QEMU: the firmware's RPC server (riscv_runtime/src/rpc_server.c)
under the framed session, driven by a stock tvm.rpc client through rvtvm's bridge.

One int8 TFLite model (conv, depthwise, residual add, pool, FC, softmax) is compiled into a
host_driven project once per module; results are compared with tflite-micro bit for bit, and
plain tensor traffic with numpy. Fault injection damages the UART's bytes on the host side of a
live session; the reset test restarts the firmware mid-session.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

import numpy as np
import pytest

import rvtvm
from rvtvm import api, mlperf_tiny, process
from rvtvm.rpc_bridge import open_board
from rvtvm.session import SessionError, connect

from .conftest import cli_command_line, require_tools
from .test_tflite_ops import chain_conv_depthwise_residual_pool_fc_softmax
from .tflm_reference import random_inputs, run_tflm

pytestmark = pytest.mark.qemu

CALL_TIMEOUT_SEC = 20.0


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return chain_conv_depthwise_residual_pool_fc_softmax()


@pytest.fixture(scope="module")
def project(model_bytes: bytes, tmp_path_factory) -> Path:
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    work = tmp_path_factory.mktemp("host_driven")
    (work / "model.tflite").write_bytes(model_bytes)
    compiled = rvtvm.compile_model(work / "model.tflite", work / "model.tar", model_name="chain")
    project_dir = work / "p"  # short: the UART socket path must fit in 108 bytes
    api.create_project(project_dir, compiled.path, board="qemu_riscv32", project_type="host_driven",
                       options={"compile_definitions": "-DRVTVM_TEST_FUNCTIONS",
                                "rpc_heap_bytes": 32768})
    api.build(project_dir)
    return project_dir


def _our_helpers() -> list[int]:
    """Bridges and Project API servers still running below this test process."""
    return [pid for pid in process.live_descendants()
            if any(("rpc_bridge" in word or "microtvm_api_server" in word or "qemu-system" in word)
                   for word in process.command_line(pid))]


@pytest.fixture
def nothing_left_running():
    yield
    deadline = time.monotonic() + 10
    while _our_helpers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _our_helpers(), [process.command_line(pid) for pid in _our_helpers()]


def test_host_driven_run_matches_tflm_and_profiles_every_operator(project, model_bytes,
                                                                 nothing_left_running):
    metadata = rvtvm.compiler.read_metadata(project / "model.tar")
    xs = random_inputs(model_bytes, np.random.default_rng(3))
    result = api.run_host_driven(project, xs, timeout_sec=CALL_TIMEOUT_SEC)
    [expected] = run_tflm(model_bytes, xs)
    [got] = result.outputs.values()
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
    steps = metadata["executor"]["steps"]
    assert [op.func for op in result.operators] == [s["func"] for s in steps]
    assert all(op.cycles > 0 for op in result.operators)
    table = result.profile_table()
    assert "total" in table and "%" in table


def test_rpc_session_calls_copies_and_errors(project, model_bytes, nothing_left_running):
    import tvm

    metadata = rvtvm.compiler.read_metadata(project / "model.tar")
    with connect(project, call_timeout_sec=CALL_TIMEOUT_SEC, quiet=True) as sess:
        dev = sess.cpu(0)
        lib = sess.system_lib()
        # The AOT entry on remote tensors, against TFLM.
        xs = random_inputs(model_bytes, np.random.default_rng(5))
        [expected] = run_tflm(model_bytes, xs)
        x = tvm.runtime.tensor(xs[0], device=dev)
        out_port = metadata["outputs"][0]
        y = tvm.runtime.empty(out_port["shape"], out_port["dtype"], dev)
        lib["tvmgen_chain_run"](x, y)
        np.testing.assert_array_equal(y.numpy().reshape(expected.shape), expected)
        # time_evaluator in device cycles
        timer = lib.time_evaluator("tvmgen_chain_run", dev, number=2, repeat=3)
        times = timer(x, y).results
        assert len(times) == 3 and all(t > 0 for t in times)
        # A tensor larger than a packet, both ways (chunked copies).
        big = np.random.default_rng(0).integers(-2**31, 2**31, 3000, dtype=np.int32)
        remote = tvm.runtime.tensor(big, device=dev)
        np.testing.assert_array_equal(remote.numpy(), big)
        # Errors reach the host as exceptions with the device's message; the session goes on.
        with pytest.raises(tvm.error.RPCError, match="inputs, then its outputs"):
            lib["tvmgen_chain_run"](x)
        with pytest.raises(AttributeError):
            lib["no_such_operator"]
        with pytest.raises(tvm.error.RPCError, match="out of device memory"):
            tvm.runtime.empty((1 << 20,), "int8", dev)
        del remote
        np.testing.assert_array_equal(x.numpy(), xs[0])
        assert sess.cycles_per_second() == 1_000_000_000


def test_fault_injection_never_delivers_wrong_data(project, model_bytes, nothing_left_running):
    """1 byte in 1000 flipped, dropped or doubled on the UART, both ways: every step either gives
    the right answer or raises RPCError with the session's one-line reason, within its timeout
    (2 s per request, 3 attempts for idempotent ones); then a new session works."""
    import tvm

    metadata = rvtvm.compiler.read_metadata(project / "model.tar")
    out_port = metadata["outputs"][0]
    rng = np.random.default_rng(7)
    outcomes = {"ok": 0, "failed": 0}
    with connect(project, call_timeout_sec=2.0, quiet=True, inject_faults=(0.001, 11)) as sess:
        dev = sess.cpu(0)
        lib = sess.system_lib()
        for _ in range(12):
            xs = random_inputs(model_bytes, rng)
            [expected] = run_tflm(model_bytes, xs)
            start = time.monotonic()
            try:
                x = tvm.runtime.tensor(xs[0], device=dev)
                y = tvm.runtime.empty(out_port["shape"], out_port["dtype"], dev)
                lib["tvmgen_chain_run"](x, y)  # a call: never retried
                got = y.numpy()
            except tvm.error.RPCError as exc:
                assert "board" in str(exc), exc
                outcomes["failed"] += 1
            else:
                np.testing.assert_array_equal(got.reshape(expected.shape), expected)  # never wrong
                outcomes["ok"] += 1
            assert time.monotonic() - start < 60
    assert outcomes["ok"] > 0 and outcomes["failed"] > 0, outcomes  # the faults did bite
    # A new session on a fresh boot works.
    with connect(project, call_timeout_sec=CALL_TIMEOUT_SEC, quiet=True) as sess:
        data = np.arange(100, dtype=np.int32)
        np.testing.assert_array_equal(tvm.runtime.tensor(data, device=sess.cpu(0)).numpy(), data)


def test_stack_overflow_stops_service_with_the_reason(project, nothing_left_running):
    """After a call outgrows the stack, the board serves nothing more: every request, copies of
    results included, gets the reason instead of possibly corrupt data."""
    import tvm

    with connect(project, call_timeout_sec=5.0, quiet=True) as sess:
        x = tvm.runtime.tensor(np.arange(8, dtype=np.int8), device=sess.cpu(0))
        sess.get_function("rvtvm.test.HogStack")(64 * 1024)  # the board's whole reservation
        for _ in range(2):
            with pytest.raises(tvm.error.RPCError, match="stack outgrew its 65536-byte reservation"):
                x.numpy()


def test_device_reset_is_reported_as_a_reset(project, nothing_left_running):
    import tvm

    with connect(project, call_timeout_sec=5.0, quiet=True) as sess:
        reset = sess.get_function("rvtvm.test.Reset")
        with pytest.raises(tvm.error.RPCError, match="reset"):
            reset()
        with pytest.raises(tvm.error.RPCError, match="reset"):
            tvm.runtime.tensor(np.zeros(4, np.int8), device=sess.cpu(0))


# ---- hostile requests, as raw packets on the device -----------------------------------------

def test_device_refuses_hostile_requests(project, nothing_left_running):
    from rvtvm import rpc_packets as rp

    with open_board(project, call_timeout_sec=CALL_TIMEOUT_SEC) as board:
        assert rp.code_of(board.request(rp.init_server())) == rp.RETURN
        pointer = rp.single_value(board.request(rp.alloc(64)))
        hostile = {
            "bad handle": rp.packet(rp.CALL_FUNC, struct.pack("<Q", 0xDEAD0001) + rp.seq()),
            "free of a made-up handle": rp.packet(rp.FREE_HANDLE, rp.seq(rp.arg_ptr(0x12345))),
            "copy past the allocation": rp.copy_to(pointer, 64, bytes(8), offset=60),
            "copy from outside": rp.copy_from(0x80000000, 64, 16),
            "offset that wraps": rp.copy_from(pointer, 64, 16, offset=2**64 - 8),
            "free of a non-block": rp.packet(rp.DEV_FREE_DATA, rp.seq(rp.arg_cpu(), rp.arg_ptr(pointer + 16))),
            "truncated body": rp.packet(rp.CALL_FUNC, b"\x01\x02"),
            "unknown code": rp.packet(77),
        }
        for what, request in hostile.items():
            assert rp.exception_message(board.request(request)), what
        # The allocation is intact and usable after all that.
        data = bytes(range(64))
        board.request(rp.copy_to(pointer, 64, data))
        assert board.request(rp.copy_from(pointer, 64, 64))[12:] == data
        assert rp.exception_message(board.request(rp.init_server("0.9.9")))
        # A packet too big for the device's buffer: refused by the session layer on the device.
        board.max_request = 1 << 16  # bypass the host's own check
        with pytest.raises(SessionError, match="longer than the device's buffer"):
            board.request(rp.packet(rp.COPY_TO_REMOTE, bytes(5000)))
        assert rp.code_of(board.request(rp.init_server())) == rp.RETURN  # served after that


def test_cli_run_host_driven_prints_the_profile(project, run_cli, nothing_left_running):
    result = run_cli("run", project, "--mode", "host-driven", "--seed", "3", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "total" in result.stdout and "device cycles:" in result.stdout
    assert result.stdout.count("%") >= 3


def test_rpc_server_with_tracker(project, tmp_path, nothing_left_running):
    import sys

    import tvm
    from tvm import rpc

    tracker_port = free_port()
    with process.spawn([sys.executable, "-m", "tvm.exec.rpc_tracker", "--host", "127.0.0.1",
                        "--port", str(tracker_port), "--port-end", str(tracker_port + 1)],
                       stdout=open(tmp_path / "tracker.log", "wb"), stderr=subprocess_stdout()):
        wait_for_port(tracker_port)
        server_port = free_port()
        with process.spawn(cli_command_line("rpc-server", "--project", project, "--tracker",
                                            f"127.0.0.1:{tracker_port}", "--key", "qemu-test",
                                            "--port", str(server_port)),
                           stdout=open(tmp_path / "server.log", "wb"), stderr=subprocess_stdout()):
            tracker = rpc.connect_tracker("127.0.0.1", tracker_port)
            for attempt in range(2):  # the board is handed out again after a session ends
                sess = tracker.request("qemu-test", session_timeout=120, max_retry=60)
                data = np.arange(10, dtype=np.float32) * (attempt + 1)
                remote = tvm.runtime.tensor(data, device=sess.cpu(0))
                np.testing.assert_array_equal(remote.numpy(), data)
                del remote, sess


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on port {port} after {timeout:g} s")


def subprocess_stdout():
    import subprocess

    return subprocess.STDOUT


def _interrupt_when(command: list, marker: str, tmp_path: Path) -> tuple[int, str]:
    """Runs an rvtvm command in its own process group, sends the group SIGINT (a terminal's
    Ctrl-C) once `marker` shows on stderr, and returns (status, stderr)."""
    import signal
    import subprocess

    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while marker not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, log.read_text(errors="replace")


def test_ctrl_c_during_a_host_driven_run_leaves_nothing_running(project, tmp_path, nothing_left_running):
    status, stderr = _interrupt_when(cli_command_line("run", project, "--mode", "host-driven"),
                                     "operator 2/", tmp_path)
    assert status == 130, stderr
    assert "Traceback" not in stderr


def test_ctrl_c_stops_the_rpc_server(project, tmp_path, nothing_left_running):
    status, stderr = _interrupt_when(cli_command_line("rpc-server", "--project", project, "--port", str(free_port())),
                                     "serving on", tmp_path)
    assert status == 130, stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_mlperf_kws_host_driven_bit_exact_with_tflm(tmp_path, nothing_left_running):
    """A full-size model operator by operator from the host: the same outputs as TFLM, and a
    profile whose operators add up to the whole run."""
    model = mlperf_tiny.model_path("kws")
    compiled = rvtvm.compile_model(model, tmp_path / "model.tar", model_name="kws")
    project = api.create_project(tmp_path / "p", compiled.path, project_type="host_driven")
    api.build(project)
    xs = random_inputs(model, np.random.default_rng(1))
    result = api.run_host_driven(project, xs, timeout_sec=120)
    [expected] = run_tflm(model, xs)
    [got] = result.outputs.values()
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
    assert len(result.operators) == len(compiled.metadata["executor"]["steps"])
    assert result.cycles == sum(op.cycles for op in result.operators) > 0


def test_connect_to_a_running_rpc_server(project, tmp_path, nothing_left_running):
    """connect("HOST:PORT") on a board that `rvtvm rpc-server` keeps running, twice; the
    server and its board are gone after it is stopped (nothing_left_running)."""
    import tvm

    port = free_port()
    with process.spawn(cli_command_line("rpc-server", "--project", project, "--port", str(port),
                                        "--key", "direct"),
                       stdout=open(tmp_path / "server.log", "wb"), stderr=subprocess_stdout()):
        wait_for_port(port, timeout=60)
        for attempt in range(2):
            with connect(f"127.0.0.1:{port}", key="direct") as sess:
                data = np.arange(50, dtype=np.int16) * (attempt + 1)
                np.testing.assert_array_equal(tvm.runtime.tensor(data, device=sess.cpu(0)).numpy(), data)


def test_connect_explains_what_is_wrong_with_the_project(project, tmp_path, nothing_left_running):
    from rvtvm.errors import RvtvmError

    mlf = project / "model.tar"
    standalone = api.create_project(tmp_path / "s", mlf)
    with pytest.raises(RvtvmError, match="project_type=host_driven"):
        connect(standalone, quiet=True)
    unbuilt = api.create_project(tmp_path / "u", mlf, project_type="host_driven")
    with pytest.raises(RvtvmError, match="call build first"):
        connect(unbuilt, quiet=True)
    with pytest.raises(RvtvmError, match="not a generated rvtvm project"):
        connect(tmp_path, quiet=True)


def test_a_board_that_stops_fails_every_later_call_with_the_reason(project, nothing_left_running):
    import tvm

    with connect(project, call_timeout_sec=5.0, emulator_timeout_sec=3, quiet=True) as sess:
        dev = sess.cpu(0)
        np.testing.assert_array_equal(tvm.runtime.tensor(np.ones(4, np.int8), device=dev).numpy(),
                                      np.ones(4, np.int8))
        time.sleep(4)  # the emulator's watchdog stops it
        for _ in range(2):
            with pytest.raises(tvm.error.RPCError, match="the board stopped"):
                tvm.runtime.tensor(np.ones(4, np.int8), device=dev)


def test_rpc_server_stops_when_its_board_does(project, tmp_path, nothing_left_running):
    import subprocess

    from rvtvm.errors import RvtvmError

    port = free_port()
    command = cli_command_line("rpc-server", "--project", project, "--port", str(port),
                               "--key", "k", "--emulator-timeout", "3")
    with process.spawn(command, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "log", "wb")) as server:
        wait_for_port(port, timeout=60)
        time.sleep(4)
        with pytest.raises(RvtvmError, match="the board stopped"):
            connect(f"127.0.0.1:{port}", key="k")
        assert server.wait(30) == 1
    assert "the board stopped" in (tmp_path / "log").read_text()
