"""Tests of the bare-metal C runtime (riscv_runtime/) and the standalone firmware.

Host unit tests: each tests/c/*_test.c is compiled with the host gcc together with the portable
runtime sources it tests, and run. Firmware tests (marker ``qemu``): a project is assembled from
project_template/ the way the Project API server does it, with a hand-written stand-in model
(tests/c/fixtures), built with the project Makefile and booted on qemu-system-riscv32. Frames are
encoded and checked here with struct and zlib.crc32, independently of the C codec; the protocol
numbers are read from wire.h, the single source of truth.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from rvtvm import process

from .conftest import require_tools

REPO = Path(__file__).resolve().parents[1]
RUNTIME = REPO / "riscv_runtime"
TEMPLATE = REPO / "project_template"
C_TESTS = REPO / "tests" / "c"
FIXTURES = C_TESTS / "fixtures"

CROSS_GCC = "riscv64-unknown-elf-gcc"
QEMU = "qemu-system-riscv32"
STRICT_WARNINGS = [
    "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wcast-align", "-Wstrict-prototypes",
    "-Wmissing-prototypes",
]
MAKE_TIMEOUT_S = 300
QEMU_REPLY_TIMEOUT_S = 20
QEMU_EXIT_TIMEOUT_S = 20


def _wire_constants() -> dict[str, int]:
    text = (RUNTIME / "include" / "rvtvm" / "wire.h").read_text()
    pairs = re.findall(r"^#define\s+(RVTVM_\w+)\s+(0x[0-9A-Fa-f]+|\d+)\s*$", text, re.MULTILINE)
    return {name: int(value, 0) for name, value in pairs}


WIRE = _wire_constants()


def run_checked(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Runs a build or test command through the project's process helper (timeout, process
    group killed and reaped); stdout carries stdout and stderr together."""
    try:
        result = process.run(command, timeout, cwd=cwd)
    except process.ProcessTimeoutError as error:
        pytest.fail(f"{error}: {' '.join(command)}\n{error.stdout}{error.stderr}")
    return subprocess.CompletedProcess(command, result.returncode,
                                       result.stdout + result.stderr, None)


# ---------------------------------------------------------------------------------------------
# Host unit tests

UNIT_TESTS = {
    "crc32_test": ["crc32.c"],
    "frame_decoder_test": ["crc32.c", "frame_decoder.c", "frame_encoder.c"],
    "workspace_test": ["workspace.c"],
    "workspace_test -DRVTVM_WORKSPACE_POOL_BYTES=256": ["workspace.c"],
    "text_test": ["text.c"],
    "stack_test": [],  # rvtvm_stack_used_bytes is inline; stack.c is target-only
    "tvm_ffi_error_test": ["tvm_ffi_error.c", "log.c", "text.c"],
    "session_frame_test": ["session_frame.c"],
    "session_test": ["session.c", "session_frame.c"],
}
# Decoders of untrusted bytes: their tests must run under ASan/UBSan, never silently without.
NEEDS_SANITIZERS = {"session_frame_test", "session_test"}


@pytest.fixture(scope="module")
def sanitizer_flags(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """ASan/UBSan when the host gcc has them: the decoder handles untrusted lengths."""
    require_tools("gcc")
    work = tmp_path_factory.mktemp("sanitizer_probe")
    (work / "probe.c").write_text("int main(void) { return 0; }\n")
    flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
    probe = run_checked(["gcc", *flags, "probe.c", "-o", "probe"], work, 60)
    if probe.returncode == 0 and run_checked(["./probe"], work, 60).returncode == 0:
        return flags
    return []


def build_host_unit(name: str, sanitizer_flags: list[str], out_dir: Path) -> Path:
    """Compiles the host unit test `name` (a key of UNIT_TESTS) into out_dir; returns the binary."""
    source, *defines = name.split()  # "name -DFOO=1": the same test built with a define
    if source in NEEDS_SANITIZERS and not sanitizer_flags:
        pytest.fail(f"{source} needs -fsanitize=address,undefined, which the host gcc lacks")
    sources = [str(C_TESTS / f"{source}.c")] + [str(RUNTIME / "src" / s) for s in UNIT_TESTS[name]]
    binary = out_dir / source
    build = run_checked(
        ["gcc", "-std=c11", "-g", "-O1", *STRICT_WARNINGS, *sanitizer_flags, *defines,
         f"-I{RUNTIME / 'include'}", *sources, "-o", str(binary)],
        out_dir, 120,
    )
    assert build.returncode == 0, build.stdout
    return binary


def build_sanitized_program(sources: list[Path], binary: Path, sanitizer_flags: list[str],
                            include_dirs: list[Path] = ()) -> Path:
    """Compiles a host program that parses untrusted bytes, always under ASan/UBSan."""
    if not sanitizer_flags:
        pytest.fail(f"{binary.name} parses untrusted bytes: it needs -fsanitize=address,undefined, "
                    "which the host gcc lacks")
    build = run_checked(
        ["gcc", "-std=c11", "-g", "-O1", *STRICT_WARNINGS, *sanitizer_flags,
         f"-I{RUNTIME / 'include'}", *[f"-I{d}" for d in include_dirs], *map(str, sources),
         "-o", str(binary)],
        binary.parent, 120,
    )
    assert build.returncode == 0, build.stdout
    return binary


@pytest.mark.parametrize("name", sorted(UNIT_TESTS))
def test_host_unit(name: str, sanitizer_flags: list[str], tmp_path: Path) -> None:
    binary = build_host_unit(name, sanitizer_flags, tmp_path)
    result = run_checked([str(binary)], tmp_path, 120)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert re.fullmatch(r"\d+ passed, 0 failed", summary), result.stdout
    assert result.returncode == 0, result.stdout


def _tvm_include_dirs() -> list[Path]:
    dirs = []
    for package in ("tvm", "tvm_ffi"):
        spec = importlib.util.find_spec(package)  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            return []
        dirs.append(Path(list(spec.submodule_search_locations)[0]) / "include")
    return dirs if all(d.is_dir() for d in dirs) else []


def test_backend_symbols_match_tvm_headers(tmp_path: Path) -> None:
    """Our TVM symbol definitions compile against TVM's own declarations."""
    require_tools("gcc")
    include_dirs = _tvm_include_dirs()
    if not include_dirs:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("TVM headers not found (apache-tvm is a project dependency)")
        pytest.skip("TVM headers not found")
    for source in ("workspace.c", "tvm_ffi_error.c"):
        result = run_checked(
            ["gcc", "-std=c11", *STRICT_WARNINGS, f"-I{RUNTIME / 'include'}",
             *[f"-I{d}" for d in include_dirs], "-c",
             str(RUNTIME / "src" / source), "-o", str(tmp_path / (source + ".o"))],
            tmp_path, 120,
        )
        assert result.returncode == 0, result.stdout


# ---------------------------------------------------------------------------------------------
# Firmware projects

FIXTURE_INPUT_BYTES = 37
FIXTURE_MODEL_NAME = "stub_add"
FIXTURE_STACK_BYTES = 16384


def make_project(dest: Path, ram_length: str = "16777216",
                 stack_bytes: str = str(FIXTURE_STACK_BYTES)) -> Path:
    """Lays out a generated project like the Project API server: template, runtime, model."""
    (dest / "src").mkdir(parents=True)
    shutil.copy(TEMPLATE / "Makefile", dest / "Makefile")
    for source in (TEMPLATE / "src").glob("*.[ch]"):
        if source.name != "model_glue.c":
            shutil.copy(source, dest / "src" / source.name)
    shutil.copy(FIXTURES / "identity_glue.c", dest / "src" / "model_glue.c")
    shutil.copytree(RUNTIME, dest / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(FIXTURES / "stub_model" / "codegen", dest / "model" / "codegen")
    model_headers = dest / "model" / "runtime" / "include"
    model_headers.mkdir(parents=True)
    for include_dir in _tvm_include_dirs():
        shutil.copytree(include_dir, model_headers, dirs_exist_ok=True)
    (dest / "board.mk").write_text(
        "BOARD := qemu_riscv32\nPROJECT_TYPE := aot_standalone\nRAM_ORIGIN := 0x80000000\n"
        f"RAM_LENGTH := {ram_length}\nSTACK_BYTES := {stack_bytes}\n"
    )
    return dest


def make(project: Path, *arguments: str) -> subprocess.CompletedProcess:
    return run_checked(["make", *arguments], project, MAKE_TIMEOUT_S)


def build_firmware(project: Path, extra_cflags: str = "") -> Path:
    arguments = [f"EXTRA_CFLAGS={extra_cflags}"] if extra_cflags else []
    result = make(project, *arguments)
    assert result.returncode == 0, result.stdout
    return project / "build" / "firmware.elf"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    require_tools(CROSS_GCC, "make")
    return make_project(tmp_path / "project")


def test_makefile_builds_with_map_and_size(project: Path) -> None:
    elf = build_firmware(project)
    assert elf.is_file()
    assert "stub_add_bytes" in (project / "build" / "firmware.map").read_text()
    size = make(project, "size")
    assert size.returncode == 0, size.stdout
    assert re.search(r"^\.text\s+\d+", size.stdout, re.MULTILINE), size.stdout


def test_makefile_incremental_builds(project: Path) -> None:
    build_firmware(project)
    again = make(project, "V=1")
    assert "gcc" not in again.stdout, again.stdout  # nothing to rebuild

    (project / "runtime" / "include" / "rvtvm" / "workspace.h").touch()
    after_header = make(project, "V=1")
    assert "workspace.c" in after_header.stdout and "crc32.c" not in after_header.stdout

    with_define = make(project, "V=1", "EXTRA_CFLAGS=-DRVTVM_TEST_HANG_ON_RUN")
    assert "-DRVTVM_TEST_HANG_ON_RUN" in with_define.stdout
    assert "main_standalone.c" in with_define.stdout  # changed flags rebuild everything


def test_makefile_werror_applies_to_model_code_only_on_request(project: Path) -> None:
    (project / "model" / "codegen" / "host" / "src" / "warns.c").write_text(
        "int stub_warns(int x);\nint stub_warns(int x) { int unused_local; return x; }\n"
    )
    default = make(project)
    assert default.returncode == 0, default.stdout
    assert "unused_local" in default.stdout  # warned, not fatal
    strict = make(project, "WERROR=1")
    assert strict.returncode != 0 and "unused_local" in strict.stdout, strict.stdout


def test_firmware_that_does_not_fit_ram_fails_to_link(tmp_path: Path) -> None:
    require_tools(CROSS_GCC, "make")
    project = make_project(tmp_path / "project", ram_length="0x2000", stack_bytes="4096")
    result = make(project)
    assert result.returncode != 0
    assert re.search(r"region `RAM' overflowed by \d+ bytes", result.stdout), result.stdout


# ---------------------------------------------------------------------------------------------
# Firmware on QEMU


def encode_frame(frame_type: int, payload: bytes, corrupt_crc: bool = False) -> bytes:
    header = struct.pack("<BI", frame_type, len(payload))
    crc = zlib.crc32(header + payload) ^ (1 if corrupt_crc else 0)
    magic = bytes([WIRE["RVTVM_FRAME_MAGIC0"], WIRE["RVTVM_FRAME_MAGIC1"]])
    return magic + header + payload + struct.pack("<I", crc)


class UartClient:
    """Reads frames and log text from the firmware's UART socket."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = bytearray()
        self.log = bytearray()
        self.closed = False

    def send(self, data: bytes) -> None:
        self.connection.sendall(data)

    def _receive(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no reply from the firmware; log so far: {self.log!r}")
        self.connection.settimeout(remaining)
        try:
            chunk = self.connection.recv(4096)
        except socket.timeout:
            raise TimeoutError(f"no reply from the firmware; log so far: {self.log!r}") from None
        if not chunk:
            self.closed = True
            raise EOFError(f"UART closed; log: {self.log!r}")
        self.buffer += chunk

    def read_frame(self, timeout: float = QEMU_REPLY_TIMEOUT_S) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout
        magic = bytes([WIRE["RVTVM_FRAME_MAGIC0"], WIRE["RVTVM_FRAME_MAGIC1"]])
        header_bytes = WIRE["RVTVM_FRAME_HEADER_BYTES"]
        trailer_bytes = WIRE["RVTVM_FRAME_TRAILER_BYTES"]
        while True:
            start = self.buffer.find(magic)
            if start < 0:
                # Keep a trailing MAGIC0: the rest of the magic may still be on its way.
                keep = 1 if self.buffer.endswith(magic[:1]) else 0
                self.log += self.buffer[: len(self.buffer) - keep]
                del self.buffer[: len(self.buffer) - keep]
            else:
                self.log += self.buffer[:start]
                del self.buffer[:start]
                if len(self.buffer) >= header_bytes:
                    frame_type, length = struct.unpack_from("<BI", self.buffer, 2)
                    total = header_bytes + length + trailer_bytes
                    if len(self.buffer) >= total:
                        frame = bytes(self.buffer[:total])
                        del self.buffer[:total]
                        payload = frame[header_bytes:-trailer_bytes]
                        (crc,) = struct.unpack("<I", frame[-trailer_bytes:])
                        assert crc == zlib.crc32(frame[2:-trailer_bytes]), "bad CRC from device"
                        return frame_type, payload
            self._receive(deadline)

    def read_log_until(self, pattern: str, timeout: float = QEMU_REPLY_TIMEOUT_S) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            self.log += self.buffer
            self.buffer.clear()
            match = re.search(pattern, self.log.decode("ascii", "replace"))
            if match:
                return match
            try:
                self._receive(deadline)
            except EOFError:
                match = re.search(pattern, self.log.decode("ascii", "replace"))
                if match:
                    return match
                raise


@contextlib.contextmanager
def qemu_firmware(elf: Path) -> Iterator[tuple[UartClient, subprocess.Popen]]:
    """Boots the firmware on QEMU with its UART on a unix socket. process.spawn kills and reaps
    QEMU on the way out, whatever happened."""
    require_tools(QEMU)
    # A short directory: unix socket paths are limited to about 100 bytes.
    socket_dir = Path(tempfile.mkdtemp(prefix="rvtvm-uart-"))
    socket_path = socket_dir / "uart.sock"
    stderr_path = socket_dir / "qemu.stderr"
    command = [
        QEMU, "-machine", "virt", "-cpu", "rv32", "-m", "16M", "-bios", "none",
        "-kernel", str(elf), "-display", "none", "-monitor", "none", "-icount", "shift=0",
        "-no-reboot", "-serial", "chardev:uart0",
        "-chardev", f"socket,id=uart0,path={socket_path},server=on,wait=on",
    ]
    try:
        with open(stderr_path, "wb") as stderr_file, process.spawn(
            command, stdout=stderr_file, stderr=stderr_file, terminate_grace=1.0
        ) as qemu, contextlib.closing(socket.socket(socket.AF_UNIX)) as connection:
            deadline = time.monotonic() + 10
            while True:
                try:
                    connection.connect(str(socket_path))
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if qemu.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"QEMU did not open its UART socket: {stderr_path.read_text()}"
                        ) from None
                    time.sleep(0.05)
            yield UartClient(connection), qemu
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


def wait_exit(process: subprocess.Popen) -> int:
    try:
        return process.wait(timeout=QEMU_EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail("QEMU did not exit through the finisher")


def check_hello(client: UartClient) -> None:
    frame_type, payload = client.read_frame()
    assert frame_type == WIRE["RVTVM_MSG_HELLO"]
    version, n_inputs, n_outputs = struct.unpack_from("<3I", payload)
    sizes = struct.unpack_from(f"<{n_inputs + n_outputs}I", payload, 12)
    name = payload[12 + 4 * (n_inputs + n_outputs):].decode("ascii")
    assert version == WIRE["RVTVM_WIRE_VERSION"]
    assert (n_inputs, n_outputs) == (2, 1)
    assert sizes == (FIXTURE_INPUT_BYTES,) * 3
    assert name == FIXTURE_MODEL_NAME
    assert f"model {FIXTURE_MODEL_NAME}" in client.log.decode("ascii")


def random_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = rng.integers(0, 256, FIXTURE_INPUT_BYTES, dtype=np.uint8)
    b = rng.integers(0, 256, FIXTURE_INPUT_BYTES, dtype=np.uint8)
    a[0] = 0x01  # stays clear of the stub's failure trigger (a[0] == 0xEE, b[0] == 0x11)
    return a, b


def run_and_check(client: UartClient, a: np.ndarray, b: np.ndarray) -> tuple[int, int, int]:
    client.send(encode_frame(WIRE["RVTVM_MSG_RUN"], a.tobytes() + b.tobytes()))
    frame_type, payload = client.read_frame()
    assert frame_type == WIRE["RVTVM_MSG_RESULT"], payload
    header = WIRE["RVTVM_RESULT_HEADER_BYTES"]
    status, cycles, instret, stack_bytes = struct.unpack_from("<IQQI", payload)
    assert struct.calcsize("<IQQI") == header
    output = np.frombuffer(payload[header:], dtype=np.uint8)
    assert status == WIRE["RVTVM_OK"]
    np.testing.assert_array_equal(output, a + b)  # uint8 arithmetic wraps like the firmware
    assert 0 < instret < 100_000 and 0 < cycles < 100_000
    assert 0 < stack_bytes < FIXTURE_STACK_BYTES
    return cycles, instret, stack_bytes


def expect_error(client: UartClient, code_name: str) -> str:
    frame_type, payload = client.read_frame()
    assert frame_type == WIRE["RVTVM_MSG_ERROR"], (frame_type, payload)
    (code,) = struct.unpack_from("<I", payload)
    detail = payload[4:].decode("ascii")
    assert code == WIRE[code_name], detail
    return detail


def no_a5(rng: np.random.Generator, count: int) -> bytes:
    """Random bytes without MAGIC0, so a refused payload holds no frame start when rescanned."""
    data = rng.integers(0, 256, count, dtype=np.uint8)
    data[data == WIRE["RVTVM_FRAME_MAGIC0"]] = 0
    return data.tobytes()


@pytest.mark.qemu
def test_firmware_serves_runs_and_recovers_from_bad_frames(project: Path) -> None:
    elf = build_firmware(project)
    rng = np.random.default_rng(20261121)
    with qemu_firmware(elf) as (client, process):
        check_hello(client)
        first = run_and_check(client, *random_inputs(rng))
        second = run_and_check(client, *random_inputs(rng))
        # -icount shift=0 makes counts deterministic, and the stub is data-independent. The
        # stack's high-water mark may still grow after the first run (sending its RESULT).
        assert first[:2] == second[:2] and first[2] <= second[2]
        assert run_and_check(client, *random_inputs(rng)) == second

        client.send(encode_frame(WIRE["RVTVM_MSG_RUN"], no_a5(rng, 2 * FIXTURE_INPUT_BYTES),
                                 corrupt_crc=True))
        expect_error(client, "RVTVM_ERR_WIRE_CRC")
        run_and_check(client, *random_inputs(rng))

        client.send(b"log noise before a frame\n")
        client.send(encode_frame(WIRE["RVTVM_MSG_RUN"], no_a5(rng, 2 * FIXTURE_INPUT_BYTES + 1)))
        detail = expect_error(client, "RVTVM_ERR_WIRE_LENGTH")
        assert str(2 * FIXTURE_INPUT_BYTES) in detail
        client.send(encode_frame(0x7A, b""))
        expect_error(client, "RVTVM_ERR_WIRE_TYPE")
        run_and_check(client, *random_inputs(rng))

        a, b = random_inputs(rng)
        a[0], b[0] = 0xEE, 0x11  # the stub asks for more workspace than its window holds
        client.send(encode_frame(WIRE["RVTVM_MSG_RUN"], a.tobytes() + b.tobytes()))
        detail = expect_error(client, "RVTVM_ERR_MODEL_RUN")
        assert "returned -1" in detail
        assert f"{WIRE['RVTVM_ERR_WORKSPACE_EXHAUSTED']:#010x}" in detail
        assert "tvm error: RuntimeError: stub_add: workspace exhausted" in client.log.decode()
        run_and_check(client, *random_inputs(rng))

        client.send(encode_frame(WIRE["RVTVM_MSG_QUIT"], b""))
        frame_type, payload = client.read_frame()
        assert (frame_type, payload) == (WIRE["RVTVM_MSG_BYE"], b"")
        assert wait_exit(process) == WIRE["RVTVM_EXIT_OK"]


@pytest.mark.qemu
def test_firmware_reports_trap_and_exits_with_trap_status(project: Path) -> None:
    elf = build_firmware(project, "-DRVTVM_TEST_TRAP_ON_RUN")
    rng = np.random.default_rng(7)
    with qemu_firmware(elf) as (client, process):
        check_hello(client)
        a, b = random_inputs(rng)
        client.send(encode_frame(WIRE["RVTVM_MSG_RUN"], a.tobytes() + b.tobytes()))
        match = client.read_log_until(
            r"TRAP mcause=(0x[0-9a-f]{8}) mepc=(0x[0-9a-f]{8}) mtval=(0x[0-9a-f]{8})\n"
        )
        assert int(match.group(1), 16) == 2  # illegal instruction
        assert int(match.group(2), 16) >= 0x80000000  # the faulting pc lies in RAM
        assert wait_exit(process) == WIRE["RVTVM_EXIT_TRAP"]


@pytest.mark.qemu
def test_firmware_hang_hook_never_replies(project: Path) -> None:
    elf = build_firmware(project, "-DRVTVM_TEST_HANG_ON_RUN")
    rng = np.random.default_rng(8)
    with qemu_firmware(elf) as (client, process):
        check_hello(client)
        a, b = random_inputs(rng)
        client.send(encode_frame(WIRE["RVTVM_MSG_RUN"], a.tobytes() + b.tobytes()))
        with pytest.raises(TimeoutError):
            client.read_frame(timeout=2)
        assert process.poll() is None  # still spinning; the context manager kills it
