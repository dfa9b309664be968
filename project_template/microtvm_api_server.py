#!/usr/bin/env python3
"""Project API server for rvtvm: turns a Model Library Format tar into bare-metal RISC-V firmware,
builds it, boots it on an emulator and carries bytes to and from the board's UART.

This file is copied into every generated project and must run there with any python3, so it
imports only the Python standard library.

The protocol is microTVM's Project API, version 1. The client starts this program with
`--read-fd N --write-fd M` and writes JSON-RPC 2.0 requests to fd N, one JSON object per line;
each request gets exactly one reply line on fd M, in order. Parameters are passed by name, and a
missing or extra parameter is INVALID_PARAMS. Failures while handling a valid request are
SERVER_ERROR (-32000): for the ServerError subclasses below the message is the subclass name (the
client rebuilds the class by name) and the details are in `data`; otherwise the message is one
line for the user. Binary transport data travels as base85 text.

Methods (parameters -> result):
  server_info_query{tvm_version} -> {platform_name, is_template, model_library_format_path,
                                     project_options, protocol_version}
  generate_project{model_library_format_path, standalone_crt_dir, project_dir, options} -> null
  build{options} -> null              make -C <project>
  flash{options} -> null              boots build/firmware.elf on the board's emulator
  open_transport{options} -> {timeouts: {session_start_retry_timeout_sec,
                                         session_start_timeout_sec,
                                         session_established_timeout_sec}}
  close_transport{} -> null           closes the UART and stops the emulator
  read_transport{n, timeout_sec} -> {data}   1..n bytes; IoTimeoutError if none arrive in time,
                                             TransportClosedError once the board has gone
  write_transport{data, timeout_sec} -> null all bytes, or IoTimeoutError/TransportClosedError

The server owns every emulator it starts: it kills and reaps it on close_transport, on EOF of its
request pipe, on SIGTERM/SIGINT/SIGHUP and at exit, and the emulator gets PR_SET_PDEATHSIG so it
dies with the server even when the server is killed outright.
"""

import argparse
import atexit
import base64
import collections
import ctypes
import enum
import json
import logging
import os
import pathlib
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import traceback

_LOG = logging.getLogger("rvtvm.project_api_server")

PROTOCOL_VERSION = 1
PLATFORM_NAME = "rvtvm"
OLDEST_TVM = (0, 18)  # microTVM's last release; anything older speaks a different protocol

GATHER_IDLE_SEC = 0.0005  # read_transport keeps reading while bytes come at least this often
PROJECT_FILE = "rvtvm_project.json"  # options generate_project received; marks a generated project
MODEL_TAR = "model.tar"
TEMPLATE_ITEMS = ("microtvm_api_server.py", "Makefile", "src")  # copied into every project
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build")
BUILD_TOOLS = ("make", "riscv64-unknown-elf-gcc")
BUILD_TIMEOUT_SEC = 1800
BUILD_OUTPUT_TAIL_LINES = 60
SOCKET_WAIT_SEC = 10.0  # how long flash waits for the emulator's UART socket to appear
STOP_GRACE_SEC = 2.0  # SIGTERM, then SIGKILL after this long


# --------------------------------------------------------------------------------------------
# Protocol types
# --------------------------------------------------------------------------------------------


class ErrorCode(enum.IntEnum):
    """JSON-RPC 2.0 error codes, plus the Project API's SERVER_ERROR."""

    SERVER_ERROR = -32000
    PARSE_ERROR = -32700
    INVALID_REQUEST = -32600
    METHOD_NOT_FOUND = -32601
    INVALID_PARAMS = -32602
    INTERNAL_ERROR = -32603


class JSONRPCError(Exception):
    """An error reply: code, one-line message, optional JSON data."""

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.data = data

    def to_json(self):
        return {"code": self.code, "message": self.message, "data": self.data}


class ServerError(JSONRPCError):
    """A valid request failed. Subclasses travel by class name; their details go in data."""

    def __init__(self, message=None, data=None):
        if type(self) is ServerError:
            if message is None:
                raise TypeError("a plain ServerError needs a message")
        elif message is not None:
            raise TypeError(f"{type(self).__name__} has a fixed message; put details in data")
        else:
            message = type(self).__name__
        super().__init__(ErrorCode.SERVER_ERROR, message, data)

    def add_traceback(self, exc):
        """Attach exc's formatted traceback as data["traceback"]."""
        data = dict(self.data) if isinstance(self.data, dict) else {}
        if self.data is not None and not isinstance(self.data, dict):
            data["value"] = self.data
        data.setdefault("traceback", "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.data = data


class IoTimeoutError(ServerError):
    """No byte could be read (or not all bytes written) before timeout_sec elapsed."""


class TransportClosedError(ServerError):
    """The transport can no longer carry data (the board exited or closed its UART)."""


class UnsupportedTVMVersionError(ServerError):
    """server_info_query was given a TVM version this server can't work with."""


ProjectOption = collections.namedtuple(
    "ProjectOption",
    ("name", "choices", "default", "type", "required", "optional", "help"),
    defaults=(None, None, "str", None, None, ""),
)

ServerInfo = collections.namedtuple(
    "ServerInfo", ("platform_name", "is_template", "model_library_format_path", "project_options")
)

TransportTimeouts = collections.namedtuple(
    "TransportTimeouts",
    ("session_start_retry_timeout_sec", "session_start_timeout_sec",
     "session_established_timeout_sec"),
)


class ProjectAPIHandler:
    """What a Project API implementation provides. ProjectAPIServer decodes requests into these
    calls and encodes their results; every method may raise ServerError."""

    def server_info_query(self, tvm_version):  # -> ServerInfo
        raise NotImplementedError

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir,
                         options):  # paths are pathlib.Path (standalone_crt_dir may be None)
        raise NotImplementedError

    def build(self, options):
        raise NotImplementedError

    def flash(self, options):
        raise NotImplementedError

    def open_transport(self, options):  # -> TransportTimeouts
        raise NotImplementedError

    def close_transport(self):
        raise NotImplementedError

    def read_transport(self, n, timeout_sec):  # -> bytes, 1..n of them
        raise NotImplementedError

    def write_transport(self, data, timeout_sec):  # data: bytes
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# JSON-RPC server
# --------------------------------------------------------------------------------------------

_TIMEOUT = (int, float, type(None))

# Each method's parameters and the JSON types each may have.
METHOD_PARAMS = {
    "server_info_query": {"tvm_version": (str,)},
    "generate_project": {
        "model_library_format_path": (str,),
        "standalone_crt_dir": (str, type(None)),
        "project_dir": (str,),
        "options": (dict,),
    },
    "build": {"options": (dict,)},
    "flash": {"options": (dict,)},
    "open_transport": {"options": (dict,)},
    "close_transport": {},
    "read_transport": {"n": (int,), "timeout_sec": _TIMEOUT},
    "write_transport": {"data": (str,), "timeout_sec": _TIMEOUT},
}


class ProjectAPIServer:
    """Serves JSON-RPC requests from read_file with handler, one at a time, until EOF."""

    def __init__(self, read_file, write_file, handler):
        self._read_file = read_file
        self._write_file = write_file
        self._handler = handler

    def serve_forever(self):
        while self.serve_one_request():
            pass

    def serve_one_request(self):
        """Reads one request line and writes its reply. Returns False at EOF."""
        line = self._read_file.readline()
        if not line:
            _LOG.debug("EOF on the request pipe")
            return False
        _LOG.debug("request <- %r", line)
        request_id = None
        try:
            request = _parse_request(line)
            request_id = request.get("id")
            result = self._dispatch(request["method"], request["params"])
            self._write({"jsonrpc": "2.0", "id": request_id, "result": result})
        except JSONRPCError as exc:
            if isinstance(exc, ServerError):
                exc.add_traceback(exc)
            self._write({"jsonrpc": "2.0", "id": request_id, "error": exc.to_json()})
        except Exception as exc:  # pylint: disable=broad-except
            err = ServerError(f"{type(exc).__name__}: {exc}".splitlines()[0])
            err.add_traceback(exc)
            self._write({"jsonrpc": "2.0", "id": request_id, "error": err.to_json()})
        return True

    def _write(self, reply):
        _LOG.debug("reply -> %r", reply)
        self._write_file.write(json.dumps(reply).encode("utf-8") + b"\n")
        self._write_file.flush()

    def _dispatch(self, method, params):
        spec = METHOD_PARAMS.get(method)
        if spec is None:
            raise JSONRPCError(ErrorCode.METHOD_NOT_FOUND, f"{method}: no such method")
        for name, types in spec.items():
            if name not in params:
                raise JSONRPCError(ErrorCode.INVALID_PARAMS,
                                   f"{method}: parameter {name} not given")
            value = params[name]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
                raise JSONRPCError(ErrorCode.INVALID_PARAMS,
                                   f"{method}: parameter {name} must be {want}, "
                                   f"got {type(value).__name__}")
        extra = sorted(set(params) - set(spec))
        if extra:
            raise JSONRPCError(ErrorCode.INVALID_PARAMS,
                               f"{method}: extra parameters: {', '.join(extra)}")
        return getattr(self, "_call_" + method)(**params)

    def _call_server_info_query(self, tvm_version):
        info = self._handler.server_info_query(tvm_version)
        mlf = info.model_library_format_path
        return {
            "platform_name": info.platform_name,
            "is_template": bool(info.is_template),
            "model_library_format_path": None if mlf is None else str(mlf),
            "project_options": [dict(o._asdict()) for o in info.project_options],
            "protocol_version": PROTOCOL_VERSION,
        }

    def _call_generate_project(self, model_library_format_path, standalone_crt_dir, project_dir,
                               options):
        crt = pathlib.Path(standalone_crt_dir) if standalone_crt_dir else None
        self._handler.generate_project(pathlib.Path(model_library_format_path), crt,
                                       pathlib.Path(project_dir), options)

    def _call_build(self, options):
        self._handler.build(options)

    def _call_flash(self, options):
        self._handler.flash(options)

    def _call_open_transport(self, options):
        return {"timeouts": dict(self._handler.open_transport(options)._asdict())}

    def _call_close_transport(self):
        self._handler.close_transport()

    def _call_read_transport(self, n, timeout_sec):
        if n < 1:
            raise JSONRPCError(ErrorCode.INVALID_PARAMS, f"read_transport: n must be >= 1, got {n}")
        _check_timeout("read_transport", timeout_sec)
        data = self._handler.read_transport(n, timeout_sec)
        if not 1 <= len(data) <= n:
            raise JSONRPCError(ErrorCode.INTERNAL_ERROR,
                               f"read_transport: handler returned {len(data)} bytes for n={n}")
        return {"data": base64.b85encode(data).decode("ascii")}

    def _call_write_transport(self, data, timeout_sec):
        _check_timeout("write_transport", timeout_sec)
        try:
            raw = base64.b85decode(data)
        except ValueError as exc:
            raise JSONRPCError(ErrorCode.INVALID_PARAMS,
                               f"write_transport: data is not base85: {exc}") from None
        self._handler.write_transport(raw, timeout_sec)


def _parse_request(line):
    try:
        request = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise JSONRPCError(ErrorCode.PARSE_ERROR, f"request is not JSON: {exc}") from None
    if not isinstance(request, dict):
        raise JSONRPCError(ErrorCode.INVALID_REQUEST, "request must be a JSON object")
    if request.get("jsonrpc") != "2.0":
        raise JSONRPCError(ErrorCode.INVALID_REQUEST, 'request["jsonrpc"] must be "2.0"')
    request_id = request.get("id")
    if not isinstance(request_id, (str, int, type(None))) or isinstance(request_id, bool):
        raise JSONRPCError(ErrorCode.INVALID_REQUEST, 'request["id"] must be a string, '
                                                      "integer or null")
    if not isinstance(request.get("method"), str):
        raise JSONRPCError(ErrorCode.INVALID_REQUEST, 'request["method"] must be a string')
    if not isinstance(request.get("params"), dict):
        raise JSONRPCError(ErrorCode.INVALID_REQUEST, 'request["params"] must be an object')
    return request


def _check_timeout(method, timeout_sec):
    if timeout_sec is not None and timeout_sec < 0:
        raise JSONRPCError(ErrorCode.INVALID_PARAMS,
                           f"{method}: timeout_sec must be >= 0 or null, got {timeout_sec}")


# --------------------------------------------------------------------------------------------
# Boards and options
# --------------------------------------------------------------------------------------------

Board = collections.namedtuple(
    "Board",
    ("name", "ram_origin", "ram_length", "stack_bytes", "cycles_per_second", "emulator",
     "emulator_name", "prepare", "accelerator", "timeouts", "help"),
)

# The smallest stack_size_bytes accepted: below this even the firmware's own frames (frame codec,
# error text) would not fit.
MIN_STACK_BYTES = 1024

# Every board. `stack_bytes` is its default stack_size_bytes. `cycles_per_second` is the rate of
# its cycle counter (QEMU with -icount shift=0 retires one instruction per virtual nanosecond; the
# SoC's is its nominal clock), from which the RPC time evaluator reports seconds. `emulator` is the
# command that boots build/firmware.elf; {elf}, {uart_socket} and {python} (this server's Python)
# are replaced. The emulator must listen on {uart_socket} for the board's UART and hold the guest
# until a client connects. Its first word is the tool flash requires. `prepare`, if set, is a
# command build runs before make (the SoC's simulator is built, or found in its cache, there).
# `accelerator`: the board has rvtvm's accelerator at RVTVM_ACCEL_BASE (rtl/README.md).
BOARDS = {
    "qemu_riscv32": Board(
        name="qemu_riscv32",
        ram_origin=0x80000000,
        ram_length=16 * 1024 * 1024,
        stack_bytes=64 * 1024,
        cycles_per_second=1_000_000_000,
        emulator=(
            "qemu-system-riscv32", "-machine", "virt", "-cpu", "rv32", "-m", "16M",
            "-bios", "none", "-kernel", "{elf}", "-display", "none", "-monitor", "none",
            # icount makes rdcycle/rdinstret deterministic
            "-icount", "shift=0", "-no-reboot", "-serial", "chardev:uart0",
            "-chardev", "socket,id=uart0,path={uart_socket},server=on,wait=on",
        ),
        emulator_name="QEMU",
        prepare=None,
        accelerator=False,
        timeouts=TransportTimeouts(
            session_start_retry_timeout_sec=5.0,
            session_start_timeout_sec=20.0,
            session_established_timeout_sec=60.0,
        ),
        help="QEMU virt machine, rv32, 16 MiB RAM at 0x80000000, NS16550A UART",
    ),
    "verilator_soc": Board(
        name="verilator_soc",
        ram_origin=0x80000000,
        ram_length=1024 * 1024,  # rtl/soc/rvtvm_soc.v RAM_BYTES
        stack_bytes=64 * 1024,
        cycles_per_second=100_000_000,  # nominal: the simulation counts cycles, not seconds
        # rvtvm.soc_sim builds the Verilated SoC from the repo's rtl/ (cached by its sources)
        # and execs it, so this process is the simulator itself.
        emulator=("{python}", "-m", "rvtvm.soc_sim", "+elf={elf}", "+uart={uart_socket}"),
        emulator_name="the Verilator SoC",
        prepare=("{python}", "-m", "rvtvm.soc_sim", "--build-only"),
        accelerator=True,
        timeouts=TransportTimeouts(
            session_start_retry_timeout_sec=5.0,
            session_start_timeout_sec=60.0,
            session_established_timeout_sec=300.0,
        ),
        help="Verilator-simulated PicoRV32 SoC with rvtvm's int8 accelerator (rtl/), 1 MiB RAM "
             "at 0x80000000, QEMU virt's UART and finisher addresses",
    ),
}

# What main() the firmware runs; the Makefile picks sources by PROJECT_TYPE from board.mk.
PROJECT_TYPES = {
    "aot_standalone": "the firmware runs the model on inputs received over the UART",
    "host_driven": "the firmware is a TVM RPC server: the host calls the model's operators "
                   "(rvtvm.session.connect)",
}
# accel_driver/ backends for models compiled with --accel rvtvm (accel_driver/README.md).
ACCEL_BACKENDS = {
    "auto": "hardware on a board with the accelerator, else software",
    "hardware": "accel_mmio.c drives the accelerator",
    "software": "accel_sw.c computes the same results on the CPU",
}
DEFAULT_RPC_HEAP_BYTES = 64 * 1024
RPC_MESSAGE_BYTES = 7 + 8 + 2048  # main_host_driven.c's receive buffer at its default packet size

PROJECT_OPTIONS = (
    ProjectOption("board", choices=sorted(BOARDS), type="str", required=["generate_project"],
                  help="Board to build for: " + "; ".join(
                      f"{b.name}: {b.help}" for b in BOARDS.values())),
    ProjectOption("project_type", choices=sorted(PROJECT_TYPES), type="str",
                  required=["generate_project"], help="Kind of firmware to generate."),
    ProjectOption("verbose", default=False, type="bool",
                  optional=["generate_project", "build", "flash"],
                  help="Show the full build commands (make V=1) and log more."),
    ProjectOption("warning_as_error", default=False, type="bool",
                  optional=["generate_project", "build"],
                  help="Treat compiler warnings as errors (make WERROR=1)."),
    ProjectOption("compile_definitions", default=None, type="str",
                  optional=["generate_project", "build"],
                  help="Extra compiler flags, e.g. '-DFOO=1' (make EXTRA_CFLAGS=...)."),
    ProjectOption("workspace_size_bytes", default=None, type="int",
                  optional=["generate_project"],
                  help="Bytes for the runtime's general workspace pool; must be at least the "
                       "model's memory.workspace_bytes. Default: none (0)."),
    ProjectOption("stack_size_bytes", default=None, type="int",
                  optional=["generate_project"],
                  help="Bytes reserved for the stack at the top of RAM (a multiple of 16, at "
                       f"least {MIN_STACK_BYTES}); the firmware reports its high-water mark "
                       "with every result, and a run that outgrows it fails. Default: the "
                       "board's (" + ", ".join(f"{b.name}: {b.stack_bytes}"
                                               for b in BOARDS.values()) + ")."),
    ProjectOption("rpc_heap_bytes", default=None, type="int",
                  optional=["generate_project"],
                  help="host_driven: bytes for tensors the host allocates on the board "
                       f"(tvm.runtime.tensor/empty). Default: {DEFAULT_RPC_HEAP_BYTES}."),
    ProjectOption("accel", default=None, type="str", optional=["generate_project"],
                  help="The accelerator the firmware drives: the one the model was compiled "
                       "for (rvtvm compile --accel NAME), which is also the default; naming "
                       "another is an error."),
    ProjectOption("accel_backend", default="auto", choices=sorted(ACCEL_BACKENDS), type="str",
                  optional=["generate_project"],
                  help="How the firmware runs offloaded operators of accelerator 'rvtvm': " +
                       "; ".join(f"{k}: {v}" for k, v in ACCEL_BACKENDS.items()) + "."),
    ProjectOption("emulator_timeout_sec", default=300, type="int",
                  optional=["flash", "open_transport"],
                  help="The emulator is killed after this many seconds, no matter what."),
)
_OPTIONS_BY_NAME = {o.name: o for o in PROJECT_OPTIONS}
_OPTION_TYPES = {"bool": (bool,), "int": (int,), "str": (str,)}
_POSITIVE_INT_OPTIONS = {"emulator_timeout_sec": 1, "workspace_size_bytes": 0,
                         "stack_size_bytes": MIN_STACK_BYTES, "rpc_heap_bytes": 0}  # name -> minimum
_MULTIPLE_OPTIONS = {"stack_size_bytes": 16, "rpc_heap_bytes": 16}  # name -> the value must be a multiple of this


def resolve_options(method, given, stored=None):
    """Validates `given` and returns every option's value for `method`: defaults, overridden by
    `stored` (what generate_project received), overridden by `given`."""
    if not isinstance(given, dict):
        raise ServerError(f"{method}: options must be an object")
    for name, value in given.items():
        _check_option(name, value)
    values = {o.name: o.default for o in PROJECT_OPTIONS}
    values.update(stored or {})
    values.update(given)
    for option in PROJECT_OPTIONS:
        if method in (option.required or ()) and values[option.name] is None:
            choices = f"; valid: {', '.join(option.choices)}" if option.choices else ""
            raise ServerError(f"option {option.name} is required for {method}{choices}")
    return values


def _check_option(name, value):
    option = _OPTIONS_BY_NAME.get(name)
    if option is None:
        raise ServerError(f"unknown option {name!r}; valid options: "
                          f"{', '.join(o.name for o in PROJECT_OPTIONS)}")
    if value is None and option.default is None:
        return
    types = _OPTION_TYPES[option.type]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ServerError(f"option {name} must be {option.type}, got {value!r}")
    if option.choices and value not in option.choices:
        raise ServerError(f"option {name}={value!r} is not valid; valid choices: "
                          f"{', '.join(option.choices)}")
    minimum = _POSITIVE_INT_OPTIONS.get(name)
    if minimum is not None and value < minimum:
        raise ServerError(f"option {name} must be >= {minimum}, got {value}")
    multiple = _MULTIPLE_OPTIONS.get(name)
    if multiple is not None and value % multiple:
        raise ServerError(f"option {name} must be a multiple of {multiple}, got {value}")


# --------------------------------------------------------------------------------------------
# generate_project: files, model metadata and model_glue.c
# --------------------------------------------------------------------------------------------

_C_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DTYPE_BYTES = {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "uint16": 2, "float16": 2,
                "int32": 4, "uint32": 4, "float32": 4, "int64": 8, "uint64": 8, "float64": 8}
# Version 2: model inputs and outputs live in arena slots (TVMGEN_<NAME>_INPUT_<C>_OFFSET).
MLF_VERSION = 2
_MEMORY_KEYS = ("arena_bytes", "naive_bytes", "constant_bytes", "io_bytes", "workspace_bytes")


def extract_tar_safely(tar_path, dest):
    """Extracts regular files and directories; refuses absolute paths, '..' and links."""
    with tarfile.open(tar_path) as tar:
        members = tar.getmembers()
        for member in members:
            parts = pathlib.PurePosixPath(member.name).parts
            if member.name.startswith("/") or ".." in parts:
                raise ServerError(f"{tar_path}: refusing unsafe path {member.name!r} in the tar")
            if not (member.isfile() or member.isdir()):
                raise ServerError(f"{tar_path}: refusing {member.name!r}: only regular files "
                                  "and directories are allowed")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:
            tar.extractall(dest, members=members)


def load_metadata(model_dir):
    """Reads and checks model/metadata.json (written by rvtvm's compiler)."""
    path = model_dir / "metadata.json"
    if not path.is_file():
        raise ServerError("the Model Library Format tar has no metadata.json")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ServerError(f"metadata.json is not valid JSON: {exc}") from None
    _require(isinstance(meta, dict) and meta.get("version") == MLF_VERSION,
             f"metadata.json version must be {MLF_VERSION}, got {meta.get('version')!r}; "
             "compile the model again with this rvtvm"
             if isinstance(meta, dict) else "metadata.json must be an object")
    _require(_is_identifier(meta.get("model_name")),
             f"metadata.json model_name must be a C identifier, got {meta.get('model_name')!r}")
    for kind in ("inputs", "outputs"):
        tensors = meta.get(kind)
        _require(isinstance(tensors, list) and tensors,
                 f"metadata.json {kind} must be a non-empty list")
        for tensor in tensors:
            _check_tensor(kind, tensor)
    memory = meta.get("memory")
    _require(isinstance(memory, dict), "metadata.json has no memory section")
    for key in _MEMORY_KEYS:
        value = memory.get(key)
        _require(isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                 f"metadata.json memory.{key} must be a byte count, got {value!r}")
    return meta


def _check_tensor(kind, tensor):
    _require(isinstance(tensor, dict), f"metadata.json {kind} entries must be objects")
    name = tensor.get("name")
    _require(_is_identifier(tensor.get("c_name")),
             f"metadata.json {kind} {name!r}: c_name must be a C identifier, "
             f"got {tensor.get('c_name')!r}")
    nbytes = tensor.get("nbytes")
    _require(isinstance(nbytes, int) and not isinstance(nbytes, bool) and nbytes > 0,
             f"metadata.json {kind} {name!r}: nbytes must be a positive integer, got {nbytes!r}")
    shape, dtype = tensor.get("shape"), tensor.get("dtype")
    if dtype in _DTYPE_BYTES and isinstance(shape, list) and all(
            isinstance(d, int) and d >= 0 for d in shape):
        expected = _DTYPE_BYTES[dtype]
        for dim in shape:
            expected *= dim
        _require(expected == nbytes, f"metadata.json {kind} {name!r}: nbytes is {nbytes} but "
                                     f"shape {shape} of {dtype} is {expected} bytes")


def _is_identifier(value):
    return isinstance(value, str) and bool(_C_IDENTIFIER.match(value))


def _require(condition, message):
    if not condition:
        raise ServerError(message)


def stack_bytes(board, options):
    """The stack reservation: stack_size_bytes, else the board's default."""
    return options["stack_size_bytes"] or board.stack_bytes


def workspace_pool_bytes(meta, options):
    """The general workspace pool: workspace_size_bytes; for host_driven at least the largest
    operator's scratch, since operators called from the host take theirs from the pool."""
    given = options["workspace_size_bytes"] or 0
    if options["project_type"] == "host_driven":
        return max(given, meta["memory"]["workspace_bytes"])
    return given


def rpc_heap_bytes(options):
    if options["project_type"] != "host_driven":
        return 0
    heap = options["rpc_heap_bytes"]
    return DEFAULT_RPC_HEAP_BYTES if heap is None else heap


def check_memory(meta, board, options, stack):
    """Refuses a model that can't fit the board, before anything is compiled."""
    mem = meta["memory"]
    workspace_size_bytes = options["workspace_size_bytes"]
    pool = workspace_pool_bytes(meta, options)
    rpc = rpc_heap_bytes(options) + (RPC_MESSAGE_BYTES if options["project_type"] == "host_driven" else 0)
    need = mem["arena_bytes"] + mem["constant_bytes"] + pool + rpc + stack  # inputs, outputs: in the arena
    if need > board.ram_length:
        pool_text = f" + workspace pool {pool}" if pool else ""
        rpc_text = f" + RPC heap and buffer {rpc}" if rpc else ""
        raise ServerError(
            f"model does not fit board {board.name}: it needs {need} bytes of RAM "
            f"(arena {mem['arena_bytes']} + constants {mem['constant_bytes']}{pool_text}{rpc_text} + stack {stack}) "
            f"but the board has {board.ram_length}")
    if workspace_size_bytes is not None and workspace_size_bytes < mem["workspace_bytes"]:
        raise ServerError(
            f"workspace_size_bytes={workspace_size_bytes} is smaller than the model's workspace "
            f"({mem['workspace_bytes']} bytes, metadata.json memory.workspace_bytes)")


def accel_backend(meta, board, options):
    """The accel_driver backend the firmware links ("hardware" or "software"), or None when the
    model calls no rvtvm accelerator (another target's driver comes inside the tar)."""
    report = meta.get("accel")
    target = report.get("target") if isinstance(report, dict) else None
    if options["accel"] is not None and options["accel"] != target:
        raise ServerError(
            f"option accel={options['accel']!r}, but the model was compiled "
            + (f"for accelerator {target!r}" if target else "without --accel")
            + f"; compile it with rvtvm compile --accel {options['accel']}")
    if target != "rvtvm":
        return None
    backend = options["accel_backend"]
    if backend == "auto":
        backend = "hardware" if board.accelerator else "software"
    if backend == "hardware" and not board.accelerator:
        raise ServerError(f"board {board.name} has no accelerator; use accel_backend=software "
                          "(or auto) to run the offloaded operators on its CPU")
    return backend


def board_mk_text(board, options, meta, backend=None):
    accel = []
    if backend is not None:
        source = "accel_mmio.c" if backend == "hardware" else "accel_sw.c"
        accel = [
            f"# accel_driver, {backend} backend (option accel_backend)\n",
            f"EXTRA_SOURCES += accel_driver/src/accel_args.c accel_driver/src/{source}\n",
            "EXTRA_INCLUDE_DIRS += accel_driver/include\n",
            "BOARD_CFLAGS += -DRVTVM_ACCEL_PORT_MMIO\n" if backend == "hardware" else "",
        ]
    return "".join([
        "# Written by microtvm_api_server.py generate_project. Do not edit: generate again.\n",
        f"BOARD := {board.name}\n",
        f"PROJECT_TYPE := {options['project_type']}\n",
        f"RAM_ORIGIN := 0x{board.ram_origin:08x}\n",
        f"RAM_LENGTH := {board.ram_length}\n",
        f"STACK_BYTES := {stack_bytes(board, options)}\n",
        f"WORKSPACE_POOL_BYTES := {workspace_pool_bytes(meta, options)}\n",
        f"RPC_HEAP_BYTES := {rpc_heap_bytes(options)}\n",
        f"CYCLES_PER_SECOND := {board.cycles_per_second}\n",
        *accel,
    ])


def model_glue_text(meta):
    """C source implementing src/model_glue.h for this model."""
    name = meta["model_name"]
    prefix = f"tvmgen_{name}"
    lines = [
        f"/* Written by microtvm_api_server.py from model/metadata.json (model \"{name}\").",
        " * Do not edit: generate the project again. Implements src/model_glue.h. */",
        "#include <stdint.h>",
        "",
        "#include \"model_glue.h\"",
        f"#include \"{prefix}.h\"",
        "",
        f"const char rvtvm_model_name[] = \"{name}\";",
        f"const uint32_t rvtvm_model_num_inputs = {len(meta['inputs'])}u;",
        f"const uint32_t rvtvm_model_num_outputs = {len(meta['outputs'])}u;",
        "",
    ]
    # The executor keeps every input and output in a slot of its arena (tvmgen_<name>.h): the
    # firmware receives inputs and sends outputs there, so it needs no buffers of its own.
    buffers = {}
    for kind in ("inputs", "outputs"):
        buffers[kind] = []
        for tensor in meta[kind]:
            macro = f"{prefix}_{kind[:-1]}_{tensor['c_name']}".upper()
            buffers[kind].append(f"&{prefix}_arena[{macro}_OFFSET]")
            lines.append(f"_Static_assert({macro}_SIZE == {tensor['nbytes']}u, "
                         f"\"metadata.json and {prefix}.h disagree on {tensor['c_name']}\");")
        lines.append("")
    for kind in ("inputs", "outputs"):
        sizes = ", ".join(f"{t['nbytes']}u" for t in meta[kind])
        lines += [
            f"const uint32_t rvtvm_model_{kind[:-1]}_bytes[] = {{{sizes}}};",
            f"uint8_t* const rvtvm_model_{kind}[] = {{{', '.join(buffers[kind])}}};",
        ]
    lines += ["", "int32_t rvtvm_model_run(void) {"]
    for kind in ("inputs", "outputs"):
        fields = ", ".join(f".{t['c_name']} = {buf}"
                           for t, buf in zip(meta[kind], buffers[kind]))
        lines.append(f"  struct {prefix}_{kind} {kind} = {{{fields}}};")
    lines += [f"  return {prefix}_run(&inputs, &outputs);", "}", ""]
    return "\n".join(lines)


def model_rpc_text(meta):
    """C source implementing src/model_rpc.h (host_driven projects): the system lib and the
    memory regions the firmware's RPC server serves."""
    name = meta["model_name"]
    prefix = f"tvmgen_{name}"
    operators = [op["name"] for op in meta.get("operators", [])]
    for op in operators:
        _require(_is_identifier(op), f"metadata.json operator name {op!r} is not a C identifier")
    lines = [
        f"/* Written by microtvm_api_server.py from model/metadata.json (model \"{name}\").",
        " * Do not edit: generate the project again. Implements src/model_rpc.h. */",
        "#include <stdint.h>",
        "",
        "#include \"model_rpc.h\"",
        f"#include \"{prefix}.h\"",
        "",
    ]
    lines += [f"int32_t __tvm_ffi_{op}(void* self, const TVMFFIAny* args, int32_t num_args, "
              "TVMFFIAny* result);" for op in operators]
    lines += ["", "const struct rvtvm_rpc_function rvtvm_model_functions[] = {",
              f"  {{\"{prefix}_run\", rvtvm_model_run_packed}},"]
    lines += [f"  {{\"{op}\", __tvm_ffi_{op}}}," for op in operators]
    lines += ["};", f"const uint32_t rvtvm_model_num_functions = {1 + len(operators)}u;", "",
              f"static struct rvtvm_rpc_region regions[1 + {prefix.upper()}_NUM_CONSTANTS];", "",
              "const struct rvtvm_rpc_region* rvtvm_model_regions(uint32_t* count) {",
              f"  regions[0] = (struct rvtvm_rpc_region){{{prefix}_arena, sizeof {prefix}_arena, 1}};",
              "  for (uint32_t i = 0; i + 1 < sizeof regions / sizeof regions[0]; ++i) {",
              f"    regions[1 + i] = (struct rvtvm_rpc_region){{(void*)(uintptr_t){prefix}_constants[i],",
              f"                                               {prefix}_constant_bytes[i], 0}};",
              "  }",
              "  *count = sizeof regions / sizeof regions[0];",
              "  return regions;",
              "}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Child processes: make and the emulator
# --------------------------------------------------------------------------------------------


def _die_with_parent_preexec():
    """A preexec_fn for Popen: the child gets SIGKILL when the thread that started it dies
    (PR_SET_PDEATHSIG), and exits at once if that already happened."""
    parent_pid = os.getpid()
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork, not after
    except (OSError, AttributeError):
        prctl = None  # not Linux: the watchdog and the server's cleanup still apply

    def preexec():
        if prctl is not None:
            prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


def _kill_group(proc, grace_sec):
    """SIGTERM proc's process group, SIGKILL it after grace_sec, and reap proc."""
    for sig, wait_sec in ((signal.SIGTERM, grace_sec), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(wait_sec)
            break
        except subprocess.TimeoutExpired:
            continue


def run_captured(cmd, timeout_sec, cwd=None):
    """Runs cmd in its own process group with stdout+stderr captured.
    Returns (returncode or None on timeout, output text); the group is always killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=_die_with_parent_preexec())
    try:
        output, _ = proc.communicate(timeout=timeout_sec)
        returncode = proc.returncode
    except subprocess.TimeoutExpired:
        _kill_group(proc, 0)
        output, _ = proc.communicate()
        returncode = None
    finally:
        _kill_group(proc, 0)
    return returncode, output.decode("utf-8", errors="replace")


def _require_tools(tools, purpose):
    for tool in tools:
        if shutil.which(tool) is None:
            raise ServerError(f"{tool} not found on PATH (needed to {purpose}); "
                              "run scripts/setup.sh")


def _tail(text, lines):
    return "\n".join(text.rstrip("\n").splitlines()[-lines:])


class Emulator:
    """One emulator process booted on the firmware: own process group, output in a log file,
    PR_SET_PDEATHSIG, and a watchdog that kills it after timeout_sec."""

    def __init__(self, name, cmd, cwd, log_path, timeout_sec):
        self.name = name
        self.timeout_sec = timeout_sec
        self.log_path = log_path
        self.watchdog_fired = False
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent_preexec())
        self._watchdog = threading.Timer(timeout_sec, self._on_timeout)
        self._watchdog.daemon = True
        self._watchdog.start()

    def _on_timeout(self):
        self.watchdog_fired = True
        _LOG.warning("emulator still running after %s s; killing it", self.timeout_sec)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def running(self):
        return self.proc.poll() is None

    def wait(self, timeout_sec):
        try:
            self.proc.wait(timeout_sec)
        except subprocess.TimeoutExpired:
            pass
        return self.proc.returncode

    def stop(self):
        self._watchdog.cancel()
        _kill_group(self.proc, STOP_GRACE_SEC)

    def describe_exit(self):
        """One phrase for how the emulator ended, e.g. 'QEMU exited with status 3'."""
        status = self.proc.returncode
        what = self.name
        if status is None:
            return f"{what} is still running"
        if self.watchdog_fired:
            return f"{what} was killed after emulator_timeout_sec={self.timeout_sec} s"
        if status < 0:
            return f"{what} was killed by signal {-status}"
        reason = self.exit_reason()
        return f"{what} exited with status {status}" + (f": {reason}" if reason else "")

    def exit_reason(self):
        """What the emulator said last when it failed (the SoC's harness ends its log with why
        the run stopped), or None."""
        if self.proc.returncode in (None, 0) or self.watchdog_fired:
            return None
        return self.log_tail(1).strip() or None

    def log_tail(self, lines=20):
        try:
            return _tail(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return ""


# --------------------------------------------------------------------------------------------
# The handler
# --------------------------------------------------------------------------------------------


class RvtvmHandler(ProjectAPIHandler):
    """Project API for rvtvm. server_dir is the directory holding this file: the template
    (is_template) or a generated project."""

    def __init__(self, server_dir):
        self.server_dir = pathlib.Path(server_dir).resolve()
        self._emulator = None
        self._sock = None

    # ---- info and generation ----

    @property
    def is_template(self):
        return not (self.server_dir / PROJECT_FILE).is_file()

    def server_info_query(self, tvm_version):
        match = re.match(r"(\d+)\.(\d+)", tvm_version)
        if not match or (int(match.group(1)), int(match.group(2))) < OLDEST_TVM:
            raise UnsupportedTVMVersionError(data={
                "detail": f"TVM {tvm_version} is not supported; this server needs TVM "
                          f"{OLDEST_TVM[0]}.{OLDEST_TVM[1]} or newer"})
        mlf = None if self.is_template else self.server_dir / MODEL_TAR
        return ServerInfo(PLATFORM_NAME, self.is_template, mlf, list(PROJECT_OPTIONS))

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir,
                         options):
        if not self.is_template:
            raise ServerError("generate_project runs on the template's server, not a project's")
        given = options
        options = resolve_options("generate_project", given)
        mlf = model_library_format_path.resolve()
        if not mlf.is_file():
            raise ServerError(f"model library format tar not found: {mlf}")
        runtime = self._runtime_dir(standalone_crt_dir)
        project_dir = project_dir.resolve()
        existed = project_dir.exists()
        if existed and (not project_dir.is_dir() or any(project_dir.iterdir())):
            raise ServerError(f"project_dir {project_dir} exists and is not empty; "
                              "choose a new directory")
        project_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._populate(project_dir, mlf, runtime, options)
            _write_json(project_dir / PROJECT_FILE, {"version": 1, "options": given})
        except BaseException:
            _remove_contents(project_dir, remove_dir=not existed)
            raise

    def _runtime_dir(self, standalone_crt_dir):
        """The C runtime to copy: standalone_crt_dir if given, else the template's
        ../riscv_runtime. (microTVM passed its own CRT here; ours has include/rvtvm/.)"""
        runtime = standalone_crt_dir or self.server_dir.parent / "riscv_runtime"
        runtime = runtime.resolve()
        if not (runtime / "include" / "rvtvm").is_dir():
            raise ServerError(f"{runtime} is not an rvtvm riscv_runtime (it has no "
                              "include/rvtvm/); pass the repo's riscv_runtime as "
                              "standalone_crt_dir")
        return runtime

    def _populate(self, project_dir, mlf, runtime, options):
        board = BOARDS[options["board"]]
        for item in TEMPLATE_ITEMS:
            src = self.server_dir / item
            if src.is_dir():
                shutil.copytree(src, project_dir / item, ignore=COPY_IGNORE)
            elif src.is_file():
                shutil.copy2(src, project_dir / item)
            else:
                raise ServerError(f"the template {self.server_dir} is incomplete: {item} missing")
        shutil.copytree(runtime, project_dir / "runtime", ignore=COPY_IGNORE)
        shutil.copy2(mlf, project_dir / MODEL_TAR)
        model_dir = project_dir / "model"
        model_dir.mkdir()
        extract_tar_safely(project_dir / MODEL_TAR, model_dir)
        meta = load_metadata(model_dir)
        backend = accel_backend(meta, board, options)
        if backend is not None:
            driver = self.server_dir.parent / "accel_driver"
            if not (driver / "include" / "rvtvm" / "accel.h").is_file():
                raise ServerError(f"{driver} is not rvtvm's accel_driver; the model was compiled "
                                  "with --accel rvtvm and needs it")
            shutil.copytree(driver, project_dir / "accel_driver", ignore=COPY_IGNORE)
        header = model_dir / "codegen" / "host" / "include" / f"tvmgen_{meta['model_name']}.h"
        if not header.is_file():
            raise ServerError(f"the Model Library Format tar has no executor header "
                              f"codegen/host/include/{header.name}")
        check_memory(meta, board, options, stack_bytes(board, options))
        (project_dir / "board.mk").write_text(board_mk_text(board, options, meta, backend))
        (project_dir / "src" / "model_glue.c").write_text(model_glue_text(meta))
        if options["project_type"] == "host_driven":
            (project_dir / "src" / "model_rpc.c").write_text(model_rpc_text(meta))

    # ---- build ----

    def _project_options(self, method, options):
        if self.is_template:
            raise ServerError(f"{method} needs a generated project; this server runs in the "
                              f"template {self.server_dir} (call generate_project first)")
        stored = _read_json(self.server_dir / PROJECT_FILE).get("options", {})
        for name in ("board", "project_type"):
            if name in options and options[name] != stored.get(name):
                raise ServerError(f"this project was generated with {name}={stored.get(name)!r}, "
                                  f"not {options[name]!r}; generate a new project")
        return resolve_options(method, options, stored)

    def build(self, options):
        options = self._project_options("build", options)
        _require_tools(BUILD_TOOLS, "build the firmware")
        self._prepare_board(BOARDS[options["board"]], logging.INFO)
        cmd = ["make", "-C", str(self.server_dir)]
        if options["verbose"]:
            cmd.append("V=1")
        if options["warning_as_error"]:
            cmd.append("WERROR=1")
        if options["compile_definitions"]:
            cmd.append(f"EXTRA_CFLAGS={options['compile_definitions']}")
        _LOG.log(logging.INFO if options["verbose"] else logging.DEBUG, "running %s",
                 " ".join(cmd))
        returncode, output = run_captured(cmd, BUILD_TIMEOUT_SEC)
        if returncode != 0:
            raise _build_error(returncode, output, options["board"])

    def _prepare_board(self, board, level):
        if board.prepare is None:
            return
        cmd = _board_command(board.prepare)
        _LOG.log(level, "preparing board %s (the first time, or after its sources changed, this "
                 "takes a while): %s", board.name, " ".join(cmd))
        returncode, output = run_captured(cmd, BUILD_TIMEOUT_SEC)
        if returncode != 0:
            raise ServerError(f"preparing board {board.name} failed: {_tail(output, 1)}",
                              data={"output": _tail(output, BUILD_OUTPUT_TAIL_LINES)})

    # ---- flash and transport ----

    def flash(self, options):
        options = self._project_options("flash", options)
        self._start_emulator(options)

    def _start_emulator(self, options):
        board = BOARDS[options["board"]]
        elf = self.server_dir / "build" / "firmware.elf"
        if not elf.is_file():
            raise ServerError(f"{elf} not found; call build first")
        _require_tools(_board_command(board.emulator[:1]), f"run board {board.name}")
        self._prepare_board(board, logging.DEBUG)  # normally a cache hit: build did it
        self._close_socket()
        self._stop_emulator()
        uart_socket = self._uart_socket()
        if uart_socket.exists() or uart_socket.is_symlink():
            uart_socket.unlink()
        cmd = _board_command(board.emulator, elf=elf, uart_socket=uart_socket)
        _LOG.log(logging.INFO if options["verbose"] else logging.DEBUG, "starting %s",
                 " ".join(cmd))
        log = elf.parent / f"{board.name}.log"
        emulator = Emulator(board.emulator_name, cmd, self.server_dir, log,
                            options["emulator_timeout_sec"])
        self._emulator = emulator
        deadline = time.monotonic() + SOCKET_WAIT_SEC
        while not uart_socket.exists():
            if not emulator.running():
                self._stop_emulator()
                raise ServerError(f"{emulator.describe_exit()} before opening the UART; "
                                  f"build/{log.name} ends with: {emulator.log_tail(5)!r}",
                                  data={"log": emulator.log_tail(60)})
            if time.monotonic() > deadline:
                self._stop_emulator()
                raise ServerError(f"the emulator did not open {uart_socket} within "
                                  f"{SOCKET_WAIT_SEC:g} s", data={"log": emulator.log_tail(60)})
            time.sleep(0.02)

    def _uart_socket(self):
        path = self.server_dir / "build" / "uart.sock"
        if len(os.fsencode(path)) > 107:
            raise ServerError(f"the project path is too long for a unix socket ({path}); "
                              "generate the project in a shorter directory")
        return path

    def open_transport(self, options):
        options = self._project_options("open_transport", options)
        if self._sock is None:
            if self._emulator is None or not self._emulator.running():
                self._start_emulator(options)
            self._sock = self._connect_uart()
        return BOARDS[options["board"]].timeouts

    def _connect_uart(self):
        # The socket file appears at bind(), before the emulator's listen(): until then connect()
        # is refused, so retry for a while (a loaded machine makes that window visible).
        deadline = time.monotonic() + SOCKET_WAIT_SEC
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(str(self._uart_socket()))
                sock.setblocking(False)
                return sock
            except ConnectionRefusedError as exc:
                sock.close()
                if time.monotonic() > deadline or not self._emulator.running():
                    raise ServerError(f"can't connect to the board's UART: {exc}") from None
            except OSError as exc:
                sock.close()
                raise ServerError(f"can't connect to the board's UART: {exc}") from None
            time.sleep(0.02)

    def close_transport(self):
        self._close_socket()
        self._stop_emulator()

    def read_transport(self, n, timeout_sec):
        sock = self._open_socket()
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([sock], [], [], remaining)
            if readable:
                try:
                    data = sock.recv(n)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    return data + self._gather(sock, n - len(data))
                raise self._transport_closed()
            if deadline is not None and time.monotonic() >= deadline:
                raise IoTimeoutError(data={"detail": f"no data within {timeout_sec:g} s"})

    @staticmethod
    def _gather(sock, n):
        """More bytes of a burst already under way, up to n: an emulated UART delivers a reply a
        byte at a time, and each read_transport costs the client a round trip. Stops after
        GATHER_IDLE_SEC without a byte (or at EOF, which the next read reports)."""
        data = b""
        while len(data) < n:
            readable, _, _ = select.select([sock], [], [], GATHER_IDLE_SEC)
            if not readable:
                break
            try:
                more = sock.recv(n - len(data))
            except (BlockingIOError, OSError):
                break
            if not more:
                break
            data += more
        return data

    def write_transport(self, data, timeout_sec):
        sock = self._open_socket()
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        view, sent = memoryview(data), 0
        while sent < len(data):
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            _, writable, _ = select.select([], [sock], [], remaining)
            if not writable:
                raise IoTimeoutError(data={"detail": f"wrote {sent} of {len(data)} bytes in "
                                                     f"{timeout_sec:g} s"})
            try:
                sent += sock.send(view[sent:], socket.MSG_NOSIGNAL)
            except BlockingIOError:
                continue
            except OSError:
                raise self._transport_closed() from None

    def _open_socket(self):
        if self._sock is None:
            raise ServerError("the transport is not open; call open_transport first")
        return self._sock

    def _transport_closed(self):
        """The UART reached EOF: close it and say how the emulator ended."""
        self._close_socket()
        detail, status, reason = "the board closed its UART", None, None
        if self._emulator is not None:
            status = self._emulator.wait(STOP_GRACE_SEC)
            detail = self._emulator.describe_exit()
            reason = self._emulator.exit_reason()
        return TransportClosedError(data={"detail": detail, "exit_status": status, "reason": reason})

    def _close_socket(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _stop_emulator(self):
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def shutdown(self):
        """Closes the transport and kills the emulator. Safe to call more than once."""
        self._close_socket()
        self._stop_emulator()


def _board_command(words, **values):
    """A board's command with its placeholders filled in; {python} is this server's Python."""
    return [word.format(python=sys.executable, **values) for word in words]


def _build_error(returncode, output, board):
    tail = _tail(output, BUILD_OUTPUT_TAIL_LINES)
    data = {"output": tail, "returncode": returncode}
    overflow = re.search(r"region `RAM' overflowed by (\d+) bytes", output)
    if overflow:
        return ServerError(f"firmware does not fit the board's RAM ({board}, "
                           f"{overflow.group(1)} bytes): the linker's RAM region overflowed; "
                           "shrink the model, stack_size_bytes or workspace_size_bytes", data=data)
    if returncode is None:
        return ServerError(f"make did not finish within {BUILD_TIMEOUT_SEC} s; last lines of "
                           f"its output:\n{tail}", data=data)
    return ServerError(f"build failed (make exited with status {returncode}); last lines of "
                       f"its output:\n{tail}", data=data)


def _write_json(path, value):
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ServerError(f"can't read {path}: {exc}") from None


def _remove_contents(directory, remove_dir):
    if remove_dir:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _exit_on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description="rvtvm Project API server (microTVM protocol 1)")
    parser.add_argument("--read-fd", type=int, required=True, help="fd to read requests from")
    parser.add_argument("--write-fd", type=int, required=True, help="fd to write replies to")
    parser.add_argument("--debug", action="store_true", help="log every request and reply")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format="%(name)s: %(levelname)s: %(message)s")

    handler = RvtvmHandler(pathlib.Path(__file__).parent)
    atexit.register(handler.shutdown)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    read_file = os.fdopen(args.read_fd, "rb")
    write_file = os.fdopen(args.write_fd, "wb")
    try:
        ProjectAPIServer(read_file, write_file, handler).serve_forever()
    except BrokenPipeError:
        _LOG.info("the client closed its reply pipe")
    finally:
        handler.shutdown()


if __name__ == "__main__":
    main()
