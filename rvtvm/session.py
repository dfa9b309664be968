"""Host side of the host-driven session (riscv_runtime/include/rvtvm/session.h), and
`connect()`, which turns a board into a standard `tvm.rpc` session.

    BoardSession(link)       OPEN with a fresh nonce, then request(packet) -> reply packet
    ProjectLink(transport)   a board's UART through its Project API transport
    connect(target)          tvm.rpc session on a generated host_driven project (boots it),
                             or on "HOST:PORT" of a board `rvtvm rpc-server` keeps running

The message format and the device's rules are written down once, in session.h; the
RVTVM_SESSION_* constants are read from there. Every failure is a SessionError whose text is one
line; the bridge (rvtvm/rpc_bridge.py) hands it to the tvm.rpc client as the call's error.
"""

from __future__ import annotations

import secrets
import struct
import sys
import time
from pathlib import Path
from typing import Callable

from . import session_frame
from .errors import RvtvmError
from .wire import _read_constants

SESSION_H = Path(__file__).resolve().parent.parent / "riscv_runtime" / "include" / "rvtvm" / "session.h"
C = _read_constants(SESSION_H)
HEADER = struct.Struct("<BIH")
assert HEADER.size == C["SESSION_HEADER_BYTES"], "session.h's header layout changed"
OPENED_BODY = struct.Struct("<II")

KIND_NAMES = {C[f"SESSION_{k}"]: k for k in ("BOOT", "OPEN", "OPENED", "REQUEST", "REPLY", "ERROR")}
REASONS = {C[f"SESSION_ERR_{k}"]: k for k in ("FRAME", "NO_SESSION", "MALFORMED", "REPLY_TOO_LONG")}

DEFAULT_CALL_TIMEOUT_SEC = 60.0
DEFAULT_OPEN_TIMEOUT_SEC = 30.0
OPEN_RETRY_SEC = 1.0
POLL_SEC = 0.2  # longest single read, so a Ctrl-C or a deadline is noticed quickly
MAX_LOG_BYTES = 16 * 1024


class SessionError(RvtvmError):
    """A call failed in the session under RPC: lost or corrupted frames, a timeout, a reset."""


class SessionTimeoutError(SessionError):
    """No reply arrived within the call's timeout."""


class DeviceResetError(SessionError):
    """The board reset during the session: everything the session held on it is gone."""


class BoardStoppedError(SessionError):
    """The board's UART closed (the emulator exited)."""


def encode_message(kind: int, nonce: int, seq: int, body: bytes = b"") -> bytes:
    return session_frame.encode(HEADER.pack(kind, nonce, seq) + body)


class ProjectLink:
    """A board's UART through a Project API transport (rvtvm.project.Transport): read() returns
    b"" when nothing arrived in time and raises BoardStoppedError when the board is gone."""

    def __init__(self, transport):
        self.transport = transport

    def read(self, n: int, timeout_sec: float) -> bytes:
        from .project import IoTimeoutError, TransportClosedError

        try:
            return self.transport.read(n, timeout_sec)
        except IoTimeoutError:
            return b""
        except TransportClosedError as exc:
            raise BoardStoppedError(f"the board stopped ({exc.detail or exc})") from None

    def write(self, data: bytes, timeout_sec: float) -> None:
        from .project import IoTimeoutError, TransportClosedError

        try:
            self.transport.write(data, timeout_sec)
        except IoTimeoutError:
            raise SessionTimeoutError(f"the board did not take {len(data)} bytes within "
                                      f"{timeout_sec:g} s") from None
        except TransportClosedError as exc:
            raise BoardStoppedError(f"the board stopped ({exc.detail or exc})") from None


class FaultInjectingLink:
    """Wraps a link and damages its bytes in both directions: each byte is flipped (one bit),
    dropped, or followed by a random byte, each with probability rate/3. A tool for testing
    recovery (tests, `rpc_bridge --inject-faults`); `rate` may be changed at any time."""

    def __init__(self, link, rate: float, seed: int = 0):
        import random

        self.link, self.rate, self.rng = link, rate, random.Random(seed)
        self.damaged = 0

    def _damage(self, data: bytes) -> bytes:
        if not self.rate:
            return data
        out = bytearray()
        for byte in data:
            roll = self.rng.random()
            if roll >= self.rate:
                out.append(byte)
                continue
            self.damaged += 1
            if roll < self.rate / 3:
                out.append(byte ^ (1 << self.rng.randrange(8)))
            elif roll >= 2 * self.rate / 3:
                out += bytes([byte, self.rng.randrange(256)])
        return bytes(out)

    def read(self, n: int, timeout_sec: float) -> bytes:
        return self._damage(self.link.read(n, timeout_sec))

    def write(self, data: bytes, timeout_sec: float) -> None:
        self.link.write(self._damage(data), timeout_sec)


class BoardSession:
    """One session with the device's RPC server. request() sends one RPC packet and returns the
    reply packet, or raises SessionError; after any error but a reset the session stays usable,
    because replies are matched to requests by nonce and sequence number."""

    def __init__(self, link, *, call_timeout_sec: float = DEFAULT_CALL_TIMEOUT_SEC,
                 on_log: Callable[[str], None] | None = None):
        self.link = link
        self.call_timeout_sec = call_timeout_sec
        self.nonce = 0
        self.seq = 0
        self.boot_nonce = None
        self.max_request = 0
        self.reset_reason: str | None = None
        self.stale_replies = 0  # replies that arrived after their call had failed
        self._decoder = session_frame.Decoder(keep_skipped=MAX_LOG_BYTES)
        self._events: list = []
        self._on_log = on_log
        self._log_line = bytearray()

    # -- bytes in ----------------------------------------------------------------------------

    def _next_event(self, deadline: float):
        """The next decoded frame or FrameError, or None at the deadline."""
        while not self._events:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            data = self.link.read(4096, min(remaining, POLL_SEC))
            self._events.extend(self._decoder.feed(data))
            self._flush_log()
        return self._events.pop(0)

    def _flush_log(self) -> None:
        """Device log text (bytes between frames) goes to on_log a line at a time."""
        if not self._decoder.skipped:
            return
        self._log_line += self._decoder.skipped
        self._decoder.skipped.clear()
        *lines, rest = self._log_line.split(b"\n")
        self._log_line = bytearray(rest[-MAX_LOG_BYTES:])
        for line in lines:
            text = line.decode("ascii", errors="replace").rstrip()
            if text and self._on_log is not None:
                self._on_log(text)

    @staticmethod
    def _parse(payload: bytes):
        if len(payload) < HEADER.size:
            return None
        kind, nonce, seq = HEADER.unpack_from(payload)
        return kind, nonce, seq, payload[HEADER.size:]

    # -- session -----------------------------------------------------------------------------

    def open(self, timeout_sec: float = DEFAULT_OPEN_TIMEOUT_SEC) -> None:
        """Starts a new session (the device's RPC server resets). OPEN is sent again every
        OPEN_RETRY_SEC until the device answers, since a board may still be booting."""
        nonce = secrets.randbits(32) or 1
        deadline = time.monotonic() + timeout_sec
        while time.monotonic() < deadline:
            self.link.write(encode_message(C["SESSION_OPEN"], nonce, 0), timeout_sec)
            retry = min(deadline, time.monotonic() + OPEN_RETRY_SEC)
            while (event := self._next_event(retry)) is not None:
                message = self._parse(event) if isinstance(event, bytes) else None
                if message is None:
                    continue
                kind, got_nonce, _, body = message
                if kind == C["SESSION_OPENED"] and got_nonce == nonce and len(body) == OPENED_BODY.size:
                    self.nonce, self.seq = nonce, 0
                    self.boot_nonce, self.max_request = OPENED_BODY.unpack(body)
                    self.reset_reason = None
                    return
        raise SessionTimeoutError(f"the board did not open a session within {timeout_sec:g} s; "
                                  "is it running host_driven firmware?")

    def request(self, packet: bytes, *, expect_reply: bool = True,
                timeout_sec: float | None = None) -> bytes | None:
        if self.reset_reason is not None:
            raise DeviceResetError(f"{self.reset_reason}; open a new session")
        if not self.nonce:
            raise SessionError("no session is open; call open() first")
        if len(packet) > self.max_request:
            raise SessionError(f"request of {len(packet)} bytes exceeds the board's limit of "
                               f"{self.max_request} bytes")
        self.seq = (self.seq + 1) & 0xFFFF
        seq = self.seq
        timeout = self.call_timeout_sec if timeout_sec is None else timeout_sec
        self.link.write(encode_message(C["SESSION_REQUEST"], self.nonce, seq, packet), timeout)
        if not expect_reply:
            return None
        deadline = time.monotonic() + timeout
        while (event := self._next_event(deadline)) is not None:
            if isinstance(event, session_frame.FrameError):
                raise SessionError(f"a frame from the board was corrupted ({event.name.lower()}); "
                                   "the call failed and may or may not have run")
            message = self._parse(event)
            if message is None:
                continue
            kind, nonce, got_seq, body = message
            if kind == C["SESSION_REPLY"]:
                if nonce == self.nonce and got_seq == seq:
                    return body
                self.stale_replies += 1
            elif kind == C["SESSION_BOOT"]:
                self._reset("the board reset during the session (it booted again)")
            elif kind == C["SESSION_ERROR"]:
                self._raise_device_error(nonce, got_seq, seq, body)
        raise SessionTimeoutError(f"no reply from the board within {timeout:g} s; the call "
                                  "may still be running there (raise the call timeout for "
                                  "long calls)")

    def _reset(self, reason: str):
        self.reset_reason = reason
        raise DeviceResetError(f"{reason}; open a new session")

    def _raise_device_error(self, nonce: int, got_seq: int, seq: int, body: bytes) -> None:
        reason = REASONS.get(body[0], f"reason {body[0]}") if body else "no reason"
        detail = body[1:].decode("ascii", errors="replace")
        if reason == "FRAME" and nonce in (0, self.nonce):
            # The device dropped a frame, most likely this request: it will never answer.
            raise SessionError(f"the board dropped a corrupted frame ({detail}); the call "
                               "failed and may or may not have run")
        if nonce != self.nonce or got_seq != seq:
            return  # about another session, or a request that has already failed
        if reason == "NO_SESSION":
            self._reset(f"the board no longer knows this session ({detail})")
        raise SessionError(f"the board refused the request: {reason.lower()}: {detail}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# ---- tvm.rpc on a board -------------------------------------------------------------------

CLOSE_WAIT_SEC = 10.0


def connect(target, *, key: str = "rvtvm", call_timeout_sec: float = DEFAULT_CALL_TIMEOUT_SEC,
            open_timeout_sec: float = DEFAULT_OPEN_TIMEOUT_SEC,
            emulator_timeout_sec: int | None = None, quiet: bool = False,
            inject_faults: tuple[float, int] | None = None):
    """A standard tvm.rpc session on a board, as a HostDrivenSession (a tvm.rpc.RPCSession):
    `sess.system_lib()` holds the model's operators and "tvmgen_<name>_run", `sess.cpu(0)` is
    the board, and a call that fails on the way raises tvm.error.RPCError with the reason.

    `target` is a generated host_driven project (the board is booted for this session and
    stopped by close() or the end of a `with` block), or "HOST:PORT" of a running board served
    by `rvtvm rpc-server` without a tracker (asked for by `key`).
    inject_faults=(rate, seed) damages the UART's bytes once the session is open (for tests)."""
    from tvm import rpc

    address = _host_port(target)
    if address is not None:
        try:
            module = rpc.connect(*address, key=key)._sess
        except RuntimeError as exc:
            raise RvtvmError(f"can't open a session on {target}: {last_error_line(exc)}") from None
        return __getattr__("HostDrivenSession")(module, None)
    project_dir = Path(target).resolve()
    if not (project_dir / "microtvm_api_server.py").is_file():
        raise RvtvmError(f"{project_dir} is not a generated rvtvm project")
    tag = secrets.token_hex(8)
    cmd = [sys.executable, "-m", "rvtvm.rpc_bridge", "--project", str(project_dir),
           "--call-timeout", str(call_timeout_sec), "--open-timeout", str(open_timeout_sec),
           "--tag", tag]
    if emulator_timeout_sec is not None:
        cmd += ["--emulator-timeout", str(emulator_timeout_sec)]
    if quiet:
        cmd.append("--quiet")
    if inject_faults is not None:
        cmd += ["--inject-faults", f"{inject_faults[0]}:{inject_faults[1]}"]
    try:
        module = rpc._ffi_api.CreatePipeClient(*cmd)
    except RuntimeError as exc:  # tvm.error.RPCError: the bridge's reason is the last line
        raise RvtvmError(last_error_line(exc)) from None
    return __getattr__("HostDrivenSession")(module, tag)


def parse_host_port(text: str) -> tuple[str, int] | None:
    """(host, port) from "HOST:PORT", or None if text does not look like that."""
    host, _, port = text.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def _host_port(target) -> tuple[str, int] | None:
    """(host, port) if target is "HOST:PORT" rather than a directory."""
    if not isinstance(target, str) or Path(target).exists():
        return None
    return parse_host_port(target)


def last_error_line(exc: Exception) -> str:
    """The last non-empty line of a TVM error: the reason, after TVM's own preamble."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _bridge_pid(tag: str) -> int | None:
    from .process import command_line, live_descendants

    for pid in live_descendants():
        words = command_line(pid)
        if "rvtvm.rpc_bridge" in words and tag in words:
            return pid
    return None


def _make_session_class():
    from tvm.rpc.client import RPCSession

    class HostDrivenSession(RPCSession):
        """A tvm.rpc session on a board. close() ends it: the bridge, the Project API server and
        the emulator are gone when it returns."""

        def __init__(self, module, tag: str | None):
            super().__init__(module)
            self._bridge = _bridge_pid(tag) if tag else None  # None: a board served over TCP

        def cycles_per_second(self) -> int:
            return int(self.get_function("rvtvm.board.CyclesPerSecond")())

        def close(self) -> None:
            if self._sess is None:
                return
            from .process import is_alive, live_descendants

            watched = ([self._bridge] + live_descendants(self._bridge)) if self._bridge else []
            try:
                self._sess.get_function("CloseRPCConnection")()
            finally:
                self._sess = None
            deadline = time.monotonic() + CLOSE_WAIT_SEC
            while any(is_alive(pid) for pid in watched) and time.monotonic() < deadline:
                time.sleep(0.02)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info) -> None:
            self.close()

    return HostDrivenSession


def __getattr__(name: str):
    # tvm is imported only when a session is made, so importing rvtvm.session stays cheap.
    if name == "HostDrivenSession":
        cls = _make_session_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)
