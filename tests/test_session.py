"""The host-driven session end to end on the host: rvtvm.session.BoardSession (Python) against
the device session in C (riscv_runtime/src/session.c, in tests/c/session_echo.c, built with
ASan/UBSan), over pipes, with a link that flips, drops and inserts bytes.

What must hold: every request either gets its own correct reply or fails with a SessionError;
a wrong reply is never returned; after the damage stops the same session works again, and a
new one opens; a device reset is reported as a reset.
"""

from __future__ import annotations

import os
import random
import select
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvtvm import process
from rvtvm.session import (BoardSession, DeviceResetError, FaultInjectingLink, SessionError,
                           SessionTimeoutError, encode_message, C)

from .test_runtime_c import C_TESTS, RUNTIME, build_sanitized_program, sanitizer_flags  # noqa: F401

CALL_TIMEOUT_SEC = 1.0


@pytest.fixture(scope="module")
def echo_binary(sanitizer_flags: list[str], tmp_path_factory) -> Path:  # noqa: F811
    out = tmp_path_factory.mktemp("session_echo")
    sources = [C_TESTS / "session_echo.c", RUNTIME / "src" / "session.c", RUNTIME / "src" / "session_frame.c"]
    return build_sanitized_program(sources, out / "session_echo", sanitizer_flags)


class PipeLink:
    """The harness's stdin/stdout as a board link."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    def read(self, n: int, timeout_sec: float) -> bytes:
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout_sec)
        return os.read(fd, n) if ready else b""

    def write(self, data: bytes, timeout_sec: float) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()


@pytest.fixture
def device(echo_binary: Path):
    with process.spawn([str(echo_binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, terminate_grace=1.0) as proc:
        yield proc
        proc.stdin.close()
        proc.wait(10)
        stderr = proc.stderr.read().decode(errors="replace")
        assert "AddressSanitizer" not in stderr and "runtime error" not in stderr, stderr
        assert proc.returncode == 0, stderr


def test_open_and_requests(device) -> None:
    board = BoardSession(PipeLink(device), call_timeout_sec=CALL_TIMEOUT_SEC)
    board.open(5)
    assert board.max_request == 1024 and board.boot_nonce
    for size in (0, 1, 7, 200, 1024):
        payload = bytes(random.Random(size).randbytes(size))
        assert board.request(payload) == payload[::-1]
    with pytest.raises(SessionError, match="exceeds the board's limit"):
        board.request(bytes(1025))
    assert board.request(b"still fine") == b"enif llits"


def test_lost_reply_times_out_and_the_late_reply_is_not_taken_for_the_next(device) -> None:
    link = PipeLink(device)
    board = BoardSession(link, call_timeout_sec=CALL_TIMEOUT_SEC)
    board.open(5)
    with pytest.raises(SessionTimeoutError, match="no reply from the board within"):
        board.request(b"SILENT")
    # A stale reply of an earlier seq arriving first is dropped, not returned.
    stale = encode_message(C["SESSION_REPLY"], board.nonce, board.seq, b"stale!")
    board._events.extend(board._decoder.feed(stale))
    assert board.request(b"abc") == b"cba"
    assert board.stale_replies == 1


def test_reset_is_reported_and_a_new_session_works(device) -> None:
    board = BoardSession(PipeLink(device), call_timeout_sec=CALL_TIMEOUT_SEC)
    board.open(5)
    first_boot = board.boot_nonce
    board.request(b"RESET", expect_reply=False)
    with pytest.raises(DeviceResetError, match="reset"):
        board.request(b"after")
    with pytest.raises(DeviceResetError, match="open a new session"):
        board.request(b"again")  # the session stays gone
    board.open(5)
    assert board.boot_nonce != first_boot
    assert board.request(b"new") == b"wen"


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), rate=st.sampled_from([0.002, 0.01, 0.05]))
def test_damaged_link_never_delivers_wrong_data(device, seed: int, rate: float) -> None:
    rng = random.Random(seed)
    damaged = FaultInjectingLink(PipeLink(device), rate, seed)
    board = BoardSession(damaged, call_timeout_sec=0.3)
    try:
        board.open(3)
    except SessionTimeoutError:
        pass  # OPEN itself may be lost every time at high rates
    if board.nonce:
        for _ in range(12):
            payload = rng.randbytes(rng.randrange(1, 300))
            start = time.monotonic()
            try:
                reply = board.request(payload)
            except DeviceResetError:
                pytest.fail("no reset happened, but one was reported")
            except SessionError:
                pass
            else:
                assert reply == payload[::-1], "a wrong reply was delivered"
            assert time.monotonic() - start < 0.3 + 0.5  # within its timeout
    # With the damage gone, the same board opens a new session and serves it.
    damaged.rate = 0
    board.open(5)
    assert board.request(b"clean") == b"naelc"
