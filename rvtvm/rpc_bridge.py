"""The bridge between a tvm.rpc client and a board: RPC packets from the client's byte stream
go to the board as session requests (rvtvm/session.py), and the board's replies go back.

    python -m rvtvm.rpc_bridge --project DIR [options] READ_FD WRITE_FD

is what `rvtvm.session.connect()` hands to `rpc.CreatePipeClient`, which appends the two pipe
fds. The bridge boots the project's board through its Project API server, opens a session and
relays until the client sends kShutdown or closes its pipe. A call that fails in the session
(a corrupted or lost frame, a timeout, a reset) reaches the client as a kException with one line
saying what happened, so `tvm.rpc` raises tvm.error.RPCError (RPCSessionTimeoutError for
timeouts) and the client's session stays usable, except after a reset.

The client SIGKILLs the bridge when it closes the session. The bridge's children die with it:
the Project API server gets SIGTERM (PR_SET_PDEATHSIG) and stops the emulator.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import struct
import sys
from pathlib import Path
from typing import Iterator

from . import process, rpc_packets as rp
from .errors import RvtvmError
from .session import (BoardSession, BoardStoppedError, DeviceResetError, FaultInjectingLink,
                      ProjectLink, SessionError, SessionTimeoutError, DEFAULT_CALL_TIMEOUT_SEC,
                      DEFAULT_OPEN_TIMEOUT_SEC)

# Requests that do the same thing however often they run: after a session error they are sent
# again (a late reply to an earlier attempt is dropped by its seq). Calls, allocations and frees
# are not: running them twice would differ from running them once.
IDEMPOTENT_CODES = {rp.INIT_SERVER, rp.COPY_FROM_REMOTE, rp.COPY_TO_REMOTE, rp.DEV_GET_ATTR,
                    rp.DEV_STREAM_SYNC}
ATTEMPTS = 3
_TIMEOUT_PREFIX = "RPCSessionTimeoutError: "  # the client raises RPCSessionTimeoutError for it
PROJECT_FILE = "rvtvm_project.json"  # microtvm_api_server.PROJECT_FILE: the options a project was generated with


exception_packet = rp.exception


class PacketStream:
    """RPC packets over a pair of file descriptors (pipes, or one socket for both)."""

    def __init__(self, read_fd: int, write_fd: int, recv=None, send=None):
        self._recv = recv or (lambda n: os.read(read_fd, n))
        self._send = send or (lambda data: os.write(write_fd, data))

    def _read_exactly(self, n: int) -> bytes | None:
        data = bytearray()
        while len(data) < n:
            chunk = self._recv(min(n - len(data), 1 << 16))
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def read_packet(self) -> bytes | None:
        """The next packet, length field included; None when the client has gone."""
        header = self._read_exactly(8)
        if header is None:
            return None
        (length,) = struct.unpack("<Q", header)
        if length > 1 << 31:
            raise RvtvmError(f"the RPC client sent a packet length of {length}; the stream is "
                             "not TVM RPC")
        body = self._read_exactly(length)
        return None if body is None else header + body

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._send(view):]


def packet_code(packet: bytes) -> int | None:
    return struct.unpack_from("<i", packet, 8)[0] if len(packet) >= 12 else None


def relay(stream: PacketStream, board: BoardSession | None, failure: str | None = None,
          first: bytes | None = None) -> None:
    """Forwards the client's packets (starting with `first`, if given) to the board until
    kShutdown or the end of the stream. Without a board, every request gets `failure`."""
    packet = first if first is not None else stream.read_packet()
    while packet is not None:
        if packet_code(packet) == rp.SHUTDOWN:
            if board is not None:
                with contextlib.suppress(SessionError):
                    board.request(packet, expect_reply=False)
            return
        if board is None:
            stream.write(exception_packet(failure or "no board"))
        else:
            try:
                stream.write(_forward(board, packet))
            except BoardStoppedError as exc:  # nothing more will come from this board
                stream.write(exception_packet(str(exc)))
                raise
        packet = stream.read_packet()


def _forward(board: BoardSession, packet: bytes) -> bytes:
    """The board's reply to `packet`, or a kException saying why there is none."""
    attempts = ATTEMPTS if packet_code(packet) in IDEMPOTENT_CODES else 1
    for attempt in range(attempts):
        try:
            return board.request(packet)
        except BoardStoppedError:
            raise
        except DeviceResetError as exc:
            return exception_packet(str(exc))
        except SessionTimeoutError as exc:
            failure = exception_packet(_TIMEOUT_PREFIX + str(exc))
        except SessionError as exc:
            failure = exception_packet(str(exc))
    return failure


@contextlib.contextmanager
def open_board(project_dir: str | os.PathLike, *, options: dict | None = None,
               call_timeout_sec: float = DEFAULT_CALL_TIMEOUT_SEC,
               open_timeout_sec: float = DEFAULT_OPEN_TIMEOUT_SEC,
               fault_rate: float = 0.0, fault_seed: int = 0,
               say=lambda text: None) -> Iterator[BoardSession]:
    """Boots a generated host_driven project and yields an open BoardSession; the board is
    stopped when the block ends. fault_rate > 0 damages the link's bytes after the session is
    open (FaultInjectingLink), to test recovery."""
    from .project import GeneratedProject

    with GeneratedProject.from_directory(project_dir) as project:
        stored = stored_options(project.project_dir)
        if stored.get("project_type") != "host_driven":
            raise RvtvmError(f"{project.project_dir} is an {stored.get('project_type')} project; "
                             "generate it with project_type=host_driven for RPC")
        say(f"booting {project.project_dir.name} on {stored.get('board')}")
        project.flash(options or {})
        with project.transport(options or {}) as transport:
            link = FaultInjectingLink(ProjectLink(transport), 0.0, fault_seed)
            board = BoardSession(link, call_timeout_sec=call_timeout_sec,
                                 on_log=lambda line: say(f"board: {line}"))
            board.open(open_timeout_sec)
            say(f"session open (packets up to {board.max_request} bytes)")
            link.rate = fault_rate
            yield board


def stored_options(project_dir: Path) -> dict:
    """The options a generated project was created with ({} if it has none)."""
    try:
        return json.loads((project_dir / PROJECT_FILE).read_text()).get("options", {})
    except (OSError, ValueError):
        return {}


def _exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rvtvm.rpc_bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, help="generated host_driven project")
    parser.add_argument("--call-timeout", type=float, default=DEFAULT_CALL_TIMEOUT_SEC)
    parser.add_argument("--open-timeout", type=float, default=DEFAULT_OPEN_TIMEOUT_SEC)
    parser.add_argument("--emulator-timeout", type=int, default=None,
                        help="the emulator is killed after this many seconds")
    parser.add_argument("--quiet", action="store_true", help="no progress or board log")
    parser.add_argument("--tag", default="", help="ignored; lets connect() find this process")
    parser.add_argument("--inject-faults", metavar="RATE:SEED", default=None,
                        help="for testing: damage this fraction of the UART's bytes once the session is open")
    parser.add_argument("fds", type=int, nargs=2, help="read fd, write fd (from CreatePipeClient)")
    args = parser.parse_args(argv)
    process.die_with_parent(signal.SIGTERM)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _exit_on_signal)

    def say(text: str) -> None:
        if not args.quiet:
            print(f"rvtvm bridge: {text}", file=sys.stderr, flush=True)

    stream = PacketStream(*args.fds)
    first = stream.read_packet()  # kInitServer: the client waits for its reply while we boot
    if first is None:
        return 0
    options = {} if args.emulator_timeout is None else {"emulator_timeout_sec": args.emulator_timeout}
    rate, _, seed = (args.inject_faults or "0:0").partition(":")
    opened = False
    try:
        with open_board(args.project, options=options, call_timeout_sec=args.call_timeout,
                        open_timeout_sec=args.open_timeout, fault_rate=float(rate),
                        fault_seed=int(seed or 0), say=say) as board:
            opened = True
            relay(stream, board, first=first)
    except BoardStoppedError as exc:
        # The client's later requests (and kInitServer, if the board died while booting) get
        # the reason until it closes the session.
        relay(stream, None, failure=str(exc), first=None if opened else first)
    except (RvtvmError, OSError) as exc:
        if opened:  # the client's stream broke; nobody is left to tell
            print(f"rvtvm bridge: {exc}", file=sys.stderr, flush=True)
            return 1
        # The client is waiting for kInitServer's reply: it and every later request fail with
        # the reason, so connect() raises it.
        relay(stream, None, failure=f"rvtvm bridge: {exc}", first=first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
