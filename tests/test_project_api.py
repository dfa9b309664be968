"""Project API: the server (project_template/microtvm_api_server.py) and the host client
(rvtvm.project), in one process over real pipes and as a server subprocess, plus the emulator
lifecycle on QEMU with a hand-assembled UART echo firmware."""

import ast
import importlib.util
import io
import json
import os
import shutil
import signal
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from rvtvm import process
from rvtvm.errors import RvtvmError
from rvtvm.project import (
    ErrorCode,
    GeneratedProject,
    IoTimeoutError,
    JSONRPCError,
    ProjectAPIClient,
    ReplyTimeoutError,
    ServerError,
    ServerExitedError,
    TemplateProject,
    TransportClosedError,
    UnsupportedTVMVersionError,
    connect,
)

REPO = Path(__file__).resolve().parent.parent
SERVER_PATH = REPO / "project_template" / "microtvm_api_server.py"
RISCV_GCC = "riscv64-unknown-elf-gcc"
QEMU = "qemu-system-riscv32"
STRICT_CFLAGS = ["-Wall", "-Wextra", "-Werror", "-Wmissing-prototypes", "-Wstrict-prototypes",
                 "-Wshadow", "-Wcast-align"]
RV32_CFLAGS = ["-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"]
GENERATE_OPTIONS = {"board": "qemu_riscv32", "project_type": "aot_standalone"}


def _load_server_module():
    spec = importlib.util.spec_from_file_location("rvtvm_api_server_under_test", SERVER_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


srv = _load_server_module()


# ---- fixtures: a template, a hand-made model, clients over pipes -----------------------------

ADD_HEADER = """\
#ifndef TVMGEN_DEFAULT_H_
#define TVMGEN_DEFAULT_H_
#include <stdint.h>
#define TVMGEN_DEFAULT_INPUT_A_SIZE 4
#define TVMGEN_DEFAULT_INPUT_B_SIZE 4
#define TVMGEN_DEFAULT_OUTPUT_OUTPUT0_SIZE 4
extern uint8_t tvmgen_default_arena[64];
#define TVMGEN_DEFAULT_INPUT_A_OFFSET 0
#define TVMGEN_DEFAULT_INPUT_B_OFFSET 16
#define TVMGEN_DEFAULT_OUTPUT_OUTPUT0_OFFSET 32
struct tvmgen_default_inputs {
  void* a;
  void* b;
};
struct tvmgen_default_outputs {
  void* output0;
};
int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs,
                           struct tvmgen_default_outputs* outputs);
#endif
"""

ADD_SOURCE = """\
#include <stdint.h>
#include "tvmgen_default.h"
/* out = a + b, int8, saturating: a hand-written stand-in for TVM's code. */
uint8_t tvmgen_default_arena[64] __attribute__((aligned(16)));
int32_t tvmgen_default_run(struct tvmgen_default_inputs* inputs,
                           struct tvmgen_default_outputs* outputs) {
  const int8_t* a = (const int8_t*)inputs->a;
  const int8_t* b = (const int8_t*)inputs->b;
  int8_t* out = (int8_t*)outputs->output0;
  for (int i = 0; i < 4; ++i) {
    int sum = a[i] + b[i];
    out[i] = (int8_t)(sum > 127 ? 127 : (sum < -128 ? -128 : sum));
  }
  return 0;
}
"""


def add_metadata(**memory):
    tensor = {"shape": [4], "dtype": "int8", "nbytes": 4, "quantization": None}
    return {
        "version": 2, "model_name": "default", "tvm_version": "0.27.0", "target": "c",
        "inputs": [{"name": "a", "c_name": "a", **tensor}, {"name": "b", "c_name": "b", **tensor}],
        "outputs": [{"name": "output0", "c_name": "output0", **tensor}],
        "memory": {"arena_bytes": 64, "naive_bytes": 96, "constant_bytes": 0, "io_bytes": 12,
                   "workspace_bytes": 16, **memory},
        "operators": [{"name": "add"}],
    }


def write_mlf(path, metadata=None, extra_members=()):
    """A Model Library Format tar for the hand-written int8 add model."""
    files = {
        "./metadata.json": json.dumps(metadata or add_metadata()),
        "./codegen/host/include/tvmgen_default.h": ADD_HEADER,
        "./codegen/host/src/default_lib0.c": ADD_SOURCE,
    }
    files.update(dict(extra_members))
    with tarfile.open(path, "w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def template_dir(tmp_path):
    """A copy of project_template/ (with a stub Makefile while the real one is missing) next to
    a copy of riscv_runtime/, as in the repo."""
    root = tmp_path / "repo"
    template = root / "project_template"
    template.mkdir(parents=True)
    shutil.copy2(SERVER_PATH, template)
    shutil.copytree(REPO / "project_template" / "src", template / "src")
    makefile = REPO / "project_template" / "Makefile"
    if makefile.is_file():
        shutil.copy2(makefile, template)
    else:
        (template / "Makefile").write_text("all:\n\t@echo stub Makefile\n")
    shutil.copytree(REPO / "riscv_runtime", root / "riscv_runtime")
    return template


@pytest.fixture
def mlf(tmp_path):
    return write_mlf(tmp_path / "add.tar")


@pytest.fixture
def inproc():
    """inproc(handler) -> a ProjectAPIClient talking to ProjectAPIServer(handler) in a thread,
    over two real os.pipe() pairs."""
    started = []

    def start(handler, **client_kwargs):
        to_server_r, to_server_w = os.pipe()
        from_server_r, from_server_w = os.pipe()
        server = srv.ProjectAPIServer(os.fdopen(to_server_r, "rb"),
                                      os.fdopen(from_server_w, "wb"), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        client = ProjectAPIClient(os.fdopen(from_server_r, "rb", buffering=0),
                                  os.fdopen(to_server_w, "wb", buffering=0), **client_kwargs)
        started.append((client, thread, handler))
        return client

    yield start
    for client, thread, handler in started:
        client.close()
        thread.join(5)
        assert not thread.is_alive(), "the server thread did not stop at EOF"
        if hasattr(handler, "shutdown"):
            handler.shutdown()


class FakeHandler(srv.ProjectAPIHandler):
    """Implements every method: records calls, loops written bytes back, and 'exits with
    status 7' when it receives b'quit'."""

    def __init__(self):
        self.calls = []
        self.rx = bytearray()
        self.exited = False

    def server_info_query(self, tvm_version):
        self.calls.append(("server_info_query", tvm_version))
        if tuple(int(x) for x in tvm_version.split(".")[:2]) < (0, 18):
            raise srv.UnsupportedTVMVersionError(data={"detail": f"TVM {tvm_version} too old"})
        option = srv.ProjectOption("board", choices=["fake"], type="str",
                                   required=["generate_project"], help="the board")
        return srv.ServerInfo("fake", True, None, [option])

    def generate_project(self, model_library_format_path, standalone_crt_dir, project_dir,
                         options):
        self.calls.append(("generate_project", model_library_format_path, standalone_crt_dir,
                           project_dir, options))

    def build(self, options):
        self.calls.append(("build", options))
        if options.get("sleep"):
            time.sleep(options["sleep"])
        if options.get("crash"):
            raise RuntimeError("compiler exploded")

    def flash(self, options):
        self.calls.append(("flash", options))

    def open_transport(self, options):
        self.calls.append(("open_transport", options))
        return srv.TransportTimeouts(1.0, 2.0, 3.0)

    def close_transport(self):
        self.calls.append(("close_transport",))

    def read_transport(self, n, timeout_sec):
        if not self.rx:
            if self.exited:
                raise srv.TransportClosedError(data={"detail": "fake board exited with status 7",
                                                     "exit_status": 7})
            time.sleep(timeout_sec or 0)
            raise srv.IoTimeoutError(data={"detail": f"no data within {timeout_sec} s"})
        data = bytes(self.rx[:n])
        del self.rx[:n]
        return data

    def write_transport(self, data, timeout_sec):
        if data == b"quit":
            self.exited = True
        else:
            self.rx += data


def _one_line(error):
    text = str(error)
    assert "\n" not in text and "Traceback" not in text, text
    return text


# ---- protocol, in one process ------------------------------------------------------------------


def test_every_method_round_trips(inproc):
    handler = FakeHandler()
    client = inproc(handler)
    info = client.server_info_query("0.18.0")
    assert info == {
        "platform_name": "fake", "is_template": True, "model_library_format_path": None,
        "protocol_version": 1,
        "project_options": [{"name": "board", "choices": ["fake"], "default": None,
                             "type": "str", "required": ["generate_project"], "optional": None,
                             "help": "the board"}],
    }
    client.generate_project("/m/model.tar", None, "/p/proj", {"board": "fake"})
    assert handler.calls[-1] == ("generate_project", Path("/m/model.tar"), None,
                                 Path("/p/proj"), {"board": "fake"})
    client.generate_project("/m/model.tar", "/crt", "/p/proj", {})
    assert handler.calls[-1][2] == Path("/crt")
    client.build({"verbose": True})
    client.flash({"x": 1})
    assert handler.calls[-2:] == [("build", {"verbose": True}), ("flash", {"x": 1})]
    assert client.open_transport({}) == {"timeouts": {
        "session_start_retry_timeout_sec": 1.0, "session_start_timeout_sec": 2.0,
        "session_established_timeout_sec": 3.0}}
    payload = bytes(range(256))  # every byte value survives base85 both ways
    client.write_transport(payload, 1.0)
    assert client.read_transport(100, 1.0) == payload[:100]
    assert client.read_transport(1000, 1.0) == payload[100:]
    client.close_transport()
    assert handler.calls[-1] == ("close_transport",)


def test_server_errors_arrive_as_their_classes(inproc):
    handler = FakeHandler()
    client = inproc(handler)
    with pytest.raises(UnsupportedTVMVersionError) as info:
        client.server_info_query("0.8.0")
    assert "0.8.0" in _one_line(info.value)
    with pytest.raises(IoTimeoutError) as info:
        client.read_transport(1, 0.05)
    assert _one_line(info.value).startswith("read_transport: IoTimeoutError")
    client.write_transport(b"quit", 1.0)
    with pytest.raises(TransportClosedError) as info:
        client.read_transport(1, 0.05)
    assert info.value.exit_status == 7
    assert "status 7" in _one_line(info.value)
    assert "Traceback" in info.value.data["traceback"]
    with pytest.raises(ServerError) as info:
        client.build({"crash": True})
    assert type(info.value) is ServerError
    assert _one_line(info.value) == "build: RuntimeError: compiler exploded"
    assert "compiler exploded" in info.value.data["traceback"]


@pytest.mark.parametrize("method, params, code", [
    ("no_such_method", {}, ErrorCode.METHOD_NOT_FOUND),
    ("build", {}, ErrorCode.INVALID_PARAMS),
    ("build", {"options": {}, "extra": 1}, ErrorCode.INVALID_PARAMS),
    ("read_transport", {"n": "3", "timeout_sec": None}, ErrorCode.INVALID_PARAMS),
    ("read_transport", {"n": 0, "timeout_sec": None}, ErrorCode.INVALID_PARAMS),
    ("write_transport", {"data": "~~~", "timeout_sec": 1}, ErrorCode.INVALID_PARAMS),
    ("server_info_query", {"tvm_version": True}, ErrorCode.INVALID_PARAMS),
])
def test_bad_requests_get_jsonrpc_codes(inproc, method, params, code):
    client = inproc(FakeHandler())
    with pytest.raises(JSONRPCError) as info:
        client.call(method, params)
    assert info.value.code == code
    assert not isinstance(info.value, ServerError)
    _one_line(info.value)
    assert client.server_info_query("0.27.0")["platform_name"] == "fake"  # still serving


def test_malformed_lines_get_parse_and_request_errors():
    to_server_r, to_server_w = os.pipe()
    from_server_r, from_server_w = os.pipe()
    server = srv.ProjectAPIServer(os.fdopen(to_server_r, "rb"), os.fdopen(from_server_w, "wb"),
                                  FakeHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lines = [b"{not json\n", b"\xff\xfe\n", b"[1, 2]\n",
             b'{"id": 1, "method": "build", "params": {}}\n',
             b'{"jsonrpc": "2.0", "id": 2, "method": "build", "params": []}\n',
             b'{"jsonrpc": "2.0", "id": 3, "method": "flash", "params": {"options": {}}}\n']
    with os.fdopen(to_server_w, "wb") as requests, os.fdopen(from_server_r, "rb") as replies:
        requests.write(b"".join(lines))
        requests.flush()
        got = [json.loads(replies.readline()) for _ in lines]
    thread.join(5)
    codes = [reply.get("error", {}).get("code") for reply in got]
    assert codes == [ErrorCode.PARSE_ERROR, ErrorCode.PARSE_ERROR, ErrorCode.INVALID_REQUEST,
                     ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, None]
    assert got[0]["id"] is None
    assert got[-1] == {"jsonrpc": "2.0", "id": 3, "result": None}


def test_client_timeout_names_the_method_and_recovers(inproc):
    client = inproc(FakeHandler(), call_timeouts={"build": 0.2})
    with pytest.raises(ReplyTimeoutError, match="did not answer build"):
        client.build({"sleep": 0.6})
    # The late reply to build is skipped; the next call gets its own reply.
    assert client.server_info_query("0.18.0")["platform_name"] == "fake"


def test_server_thread_stops_at_eof(inproc):
    client = inproc(FakeHandler())
    client.close()  # the fixture asserts the thread ends


# ---- the real handler: options and generate_project --------------------------------------


def test_server_imports_only_the_standard_library():
    tree = ast.parse(SERVER_PATH.read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module}
    assert modules and modules <= set(sys.stdlib_module_names), modules


def test_template_server_info(inproc, template_dir):
    client = inproc(srv.RvtvmHandler(template_dir))
    info = client.server_info_query("0.18.0")
    assert info["is_template"] is True and info["model_library_format_path"] is None
    assert info["platform_name"] == "rvtvm" and info["protocol_version"] == 1
    options = {o["name"]: o for o in info["project_options"]}
    assert set(options) == {"board", "project_type", "verbose", "warning_as_error",
                            "compile_definitions", "workspace_size_bytes",
                            "stack_size_bytes", "rpc_heap_bytes", "accel", "accel_backend",
                            "emulator_timeout_sec"}
    assert options["accel_backend"]["choices"] == ["auto", "hardware", "software"]
    assert options["board"]["choices"] == ["qemu_riscv32", "verilator_soc"]
    assert options["project_type"]["choices"] == ["aot_standalone", "host_driven"]
    assert options["rpc_heap_bytes"]["optional"] == ["generate_project"]
    assert options["board"]["required"] == ["generate_project"]
    assert options["emulator_timeout_sec"]["default"] == 300
    assert options["emulator_timeout_sec"]["optional"] == ["flash", "open_transport"]
    assert options["stack_size_bytes"]["optional"] == ["generate_project"]
    assert "qemu_riscv32: 65536" in options["stack_size_bytes"]["help"]
    with pytest.raises(UnsupportedTVMVersionError):
        client.server_info_query("0.8.0")


def test_generate_project_layout(inproc, template_dir, mlf, tmp_path):
    client = inproc(srv.RvtvmHandler(template_dir))
    project = tmp_path / "proj"
    options = {**GENERATE_OPTIONS, "workspace_size_bytes": 4096, "verbose": True}
    client.generate_project(mlf, None, project, options)

    for path in ["microtvm_api_server.py", "Makefile", "src/model_glue.h", "src/model_glue.c",
                 "runtime/include/rvtvm/wire.h", "model.tar", "model/metadata.json",
                 "model/codegen/host/include/tvmgen_default.h",
                 "model/codegen/host/src/default_lib0.c", "board.mk", "rvtvm_project.json"]:
        assert (project / path).is_file(), path
    assert (project / "model.tar").read_bytes() == mlf.read_bytes()
    assert (project / "microtvm_api_server.py").read_bytes() == SERVER_PATH.read_bytes()
    board_mk = dict(line.split(" := ") for line in
                    (project / "board.mk").read_text().splitlines() if " := " in line)
    assert board_mk == {"BOARD": "qemu_riscv32", "PROJECT_TYPE": "aot_standalone",
                        "RAM_ORIGIN": "0x80000000", "RAM_LENGTH": str(16 * 1024 * 1024),
                        "STACK_BYTES": str(64 * 1024), "WORKSPACE_POOL_BYTES": "4096",
                        "RPC_HEAP_BYTES": "0", "CYCLES_PER_SECOND": "1000000000"}
    stored = json.loads((project / "rvtvm_project.json").read_text())
    assert stored == {"version": 1, "options": options}

    project_info = inproc(srv.RvtvmHandler(project)).server_info_query("0.27.0")
    assert project_info["is_template"] is False
    assert project_info["model_library_format_path"] == str(project / "model.tar")


def test_board_mk_pool_defaults_to_zero(inproc, template_dir, mlf, tmp_path):
    inproc(srv.RvtvmHandler(template_dir)).generate_project(mlf, None, tmp_path / "p",
                                                            GENERATE_OPTIONS)
    assert "WORKSPACE_POOL_BYTES := 0\n" in (tmp_path / "p" / "board.mk").read_text()


def test_stack_size_option_reaches_board_mk_and_is_stored(inproc, template_dir, mlf, tmp_path):
    options = {**GENERATE_OPTIONS, "stack_size_bytes": 4096}
    inproc(srv.RvtvmHandler(template_dir)).generate_project(mlf, None, tmp_path / "p", options)
    assert "STACK_BYTES := 4096\n" in (tmp_path / "p" / "board.mk").read_text()
    stored = json.loads((tmp_path / "p" / "rvtvm_project.json").read_text())
    assert stored["options"]["stack_size_bytes"] == 4096


def _generated_sources(project):
    return [project / "src" / "model_glue.c",
            project / "model" / "codegen" / "host" / "src" / "default_lib0.c"]


def _include_flags(project):
    return ["-I", str(project / "src"), "-I", str(project / "model/codegen/host/include"),
            "-I", str(project / "runtime/include"), "-I", str(project / "model/runtime/include")]


def test_model_glue_compiles_strict_for_rv32(inproc, template_dir, mlf, tmp_path,
                                             need_tools):
    need_tools(RISCV_GCC)
    project = tmp_path / "proj"
    inproc(srv.RvtvmHandler(template_dir)).generate_project(mlf, None, project,
                                                            GENERATE_OPTIONS)
    result = process.run([RISCV_GCC, *RV32_CFLAGS, *STRICT_CFLAGS, "-std=c11", "-O2", "-c",
                          str(project / "src" / "model_glue.c"), *_include_flags(project),
                          "-o", str(tmp_path / "model_glue.o")], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_model_glue_runs_the_model(inproc, template_dir, mlf, tmp_path, need_tools):
    """The glue's buffers and run() do what model_glue.h promises (host build, checked against
    Python's saturating int8 add)."""
    need_tools("gcc")
    project = tmp_path / "proj"
    inproc(srv.RvtvmHandler(template_dir)).generate_project(mlf, None, project,
                                                            GENERATE_OPTIONS)
    main_c = tmp_path / "main.c"
    main_c.write_text("""\
#include <stdio.h>
#include <string.h>
#include "model_glue.h"
int main(void) {
  const int8_t a[4] = {1, -2, 100, -100}, b[4] = {2, -3, 100, -100};
  if (rvtvm_model_num_inputs != 2 || rvtvm_model_num_outputs != 1) return 2;
  if (rvtvm_model_input_bytes[0] != 4 || rvtvm_model_output_bytes[0] != 4) return 3;
  if (((uintptr_t)rvtvm_model_inputs[1] & 15u) != 0) return 4;
  memcpy(rvtvm_model_inputs[0], a, 4);
  memcpy(rvtvm_model_inputs[1], b, 4);
  if (rvtvm_model_run() != 0) return 5;
  for (int i = 0; i < 4; ++i) printf("%d ", (int8_t)rvtvm_model_outputs[0][i]);
  printf("%s\\n", rvtvm_model_name);
  return 0;
}
""")
    exe = tmp_path / "glue_test"
    build = process.run(["gcc", *STRICT_CFLAGS, "-std=c11", *_include_flags(project),
                         *map(str, _generated_sources(project)), str(main_c), "-o", str(exe)],
                        timeout=60)
    assert build.returncode == 0, build.stderr
    run = process.run([str(exe)], timeout=10)
    assert run.returncode == 0
    expected = [max(-128, min(127, x + y)) for x, y in zip([1, -2, 100, -100],
                                                           [2, -3, 100, -100])]
    assert run.stdout.split() == [str(v) for v in expected] + ["default"]


@pytest.mark.parametrize("options, message", [
    ({**GENERATE_OPTIONS, "colour": "red"}, "unknown option 'colour'; valid options: board,"),
    ({**GENERATE_OPTIONS, "board": "nexys"},
     "option board='nexys' is not valid; valid choices: qemu_riscv32"),
    ({**GENERATE_OPTIONS, "project_type": "host_ridden"},
     "option project_type='host_ridden' is not valid; valid choices: aot_standalone, host_driven"),
    ({**GENERATE_OPTIONS, "rpc_heap_bytes": 100}, "option rpc_heap_bytes must be a multiple of 16"),
    ({"project_type": "aot_standalone"}, "option board is required for generate_project"),
    ({**GENERATE_OPTIONS, "verbose": "yes"}, "option verbose must be bool"),
    ({**GENERATE_OPTIONS, "workspace_size_bytes": -1}, "workspace_size_bytes must be >= 0"),
    ({**GENERATE_OPTIONS, "workspace_size_bytes": 8},
     "workspace_size_bytes=8 is smaller than the model's workspace (16 bytes"),
    ({**GENERATE_OPTIONS, "stack_size_bytes": 4100},
     "option stack_size_bytes must be a multiple of 16, got 4100"),
    ({**GENERATE_OPTIONS, "stack_size_bytes": 512}, "option stack_size_bytes must be >= 1024"),
    ({**GENERATE_OPTIONS, "stack_size_bytes": "8k"}, "option stack_size_bytes must be int"),
])
def test_generate_project_refuses_bad_options(inproc, template_dir, mlf, tmp_path, options,
                                              message):
    client = inproc(srv.RvtvmHandler(template_dir))
    with pytest.raises(ServerError) as info:
        client.generate_project(mlf, None, tmp_path / "proj", options)
    assert message in _one_line(info.value)
    assert not (tmp_path / "proj").exists(), "a failed generate_project leaves nothing behind"


def test_generate_project_refuses_non_empty_dir(inproc, template_dir, mlf, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "keep.txt").write_text("mine")
    client = inproc(srv.RvtvmHandler(template_dir))
    with pytest.raises(ServerError, match="exists and is not empty"):
        client.generate_project(mlf, None, project, GENERATE_OPTIONS)
    assert [p.name for p in project.iterdir()] == ["keep.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    client.generate_project(mlf, None, empty, GENERATE_OPTIONS)  # an empty dir is fine
    assert (empty / "board.mk").is_file()


def test_generate_project_uses_the_given_runtime(inproc, template_dir, mlf, tmp_path):
    runtime = tmp_path / "my_runtime"
    shutil.copytree(REPO / "riscv_runtime", runtime)
    (runtime / "MARKER").write_text("mine")
    client = inproc(srv.RvtvmHandler(template_dir))
    client.generate_project(mlf, runtime, tmp_path / "p", GENERATE_OPTIONS)
    assert (tmp_path / "p" / "runtime" / "MARKER").read_text() == "mine"
    with pytest.raises(ServerError, match="is not an rvtvm riscv_runtime"):
        client.generate_project(mlf, tmp_path, tmp_path / "q", GENERATE_OPTIONS)
    assert not (tmp_path / "q").exists()


def test_generate_project_refuses_model_too_big_for_ram(inproc, template_dir, tmp_path):
    tar = write_mlf(tmp_path / "big.tar", add_metadata(arena_bytes=16 * 1024 * 1024))
    client = inproc(srv.RvtvmHandler(template_dir))
    with pytest.raises(ServerError) as info:
        client.generate_project(tar, None, tmp_path / "proj", GENERATE_OPTIONS)
    need = 16 * 1024 * 1024 + 0 + 65536
    assert (f"model does not fit board qemu_riscv32: it needs {need} bytes of RAM (arena "
            f"16777216 + constants 0 + stack 65536) but the board has 16777216"
            ) == _one_line(info.value).split(": ", 1)[1]
    # The stack counted is stack_size_bytes: what fits with a small stack fails with a big one.
    tar = write_mlf(tmp_path / "near.tar", add_metadata(arena_bytes=16 * 1024 * 1024 - 4096))
    client.generate_project(tar, None, tmp_path / "small", {**GENERATE_OPTIONS,
                                                            "stack_size_bytes": 2048})
    with pytest.raises(ServerError, match=r"\+ stack 8192\) but the board has 16777216"):
        client.generate_project(tar, None, tmp_path / "big", {**GENERATE_OPTIONS,
                                                              "stack_size_bytes": 8192})
    # The general workspace pool is RAM too.
    with pytest.raises(ServerError, match=r"\+ workspace pool 8192 \+ stack 2048\) but the board"):
        client.generate_project(tar, None, tmp_path / "pool", {**GENERATE_OPTIONS, "stack_size_bytes": 2048,
                                                               "workspace_size_bytes": 8192})


@pytest.mark.parametrize("member, message", [
    ("../evil.txt", "refusing unsafe path '../evil.txt'"),
    ("/tmp/evil.txt", "refusing unsafe path '/tmp/evil.txt'"),
])
def test_generate_project_refuses_unsafe_tar(inproc, template_dir, tmp_path, member, message):
    tar = write_mlf(tmp_path / "evil.tar", extra_members=[(member, "x")])
    client = inproc(srv.RvtvmHandler(template_dir))
    with pytest.raises(ServerError, match=message):
        client.generate_project(tar, None, tmp_path / "sub" / "proj", GENERATE_OPTIONS)
    assert not (tmp_path / "sub" / "evil.txt").exists()
    assert not (tmp_path / "sub" / "proj").exists()


def test_generate_project_refuses_inconsistent_metadata(inproc, template_dir, tmp_path):
    meta = add_metadata()
    meta["outputs"][0]["nbytes"] = 8
    tar = write_mlf(tmp_path / "bad.tar", meta)
    with pytest.raises(ServerError, match=r"nbytes is 8 but shape \[4\] of int8 is 4 bytes"):
        inproc(srv.RvtvmHandler(template_dir)).generate_project(tar, None, tmp_path / "p",
                                                                GENERATE_OPTIONS)


def test_project_methods_refused_on_the_template(inproc, template_dir):
    client = inproc(srv.RvtvmHandler(template_dir))
    for call in (client.build, client.flash, client.open_transport):
        with pytest.raises(ServerError, match="needs a generated project"):
            call({})


@pytest.fixture
def project(inproc, template_dir, mlf, tmp_path):
    project = tmp_path / "proj"
    inproc(srv.RvtvmHandler(template_dir)).generate_project(mlf, None, project,
                                                            GENERATE_OPTIONS)
    return project


def test_build_reports_missing_tools(inproc, project, monkeypatch):
    client = inproc(srv.RvtvmHandler(project))
    monkeypatch.setenv("PATH", str(project / "no-tools-here"))
    with pytest.raises(ServerError) as info:
        client.build({})
    assert _one_line(info.value) == ("build: make not found on PATH (needed to build the "
                                     "firmware); run scripts/setup.sh")


def test_build_passes_options_to_make(inproc, project, need_tools):
    need_tools("make", RISCV_GCC)
    (project / "Makefile").write_text(
        "all:\n\t@echo 'V=$(V) WERROR=$(WERROR) EXTRA_CFLAGS=$(EXTRA_CFLAGS)' > make_vars.txt\n")
    client = inproc(srv.RvtvmHandler(project))
    client.build({})
    assert (project / "make_vars.txt").read_text() == "V= WERROR= EXTRA_CFLAGS=\n"
    client.build({"verbose": True, "warning_as_error": True,
                  "compile_definitions": "-DFOO=1 -DBAR"})
    assert (project / "make_vars.txt").read_text() == "V=1 WERROR=1 EXTRA_CFLAGS=-DFOO=1 -DBAR\n"
    with pytest.raises(ServerError, match="generated with board='qemu_riscv32'"):
        client.build({"board": "other"})
    with pytest.raises(ServerError, match="unknown option 'colour'"):
        client.build({"colour": "red"})


def test_build_failure_carries_compiler_output(inproc, project, need_tools):
    need_tools("make", RISCV_GCC)
    (project / "Makefile").write_text(
        "all:\n\t@for i in $$(seq 1 100); do echo \"line $$i\"; done\n"
        "\t@echo 'src/main.c:3:5: error: expected ; before }'\n\t@exit 2\n")
    with pytest.raises(ServerError) as info:
        inproc(srv.RvtvmHandler(project)).build({})
    lines = str(info.value).splitlines()
    assert lines[0] == ("build: build failed (make exited with status 2); last lines of its "
                        "output:")
    assert "src/main.c:3:5: error: expected ; before }" in lines
    assert "line 100" in lines and "line 1" not in lines  # only the tail
    assert len(lines) <= 62
    assert "src/main.c:3:5: error" in info.value.data["output"]


def test_build_ram_overflow_is_one_line(inproc, project, need_tools):
    need_tools("make", RISCV_GCC)
    (project / "Makefile").write_text(
        "all:\n\t@echo \"ld: build/firmware.elf section .bss will not fit in region \\`RAM'\"\n"
        "\t@echo \"ld: region \\`RAM' overflowed by 1234 bytes\"\n\t@exit 1\n")
    with pytest.raises(ServerError) as info:
        inproc(srv.RvtvmHandler(project)).build({})
    assert _one_line(info.value).startswith(
        "build: firmware does not fit the board's RAM (qemu_riscv32, 1234 bytes): ")
    assert "overflowed by 1234 bytes" in info.value.data["output"]


def test_flash_needs_a_built_firmware(inproc, project):
    with pytest.raises(ServerError, match=r"build/firmware.elf not found; call build first"):
        inproc(srv.RvtvmHandler(project)).flash({})


def test_transport_calls_need_an_open_transport(inproc, project):
    client = inproc(srv.RvtvmHandler(project))
    with pytest.raises(ServerError, match="transport is not open"):
        client.read_transport(1, 0)
    client.close_transport()  # closing a closed transport is a no-op


# ---- the real server as a subprocess -------------------------------------------------------


def test_server_subprocess_end_to_end(template_dir, mlf, tmp_path):
    before = set(process.live_descendants())
    with connect(template_dir) as client:
        server_pid = client.server_process.pid
        assert server_pid in process.live_descendants()
        info = client.server_info_query("0.27.0")
        assert info["is_template"] is True
        with pytest.raises(UnsupportedTVMVersionError):
            client.server_info_query("0.8.0")
        with pytest.raises(JSONRPCError) as err:
            client.call("reboot_universe", {})
        assert err.value.code == ErrorCode.METHOD_NOT_FOUND
        with pytest.raises(JSONRPCError) as err:
            client.call("generate_project", {"project_dir": "x"})
        assert err.value.code == ErrorCode.INVALID_PARAMS
        with pytest.raises(ServerError, match="valid choices: qemu_riscv32"):
            client.generate_project(mlf, None, tmp_path / "p", {**GENERATE_OPTIONS,
                                                                "board": "bogus"})
        client.generate_project(mlf, None, tmp_path / "p", GENERATE_OPTIONS)
    assert set(process.live_descendants()) == before
    with GeneratedProject.from_directory(tmp_path / "p") as generated:
        assert generated.info["is_template"] is False
        with pytest.raises(ServerError, match="call build first"):
            generated.flash()
    assert set(process.live_descendants()) == before


def test_template_project_verbs(template_dir, mlf, tmp_path):
    with TemplateProject.from_directory(template_dir) as template:
        with template.generate_project(mlf, tmp_path / "p", GENERATE_OPTIONS) as generated:
            assert generated.project_dir == tmp_path / "p"
            assert (tmp_path / "p" / "src" / "model_glue.c").is_file()
    with pytest.raises(RvtvmError, match="is the project template"):
        GeneratedProject.from_directory(template_dir)
    with pytest.raises(RvtvmError, match="neither a project template nor a generated project"):
        connect(tmp_path)


def test_client_reports_a_dead_server(template_dir):
    with connect(template_dir) as client:
        client.server_info_query("0.27.0")
        os.kill(client.server_process.pid, signal.SIGKILL)
        with pytest.raises(ServerExitedError, match=r"exited \(status -9\) during build"):
            client.build({})


# ---- QEMU: flash, transport and who owns the emulator ----------------------------------------

ECHO_FIRMWARE = """\
    /* Echoes every byte on the NS16550A UART; 'q' exits with status 0, '!' with status 3,
       both through the SiFive test finisher. */
    .section .text
    .globl _start
_start:
    li   t0, 0x10000000      /* UART: RBR/THR at +0, LSR at +5 */
    li   t3, 0x00100000      /* finisher */
    li   t4, 'q'
    li   t5, '!'
wait_rx:
    lbu  t1, 5(t0)
    andi t1, t1, 0x01        /* LSR.DR: a byte is waiting */
    beqz t1, wait_rx
    lbu  t2, 0(t0)
    beq  t2, t4, exit_ok
    beq  t2, t5, exit_3
wait_tx:
    lbu  t1, 5(t0)
    andi t1, t1, 0x20        /* LSR.THRE: room to send */
    beqz t1, wait_tx
    sb   t2, 0(t0)
    j    wait_rx
exit_ok:
    li   t1, 0x5555
    sw   t1, 0(t3)
    j    exit_ok
exit_3:
    li   t1, 0x33333         /* (3 << 16) | 0x3333 */
    sw   t1, 0(t3)
    j    exit_3
"""


@pytest.fixture
def echo_project(project, need_tools, tmp_path):
    """A generated project whose build/firmware.elf is the echo firmware."""
    need_tools(RISCV_GCC, QEMU)
    source = tmp_path / "echo.S"
    source.write_text(ECHO_FIRMWARE)
    (project / "build").mkdir()
    result = process.run([RISCV_GCC, "-nostdlib", "-march=rv32imc", "-mabi=ilp32",
                          "-Ttext=0x80000000", "-o", str(project / "build" / "firmware.elf"),
                          str(source)], timeout=60)
    assert result.returncode == 0, result.stderr
    return project


def _qemu_pids(root_pid=None):
    return [pid for pid in process.live_descendants(root_pid)
            if any(QEMU in part for part in process.command_line(pid)[:1])]


def _wait_gone(pids, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(process.is_alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.qemu
def test_qemu_echo_transport(echo_project):
    before = set(process.live_descendants())
    with GeneratedProject.from_directory(echo_project) as generated:
        server_pid = generated.client.server_process.pid
        generated.flash({"emulator_timeout_sec": 60})
        qemu = _qemu_pids(server_pid)
        assert len(qemu) == 1
        with generated.transport() as uart:
            assert uart.timeouts["session_start_timeout_sec"] > 0
            uart.write(b"hello, riscv", timeout_sec=5)
            assert uart.read_exactly(12, timeout_sec=10) == b"hello, riscv"
            started = time.monotonic()
            with pytest.raises(IoTimeoutError):
                uart.read(1, timeout_sec=0.3)
            assert time.monotonic() - started >= 0.25
            uart.write(b"q", timeout_sec=5)
            with pytest.raises(TransportClosedError) as info:
                uart.read(16, timeout_sec=10)
            assert info.value.exit_status == 0
            assert "QEMU exited with status 0" in _one_line(info.value)
        assert _wait_gone(qemu, timeout=1)

        # open_transport boots the firmware again when QEMU isn't running; exit status 3.
        with generated.transport({"emulator_timeout_sec": 60}) as uart:
            uart.write(b"ab", timeout_sec=5)
            assert uart.read_exactly(2, timeout_sec=10) == b"ab"
            uart.write(b"!", timeout_sec=5)
            with pytest.raises(TransportClosedError) as info:
                while True:
                    uart.read(16, timeout_sec=10)
            assert info.value.exit_status == 3
            assert "QEMU exited with status 3" in str(info.value)
        assert _qemu_pids(server_pid) == []
    assert set(process.live_descendants()) == before


@pytest.mark.qemu
def test_qemu_watchdog_kills_the_emulator(echo_project):
    with GeneratedProject.from_directory(echo_project) as generated:
        with generated.transport({"emulator_timeout_sec": 1}) as uart:
            started = time.monotonic()
            with pytest.raises(TransportClosedError) as info:
                uart.read(1, timeout_sec=None)
            assert 0.8 < time.monotonic() - started < 10
            assert "killed after emulator_timeout_sec=1 s" in str(info.value)
        assert _qemu_pids(generated.client.server_process.pid) == []


@pytest.mark.qemu
@pytest.mark.parametrize("how", ["close_pipes", "sigint_server", "sigkill_server",
                                 "keyboard_interrupt"])
def test_qemu_dies_with_its_owner(echo_project, how):
    before = set(process.live_descendants())
    client = connect(echo_project)
    try:
        client.flash({})
        qemu = _qemu_pids(client.server_process.pid)
        assert len(qemu) == 1
        if how == "close_pipes":
            client._write_file.close()  # pylint: disable=protected-access
            client._read_file.close()  # pylint: disable=protected-access
        elif how == "sigint_server":
            os.kill(client.server_process.pid, signal.SIGINT)
        elif how == "sigkill_server":  # no cleanup in the server: PR_SET_PDEATHSIG does it
            os.kill(client.server_process.pid, signal.SIGKILL)
        else:
            with pytest.raises(KeyboardInterrupt):
                with client:
                    raise KeyboardInterrupt
        assert _wait_gone(qemu, timeout=5), f"QEMU {qemu} still running after {how}"
    finally:
        client.close()
    assert set(process.live_descendants()) == before


# ---- rvtvm.process -------------------------------------------------------------------------


def test_run_kills_the_whole_group_on_timeout(tmp_path):
    before = set(process.live_descendants())
    with pytest.raises(process.ProcessTimeoutError, match="sh did not finish within 0.3 s"):
        process.run(["sh", "-c", "sleep 30 & sleep 30; echo never"], timeout=0.3)
    assert set(process.live_descendants()) == before
    done = process.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_run_reports_a_missing_tool():
    with pytest.raises(RvtvmError, match="no-such-tool-xyz not found; run scripts/setup.sh"):
        process.run(["no-such-tool-xyz"], timeout=5)


def test_spawn_reaps_on_exception():
    before = set(process.live_descendants())
    with pytest.raises(KeyboardInterrupt):
        with process.spawn(["sh", "-c", "sleep 30 & sleep 30"], terminate_grace=0.5) as proc:
            assert proc.pid in process.live_descendants()
            raise KeyboardInterrupt
    assert proc.returncode is not None
    assert set(process.live_descendants()) == before
