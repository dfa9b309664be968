"""Tests of the bare-metal RPC server (riscv_runtime/src/rpc_server.c) on the host.

tests/c/rpc_server_harness.c serves it over pipes, built with ASan/UBSan. Two ways in:
  - the stock TVM 0.27 client (tvm.rpc CreatePipeClient), checked against numpy;
  - raw packets written here from riscv_runtime/rpc/PROTOCOL.md with struct, independently of
    the C code and of TVM: hostile requests, each of which must get a kException while the
    following valid request still works, and a hypothesis property test of mutated requests.
The harness writes its stderr to a file (the stock client SIGKILLs its pipe child at close), and
every test fails if that file holds a sanitizer report or a harness reply-size complaint.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
import select
import signal
import struct
import time
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvtvm import process

from .conftest import require_tools
from .test_runtime_c import (  # noqa: F401 (sanitizer_flags is a fixture)
    RUNTIME,
    STRICT_WARNINGS,
    _tvm_include_dirs,
    build_sanitized_program,
    run_checked,
    sanitizer_flags,
)

import tvm  # noqa: E402 (after the test helpers, as in the other test modules)
import tvm.rpc  # noqa: E402
from tvm.rpc.client import RPCSession  # noqa: E402

HARNESS_SOURCE = Path(__file__).resolve().parent / "c" / "rpc_server_harness.c"
SERVER_SOURCES = ["rpc_server.c", "tvm_ffi_error.c", "log.c", "text.c"]
MAX_PACKET = 1024  # the harness's default
HEAP_BYTES = 64 * 1024
SANITIZER_ENV = {"ASAN_OPTIONS": "abort_on_error=1", "UBSAN_OPTIONS": "print_stacktrace=1"}
SANITIZER_REPORT = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|^harness:", re.M)
CROSS_GCC = "riscv64-unknown-elf-gcc"
TEXT_BUDGET_BYTES = 10 * 1024


@pytest.fixture(scope="module")
def harness(sanitizer_flags: list[str],  # noqa: F811 (the imported fixture)
            tmp_path_factory: pytest.TempPathFactory) -> Path:
    include_dirs = _tvm_include_dirs()
    if not include_dirs:
        pytest.fail("TVM headers not found (apache-tvm is a project dependency)")
    out = tmp_path_factory.mktemp("rpc_harness")
    sources = [HARNESS_SOURCE, *[RUNTIME / "src" / s for s in SERVER_SOURCES]]
    return build_sanitized_program(sources, out / "rpc_server_harness", sanitizer_flags, include_dirs)


def check_log(log: Path) -> None:
    text = log.read_text(errors="replace") if log.exists() else ""
    assert not SANITIZER_REPORT.search(text), text


# ---------------------------------------------------------------------------------------------
# The stock client


def _harness_children(binary: Path) -> list[int]:
    """Our children running (or dead but unreaped) the harness: CreatePipeClient forks them
    from this process and never waits for them."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv0 = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")[0]
            fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and argv0 == str(binary).encode():
            found.append(int(entry))
    return found


@pytest.fixture
def connect(harness: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """connect(*options) -> RPCSession on a fresh harness. At teardown the sessions are
    dropped (the client sends kShutdown and SIGKILLs the child), every harness child is
    reaped, and its stderr is checked for sanitizer reports."""
    logs = []

    def open_session(*options: str) -> RPCSession:
        log = tmp_path / f"harness{len(logs)}.stderr"
        logs.append(log)
        for name, value in SANITIZER_ENV.items():
            monkeypatch.setenv(name, value)  # the forked child inherits them
        return RPCSession(tvm.rpc._ffi_api.CreatePipeClient(
            str(harness), *options, "--stderr", str(log)))

    yield open_session
    gc.collect()  # the last references to the session go, and the client closes it
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
            process.is_alive(pid) for pid in _harness_children(harness)):
        time.sleep(0.02)
    for pid in _harness_children(harness):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # still referenced, e.g. from a failed test's traceback
        os.waitpid(pid, 0)
    for log in logs:
        check_log(log)


def test_tensors_round_trip_and_functions_compute(connect) -> None:
    sess = connect()
    dev = sess.cpu(0)
    lib = sess.system_lib()
    rng = np.random.default_rng(1)
    for shape in [(4,), (3, 5), (4000,), (2, 3, 500)]:  # 16 KB: many 1 KB chunks each way
        x = rng.integers(-2**31, 2**31 - 1, size=shape, dtype=np.int32)
        a = tvm.runtime.tensor(x, device=dev)
        b = tvm.runtime.empty(shape, "int32", dev)
        lib["add_one"](a, b)
        np.testing.assert_array_equal(a.numpy(), x)
        np.testing.assert_array_equal(b.numpy(), x + np.int32(1))
        c = tvm.runtime.empty(shape, "int32", dev)
        b.copyto(c)
        np.testing.assert_array_equal(c.numpy(), x + np.int32(1))
        del a, b, c  # three of 16 KB at a time fit the 64 KB heap

    x8 = rng.integers(-128, 128, size=5000, dtype=np.int8)
    total = tvm.runtime.empty((1,), "int32", dev)
    lib["sum_i8"](tvm.runtime.tensor(x8, device=dev), total)
    assert total.numpy()[0] == x8.astype(np.int32).sum()
    assert tvm.runtime.empty((0,), "int32", dev).numpy().shape == (0,)


def test_small_packet_limit_chunks_copies(connect) -> None:
    sess = connect("--max-packet", "128")  # chunks of 128 - (44 + 8 * ndim) bytes
    x = np.arange(2 * 3 * 50, dtype=np.float32).reshape(2, 3, 50)
    a = tvm.runtime.tensor(x, device=sess.cpu(0))
    np.testing.assert_array_equal(a.numpy(), x)


def test_scalar_string_and_bytes_arguments_and_results(connect) -> None:
    lib = connect().system_lib()
    echo = lib["echo"]
    for value in [0, -1, 2**62, -2**63, 1.5, -0.0, 1e300, True, False, None, "", "hello",
                  "x" * 200]:
        result = echo(value)  # long strings come back as tvm_ffi's str subclass
        assert result == value and isinstance(result, type(value)), value
        assert isinstance(result, bool) == isinstance(value, bool), value
    for data in [b"", b"a", b"1234567", b"12345678", bytes(range(256)) * 3]:  # short and long
        assert lib["bytes_len"](data) == len(data)
        assert lib["bytes_checksum"](data) == sum((i + 1) * b for i, b in enumerate(data))
    assert echo("y" * 255) == "y" * 255  # the strings of one request share 256 bytes
    with pytest.raises(tvm.error.RPCError, match="string arguments of a request exceed 255"):
        echo("y" * 256)
    # kCallFunc is never chunked: the harness refuses the packet unread.
    with pytest.raises(tvm.error.RPCError, match=f"over the limit of {MAX_PACKET}"):
        lib["bytes_len"](b"z" * 2000)
    assert echo(7) == 7


def test_errors_reach_the_client_and_the_session_survives(connect) -> None:
    lib = connect().system_lib()
    with pytest.raises(AttributeError):
        lib["no_such_function"]
    with pytest.raises(tvm.error.RPCError) as raised:
        lib["fail"]()
    message = str(raised.value)
    assert "fail failed (status -1): ValueError: fail was asked to fail second line" in message
    with pytest.raises(tvm.error.RPCError) as raised:
        lib["fail_silently"]()
    assert str(raised.value).rstrip().endswith("fail_silently failed (status -2):")  # not stale
    with pytest.raises(tvm.error.RPCError, match="returned type index 71"):
        lib["returns_array"]()
    with pytest.raises(tvm.error.RPCError, match="outside every allocation"):
        lib["outside"]()
    with pytest.raises(tvm.error.RPCError, match="add_one takes two int32 tensors"):
        lib["add_one"](1, 2)
    assert lib["echo"]("still alive") == "still alive"


def test_returned_tensors_live_in_regions(connect) -> None:
    sess = connect()
    lib = sess.system_lib()
    squares = lib["squares"]()
    table = (np.arange(64, dtype=np.int32) ** 2).reshape(8, 8)
    np.testing.assert_array_equal(squares.numpy(), table)
    with pytest.raises(tvm.error.RPCError, match="read-only region"):
        squares.copyfrom(np.zeros((8, 8), dtype=np.int32))
    np.testing.assert_array_equal(lib["squares_strided"](8, 1).numpy(), squares.numpy())
    with pytest.raises(tvm.error.RPCError, match="not compact"):
        lib["squares_strided"](1, 8)  # the transpose
    # A returned byte_offset is folded into data, because copies replace byte_offset.
    lib["scratch_view"](0).copyfrom(np.zeros(4, dtype=np.int32))
    lib["scratch_view"](4).copyfrom(np.array([11, 12, 13, 14], dtype=np.int32))
    np.testing.assert_array_equal(lib["scratch_view"](0).numpy(), [0, 11, 12, 13])
    # A heap tensor's data pointer, as an opaque pointer result.
    t = tvm.runtime.empty((4,), "int32", sess.cpu(0))
    assert lib["ptr_of"](t).value % 16 == 0


def test_heap_exhaustion_and_reuse(connect) -> None:
    sess = connect()
    dev = sess.cpu(0)
    largest_free = sess.get_function("harness.heap_largest_free")
    full = largest_free()
    assert HEAP_BYTES - 64 <= full < HEAP_BYTES
    with pytest.raises(tvm.error.RPCError) as raised:
        tvm.runtime.empty((100_000,), "int32", dev)
    assert re.search(r"out of device memory: 400000 bytes requested, largest free block "
                     rf"{full} of {HEAP_BYTES} \(raise the rpc heap\)", str(raised.value))
    x = np.arange(4000, dtype=np.int32)  # 16 KB: four fit, a hundred go through
    for i in range(100):
        kept = [tvm.runtime.tensor(x + i + k, device=dev) for k in range(3)]
        np.testing.assert_array_equal(kept[i % 3].numpy(), x + i + i % 3)
        del kept
    assert largest_free() == full  # everything freed and merged again


def test_handles_run_out_and_come_back(connect) -> None:
    lib = connect().system_lib()
    functions = []
    with pytest.raises(tvm.error.RPCError, match=r"too many live handles \(32\); free some"):
        for _ in range(40):
            functions.append(lib["echo"])
    del functions
    gc.collect()
    assert lib["echo"](3) == 3


@pytest.mark.timeout(60)  # a broken adaptation of `number` loops for ever
def test_time_evaluator(connect) -> None:
    sess = connect()
    dev = sess.cpu(0)
    lib = sess.system_lib()
    short = lib.time_evaluator("spin", dev, number=5, repeat=3)(10_000)
    start = time.monotonic()
    long = lib.time_evaluator("spin", dev, number=5, repeat=3)(2_000_000)
    wall = time.monotonic() - start
    assert len(short.results) == len(long.results) == 3
    assert all(0 < t < 1 for t in short.results + long.results)
    assert long.median > 20 * short.median  # 200 times the work
    # 15 timed calls and a warm-up, in the wall time of the whole request.
    assert 0.4 < sum(long.results) * 5 / wall <= 1.0

    # min_repeat_ms: number grows until a round lasts 20 ms.
    start = time.monotonic()
    grown = lib.time_evaluator("spin", dev, number=1, repeat=2, min_repeat_ms=20)(1000)
    assert time.monotonic() - start >= 0.04 and grown.median < 0.01

    # Tensor arguments are checked and passed as in a call.
    x = np.arange(64, dtype=np.int32)
    a, b = tvm.runtime.tensor(x, device=dev), tvm.runtime.empty((64,), "int32", dev)
    assert len(lib.time_evaluator("add_one", dev, number=2, repeat=2)(a, b).results) == 2
    np.testing.assert_array_equal(b.numpy(), x + 1)
    with pytest.raises(tvm.error.RPCError, match="no function 'missing'"):
        lib.time_evaluator("missing", dev)(1)
    with pytest.raises(tvm.error.RPCError, match="f_preproc 'cache_flush_cpu_non_first_arg'"):
        lib.time_evaluator("spin", dev, f_preproc="cache_flush_cpu_non_first_arg")(1)


# ---------------------------------------------------------------------------------------------
# Raw packets (PROTOCOL.md, encoded here with struct)

SHUTDOWN, INIT, CALL, RETURN, EXCEPTION, COPY_FROM, COPY_TO, COPY_ACK = 1, 2, 3, 4, 5, 6, 7, 8
GET_GLOBAL, FREE_HANDLE, SET_DEVICE, GET_ATTR, ALLOC, FREE_DATA, STREAM_SYNC = range(9, 16)
COPY_AMONG, ALLOC_SCOPE = 16, 17
INT32 = (0, 32, 1)  # DLDataType (code kDLInt, bits, lanes)


def i64(v: int) -> bytes:
    return struct.pack("<iq", 1, v)


def f64(v: float) -> bytes:
    return struct.pack("<id", 3, v)


def ptr(v: int) -> bytes:
    return struct.pack("<iQ", 4, v)


def dtype_arg(code: int, bits: int, lanes: int = 1) -> bytes:
    return struct.pack("<iBBHi", 5, code, bits, lanes, 0)


def device(device_type: int = 1, device_id: int = 0) -> bytes:
    return struct.pack("<iii", 6, device_type, device_id)


def record(data: int, shape: tuple[int, ...], dtype: tuple[int, int, int] = INT32,
           byte_offset: int = 0, dev: tuple[int, int] = (1, 0), ndim: int | None = None) -> bytes:
    ndim = len(shape) if ndim is None else ndim
    return (struct.pack("<QiiiBBH", data, *dev, ndim, *dtype)
            + struct.pack(f"<{len(shape)}q", *shape) + struct.pack("<Q", byte_offset))


def tensor(*args, **kwargs) -> bytes:
    return struct.pack("<i", 7) + record(*args, **kwargs)


def raw_str(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return struct.pack("<iQ", 8, len(data)) + data


def obj_bytes(data: bytes, outer: int = 66, inner: int = 66) -> bytes:
    return struct.pack("<iIQ", outer, inner, len(data)) + data


def module(handle: int) -> bytes:
    return struct.pack("<iQ", 73, handle)


NONE = struct.pack("<i", 0)


def seq(*args: bytes) -> bytes:
    return struct.pack("<i", len(args)) + b"".join(args)


def packet(code: int, body: bytes = b"") -> bytes:
    return struct.pack("<Qi", 4 + len(body), code) + body


def init_packet(version: bytes = b"0.8.0") -> bytes:
    return packet(INIT, struct.pack("<Q", len(version)) + version + seq())


class Reply(NamedTuple):
    code: int
    values: list | None = None  # kReturn
    message: str | None = None  # kException
    data: bytes | None = None  # kCopyAck


def parse_reply(data: bytes) -> Reply:
    """A reply, parsed strictly: every byte accounted for, only the types a server sends."""
    (code,) = struct.unpack_from("<i", data)
    if code == COPY_ACK:
        return Reply(code, data=data[4:])
    at, values = 8, []
    (count,) = struct.unpack_from("<i", data, 4)
    for _ in range(count):
        (type_index,) = struct.unpack_from("<i", data, at)
        at += 4
        if type_index == 0:
            values.append(None)
        elif type_index in (1, 2):
            values.append(struct.unpack_from("<q", data, at)[0])
            at += 8
        elif type_index == 3:
            values.append(struct.unpack_from("<d", data, at)[0])
            at += 8
        elif type_index == 4:
            values.append(struct.unpack_from("<Q", data, at)[0])
            at += 8
        elif type_index == 7:
            data_ptr, dev_type, dev_id, ndim, dtype_code, bits, lanes = struct.unpack_from(
                "<QiiiBBH", data, at)
            shape = struct.unpack_from(f"<{ndim}q", data, at + 24)
            (byte_offset,) = struct.unpack_from("<Q", data, at + 24 + 8 * ndim)
            at += 24 + 8 * ndim + 8
            assert byte_offset == 0  # folded into data
            values.append(("tensor", data_ptr, (dev_type, dev_id), (dtype_code, bits, lanes),
                           shape))
        elif type_index in (8, 9):
            (length,) = struct.unpack_from("<Q", data, at)
            values.append(data[at + 8:at + 8 + length])
            assert len(values[-1]) == length
            at += 8 + length
        else:
            raise AssertionError(f"server sent type index {type_index}")
    assert at == len(data), f"{len(data) - at} stray bytes in reply {data!r}"
    if code == EXCEPTION:
        assert count == 1 and isinstance(values[0], bytes), values
        return Reply(code, message=values[0].decode())
    assert code == RETURN, code
    return Reply(code, values=values)


class RawServer:
    """The harness on two os.pipe()s, driven with raw packets."""

    def __init__(self, binary: Path, log: Path, *options: str) -> None:
        self.binary, self.log, self.options = binary, log, options
        self.stack = contextlib.ExitStack()
        self.start()

    def start(self) -> None:
        child_read, self.to_child = os.pipe()
        self.from_child, child_write = os.pipe()
        env = dict(os.environ, **SANITIZER_ENV)
        self.proc = self.stack.enter_context(process.spawn(
            [str(self.binary), *self.options, "--stderr", str(self.log), str(child_read),
             str(child_write)],
            env=env, pass_fds=(child_read, child_write), terminate_grace=1.0))
        os.close(child_read)
        os.close(child_write)
        self.request(init_packet())

    def stop(self) -> int:
        """Closes the pipes (end of input) and returns the harness's exit status."""
        os.close(self.to_child)
        os.close(self.from_child)
        try:
            status = self.proc.wait(timeout=10)
        finally:
            self.stack.close()
        check_log(self.log)
        return status

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.to_child, view):]

    def _read(self, count: int, timeout: float) -> bytes:
        data = b""
        deadline = time.monotonic() + timeout
        while len(data) < count:
            ready, _, _ = select.select([self.from_child], [], [], deadline - time.monotonic())
            if not ready:
                raise TimeoutError(f"no reply; harness log: {self.log.read_text()}")
            chunk = os.read(self.from_child, count - len(data))
            if not chunk:
                raise EOFError(f"harness closed its pipe; log: {self.log.read_text()}")
            data += chunk
        return data

    def receive(self, timeout: float = 10) -> Reply:
        (length,) = struct.unpack("<Q", self._read(8, timeout))
        return parse_reply(self._read(length, timeout))

    def request(self, data: bytes) -> Reply:
        self.send(data)
        return self.receive()

    # Valid requests, asserting success.

    def ok(self, data: bytes) -> list:
        reply = self.request(data)
        assert reply.code == RETURN, reply
        return reply.values

    def get_global(self, name: str) -> int:
        (handle,) = self.ok(packet(GET_GLOBAL, seq(raw_str(name))))
        return handle

    def call(self, handle: int, *args: bytes) -> Reply:
        return self.request(packet(CALL, struct.pack("<Q", handle) + seq(*args)))

    def alloc(self, nbytes: int, alignment: int = 16) -> int:
        (pointer,) = self.ok(packet(ALLOC, seq(device(), i64(nbytes), i64(alignment),
                                               dtype_arg(0, 8))))
        return pointer

    def copy_to(self, data_ptr: int, data: bytes, byte_offset: int = 0) -> Reply:
        return self.request(packet(COPY_TO, record(data_ptr, (len(data),), (1, 8, 1), byte_offset)
                                   + struct.pack("<Q", len(data)) + data))

    def copy_from(self, data_ptr: int, nbytes: int, byte_offset: int = 0) -> Reply:
        return self.request(packet(COPY_FROM, record(data_ptr, (nbytes,), (1, 8, 1), byte_offset)
                                   + struct.pack("<Q", nbytes)))

    def free_data(self, pointer: int) -> Reply:
        return self.request(packet(FREE_DATA, seq(device(), ptr(pointer))))

    def largest_free(self) -> int:
        handle = self.get_global("harness.heap_largest_free")
        reply = self.call(handle)
        self.ok(packet(FREE_HANDLE, seq(ptr(handle))))
        return reply.values[1]

    def still_works(self) -> None:
        """A valid round trip: a global call, an allocation written, read back and freed."""
        handle = self.get_global("harness.echo")
        assert self.call(handle, i64(-42)).values == [1, -42]
        self.ok(packet(FREE_HANDLE, seq(ptr(handle))))
        pointer = self.alloc(100)
        data = bytes(range(100))
        assert self.copy_to(pointer, data).code == RETURN
        assert self.copy_from(pointer, 100).data == data
        assert self.free_data(pointer).values == [None]


@pytest.fixture
def raw(harness: Path, tmp_path: Path) -> Iterator[RawServer]:
    server = RawServer(harness, tmp_path / "raw.stderr")
    try:
        yield server
        assert server.stop() == 0
    finally:
        server.stack.close()


def expect_exception(server: RawServer, data: bytes, pattern: str) -> str:
    reply = server.request(data)
    assert reply.code == EXCEPTION, reply
    assert re.search(pattern, reply.message), reply.message
    assert "\n" not in reply.message
    server.still_works()
    return reply.message


def test_raw_session_basics(raw: RawServer) -> None:
    assert raw.request(init_packet()) == Reply(RETURN, values=[None])
    handle = raw.get_global("tvm.rpc.server.GetCRTMaxPacketSize")
    assert raw.call(handle).values == [1, MAX_PACKET]
    assert raw.get_global("no.such.function") == 0
    handle = raw.get_global("harness.echo")
    assert handle >> 32 != 0 and handle & 0xFFFFFFFF != 0  # epoch and slot
    assert raw.call(handle, f64(2.5)).values == [3, 2.5]
    assert raw.call(handle, raw_str("hi")).values == [65, b"hi"]
    assert raw.call(handle, obj_bytes(b"s", 11, 65)).values == [65, b"s"]  # SmallStr -> str
    assert raw.call(handle, obj_bytes(b"long string", 65, 65)).values == [65, b"long string"]
    assert raw.call(handle, NONE).values == [0, None]
    # An echoed heap tensor comes back as a tensor handle: [Int 70][record][handle].
    pointer = raw.alloc(64)
    values = raw.call(handle, tensor(pointer, (4, 4), byte_offset=0)).values
    assert values[0] == 70 and values[1] == ("tensor", pointer, (1, 0), INT32, (4, 4))
    raw.ok(packet(FREE_HANDLE, seq(ptr(values[2]))))
    # A returned byte_offset is folded into data (parse_reply checks that the one sent is 0).
    (_, lib) = raw.call(raw.get_global("ffi.SystemLib")).values
    getter = raw.get_global("tvm.rpc.server.ModuleGetFunction")
    (_, scratch_view) = raw.call(getter, module(lib), raw_str("scratch_view"), i64(1)).values
    (_, scratch) = raw.call(raw.get_global("harness.region_base"), i64(1)).values
    values = raw.call(scratch_view, i64(12)).values
    assert values[1] == ("tensor", scratch + 12, (1, 0), INT32, (4,))
    assert raw.ok(packet(GET_ATTR, seq(device(), i64(0)))) == [1]  # kExist
    assert raw.ok(packet(GET_ATTR, seq(device(2), i64(0)))) == [0]  # no cuda
    assert raw.ok(packet(STREAM_SYNC, seq(device(), ptr(0)))) == [None]
    assert raw.ok(packet(SET_DEVICE, seq(device()))) == [None]
    raw.send(struct.pack("<Q", 0))  # an empty packet is a no-op: no reply
    raw.still_works()
    aligned = raw.alloc(10, alignment=64)
    assert aligned % 64 == 0
    assert raw.free_data(aligned).values == [None]


def test_raw_bad_handles(raw: RawServer) -> None:
    expect_exception(raw, packet(CALL, struct.pack("<Q", 0x1234_0000_0001) + seq()),
                     r"^CallFunc: invalid handle 0x0000123400000001$")
    expect_exception(raw, packet(CALL, struct.pack("<Q", 0) + seq()), "invalid handle 0x00000000")
    handle = raw.get_global("harness.echo")
    raw.ok(packet(FREE_HANDLE, seq(ptr(handle))))
    expect_exception(raw, packet(CALL, struct.pack("<Q", handle) + seq(i64(1))), "invalid handle")
    expect_exception(raw, packet(FREE_HANDLE, seq(ptr(handle))), "^FreeHandle: invalid handle")
    before_reset = raw.get_global("harness.echo")
    raw.request(init_packet())
    now = raw.get_global("harness.echo")
    assert now & 0xFFFFFFFF == before_reset & 0xFFFFFFFF  # the same slot, another epoch
    expect_exception(raw, packet(CALL, struct.pack("<Q", before_reset) + seq(i64(1))),
                     "invalid handle")
    # A module where a function is due, and the reverse.
    lib_function = raw.get_global("ffi.SystemLib")
    (_, lib) = raw.call(lib_function).values
    expect_exception(raw, packet(CALL, struct.pack("<Q", lib) + seq()), "is not a function")
    getter = raw.get_global("tvm.rpc.server.ModuleGetFunction")
    expect_exception(raw, packet(CALL, struct.pack("<Q", getter) +
                                 seq(module(now), raw_str("echo"), i64(1))), "invalid handle")
    assert raw.call(getter, module(lib), raw_str("nope"), i64(1)).values == [0, None]
    (type_index, echo) = raw.call(getter, module(lib), raw_str("echo"), i64(1)).values
    assert type_index == 68 and raw.call(echo, i64(5)).values == [1, 5]
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(module(lib))),
                     r"only the built-in functions take a Module \(argument 0\)")


def test_raw_copies_outside_allocations(raw: RawServer) -> None:
    pointer = raw.alloc(64)
    assert raw.copy_to(pointer, bytes(64)).code == RETURN
    expect_exception(raw, packet(COPY_TO, record(pointer, (65,), (1, 8, 1)) +
                                 struct.pack("<Q", 65) + bytes(65)),
                     rf"^CopyToRemote: 65 bytes at {pointer:#018x}\+0 are outside every allocation")
    expect_exception(raw, packet(COPY_TO, record(pointer, (1,), (1, 8, 1), 64) +
                                 struct.pack("<Q", 1) + b"x"), "outside every allocation")
    # Sums that wrap around 2**64 must not land back inside the block.
    for offset, nbytes in [(2**64 - 8, 16), (8, 2**64 - 4), (2**63, 2**63), (2**64 - 1, 1),
                           (2**64 - pointer + 8, 4)]:
        expect_exception(raw, packet(COPY_FROM, record(pointer, (1,), (1, 8, 1), offset) +
                                     struct.pack("<Q", nbytes)), "outside every allocation")
    # nbytes bigger than what the packet carries.
    expect_exception(raw, packet(COPY_TO, record(pointer, (1,), (1, 8, 1)) +
                                 struct.pack("<Q", 2**64 - 1) + b"abc"), "ends inside a field")
    expect_exception(raw, packet(COPY_TO, record(pointer, (1,), (1, 8, 1)) +
                                 struct.pack("<Q", 2) + b"abc"), "1 bytes after the last field")
    for address in [0, 8, pointer - 8, pointer + 2**32, 2**64 - 16, 2**64 - 2]:
        expect_exception(raw, packet(COPY_FROM, record(address, (1,), (1, 8, 1)) +
                                     struct.pack("<Q", 4)), "outside every allocation")
    # Tensor arguments are held to the same rule.
    echo = raw.get_global("harness.echo")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) +
                                 seq(tensor(pointer, (17,)))), r"outside every .* \(argument 0\)")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) +
                                 seq(tensor(pointer, (2**40, 2**40)))), "4 GiB or more")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(tensor(pointer, (-1,)))),
                     "dimension 0 is negative")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(ptr(pointer + 64 + 16))),
                     "outside every allocation")
    # After a free, the old pointer is refused too.
    assert raw.free_data(pointer).values == [None]
    expect_exception(raw, packet(COPY_FROM, record(pointer, (1,), (1, 8, 1)) +
                                 struct.pack("<Q", 4)), "outside every allocation")


def test_raw_regions(raw: RawServer) -> None:
    base_of = raw.get_global("harness.region_base")
    (_, squares) = raw.call(base_of, i64(0)).values
    (_, scratch) = raw.call(base_of, i64(1)).values
    table = raw.copy_from(squares, 256).data
    assert struct.unpack("<64i", table) == tuple(i * i for i in range(64))
    expect_exception(raw, packet(COPY_TO, record(squares, (4,), (1, 8, 1)) +
                                 struct.pack("<Q", 4) + b"evil"), "are in a read-only region")
    assert raw.copy_to(scratch, b"\x05" * 256).code == RETURN
    expect_exception(raw, packet(COPY_TO, record(scratch, (1,), (1, 8, 1), 256) +
                                 struct.pack("<Q", 1) + b"x"), "outside every allocation")
    # Region to heap is fine; heap to the read-only table is not; sizes must match.
    pointer = raw.alloc(256)
    assert raw.ok(packet(COPY_AMONG, seq(tensor(squares, (64,)), tensor(pointer, (64,)),
                                         ptr(0)))) == [None]
    assert raw.copy_from(pointer, 256).data == table
    expect_exception(raw, packet(COPY_AMONG, seq(tensor(pointer, (64,)), tensor(squares, (64,)),
                                                 ptr(0))), "read-only region")
    expect_exception(raw, packet(COPY_AMONG, seq(tensor(pointer, (64,)), tensor(scratch, (32,)),
                                                 ptr(0))), "256 bytes cannot go to a tensor of 128")
    expect_exception(raw, packet(FREE_DATA, seq(device(), ptr(scratch))),
                     "is not the start of a live allocation")
    assert raw.copy_from(squares, 256).data == table  # untouched


def test_raw_heap_frees(raw: RawServer) -> None:
    full = raw.largest_free()
    a, b, c = raw.alloc(100), raw.alloc(100), raw.alloc(100)
    for bad in [b + 16, b - 16, b + 1, 0, 2**64 - 1]:
        expect_exception(raw, packet(FREE_DATA, seq(device(), ptr(bad))),
                         r"^DevFreeData: 0x[0-9a-f]+ is not the start of a live allocation$")
    assert raw.free_data(b).values == [None]
    expect_exception(raw, packet(FREE_DATA, seq(device(), ptr(b))), "not the start")  # twice
    assert raw.alloc(100) == b  # first fit reuses the hole
    for pointer in (a, c, b):  # frees merge with both neighbours
        assert raw.free_data(pointer).values == [None]
    assert raw.largest_free() == full
    expect_exception(raw, packet(ALLOC, seq(device(), i64(1 << 20), i64(16), dtype_arg(0, 8))),
                     rf"out of device memory: 1048576 bytes requested, largest free block "
                     rf"{full} of {HEAP_BYTES}")
    for nbytes, alignment in [(-1, 16), (16, 128), (16, 3), (16, -16)]:
        expect_exception(raw, packet(ALLOC, seq(device(), i64(nbytes), i64(alignment),
                                                dtype_arg(0, 8))), "cannot allocate")
    expect_exception(raw, packet(ALLOC_SCOPE, seq(tensor(0, (4,)), raw_str("shared"))),
                     "memory scope 'shared' is not served")
    (pointer,) = raw.ok(packet(ALLOC_SCOPE, seq(tensor(0, (4, 4)), raw_str("global"))))
    assert raw.free_data(pointer).values == [None]
    assert raw.largest_free() == full


def test_raw_misaligned_heap_is_aligned_first(harness: Path, tmp_path: Path) -> None:
    server = RawServer(harness, tmp_path / "misaligned.stderr", "--heap", "4096",
                       "--heap-offset", "5")
    try:
        # 11 bytes to the next 16-byte boundary, 8 before the first block, an 8-byte header.
        assert server.largest_free() == (4096 - 11 - 8) // 16 * 16 - 8
        pointers = [server.alloc(100), server.alloc(10, alignment=32)]
        assert pointers[0] % 16 == 0 and pointers[1] % 32 == 0
        server.still_works()
        for pointer in pointers:
            assert server.free_data(pointer).values == [None]
        assert server.stop() == 0
    finally:
        server.stack.close()


def test_raw_tensor_arguments_fold_byte_offset(raw: RawServer) -> None:
    (_, lib) = raw.call(raw.get_global("ffi.SystemLib")).values
    getter = raw.get_global("tvm.rpc.server.ModuleGetFunction")
    (_, add_one) = raw.call(getter, module(lib), raw_str("add_one"), i64(1)).values
    a, b = raw.alloc(32), raw.alloc(16)
    assert raw.copy_to(a, struct.pack("<8i", *range(8))).code == RETURN
    assert raw.call(add_one, tensor(a, (4,), byte_offset=16), tensor(b, (4,))).values == [0, None]
    assert struct.unpack("<4i", raw.copy_from(b, 16).data) == (5, 6, 7, 8)
    expect_exception(raw, packet(CALL, struct.pack("<Q", add_one) +
                                 seq(tensor(a, (4,), byte_offset=20), tensor(b, (4,)))),
                     r"add_one: 16 bytes at 0x[0-9a-f]+\+20 are outside every allocation "
                     r"\(argument 0\)$")


def test_raw_aligned_allocation_counts_its_gap(raw: RawServer) -> None:
    full = raw.largest_free()
    first = raw.alloc(56)  # its block (8-byte header + 56) ends where the rest begins
    rest = raw.largest_free()
    assert rest == full - 64
    gap = -(first + 64) % 64  # what the rest's payload lacks to be 64-aligned
    assert gap > 0, "layout premise: the harness heap is 64-aligned, payloads are 16 in"
    expect_exception(raw, packet(ALLOC, seq(device(), i64(rest), i64(64), dtype_arg(0, 8))),
                     "out of device memory")
    aligned = raw.alloc(rest - gap, alignment=64)  # exactly fills the heap behind the gap
    assert aligned % 64 == 0 and aligned == first + 64 + gap
    assert raw.largest_free() == gap - 8  # the gap stayed a free block
    for pointer in (first, aligned):
        assert raw.free_data(pointer).values == [None]
    assert raw.largest_free() == full


def test_raw_malformed_requests(raw: RawServer) -> None:
    echo = raw.get_global("harness.echo")
    call = packet(CALL, struct.pack("<Q", echo) + seq(i64(1), raw_str("abc"), f64(1.0)))
    for cut in range(1, len(call) - 12):  # every field overruns in turn
        truncated = call[:len(call) - cut]
        expect_exception(raw, struct.pack("<Q", len(truncated) - 8) + truncated[8:],
                         "ends inside a field|argument|invalid handle")
    for code in [0, RETURN, EXCEPTION, COPY_ACK, 22, 1000, -1]:
        expect_exception(raw, packet(code, b"\0" * 8), rf"RPC code {code} is not a request")
    expect_exception(raw, packet(ALLOC, seq(device(2), i64(16), i64(16), dtype_arg(0, 8))),
                     r"device type 2 id 0 is not served \(only cpu 0\)")
    expect_exception(raw, packet(ALLOC, seq(device(1, 1), i64(16), i64(16), dtype_arg(0, 8))),
                     "device type 1 id 1")
    expect_exception(raw, packet(COPY_FROM, record(0, (1,), dev=(4, 0)) + struct.pack("<Q", 4)),
                     "device type 4")
    for ndim in [9, -1, 2**31 - 1]:
        expect_exception(raw, packet(ALLOC_SCOPE, seq(tensor(0, (1,) * 9, ndim=ndim), NONE)),
                         rf"ndim {ndim} is not in 0..8")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(*[i64(i) for i in range(17)])),
                     r"17 arguments; at most 16")
    expect_exception(raw, packet(CALL, struct.pack("<Qi", echo, -5)), "-5 arguments")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(i64(1)) + b"xyz"),
                     "3 bytes after the last field")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(obj_bytes(b"x", 12, 65))),
                     "holds an object of type index 65")
    for type_index in [10, 13, 68, 70, 115, -3, 2**31 - 1]:
        expect_exception(raw, packet(CALL, struct.pack("<Q", echo) +
                                     seq(struct.pack("<iQ", type_index, 0))),
                         rf"type index {type_index}, which is not served")
    expect_exception(raw, packet(FREE_HANDLE, seq(i64(3))), "argument 0 must be a pointer")
    expect_exception(raw, packet(GET_GLOBAL, seq()), "takes 1 arguments, not 0")
    expect_exception(raw, packet(CALL, struct.pack("<Q", echo) + seq(NONE, NONE)),
                     "echo takes one argument")
    evaluator = raw.get_global("runtime.RPCTimeEvaluator")
    expect_exception(raw, packet(CALL, struct.pack("<Q", evaluator) + seq(
        NONE, raw_str("harness.spin"), i64(1), i64(0), i64(1), i64(1), i64(0), i64(100), i64(0),
        i64(0), i64(0), raw_str("flush"))), "f_preproc 'flush' is not supported")
    expect_exception(raw, packet(CALL, struct.pack("<Q", evaluator) + seq(
        NONE, raw_str("harness.spin"), i64(1), i64(0), i64(0), i64(1), i64(0), i64(100), i64(0),
        i64(0), i64(0), raw_str(""))), r"argument 4 is out of range \(1..2147483647\)")
    # Last, because every InitServer, even a refused one, begins a new session.
    expect_exception(raw, init_packet(b"0.7.0"),
                     r"^InitServer: client protocol '0.7.0' is not 0.8.0$")
    expect_exception(raw, packet(INIT, struct.pack("<Q", 5) + b"0.8.0" + seq(i64(1))),
                     "session constructor arguments")
    expect_exception(raw, packet(INIT, struct.pack("<Q", 2**64 - 1) + b"0.8.0"), "ends inside")


def tvm_time_evaluator(step_ns: int, number: int, repeat: int, min_repeat_ms: int,
                       limit_zero_time_iterations: int) -> tuple[list[float], int, int]:
    """TVM's WrapTimeEvaluator loop (src/runtime/timer.cc) for a function that takes step_ns
    per call: the results, the calls made and the final number."""
    results, calls = [], 1  # the warm-up call
    for _ in range(repeat):
        duration_ms, zero_times = 0.0, 0
        while True:
            if duration_ms > 0.0:
                number = int(max(min_repeat_ms / (duration_ms / number) + 1, number * 1.618))
            calls += number
            t_nanos = number * step_ns
            zero_times += t_nanos == 0
            duration_ms = t_nanos / 1e6
            if not (duration_ms < min_repeat_ms and zero_times < limit_zero_time_iterations):
                break
        results.append(duration_ms / 1e3 / number)
    return results, calls, number


def test_raw_time_evaluator_follows_tvm_exactly(harness: Path, tmp_path: Path) -> None:
    """On a fake clock that only harness.tick(step) advances, every round is predictable."""
    server = RawServer(harness, tmp_path / "clock.stderr", "--clock", "fake")
    try:
        make = server.get_global("runtime.RPCTimeEvaluator")
        ticks = server.get_global("harness.ticks")
        for step, number, repeat, min_ms, limit in [
                (12_345, 7, 3, 0, 100), (1, 1, 1, 0, 100), (10**12, 3, 2, 0, 100),
                (100_000, 1, 2, 10, 100), (3_333, 2, 3, 7, 100), (999_999, 5, 2, 1000, 100),
                (100_000, 90, 2, 10, 100), (0, 2, 2, 5, 7), (0, 3, 1, 0, 100)]:
            (type_index, evaluator) = server.call(make, NONE, raw_str("harness.tick"), i64(1),
                                                  i64(0), i64(number), i64(repeat), i64(min_ms),
                                                  i64(limit), i64(0), i64(0), i64(0),
                                                  raw_str("")).values
            assert type_index == 68
            before = server.call(ticks).values[1]
            (type_index, blob) = server.call(evaluator, i64(step)).values
            calls = server.call(ticks).values[1] - before
            expected, expected_calls, last_number = tvm_time_evaluator(step, number, repeat,
                                                                       min_ms, limit)
            case = (step, number, repeat, min_ms, limit)
            assert type_index == 66 and len(blob) == 8 * repeat, case
            assert calls == expected_calls, case
            for got, want in zip(struct.unpack(f"<{repeat}d", blob), expected):
                assert abs(got - want) <= math.ulp(want), (case, got, want)  # toward zero
            # number keeps its growth for the evaluator's next call, as TVM's does.
            (_, blob) = server.call(evaluator, i64(step)).values
            assert struct.unpack(f"<{repeat}d", blob)[0] == pytest.approx(
                tvm_time_evaluator(step, last_number, 1, min_ms, limit)[0][0], rel=1e-15)
            server.ok(packet(FREE_HANDLE, seq(ptr(evaluator))))
        assert server.stop() == 0
    finally:
        server.stack.close()


def test_raw_oversized_packet_is_drained_and_refused(raw: RawServer) -> None:
    for length in [MAX_PACKET + 1, 10 * MAX_PACKET]:
        expect_exception(raw, struct.pack("<Qi", length, CALL) + bytes(length - 4),
                         rf"^a packet of {length} bytes is over the limit of {MAX_PACKET}")


def test_raw_too_many_handles(raw: RawServer) -> None:
    handles = [raw.get_global("harness.echo") for _ in range(32)]
    reply = raw.request(packet(GET_GLOBAL, seq(raw_str("harness.echo"))))
    assert reply.message == "GetGlobalFunc: too many live handles (32); free some"
    assert raw.get_global("no.such.function") == 0  # needs no handle
    for handle in handles:
        raw.ok(packet(FREE_HANDLE, seq(ptr(handle))))
    raw.still_works()


def test_raw_shutdown_ends_the_harness(harness: Path, tmp_path: Path) -> None:
    server = RawServer(harness, tmp_path / "shutdown.stderr")
    try:
        server.send(packet(SHUTDOWN))
        assert server.proc.wait(timeout=10) == 0
        assert os.read(server.from_child, 1) == b""  # no reply
    finally:
        server.stack.close()
    check_log(tmp_path / "shutdown.stderr")


# ---------------------------------------------------------------------------------------------
# Property: mutated requests never crash the server nor damage its heap

PROPERTY = settings(max_examples=120, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])

INTERESTING_U64 = [0, 1, 7, 8, 64, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 8,
                   2**64 - 1]
edits = st.lists(st.one_of(
    st.tuples(st.just("byte"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("u64"), st.integers(0, 10_000), st.sampled_from(INTERESTING_U64)),
    st.tuples(st.just("i32"), st.integers(0, 10_000), st.integers(-2**31, 2**31 - 1)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("grow"), st.integers(0, 10_000), st.integers(1, 16)),
), min_size=1, max_size=4)


def mutate(body: bytes, changes: list[tuple[str, int, int]]) -> bytes:
    data = bytearray(body)
    for kind, position, value in changes:
        at = position % (len(data) + 1)
        if kind == "byte" and data:
            data[at % len(data)] = value
        elif kind == "u64":
            data[at:at + 8] = struct.pack("<Q", value)
        elif kind == "i32":
            data[at:at + 4] = struct.pack("<i", value)
        elif kind == "cut":
            del data[at:]
        else:
            data[at:at] = bytes(value)
    return bytes(data[:MAX_PACKET])


@pytest.fixture(scope="module")
def fuzz_server(harness: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    server = RawServer(harness, tmp_path_factory.mktemp("fuzz") / "fuzz.stderr")
    try:
        yield server
        assert server.stop() == 0
    finally:
        server.stack.close()


def valid_requests(server: RawServer) -> tuple[list[bytes], list[int]]:
    """One request body of each kind, on the handles and memory of a fresh session, and the
    heap blocks they use."""
    echo = server.get_global("harness.echo")
    (_, lib) = server.call(server.get_global("ffi.SystemLib")).values
    getter = server.get_global("tvm.rpc.server.ModuleGetFunction")
    (_, add_one) = server.call(getter, module(lib), raw_str("add_one"), i64(1)).values
    evaluator = server.get_global("runtime.RPCTimeEvaluator")
    (_, timer) = server.call(evaluator, NONE, raw_str("harness.echo"), i64(1), i64(0), i64(1),
                             i64(2), i64(0), i64(100), i64(0), i64(0), i64(0), raw_str("")).values
    (_, squares) = server.call(server.get_global("harness.region_base"), i64(0)).values
    a, b = server.alloc(64), server.alloc(64)
    bodies = [
        struct.pack("<i", INIT) + struct.pack("<Q", 5) + b"0.8.0" + seq(),
        struct.pack("<iQ", CALL, echo) + seq(obj_bytes(b"x" * 9)),
        struct.pack("<iQ", CALL, echo) + seq(i64(1), f64(2.0), raw_str("str"),
                                              obj_bytes(b"sb", 12, 66), dtype_arg(2, 32)),
        struct.pack("<iQ", CALL, add_one) + seq(tensor(a, (16,)), tensor(b, (4, 4))),
        struct.pack("<iQ", CALL, timer) + seq(tensor(squares, (8, 8), byte_offset=4)),
        struct.pack("<iQ", CALL, getter) + seq(module(lib), raw_str("sum_i8"), i64(1)),
        struct.pack("<i", COPY_TO) + record(a, (64,), (1, 8, 1), 8) + struct.pack("<Q", 8)
        + bytes(8),
        struct.pack("<i", COPY_FROM) + record(squares, (64,), INT32, 4) + struct.pack("<Q", 32),
        struct.pack("<i", COPY_AMONG) + seq(tensor(a, (16,)), tensor(b, (16,)), ptr(0)),
        struct.pack("<i", GET_GLOBAL) + seq(raw_str("harness.echo")),
        struct.pack("<i", FREE_HANDLE) + seq(ptr(echo)),
        struct.pack("<i", ALLOC) + seq(device(), i64(200), i64(64), dtype_arg(0, 8)),
        struct.pack("<i", ALLOC_SCOPE) + seq(tensor(0, (3, 5)), NONE),
        struct.pack("<i", FREE_DATA) + seq(device(), ptr(a)),
        struct.pack("<i", GET_ATTR) + seq(device(), i64(5)),
    ]
    return bodies, [a, b]


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, 14), edits), min_size=1, max_size=3))
def test_mutated_requests_never_crash_or_damage_the_heap(fuzz_server: RawServer,
                                                         requests: list) -> None:
    server = fuzz_server
    server.request(init_packet())  # a fresh session: every heap block below is accounted for
    full = server.largest_free()
    bodies, blocks = valid_requests(server)
    for index, changes in requests:
        body = mutate(bodies[index], changes)
        server.send(struct.pack("<Q", len(body)) + body)
        code = struct.unpack_from("<i", body)[0] if len(body) >= 4 else None
        if code == SHUTDOWN:  # no reply; the harness exits
            assert server.proc.wait(timeout=10) == 0
            server.stack.close()
            server.start()
            return
        if not body:
            continue  # a no-op: no reply
        reply = server.receive()
        if reply.code == RETURN and code in (ALLOC, ALLOC_SCOPE):
            blocks.append(reply.values[0])
    server.still_works()
    # Every live block was handed out by a reply above (a mutated InitServer may have freed
    # them all, and a mutated DevFreeData some): freeing them all must restore the whole heap.
    for pointer in set(blocks):
        server.free_data(pointer)
    assert server.largest_free() == full


# ---------------------------------------------------------------------------------------------
# The target build


def test_builds_warning_free_for_rv32_within_budget(tmp_path: Path) -> None:
    require_tools(CROSS_GCC, "riscv64-unknown-elf-size")
    include_dirs = _tvm_include_dirs()
    if not include_dirs:
        pytest.fail("TVM headers not found (apache-tvm is a project dependency)")
    obj = tmp_path / "rpc_server.o"
    build = run_checked(
        [CROSS_GCC, "--specs=picolibc.specs", "-march=rv32imc", "-mabi=ilp32", "-Os",
         "-ffreestanding", "-ffunction-sections", "-std=c11", *STRICT_WARNINGS,
         f"-I{RUNTIME / 'include'}", *[f"-I{d}" for d in include_dirs], "-c",
         str(RUNTIME / "src" / "rpc_server.c"), "-o", str(obj)],
        tmp_path, 120,
    )
    assert build.returncode == 0 and not build.stdout.strip(), build.stdout
    sizes = run_checked(["riscv64-unknown-elf-size", "-A", str(obj)], tmp_path, 60)
    text = sum(int(size) for name, size in re.findall(r"^(\.text\S*)\s+(\d+)", sizes.stdout, re.M))
    assert 0 < text <= TEXT_BUDGET_BYTES, sizes.stdout
