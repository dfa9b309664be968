"""`rvtvm rpc-server`: a board served to tvm.rpc clients over TCP, optionally through TVM's RPC
tracker (`python -m tvm.exec.rpc_tracker`), so that `tvm.rpc.connect_tracker(...).request(key)`
hands the board out like any TVM RPC server.

The board boots once. Each client connection gets a fresh session on it (a new nonce: the
firmware's RPC server forgets the previous client's handles and allocations), and the packets are
relayed by rvtvm/rpc_bridge.py's relay(). One client at a time, as a board runs one thing at a
time; the tracker queues the others.

Handshakes (riscv_runtime/rpc/PROTOCOL.md §1.4 and §8), spoken here with tvm.rpc.base's helpers:
  client -> server  i32 RPC_MAGIC, i32 keylen, "client:<matchkey>[ -timeout=N]"
  server -> client  i32 RPC_CODE_SUCCESS | RPC_CODE_MISMATCH, i32 keylen, "server:<key>"
  server -> tracker i32 RPC_TRACKER_MAGIC (echoed), then length-prefixed JSON:
                    [UPDATE_INFO, {"key": "server:<key>", "addr": [null, port]}] -> SUCCESS
                    [PUT, key, [port, matchkey], null] -> SUCCESS, whenever a client may come
                    [GET_PENDING_MATCHKEYS] -> [...] while idle (a key taken but never used is
                    replaced, as TVM's own server does)
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from typing import Callable

from .errors import RvtvmError
from .rpc_bridge import PacketStream, exception_packet, open_board, relay
from .session import DEFAULT_CALL_TIMEOUT_SEC, BoardStoppedError, SessionError

PING_SEC = 2.0
UNUSED_KEY_SEC = 6.0  # a match key handed out but not used for this long is replaced
HANDSHAKE_TIMEOUT_SEC = 10.0


def _bind(host: str, port: int, port_end: int) -> socket.socket:
    for candidate in range(port, max(port_end, port + 1)):
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
        except OSError:
            sock.close()
            continue
        sock.listen(1)
        return sock
    raise RvtvmError(f"no free port in [{port}, {max(port_end, port + 1)}) on {host}; pick another --port")


class _Tracker:
    """This server's registration with an RPC tracker."""

    def __init__(self, address: tuple[str, int], key: str, port: int):
        from tvm.rpc import base

        self.base, self.key, self.port = base, key, port
        try:
            self.conn = socket.create_connection(address, timeout=HANDSHAKE_TIMEOUT_SEC)
        except OSError as exc:
            raise RvtvmError(f"can't reach the RPC tracker at {address[0]}:{address[1]}: {exc}") from None
        self.conn.sendall(struct.pack("<i", base.RPC_TRACKER_MAGIC))
        magic = struct.unpack("<i", base.recvall(self.conn, 4))[0]
        if magic != base.RPC_TRACKER_MAGIC:
            raise RvtvmError(f"{address[0]}:{address[1]} is not a TVM RPC tracker")
        self._call([base.TrackerCode.UPDATE_INFO, {"key": "server:" + key, "addr": [None, port]}])
        self.used_keys: set[str] = set()
        self.matchkey = ""
        self.put()

    def _call(self, message):
        try:
            self.base.sendjson(self.conn, message)
            return self.base.recvjson(self.conn)
        except (OSError, ValueError) as exc:
            raise RvtvmError(f"lost the RPC tracker ({exc}); restart the server once it is back") from None

    def put(self) -> None:
        """Offers the board under a fresh match key."""
        self.matchkey = self.base.random_key(self.key, cmap=self.used_keys)
        self.used_keys.add(self.matchkey)
        if self._call([self.base.TrackerCode.PUT, self.key, [self.port, self.matchkey], None]) != self.base.TrackerCode.SUCCESS:
            raise RvtvmError("the RPC tracker refused this server's registration")
        self.idle_since = time.monotonic()

    def ping(self) -> None:
        """While idle: if a client took the key but never came, offer a new one."""
        pending = self._call([self.base.TrackerCode.GET_PENDING_MATCHKEYS])
        if self.matchkey in pending:
            self.idle_since = time.monotonic()
        elif time.monotonic() - self.idle_since > UNUSED_KEY_SEC:
            self.put()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.close()


def _handshake(conn: socket.socket, expected: str, key: str) -> float | None:
    """Checks a client's key; returns its session timeout (None if it set none), or raises
    RvtvmError after answering a mismatch."""
    from tvm.rpc import base

    conn.settimeout(HANDSHAKE_TIMEOUT_SEC)
    magic = struct.unpack("<i", base.recvall(conn, 4))[0]
    if magic != base.RPC_MAGIC:
        raise RvtvmError("a connection that is not a TVM RPC client was dropped")
    keylen = struct.unpack("<i", base.recvall(conn, 4))[0]
    if not 0 <= keylen <= 4096:
        raise RvtvmError(f"a client sent a key length of {keylen}; dropped")
    words = base.recvall(conn, keylen).decode("utf-8", errors="replace").split()
    if not words or words[0] != "client:" + expected:
        conn.sendall(struct.pack("<i", base.RPC_CODE_MISMATCH))
        raise RvtvmError(f"a client asked for key {words[0] if words else '?'!r}; dropped")
    server_key = ("server:" + key).encode()
    conn.sendall(struct.pack("<ii", base.RPC_CODE_SUCCESS, len(server_key)) + server_key)
    conn.settimeout(None)
    timeout = next((w.split("=", 1)[1] for w in words[1:] if w.startswith("-timeout=")), None)
    return float(timeout) if timeout else None


def _socket_stream(conn: socket.socket, deadline: float | None) -> PacketStream:
    def recv(n: int) -> bytes:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            conn.settimeout(remaining)
        return conn.recv(n)

    return PacketStream(-1, -1, recv=recv, send=conn.send)


def serve(project_dir, *, host: str = "127.0.0.1", port: int = 9090, port_end: int = 9199,
          tracker: tuple[str, int] | None = None, key: str = "rvtvm",
          call_timeout_sec: float = DEFAULT_CALL_TIMEOUT_SEC, emulator_timeout_sec: int | None = None,
          max_sessions: int | None = None, say: Callable[[str], None] = lambda _text: None) -> None:
    """Serves the board of a host_driven project until interrupted (or after `max_sessions`
    client sessions). The board and its emulator are stopped on every way out."""
    options = {} if emulator_timeout_sec is None else {"emulator_timeout_sec": emulator_timeout_sec}
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(_bind(host, port, port_end))
        bound_port = listener.getsockname()[1]
        board = stack.enter_context(open_board(project_dir, options=options,
                                               call_timeout_sec=call_timeout_sec, say=say))
        registration = None
        if tracker is not None:
            registration = _Tracker(tracker, key, bound_port)
            stack.callback(registration.close)
            say(f"registered with the tracker at {tracker[0]}:{tracker[1]} as key '{key}'")
        say(f"serving on {host}:{bound_port}")
        sessions = 0
        while max_sessions is None or sessions < max_sessions:
            listener.settimeout(PING_SEC)
            try:
                conn, address = listener.accept()
            except socket.timeout:
                if registration is not None:
                    registration.ping()
                continue
            with conn:
                expected = registration.matchkey if registration is not None else key
                try:
                    timeout = _handshake(conn, expected, key)
                except (RvtvmError, OSError) as exc:
                    say(str(exc))
                    continue
                sessions += 1
                say(f"session {sessions} from {address[0]}:{address[1]}")
                deadline = None if timeout is None else time.monotonic() + timeout
                stream = _socket_stream(conn, deadline)
                try:
                    board.open()
                    relay(stream, board)
                except BoardStoppedError as exc:
                    with contextlib.suppress(OSError):
                        stream.write(exception_packet(str(exc)))
                    raise RvtvmError(f"{exc}; the server stops with it") from None
                except SessionError as exc:
                    with contextlib.suppress(OSError):
                        stream.write(exception_packet(str(exc)))
                except TimeoutError:
                    with contextlib.suppress(OSError):
                        stream.write(exception_packet(f"RPCSessionTimeoutError: the session's {timeout:g} s are up"))
                except (OSError, RvtvmError) as exc:
                    say(f"session {sessions} ended: {exc}")
            if registration is not None:
                registration.put()
