"""Host side of the Project API: a client for project_template/microtvm_api_server.py.

The protocol (microTVM Project API version 1, JSON-RPC 2.0 over a pair of pipes) is written down
at the top of the server. This module has three layers:

    ProjectAPIClient     one method per protocol method, over any pair of binary files
    connect(dir)         starts the server that lives in a template or project directory
    TemplateProject, GeneratedProject, Transport
                         the verbs a user wants: generate, build, flash, talk to the UART

Errors the server reports arrive as the classes below (rebuilt by class name for the
ServerError subclasses); str() of each is one line, and a server-side traceback is kept in
.data["traceback"].
"""

from __future__ import annotations

import base64
import contextlib
import importlib.metadata
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

import rvtvm
from rvtvm import process
from rvtvm.errors import RvtvmError

REPO_ROOT = Path(rvtvm.__file__).resolve().parent.parent
TEMPLATE_DIR = REPO_ROOT / "project_template"
RUNTIME_DIR = REPO_ROOT / "riscv_runtime"
SERVER_FILE = "microtvm_api_server.py"
PROTOCOL_VERSION = 1
# Sent as tvm_version when apache-tvm isn't installed (the server only checks it's >= 0.18).
FALLBACK_TVM_VERSION = "0.27.0"

# Client-side limits on how long each method's reply may take, in seconds. Transport calls
# wait their own timeout_sec plus TRANSPORT_SLACK_SEC.
CALL_TIMEOUTS_SEC = {
    "server_info_query": 30.0,
    "generate_project": 600.0,
    "build": 1900.0,  # the server gives make 1800 s
    "flash": 60.0,
    "open_transport": 90.0,  # may flash first
    "close_transport": 30.0,
}
TRANSPORT_SLACK_SEC = 30.0
BLOCKING_TRANSPORT_TIMEOUT_SEC = 3600.0  # for timeout_sec=None
SERVER_EXIT_WAIT_SEC = 5.0  # after closing its request pipe; then SIGTERM


# ---- errors ------------------------------------------------------------------------------


class ErrorCode:
    """JSON-RPC error codes used by the Project API."""

    SERVER_ERROR = -32000
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603


class JSONRPCError(RvtvmError):
    """An error reply from the server: .code, .message, .data, and .method (the call)."""

    def __init__(self, code: int, message: str, data: Any = None, method: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data
        self.method = method

    @property
    def detail(self) -> str | None:
        return self.data.get("detail") if isinstance(self.data, dict) else None

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        text = self.message if self.code == ErrorCode.SERVER_ERROR else (
            f"{self.message} (JSON-RPC error {self.code})")
        if self.detail and self.detail not in text:
            text = f"{text}: {self.detail}"
        return where + text

    @staticmethod
    def from_json(error: dict, method: str | None = None) -> JSONRPCError:
        """Rebuilds an error reply: ServerError subclasses by name, other codes as-is."""
        code, message, data = error.get("code"), str(error.get("message")), error.get("data")
        if code != ErrorCode.SERVER_ERROR:
            return JSONRPCError(code, message, data, method)
        for cls in ServerError.__subclasses__():
            if cls.__name__ == message:
                return cls(data=data, method=method)
        return ServerError(message, data=data, method=method)


class ServerError(JSONRPCError):
    """A valid request failed on the server (JSON-RPC code -32000)."""

    def __init__(self, message: str | None = None, data: Any = None, method: str | None = None):
        super().__init__(ErrorCode.SERVER_ERROR, message or type(self).__name__, data, method)


class IoTimeoutError(ServerError):
    """No byte arrived (or not all were written) within timeout_sec."""


class TransportClosedError(ServerError):
    """The board's UART is gone; .exit_status is the emulator's exit status if it exited."""

    @property
    def exit_status(self) -> int | None:
        return self.data.get("exit_status") if isinstance(self.data, dict) else None

    @property
    def reason(self) -> str | None:
        """The emulator's last word on why it stopped, when it failed and said one."""
        return self.data.get("reason") if isinstance(self.data, dict) else None


class UnsupportedTVMVersionError(ServerError):
    """The server refused the TVM version given to server_info_query."""


class ServerExitedError(RvtvmError):
    """The Project API server process died or closed its pipe."""


class ReplyTimeoutError(RvtvmError):
    """The Project API server did not answer in time."""


def installed_tvm_version() -> str:
    """apache-tvm's version, read without importing tvm."""
    try:
        return importlib.metadata.version("apache-tvm")
    except importlib.metadata.PackageNotFoundError:
        return FALLBACK_TVM_VERSION


# ---- the client --------------------------------------------------------------------------


class ProjectAPIClient:
    """Speaks the Project API over read_file/write_file (binary files on pipes). Every call
    waits at most CALL_TIMEOUTS_SEC (override with call_timeouts) for its reply.

    A client made by connect() also owns the server process: close() (or leaving a `with`
    block) ends it and the emulator it runs."""

    def __init__(self, read_file: BinaryIO, write_file: BinaryIO, *,
                 call_timeouts: dict[str, float] | None = None,
                 server_process: subprocess.Popen | None = None,
                 owned: contextlib.ExitStack | None = None):
        self._read_file = read_file
        self._write_file = write_file
        self._buffer = bytearray()
        self._next_id = 1
        self._timeouts = {**CALL_TIMEOUTS_SEC, **(call_timeouts or {})}
        self.server_process = server_process
        self._owned = owned or contextlib.ExitStack()  # what close() releases last

    # -- protocol methods --

    def server_info_query(self, tvm_version: str) -> dict:
        reply = self._call("server_info_query", {"tvm_version": tvm_version})
        if reply.get("protocol_version") != PROTOCOL_VERSION:
            raise RvtvmError(f"the Project API server speaks protocol version "
                             f"{reply.get('protocol_version')}, this client {PROTOCOL_VERSION}")
        return reply

    def generate_project(self, model_library_format_path: str | os.PathLike,
                         standalone_crt_dir: str | os.PathLike | None,
                         project_dir: str | os.PathLike, options: dict) -> None:
        # Absolute paths: the server's working directory is its own, not ours.
        self._call("generate_project", {
            "model_library_format_path": os.path.abspath(model_library_format_path),
            "standalone_crt_dir": (None if standalone_crt_dir is None
                                   else os.path.abspath(standalone_crt_dir)),
            "project_dir": os.path.abspath(project_dir),
            "options": options,
        })

    def build(self, options: dict) -> None:
        self._call("build", {"options": options})

    def flash(self, options: dict) -> None:
        self._call("flash", {"options": options})

    def open_transport(self, options: dict) -> dict:
        """Returns the reply: {"timeouts": {session_start_retry_timeout_sec, ...}}."""
        return self._call("open_transport", {"options": options})

    def close_transport(self) -> None:
        self._call("close_transport", {})

    def read_transport(self, n: int, timeout_sec: float | None) -> bytes:
        reply = self._call("read_transport", {"n": n, "timeout_sec": timeout_sec},
                           _transport_timeout(timeout_sec))
        return base64.b85decode(reply["data"])

    def write_transport(self, data: bytes, timeout_sec: float | None) -> None:
        self._call("write_transport",
                   {"data": base64.b85encode(bytes(data)).decode("ascii"),
                    "timeout_sec": timeout_sec},
                   _transport_timeout(timeout_sec))

    # -- plumbing --

    def call(self, method: str, params: dict, timeout: float | None = None) -> Any:
        """Sends any request and returns its result (for tests and new methods)."""
        return self._call(method, params, timeout)

    def _call(self, method: str, params: dict, timeout: float | None = None) -> Any:
        request_id = self._next_id
        self._next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method,
                           "params": params}).encode("utf-8") + b"\n"
        try:
            self._write_file.write(line)
            self._write_file.flush()
        except (BrokenPipeError, ValueError):
            raise self._server_gone(method) from None
        deadline = time.monotonic() + (timeout or self._timeouts.get(method, 60.0))
        while True:
            reply = self._read_reply(method, deadline)
            if reply.get("id") == request_id or reply.get("id") is None:
                break  # any other id is a late reply to a call that timed out
        if "error" in reply:
            raise JSONRPCError.from_json(reply["error"], method)
        return reply.get("result")

    def _read_reply(self, method: str, deadline: float) -> dict:
        fd = self._read_file.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
            if not ready:
                raise ReplyTimeoutError(f"the Project API server did not answer {method} "
                                        "in time")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise self._server_gone(method)
            self._buffer += chunk
        end = self._buffer.index(b"\n")
        line = bytes(self._buffer[:end])
        del self._buffer[:end + 1]
        try:
            reply = json.loads(line)
        except ValueError:
            raise RvtvmError(f"the Project API server sent a reply to {method} that is not "
                             f"JSON: {line[:80]!r}") from None
        if not isinstance(reply, dict):
            raise RvtvmError(f"the Project API server sent a non-object reply to {method}")
        return reply

    def _server_gone(self, method: str) -> ServerExitedError:
        status = ""
        if self.server_process is not None:
            try:
                code = self.server_process.wait(2.0)
                status = f" (status {code})"
            except subprocess.TimeoutExpired:
                pass
        return ServerExitedError(f"the Project API server exited{status} during {method}; "
                                 "its messages are on stderr above")

    # -- lifetime --

    def close(self) -> None:
        """Closes the pipes; a server started by connect() then exits (stopping its emulator),
        or is terminated after SERVER_EXIT_WAIT_SEC."""
        with self._owned:
            for stream in (self._write_file, self._read_file):
                with contextlib.suppress(OSError):
                    stream.close()
            if self.server_process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.server_process.wait(SERVER_EXIT_WAIT_SEC)

    def __enter__(self) -> ProjectAPIClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _transport_timeout(timeout_sec: float | None) -> float:
    if timeout_sec is None:
        return BLOCKING_TRANSPORT_TIMEOUT_SEC
    return timeout_sec + TRANSPORT_SLACK_SEC


def connect(project_or_template_dir: str | os.PathLike, debug: bool = False, *,
            call_timeouts: dict[str, float] | None = None) -> ProjectAPIClient:
    """Starts the Project API server of a template or generated project and returns a client
    connected to it. Use it as a context manager (or call close()): the server and any emulator
    it started are gone afterwards. The server's log goes to this process's stderr."""
    server = Path(project_or_template_dir).resolve() / SERVER_FILE
    if not server.is_file():
        raise RvtvmError(f"{project_or_template_dir} has no {SERVER_FILE}: it is neither a "
                         "project template nor a generated project")
    to_server_r, to_server_w = os.pipe()
    from_server_r, from_server_w = os.pipe()
    cmd = [sys.executable, str(server), "--read-fd", str(to_server_r),
           "--write-fd", str(from_server_w)] + (["--debug"] if debug else [])
    owned = contextlib.ExitStack()  # unwinds in reverse: stop the server, then close the files
    try:
        read_file = owned.enter_context(os.fdopen(from_server_r, "rb", buffering=0))
        write_file = owned.enter_context(os.fdopen(to_server_w, "wb", buffering=0))
        try:
            proc = owned.enter_context(process.spawn(
                cmd, cwd=server.parent, pass_fds=(to_server_r, from_server_w),
                death_signal=signal.SIGTERM, terminate_grace=SERVER_EXIT_WAIT_SEC))
        finally:
            os.close(to_server_r)
            os.close(from_server_w)
    except BaseException:
        owned.close()
        raise
    return ProjectAPIClient(read_file, write_file, call_timeouts=call_timeouts,
                            server_process=proc, owned=owned)


# ---- user-level verbs --------------------------------------------------------------------


class TemplateProject:
    """The project template (project_template/ by default): generates projects."""

    def __init__(self, client: ProjectAPIClient, info: dict):
        self.client = client
        self.info = info

    @classmethod
    def from_directory(cls, template_dir: str | os.PathLike = TEMPLATE_DIR,
                       debug: bool = False) -> TemplateProject:
        client = connect(template_dir, debug)
        try:
            info = client.server_info_query(installed_tvm_version())
            if not info["is_template"]:
                raise RvtvmError(f"{template_dir} is a generated project, not a template")
        except BaseException:
            client.close()
            raise
        return cls(client, info)

    def generate_project(self, model_library_format_path: str | os.PathLike,
                         project_dir: str | os.PathLike, options: dict, *,
                         runtime_dir: str | os.PathLike | None = None) -> GeneratedProject:
        """Generates project_dir (which must not exist or be empty) and returns it, with its
        own server running. runtime_dir defaults to the template's ../riscv_runtime."""
        self.client.generate_project(model_library_format_path, runtime_dir, project_dir,
                                     options)
        return GeneratedProject.from_directory(project_dir)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> TemplateProject:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class GeneratedProject:
    """A generated project: build it, boot it, talk to its UART. close() stops the emulator
    and the project's server."""

    def __init__(self, project_dir: Path, client: ProjectAPIClient, info: dict):
        self.project_dir = project_dir
        self.client = client
        self.info = info

    @classmethod
    def from_directory(cls, project_dir: str | os.PathLike,
                       debug: bool = False) -> GeneratedProject:
        client = connect(project_dir, debug)
        try:
            info = client.server_info_query(installed_tvm_version())
            if info["is_template"]:
                raise RvtvmError(f"{project_dir} is the project template; generate a project "
                                 "from it first")
        except BaseException:
            client.close()
            raise
        return cls(Path(project_dir).resolve(), client, info)

    def build(self, options: dict | None = None) -> None:
        self.client.build(options or {})

    def flash(self, options: dict | None = None) -> None:
        self.client.flash(options or {})

    def transport(self, options: dict | None = None) -> Transport:
        """Opens the board's UART (booting the firmware if flash wasn't called). Use the
        result as a context manager; leaving it stops the emulator."""
        reply = self.client.open_transport(options or {})
        return Transport(self.client, reply["timeouts"])

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> GeneratedProject:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Transport:
    """The board's UART through the Project API server. .timeouts is what open_transport
    returned (session_start_retry_timeout_sec, session_start_timeout_sec,
    session_established_timeout_sec)."""

    def __init__(self, client: ProjectAPIClient, timeouts: dict):
        self.client = client
        self.timeouts = timeouts
        self._open = True

    def read(self, n: int, timeout_sec: float | None = None) -> bytes:
        """1..n bytes. IoTimeoutError if none arrive in time; TransportClosedError once the
        board has exited (with .exit_status)."""
        return self.client.read_transport(n, timeout_sec)

    def read_exactly(self, n: int, timeout_sec: float) -> bytes:
        """Exactly n bytes within timeout_sec in total, or IoTimeoutError."""
        deadline = time.monotonic() + timeout_sec
        data = bytearray()
        while len(data) < n:
            data += self.read(n - len(data), max(0.0, deadline - time.monotonic()))
        return bytes(data)

    def write(self, data: bytes, timeout_sec: float | None = None) -> None:
        self.client.write_transport(data, timeout_sec)

    def close(self) -> None:
        """Closes the UART and stops the emulator. Does nothing the second time."""
        if self._open:
            self._open = False
            self.client.close_transport()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        with contextlib.suppress(RvtvmError):  # keep the exception that ended the block
            self.close()
