"""The accelerator driver (accel_driver/) against rvtvm.accel.reference, bit for bit.

Every backend runs through one job runner (tests/c/accel_job.c; its stream format is in
accel_job.h): a batch of jobs goes in on stdin, each job's return code, output bytes and output
guard check come back on stdout. The runners are a fixture parameter, so a backend is added by
adding a builder to RUNNERS:
- "sw": the software backend, built under ASan/UBSan;
- "mmio-rtl": the MMIO backend driving the accelerator's RTL under Verilator, with no CPU
  (rtl/tb/accel_driver_tb.cpp is the platform: the register port, the RAM on the DMA port, and
  operands at every offset within a DMA word); its C side is built under ASan/UBSan too;
- "mmio-rtl-stall": the same with the RAM stalling the DMA at random.
The one documented difference between the backends, the params' shift check, is tested as such
(test_params_shift_out_of_range).
Weights and params are packed with rvtvm.accel.layout, so the packed layouts are checked too.

Also here: both backends compile freestanding and warning-free for the rv32 firmware.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from rvtvm import process, verilator
from rvtvm.accel import layout, reference
from rvtvm.errors import ToolchainError
from rvtvm.tflite.fixed_point import quantize_multiplier, quantize_multiplier_smaller_than_one_exp

from .conftest import require_tools, require_verilator
from .test_runtime_c import (  # noqa: F401  (sanitizer_flags is a fixture)
    CROSS_GCC,
    RUNTIME,
    STRICT_WARNINGS,
    WIRE,
    build_sanitized_program,
    run_checked,
    sanitizer_flags,
)

REPO = Path(__file__).resolve().parents[1]
DRIVER = REPO / "accel_driver"
C_TESTS = REPO / "tests" / "c"
ACCEL_RTL = REPO / "rtl" / "accel"
MMIO_TB = REPO / "rtl" / "tb" / "accel_driver_tb.cpp"

OK = 0
ARGUMENT = WIRE["RVTVM_ERR_ACCEL_ARGUMENT"]

JOB_MAGIC, REPLY_MAGIC = 0x424F4A41, 0x53455241
OPS = {"conv2d": 1, "depthwise": 2, "fully_connected": 3, "add": 4}
N_ARGS = 16
NULL_INPUT, NULL_WEIGHTS, NULL_PARAMS, NULL_OUTPUT, OUTPUT_IS_INPUT = 1, 2, 4, 8, 16
OUTPUT_FILL = 0x5A  # accel_job.c: what the output holds before the call
RUN_TIMEOUT_S = 120


# --- jobs ----------------------------------------------------------------------------------------


@dataclass
class Job:
    """One API call: scalar args in the API's order, operands, and what the call must return."""

    name: str
    op: str
    args: list[int]
    input: np.ndarray
    weights: np.ndarray
    params: np.ndarray
    expected: np.ndarray | None  # the reference output; None when an error is expected
    expected_rc: int = OK
    flags: int = 0
    output_bytes: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.output_bytes < 0:
            self.output_bytes = 0 if self.expected is None else self.expected.size

    def encode(self) -> bytes:
        def operand(data: bytes) -> bytes:
            return struct.pack("<I", len(data)) + data

        args = list(self.args) + [0] * (N_ARGS - len(self.args))
        return (struct.pack("<3I", JOB_MAGIC, OPS[self.op], self.flags) + struct.pack(f"<{N_ARGS}i", *args)
                + operand(np.ascontiguousarray(self.input, np.int8).tobytes())
                + operand(np.ascontiguousarray(self.weights, np.int8).tobytes())
                + operand(np.ascontiguousarray(self.params, "<i4").tobytes())
                + struct.pack("<I", self.output_bytes))


@dataclass
class Reply:
    rc: int
    guards_ok: bool
    output: np.ndarray


def decode_replies(data: bytes, count: int) -> list[Reply]:
    replies, at = [], 0
    for _ in range(count):
        magic, rc, guards_ok, n = struct.unpack_from("<IiII", data, at)
        assert magic == REPLY_MAGIC, f"bad reply magic {magic:#x} at byte {at}"
        at += 16
        replies.append(Reply(rc, bool(guards_ok), np.frombuffer(data, np.int8, n, at).copy()))
        at += n
    assert at == len(data), f"{len(data) - at} bytes after the last reply"
    return replies


@dataclass
class Runner:
    """A backend behind the job runner: `command` reads jobs on stdin and writes replies."""

    name: str
    command: list[str]
    random_cases: int  # random cases per operator that this backend runs in reasonable time
    # False for the MMIO backend: it does not check the params' shifts (rvtvm/accel.h)
    checks_param_shifts: bool = True

    def run(self, jobs: list[Job]) -> list[Reply]:
        request = b"".join(job.encode() for job in jobs)
        with process.spawn(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE) as proc:
            try:
                out, err = proc.communicate(request, timeout=RUN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{self.name} runner: no answer in {RUN_TIMEOUT_S} s")
        assert proc.returncode == 0, f"{self.name} runner exited {proc.returncode}:\n{err.decode(errors='replace')}"
        return decode_replies(out, len(jobs))


def build_software_runner(work: Path, sanitizer_flags: list[str]) -> Runner:
    sources = [C_TESTS / "accel_job.c", C_TESTS / "accel_job_host.c",
               DRIVER / "src" / "accel_sw.c", DRIVER / "src" / "accel_args.c"]
    binary = build_sanitized_program(sources, work / "accel_job_sw", sanitizer_flags,
                                     include_dirs=[DRIVER / "include"])
    return Runner("sw", [str(binary)], random_cases=400)


# The mmio-rtl runner's C side (C11, which Verilator's make would compile as C++): compiled by gcc
# into objects whose names carry a hash of every C input, so that rvtvm.verilator.build_model,
# which gets them as link inputs, rebuilds the testbench when any of them changes.
MMIO_C_SOURCES = [DRIVER / "src" / "accel_mmio.c", DRIVER / "src" / "accel_args.c", C_TESTS / "accel_job.c"]
MMIO_C_OBJECTS = verilator.DEFAULT_OUT_ROOT / "accel_driver_tb_c"


def mmio_c_headers() -> list[Path]:
    """Every header the C side or the testbench can include from the repository."""
    return sorted([*(DRIVER / "include" / "rvtvm").glob("*.h"), *(DRIVER / "src").glob("*.h"),
                   *(RUNTIME / "include" / "rvtvm").glob("*.h"), C_TESTS / "accel_job.h"])


def build_mmio_c_objects(sanitizer_flags: list[str]) -> list[Path]:
    flags = ["-std=c11", "-g", "-O1", *STRICT_WARNINGS, *sanitizer_flags, "-DACCEL_JOB_NO_MAIN",
             f"-I{DRIVER / 'include'}", f"-I{RUNTIME / 'include'}"]
    compiler = run_checked(["gcc", "--version"], REPO, 60).stdout.splitlines()[0]
    digest = hashlib.sha256(repr((compiler, flags)).encode())
    for path in [*MMIO_C_SOURCES, *mmio_c_headers()]:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    key = digest.hexdigest()[:16]
    objects = [MMIO_C_OBJECTS / f"{source.stem}-{key}.o" for source in MMIO_C_SOURCES]
    if all(obj.exists() for obj in objects):
        return objects
    MMIO_C_OBJECTS.mkdir(parents=True, exist_ok=True)
    for source, obj in zip(MMIO_C_SOURCES, objects):
        staging = obj.with_name(f".{obj.name}.{os.getpid()}")
        build = run_checked(["gcc", *flags, "-c", str(source), "-o", str(staging)], MMIO_C_OBJECTS, 120)
        assert build.returncode == 0, build.stdout
        staging.replace(obj)  # atomic: a concurrent build of the same key writes the same bytes
    for old in MMIO_C_OBJECTS.glob("*.o"):
        if key not in old.name:
            old.unlink(missing_ok=True)
    return objects


def build_mmio_rtl_runner(work: Path, sanitizer_flags: list[str], *, name: str = "mmio-rtl",
                          plusargs: tuple[str, ...] = (), random_cases: int = 2000) -> Runner:
    """The MMIO backend on the Verilated accelerator (rtl/tb/accel_driver_tb.cpp, whose header
    has its plusargs). The simulation runs a few million cycles per second: far more random
    cases than the software backend fit in a second or two."""
    require_verilator()
    objects = build_mmio_c_objects(sanitizer_flags)
    flags = ["--trace-vcd", "-CFLAGS", f"-I{C_TESTS} -I{DRIVER / 'include'}"]
    if sanitizer_flags:
        flags += ["-LDFLAGS", " ".join(sanitizer_flags)]
    try:
        binary = verilator.build_model("accel_driver_tb", "rvtvm_accel",
                                       [*sorted(ACCEL_RTL.glob("*.v")), ACCEL_RTL / "accel.vlt"],
                                       [MMIO_TB, *objects], include_dirs=[ACCEL_RTL], flags=flags)
    except ToolchainError as exc:
        pytest.fail(str(exc))
    return Runner(name, [str(binary), *plusargs], random_cases=random_cases, checks_param_shifts=False)


def build_mmio_rtl_stall_runner(work: Path, sanitizer_flags: list[str]) -> Runner:
    """The same, with the RAM holding off 30% of the DMA's requests at random (i_dma_ready low)."""
    return build_mmio_rtl_runner(work, sanitizer_flags, name="mmio-rtl-stall", plusargs=("+stall=30", "+seed=1"),
                                 random_cases=500)


# name -> builder(work_dir, sanitizer_flags), and the marks of the tests run on each
RUNNERS: dict[str, Callable[[Path, list[str]], Runner]] = {
    "sw": build_software_runner,
    "mmio-rtl": build_mmio_rtl_runner,
    "mmio-rtl-stall": build_mmio_rtl_stall_runner,
}
RUNNER_MARKS = {"mmio-rtl": [pytest.mark.verilator], "mmio-rtl-stall": [pytest.mark.verilator]}


@pytest.fixture(scope="module",
                params=[pytest.param(name, marks=RUNNER_MARKS.get(name, ())) for name in sorted(RUNNERS)])
def runner(request, sanitizer_flags: list[str], tmp_path_factory: pytest.TempPathFactory) -> Runner:
    require_tools("gcc")
    return RUNNERS[request.param](tmp_path_factory.mktemp(f"accel_{request.param}"), sanitizer_flags)


def check_jobs(runner: Runner, jobs: list[Job]) -> None:
    """Runs the jobs in one batch; every return code and output must be the expected one."""
    failures = []
    for job, reply in zip(jobs, runner.run(jobs)):
        where = f"{job.name} {job.op}{tuple(job.args)}"
        if reply.rc != job.expected_rc:
            failures.append(f"{where}: returned {reply.rc:#x}, expected {job.expected_rc:#x}")
        elif not reply.guards_ok:
            failures.append(f"{where}: wrote outside its output")
        elif job.expected is not None and not np.array_equal(reply.output, job.expected.reshape(-1)):
            bad = np.flatnonzero(reply.output != job.expected.reshape(-1))
            failures.append(f"{where}: {bad.size} of {job.expected.size} bytes differ, first at {bad[0]}: "
                            f"got {reply.output[bad[0]]}, expected {job.expected.reshape(-1)[bad[0]]}")
    assert not failures, f"{len(failures)} of {len(jobs)} jobs failed:\n" + "\n".join(failures[:20])


# --- operator cases ------------------------------------------------------------------------------


@dataclass
class Quant:
    """Per-channel params and the operator's quantization."""

    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    input_offset: int
    output_offset: int
    act_min: int = -128
    act_max: int = 127

    def params(self) -> np.ndarray:
        return layout.channel_params(self.bias, self.multiplier, self.shift)

    def kwargs(self) -> dict:
        return dict(input_offset=self.input_offset, output_offset=self.output_offset,
                    act_min=self.act_min, act_max=self.act_max)

    def tail(self) -> list[int]:
        return [self.input_offset, self.output_offset, self.act_min, self.act_max]


def spread_quant(rng: np.random.Generator, channels: int, taps: int, *, in_zp: int | None = None,
                 out_zp: int | None = None, spread: float = 40.0) -> Quant:
    """Multipliers that put the outputs' standard deviation near `spread` levels (uniform int8
    inputs and weights: each product has a deviation near 74 * 73), biases of the same size as
    the accumulators, random zero points."""
    acc_std = math.sqrt(taps) * 74 * 73
    real = rng.uniform(0.5, 2.0, channels) * spread / acc_std
    pairs = [quantize_multiplier(float(r)) for r in real]
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    return Quant(bias=rng.integers(-2 * acc_std, 2 * acc_std, channels),
                 multiplier=np.array([m for m, _ in pairs]), shift=np.array([s for _, s in pairs]),
                 input_offset=-in_zp, output_offset=out_zp)


def int8(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def conv_job(name: str, x: np.ndarray, w: np.ndarray, q: Quant, *, stride=(1, 1), pad=(0, 0),
             out_hw=None) -> Job:
    """CONV_2D: x [H, W, C], w [OC, KH, KW, C]; out_hw defaults to every window that starts
    inside the input."""
    (h, wd, c), (oc, kh, kw, _) = x.shape, w.shape
    out_hw = out_hw or ((h + pad[0] - 1) // stride[0] + 1, (wd + pad[1] - 1) // stride[1] + 1)
    expected = reference.conv2d(x, w, q.bias, q.multiplier, q.shift, stride=stride, pad=pad, out_hw=out_hw, **q.kwargs())
    args = [h, wd, c, *out_hw, oc, kh, kw, *stride, *pad, *q.tail()]
    return Job(name, "conv2d", args, x, layout.conv2d_weights(w), q.params(), expected)


def depthwise_job(name: str, x: np.ndarray, w: np.ndarray, q: Quant, *, stride=(1, 1), pad=(0, 0),
                  out_hw=None) -> Job:
    """DEPTHWISE_CONV_2D: x [H, W, C], w [KH, KW, C]."""
    (h, wd, c), (kh, kw, _) = x.shape, w.shape
    out_hw = out_hw or ((h + pad[0] - 1) // stride[0] + 1, (wd + pad[1] - 1) // stride[1] + 1)
    expected = reference.depthwise_conv2d(x, w, q.bias, q.multiplier, q.shift, stride=stride, pad=pad,
                                          out_hw=out_hw, **q.kwargs())
    args = [h, wd, c, *out_hw, kh, kw, *stride, *pad, *q.tail()]
    return Job(name, "depthwise", args, x, layout.depthwise_conv2d_weights(w), q.params(), expected)


def fc_job(name: str, x: np.ndarray, w: np.ndarray, q: Quant) -> Job:
    """FULLY_CONNECTED: x [M, K], w [N, K]."""
    (m, k), (n, _) = x.shape, w.shape
    expected = reference.fully_connected(x, w, q.bias, q.multiplier, q.shift, **q.kwargs())
    return Job(name, "fully_connected", [m, k, n, *q.tail()], x, layout.fully_connected_weights(w), q.params(), expected)


def random_spatial(rng: np.random.Generator) -> dict:
    """A random window geometry: kernel, stride, padding before in [0, kernel), and an output
    size from 1 to every window that starts inside the input (so padding after varies too)."""
    kh, kw = (int(v) for v in rng.choice([1, 1, 2, 3, 3, 5], 2))
    sh, sw = (int(v) for v in rng.choice([1, 1, 2, 3], 2))
    h, w = (int(v) for v in rng.integers(1, 11, 2))
    pt, pl = int(rng.integers(0, kh)), int(rng.integers(0, kw))
    max_h, max_w = (h + pt - 1) // sh + 1, (w + pl - 1) // sw + 1
    oh = max_h if rng.random() < 0.7 else int(rng.integers(1, max_h + 1))
    ow = max_w if rng.random() < 0.7 else int(rng.integers(1, max_w + 1))
    return dict(h=h, w=w, kernel=(kh, kw), stride=(sh, sw), pad=(pt, pl), out_hw=(oh, ow))


def random_activation(rng: np.random.Generator, q: Quant) -> Quant:
    if rng.random() < 0.3:
        q.act_min, q.act_max = sorted(int(v) for v in rng.integers(-128, 128, 2))
    return q


def random_conv(rng: np.random.Generator, i: int) -> Job:
    s = random_spatial(rng)
    c, oc = int(rng.integers(1, 21)), int(rng.integers(1, 21))
    q = random_activation(rng, spread_quant(rng, oc, s["kernel"][0] * s["kernel"][1] * c))
    return conv_job(f"random #{i}", int8(rng, s["h"], s["w"], c), int8(rng, oc, *s["kernel"], c), q,
                    stride=s["stride"], pad=s["pad"], out_hw=s["out_hw"])


def random_depthwise(rng: np.random.Generator, i: int) -> Job:
    s = random_spatial(rng)
    c = int(rng.integers(1, 30))
    q = random_activation(rng, spread_quant(rng, c, s["kernel"][0] * s["kernel"][1]))
    return depthwise_job(f"random #{i}", int8(rng, s["h"], s["w"], c), int8(rng, *s["kernel"], c), q,
                         stride=s["stride"], pad=s["pad"], out_hw=s["out_hw"])


def random_fc(rng: np.random.Generator, i: int) -> Job:
    m, k, n = int(rng.integers(1, 6)), int(rng.integers(1, 80)), int(rng.integers(1, 30))
    q = random_activation(rng, spread_quant(rng, n, k))
    return fc_job(f"random #{i}", int8(rng, m, k), int8(rng, n, k), q)


@pytest.mark.parametrize("make", [random_conv, random_depthwise, random_fc], ids=["conv2d", "depthwise", "fully_connected"])
def test_random_operators(runner: Runner, make) -> None:
    rng = np.random.default_rng(20240601)
    jobs = [make(rng, i) for i in range(runner.random_cases)]
    check_jobs(runner, jobs)
    # Guards the test: outputs spread over int8, not stuck at a clamp.
    values = np.concatenate([job.expected.reshape(-1) for job in jobs])
    assert len(np.unique(values)) > 200


# --- random tiled cases --------------------------------------------------------------------------

SPAD_BYTES = 65536  # the accelerator's default input, weight and output scratchpads
TILED_LIMIT = 256 << 10  # bytes of each operand: a job stays well inside the testbench's 1 MiB RAM
TILED_MACS = 12_000_000


def log_uniform(rng: np.random.Generator, low: int, high: int) -> int:
    return min(high, int(round(math.exp(rng.uniform(math.log(low), math.log(high + 0.5))))))


@dataclass
class TiledShape:
    """What makes a case tiled: each operand's bytes, and the input window of one full-width
    output row (past SPAD_BYTES, the MMIO backend cuts the rows into strips of columns)."""

    input: int
    weights: int
    output: int
    row_window: int
    macs: int

    def tiled(self) -> bool:
        return max(self.input, self.weights, self.output, self.row_window) > SPAD_BYTES


def tiled_shape(job: Job) -> TiledShape:
    a = job.args
    if job.op == "fully_connected":
        m, k, n = a[:3]
        return TiledShape(m * k, job.weights.size, m * n, k, m * k * n)
    conv = job.op == "conv2d"
    h, w, c, oh, ow = a[:5]
    oc = a[5] if conv else c
    kh, kw, _, sw = a[6:10] if conv else a[5:9]
    return TiledShape(h * w * c, job.weights.size, oh * ow * oc, kh * ((ow - 1) * sw + kw) * c,
                      oh * ow * oc * kh * kw * (c if conv else 1))


def random_tiled(rng: np.random.Generator, i: int) -> Job:
    """An operator past the scratchpads (in turn: convolution, one with rows too wide for the
    input scratchpad, depthwise, fully connected), so that the MMIO backend cuts it into bands of
    output rows, strips of columns, chunks of output channels, or several at once. Sizes are
    log-uniform; a draw that needs no tiling, is too large for the runners, or has one output
    pixel too large for the scratchpads (TOO_LARGE) is drawn again."""
    kind = ("conv2d", "strips", "depthwise", "fully_connected")[i % 4]
    while True:
        if kind == "fully_connected":
            m, k, n = log_uniform(rng, 1, 64), log_uniform(rng, 1, 4096), log_uniform(rng, 1, 512)
            job = fc_job(f"tiled #{i}", int8(rng, m, k), int8(rng, n, k),
                         random_activation(rng, spread_quant(rng, n, k)))
        else:
            s = random_spatial(rng)
            (kh, kw), (sh, sw), (pt, pl) = s["kernel"], s["stride"], s["pad"]
            c = log_uniform(rng, 1, 256)
            oc = c if kind == "depthwise" else log_uniform(rng, 1, 256)
            if kind == "strips":  # one full-width row of windows past the input scratchpad
                h = int(rng.integers(1, 5))
                w = int(rng.integers(SPAD_BYTES // (kh * c) + 1, TILED_LIMIT // (h * c) + 2))
            else:
                h, w = log_uniform(rng, 1, 300), log_uniform(rng, 1, 300)
            oh, ow = (h + pt - 1) // sh + 1, (w + pl - 1) // sw + 1
            if kind != "strips" and rng.random() < 0.3:
                oh, ow = int(rng.integers(1, oh + 1)), int(rng.integers(1, ow + 1))
            if kh * math.ceil(kw * c / layout.ROWS) * layout.ROWS * layout.COLS > SPAD_BYTES or kh * kw * c > SPAD_BYTES:
                continue  # TOO_LARGE: one group's weights or one pixel's window
            if max(h * w * c, oh * ow * oc) > TILED_LIMIT or oh * ow * oc * kh * kw * c > 4 * TILED_MACS:
                continue  # before drawing the data: too large (generous for depthwise)
            taps = kh * kw * (1 if kind == "depthwise" else c)
            q = random_activation(rng, spread_quant(rng, oc, taps))
            if kind == "depthwise":
                job = depthwise_job(f"tiled #{i}", int8(rng, h, w, c), int8(rng, kh, kw, c), q, stride=(sh, sw),
                                    pad=(pt, pl), out_hw=(oh, ow))
            else:
                job = conv_job(f"tiled #{i}", int8(rng, h, w, c), int8(rng, oc, kh, kw, c), q, stride=(sh, sw),
                               pad=(pt, pl), out_hw=(oh, ow))
        shape = tiled_shape(job)
        if shape.tiled() and max(shape.input, shape.weights, shape.output) <= TILED_LIMIT and shape.macs <= TILED_MACS:
            return job


TILED_CASES = 48


def test_random_tiled(runner: Runner) -> None:
    rng = np.random.default_rng(20240602)
    jobs = [random_tiled(rng, i) for i in range(TILED_CASES)]
    check_jobs(runner, jobs)
    # Guards the test: each way of exceeding a scratchpad comes up several times.
    shapes = [tiled_shape(job) for job in jobs]
    for what in ("input", "weights", "output", "row_window"):
        count = sum(getattr(shape, what) > SPAD_BYTES for shape in shapes)
        assert count >= 4, f"only {count} cases with {what} past the scratchpad"


# --- named edge cases ----------------------------------------------------------------------------


def _edge_cases() -> dict[str, Callable[[np.random.Generator], list[Job]]]:
    cases = {}

    def case(function):
        cases[function.__name__] = function
        return function

    @case
    def zero_points_at_the_extremes(rng):
        jobs = []
        for in_zp in (-128, 127):
            for out_zp in (-128, 127):
                name = f"in_zp {in_zp} out_zp {out_zp}"
                x = int8(rng, 6, 7, 5)
                zps = dict(in_zp=in_zp, out_zp=out_zp)
                jobs.append(conv_job(name, x, int8(rng, 9, 3, 3, 5), spread_quant(rng, 9, 45, **zps), pad=(1, 1)))
                jobs.append(depthwise_job(name, x, int8(rng, 3, 3, 5), spread_quant(rng, 5, 9, **zps), pad=(1, 1)))
                jobs.append(fc_job(name, int8(rng, 3, 20), int8(rng, 4, 20), spread_quant(rng, 4, 20, **zps)))
        return jobs

    @case
    def input_offset_beyond_int8_without_padding(rng):
        # -255..255 are accepted; only padding needs -input_offset to be an int8.
        jobs = []
        for offset in (255, -255, 128, -127):
            q = spread_quant(rng, 6, 24)
            q.input_offset = offset
            jobs.append(conv_job(f"input_offset {offset}", int8(rng, 5, 5, 6), int8(rng, 6, 2, 2, 6), q, out_hw=(4, 4)))
            q = spread_quant(rng, 6, 4)
            q.input_offset = offset
            jobs.append(depthwise_job(f"input_offset {offset}", int8(rng, 5, 5, 6), int8(rng, 2, 2, 6), q, out_hw=(4, 4)))
        return jobs

    @case
    def saturation_at_both_ends(rng):
        jobs = []
        for act in ((-128, 127), (-100, 50), (0, 6), (5, 5)):
            q = spread_quant(rng, 11, 27, spread=2000.0)
            q.act_min, q.act_max = act
            jobs.append(conv_job(f"act {act}", int8(rng, 5, 6, 3), int8(rng, 11, 3, 3, 3), q, pad=(1, 1)))
            for edge in act:
                assert np.any(jobs[-1].expected == edge), f"the case does not reach {edge}"
        return jobs

    @case
    def large_shifts(rng):
        jobs = []
        x, w = int8(rng, 4, 4, 8), int8(rng, 10, 3, 3, 8)
        for shift in (31, 30, 20, -20, -30, -31):
            q = spread_quant(rng, 10, 72)
            q.shift = np.full(10, shift)
            # Small multipliers with left shifts; large ones with right shifts reach the rounding.
            q.multiplier = rng.integers(1, 64, 10) if shift > 0 else rng.integers(2**30, 2**31 - 1, 10)
            q.bias = rng.integers(-50, 50, 10)
            jobs.append(conv_job(f"shift {shift}", x, w, q, pad=(1, 1)))
        q = spread_quant(rng, 10, 72)
        q.shift = np.array([31, -31, 0, 1, -1, 15, -15, 7, -7, 30])
        jobs.append(conv_job("mixed shifts", x, w, q, pad=(1, 1)))
        return jobs

    @case
    def wrapping_int32(rng):
        # acc + bias wraps, and so does the left shift: the reference wraps like TFLM's int32.
        q = spread_quant(rng, 8, 36)
        q.bias = np.array([2**31 - 1, -(2**31), 2**31 - 100, -(2**31) + 100, 0, 1, -1, 2**30])
        q.shift = np.array([0, 0, 3, 3, 31, 31, 31, 2])
        q.multiplier = np.array([2**31 - 1, 2**30, 2**30 + 12345, 2**31 - 1, 1, 2, 3, 2**30])
        x, w = int8(rng, 5, 5, 4), int8(rng, 8, 3, 3, 4)
        return [conv_job("bias near the int32 limits", x, w, q, pad=(1, 1))]

    @case
    def out_channels_not_a_multiple_of_8(rng):
        jobs = []
        for oc in (1, 3, 7, 9, 15, 17):
            x = int8(rng, 5, 4, 6)
            jobs.append(conv_job(f"oc {oc}", x, int8(rng, oc, 3, 3, 6), spread_quant(rng, oc, 54), pad=(1, 1)))
            jobs.append(depthwise_job(f"channels {oc}", int8(rng, 5, 4, oc), int8(rng, 3, 3, oc), spread_quant(rng, oc, 9),
                                      pad=(1, 1)))
            jobs.append(fc_job(f"out_features {oc}", int8(rng, 2, 13), int8(rng, oc, 13), spread_quant(rng, oc, 13)))
        return jobs

    @case
    def window_bytes_not_a_multiple_of_8(rng):
        jobs = []
        for kw, c in ((3, 3), (1, 5), (7, 1), (2, 3), (5, 7), (3, 11)):
            q = spread_quant(rng, 8, 3 * kw * c)
            jobs.append(conv_job(f"KW {kw} C {c}", int8(rng, 6, 9, c), int8(rng, 8, 3, kw, c), q, pad=(1, kw // 2)))
        return jobs

    @case
    def stride_2(rng):
        jobs = []
        for h, wd in ((7, 7), (8, 8), (9, 6)):
            x = int8(rng, h, wd, 4)
            jobs.append(conv_job(f"{h}x{wd} pad 1", x, int8(rng, 8, 3, 3, 4), spread_quant(rng, 8, 36), stride=(2, 2),
                                 pad=(1, 1)))
            jobs.append(conv_job(f"{h}x{wd} VALID", x, int8(rng, 8, 3, 3, 4), spread_quant(rng, 8, 36), stride=(2, 2),
                                 out_hw=((h - 3) // 2 + 1, (wd - 3) // 2 + 1)))
            jobs.append(depthwise_job(f"{h}x{wd} padding after only", x, int8(rng, 3, 3, 4), spread_quant(rng, 4, 9),
                                      stride=(2, 2)))
            jobs.append(conv_job(f"{h}x{wd} stride (2, 1)", x, int8(rng, 5, 3, 2, 4), spread_quant(rng, 5, 24),
                                 stride=(2, 1), pad=(1, 0)))
        return jobs

    @case
    def padding_on_every_side(rng):
        jobs = []
        x = int8(rng, 5, 6, 3)
        for kh, kw, pad in ((3, 3, (1, 1)), (5, 5, (2, 2)), (5, 3, (4, 2)), (3, 5, (2, 4)), (4, 4, (1, 2))):
            # The default out_hw takes every window that starts inside: padding after up to kernel - 1.
            name = f"{kh}x{kw} pad {pad}"
            jobs.append(conv_job(name, x, int8(rng, 6, kh, kw, 3), spread_quant(rng, 6, kh * kw * 3), pad=pad))
            jobs.append(depthwise_job(name, x, int8(rng, kh, kw, 3), spread_quant(rng, 3, kh * kw), pad=pad))
        # A kernel larger than the input: every window is mostly padding.
        jobs.append(conv_job("7x7 kernel on 2x3", int8(rng, 2, 3, 2), int8(rng, 4, 7, 7, 2), spread_quant(rng, 4, 12),
                             pad=(3, 3)))
        return jobs

    @case
    def pointwise(rng):
        x = int8(rng, 6, 5, 16)
        return [conv_job("1x1", x, int8(rng, 24, 1, 1, 16), spread_quant(rng, 24, 16)),
                conv_job("1x1 stride 2", x, int8(rng, 12, 1, 1, 16), spread_quant(rng, 12, 16), stride=(2, 2)),
                conv_job("1x1 one channel", int8(rng, 3, 3, 1), int8(rng, 1, 1, 1, 1), spread_quant(rng, 1, 1)),
                depthwise_job("1x1 depthwise", x, int8(rng, 1, 1, 16), spread_quant(rng, 16, 1))]

    @case
    def fully_connected_rows(rng):
        return [fc_job(f"{m}x{k} -> {n}", int8(rng, m, k), int8(rng, n, k), spread_quant(rng, n, k))
                for m, k, n in ((1, 1, 1), (5, 37, 11), (16, 64, 10), (3, 250, 40), (7, 8, 8))]

    # Larger than the accelerator's default 64 KiB scratchpads, so the MMIO backend tiles them:
    # several bands of output rows, several chunks of weights, both, and column strips.
    @case
    def tiled_output_rows(rng):
        x = int8(rng, 48, 48, 16)
        return [conv_job("48x48x16 -> 32", x, int8(rng, 32, 3, 3, 16), spread_quant(rng, 32, 144), pad=(1, 1)),
                depthwise_job("64x64x32", int8(rng, 64, 64, 32), int8(rng, 3, 3, 32), spread_quant(rng, 32, 9),
                              pad=(1, 1))]

    @case
    def tiled_weights(rng):
        return [fc_job("3x2048 -> 40", int8(rng, 3, 2048), int8(rng, 40, 2048), spread_quant(rng, 40, 2048)),
                conv_job("12x12x64 -> 128", int8(rng, 12, 12, 64), int8(rng, 128, 3, 3, 64),
                         spread_quant(rng, 128, 576), pad=(1, 1))]

    @case
    def tiled_rows_and_weights(rng):
        return [conv_job("24x24x128 -> 64 stride 2", int8(rng, 24, 24, 128), int8(rng, 64, 3, 3, 128),
                         spread_quant(rng, 64, 1152), stride=(2, 2), pad=(1, 1))]

    @case
    def tiled_columns(rng):
        return [conv_job("4x300x80 -> 8", int8(rng, 4, 300, 80), int8(rng, 8, 3, 3, 80), spread_quant(rng, 8, 720),
                         pad=(1, 1))]

    return cases


EDGE_CASES = _edge_cases()


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_case(runner: Runner, case: str) -> None:
    check_jobs(runner, EDGE_CASES[case](np.random.default_rng(sorted(EDGE_CASES).index(case))))


# --- argument errors -----------------------------------------------------------------------------

# Conv args: in_h in_w in_c out_h out_w out_c kh kw sh sw pt pl input_offset output_offset act_min act_max.
CONV_ARGS = dict(in_h=5, in_w=6, in_c=3, out_h=5, out_w=6, out_c=4, kh=3, kw=3, sh=1, sw=1, pt=1, pl=1,
                 input_offset=5, output_offset=-3, act_min=-128, act_max=127)
DEPTHWISE_ARGS = {k: v for k, v in CONV_ARGS.items() if k != "out_c"}
FC_ARGS = dict(rows=2, in_features=10, out_features=4, input_offset=5, output_offset=-3, act_min=-128, act_max=127)

BAD_ARGS = {
    # name: (op, overrides, flags)
    "in_h 0": ("conv2d", dict(in_h=0), 0),
    "in_w -1": ("conv2d", dict(in_w=-1), 0),
    "in_c 0": ("conv2d", dict(in_c=0), 0),
    "out_h 0": ("conv2d", dict(out_h=0), 0),
    "out_w 0": ("conv2d", dict(out_w=0), 0),
    "out_c 0": ("conv2d", dict(out_c=0), 0),
    "kernel_h 0": ("conv2d", dict(kh=0), 0),
    "kernel_w 0": ("conv2d", dict(kw=0), 0),
    "stride_h 0": ("conv2d", dict(sh=0), 0),
    "stride_w -2": ("conv2d", dict(sw=-2), 0),
    "pad_top -1": ("conv2d", dict(pt=-1), 0),
    "pad_left = kernel": ("conv2d", dict(pl=3), 0),
    "last window below the input": ("conv2d", dict(out_h=7), 0),
    "last window right of the input": ("conv2d", dict(out_w=8), 0),
    "last window past the input, stride 2": ("conv2d", dict(sw=2, out_w=4, pl=0), 0),
    "input_offset 256": ("conv2d", dict(input_offset=256, pt=0, pl=0, out_h=3, out_w=4), 0),
    "input_offset -256": ("conv2d", dict(input_offset=-256, pt=0, pl=0, out_h=3, out_w=4), 0),
    "padding with input_offset -128": ("conv2d", dict(input_offset=-128), 0),
    "padding with input_offset 129": ("conv2d", dict(input_offset=129), 0),
    "bottom padding only, input_offset 200": ("conv2d", dict(input_offset=200, pt=0, pl=0, out_h=4, out_w=4), 0),
    "output_offset 128": ("conv2d", dict(output_offset=128), 0),
    "output_offset -129": ("conv2d", dict(output_offset=-129), 0),
    "act_min -129": ("conv2d", dict(act_min=-129), 0),
    "act_max 128": ("conv2d", dict(act_max=128), 0),
    "act_min > act_max": ("conv2d", dict(act_min=10, act_max=9), 0),
    "sizes overflow 32 bits": ("conv2d", dict(in_h=65536, in_w=65536, out_h=65536, out_w=65536), 0),
    "output overflows 32 bits": ("conv2d", dict(out_c=2**30), 0),
    "null input": ("conv2d", {}, NULL_INPUT),
    "null weights": ("conv2d", {}, NULL_WEIGHTS),
    "null params": ("conv2d", {}, NULL_PARAMS),
    "null output": ("conv2d", {}, NULL_OUTPUT),
    "output overlaps the input": ("conv2d", {}, OUTPUT_IS_INPUT),
    "shift 32": ("conv2d", dict(shift=32), 0),
    "shift -32": ("conv2d", dict(shift=-32), 0),
    "depthwise channels 0": ("depthwise", dict(in_c=0), 0),
    "depthwise stride 0": ("depthwise", dict(sh=0), 0),
    "depthwise pad_top = kernel": ("depthwise", dict(pt=3), 0),
    "depthwise padding with input_offset -200": ("depthwise", dict(input_offset=-200), 0),
    "depthwise act_max 200": ("depthwise", dict(act_max=200), 0),
    "depthwise shift 40": ("depthwise", dict(shift=40), 0),
    "fc rows 0": ("fully_connected", dict(rows=0), 0),
    "fc in_features 0": ("fully_connected", dict(in_features=0), 0),
    "fc out_features -1": ("fully_connected", dict(out_features=-1), 0),
    "fc input_offset 300": ("fully_connected", dict(input_offset=300), 0),
    "fc output_offset 200": ("fully_connected", dict(output_offset=200), 0),
    "fc null params": ("fully_connected", {}, NULL_PARAMS),
}


def bad_job(name: str) -> Job:
    """A small valid call with one thing wrong; operands are sized for the valid call only, so
    the error must come before the backend touches them."""
    op, overrides, flags = BAD_ARGS[name]
    base = {"conv2d": CONV_ARGS, "depthwise": DEPTHWISE_ARGS, "fully_connected": FC_ARGS}[op]
    overrides = dict(overrides)
    shift = overrides.pop("shift", 0)
    args = {**base, **overrides}
    channels = 8
    # Built by hand: layout.channel_params refuses a shift outside [-31, 31].
    params = np.zeros((channels, 4), np.int32)
    params[:, 1], params[:, 2] = 2**30, shift
    return Job(name, op, list(args.values()), np.zeros(256, np.int8), np.zeros(1024, np.int8), params,
               None, expected_rc=ARGUMENT, flags=flags, output_bytes=256)


def test_valid_base_calls(runner: Runner) -> None:
    """The calls BAD_ARGS spoils are themselves accepted (so each bad case tests its one fault)."""
    rng = np.random.default_rng(1)
    q = spread_quant(rng, 4, 27, in_zp=-5, out_zp=-3)
    jobs = [conv_job("base", int8(rng, 5, 6, 3), int8(rng, 4, 3, 3, 3), q, pad=(1, 1), out_hw=(5, 6)),
            depthwise_job("base", int8(rng, 5, 6, 3), int8(rng, 3, 3, 3), spread_quant(rng, 3, 9, in_zp=-5, out_zp=-3),
                          pad=(1, 1), out_hw=(5, 6)),
            fc_job("base", int8(rng, 2, 10), int8(rng, 4, 10), spread_quant(rng, 4, 10, in_zp=-5, out_zp=-3))]
    assert [job.args for job in jobs] == [list(CONV_ARGS.values()), list(DEPTHWISE_ARGS.values()), list(FC_ARGS.values())]
    check_jobs(runner, jobs)


def unchecked_shift_job(name: str) -> Job:
    """A BAD_ARGS case whose only fault is a params shift, for a backend that does not check
    shifts: the call succeeds. Its operands are all zero, so every output byte is output_offset
    whatever shift the hardware applies; the output buffer's bytes past the output stay unwritten."""
    job = bad_job(name)
    op, overrides, flags = BAD_ARGS[name]
    assert set(overrides) == {"shift"} and flags == 0 and not job.input.any() and not job.weights.any()
    args = dict(zip({"conv2d": CONV_ARGS, "depthwise": DEPTHWISE_ARGS}[op], job.args))
    out_bytes = args["out_h"] * args["out_w"] * args.get("out_c", args["in_c"])
    job.expected = np.full(job.output_bytes, OUTPUT_FILL, np.int8)
    job.expected[:out_bytes] = args["output_offset"]
    job.expected_rc = OK
    return job


def test_argument_errors(runner: Runner) -> None:
    """Every BAD_ARGS case is ARGUMENT, but for a backend that does not check the params' shifts
    (rvtvm/accel.h: the MMIO one), where the shift cases succeed (test_params_shift_out_of_range
    has what they compute)."""
    shift_only = {name for name, (_, overrides, _) in BAD_ARGS.items() if "shift" in overrides}
    assert len(shift_only) == 3
    check_jobs(runner, [unchecked_shift_job(name) if name in shift_only and not runner.checks_param_shifts
                        else bad_job(name) for name in BAD_ARGS])


def quant_for_shift(rng: np.random.Generator, channels: int, taps: int, shift: int) -> Quant:
    """spread_quant's outputs for one given shift: multipliers sized for it (1 at least), and
    where even the largest multiplier is too small (long right shifts), biases large enough to
    carry the spread (up to the int32 limits; a different output per channel)."""
    q = spread_quant(rng, channels, taps)
    real = rng.uniform(0.5, 2.0, channels) * 40.0 / (math.sqrt(taps) * 74 * 73)
    multiplier = real * 2.0 ** (31 - shift)
    q.multiplier = np.clip(multiplier, 1, 2**31 - 1).astype(np.int64)
    q.shift = np.full(channels, shift)
    if multiplier.max() > 2**31 - 1:
        span = 2 ** min(31, 7 - shift)  # about +-128 after the multiplier (near 1) and the shift
        q.bias = rng.integers(-span, span, channels)
    return q


def test_params_shift_out_of_range(runner: Runner) -> None:
    """A params shift outside [-31, 31] (rvtvm/accel.h): the software backend returns ARGUMENT;
    the MMIO backend does not look at per-channel data, and the hardware (accel_requant.v's 6-bit
    i_shift) applies the shift's low six bits as a signed number, which the expected output
    models. The shifts here wrap to values inside [-31, 31], both ways."""
    rng = np.random.default_rng(3)
    shifts = np.array([40, -33, 63, -63, 33, 100, -100, 2**31 - 1, 50, -50])
    wrapped = (shifts + 32) % 64 - 32
    assert list(wrapped) == [-24, 31, -1, 1, -31, -28, 28, -1, -14, 14]
    jobs = []
    for shift, as_applied in zip(shifts, wrapped):
        x = int8(rng, 5, 5, 8)
        for job in (conv_job(f"shift {shift}", x, int8(rng, 8, 3, 3, 8), quant_for_shift(rng, 8, 72, as_applied),
                             pad=(1, 1)),
                    depthwise_job(f"shift {shift}", x, int8(rng, 3, 3, 8), quant_for_shift(rng, 8, 9, as_applied),
                                  pad=(1, 1)),
                    fc_job(f"shift {shift}", int8(rng, 3, 36), int8(rng, 8, 36),
                           quant_for_shift(rng, 8, 36, as_applied))):
            job.params = job.params.copy()
            job.params[:, 2] = shift  # what layout.channel_params refuses to pack
            jobs.append(job)
    # Guards the test: the wrapped shifts give varied outputs, so a wrong shift shows.
    assert len(np.unique(np.concatenate([job.expected.reshape(-1) for job in jobs]))) > 150
    if runner.checks_param_shifts:
        for job in jobs:
            job.expected, job.expected_rc = None, ARGUMENT
    check_jobs(runner, jobs)


def test_runner_catches_a_wrong_output(runner: Runner) -> None:
    """The comparison can fail: a job whose expected output is off by one in one byte."""
    rng = np.random.default_rng(2)
    job = conv_job("off by one", int8(rng, 3, 3, 2), int8(rng, 2, 1, 1, 2), spread_quant(rng, 2, 2))
    job.expected = job.expected.copy()
    job.expected.reshape(-1)[3] ^= 1
    with pytest.raises(AssertionError, match="1 of 18 bytes differ"):
        check_jobs(runner, [job])


# --- the firmware build --------------------------------------------------------------------------

FIRMWARE_FLAGS = ["--specs=picolibc.specs", "-march=rv32imc", "-mabi=ilp32", "-O2", "-ffreestanding", *STRICT_WARNINGS]
# source -> defines: the SoC's MMIO backend gets the inline port of rvtvm/accel_port.h
DRIVER_SOURCES = {"accel_args.c": [], "accel_sw.c": [], "accel_mmio.c": ["-DRVTVM_ACCEL_PORT_MMIO"]}


def test_driver_compiles_for_the_firmware(tmp_path: Path) -> None:
    """Both backends build freestanding and warning-free for rv32; prints each .text size."""
    require_tools(CROSS_GCC)
    sizes = {}
    for source, defines in DRIVER_SOURCES.items():
        obj = tmp_path / (source + ".o")
        build = run_checked([CROSS_GCC, *FIRMWARE_FLAGS, *defines, f"-I{DRIVER / 'include'}", f"-I{RUNTIME / 'include'}",
                             "-c", str(DRIVER / "src" / source), "-o", str(obj)], tmp_path, 120)
        assert build.returncode == 0, build.stdout
        assert build.stdout.strip() == "", build.stdout  # not even a note
        sizes[source] = text_bytes(obj)
    print("accel_driver .text bytes (rv32imc -O2): " + ", ".join(f"{k} {v}" for k, v in sizes.items()))


def text_bytes(obj: Path) -> int:
    """.text* bytes of an object, from the cross toolchain's size (or objdump) tool."""
    size_tool = CROSS_GCC.replace("gcc", "size")
    require_tools(size_tool)
    result = run_checked([size_tool, "-A", str(obj)], obj.parent, 60)
    assert result.returncode == 0, result.stdout
    return sum(int(m.group(1)) for m in re.finditer(r"^\.text\S*\s+(\d+)", result.stdout, re.MULTILINE))


# --- elementwise add -----------------------------------------------------------------------------


def add_params(rng: np.random.Generator, *, a_zp=None, b_zp=None, out_zp=None, act=(-128, 127)) -> dict:
    """TFLM's ADD parameters (reference_integer_ops::Add's Prepare) for random scales."""
    sa, sb = rng.uniform(0.005, 0.5, 2)
    so = float(rng.uniform(0.5, 2.0) * max(sa, sb))
    twice_max = 2 * max(sa, sb)
    (ma, sha), (mb, shb) = (quantize_multiplier_smaller_than_one_exp(s / twice_max) for s in (sa, sb))
    mo, sho = quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << 20) * so))

    def zp(v):
        return int(rng.integers(-128, 128)) if v is None else v

    return dict(a_offset=-zp(a_zp), a_multiplier=ma, a_shift=sha, b_offset=-zp(b_zp), b_multiplier=mb, b_shift=shb,
                left_shift=20, out_multiplier=mo, out_shift=sho, output_offset=zp(out_zp), act_min=act[0],
                act_max=act[1])


def add_job(name: str, a: np.ndarray, b: np.ndarray, p: dict) -> Job:
    expected = reference.add(a, b, **p)
    return Job(name, "add", [a.size, *p.values()], a.reshape(-1), b.reshape(-1), np.zeros(4, np.int32), expected)


def test_add(runner: Runner) -> None:
    """Random adds against the reference, with the extremes: zero points at both ends, clamps,
    one element, and more elements than one scratchpad holds (the MMIO backend's chunks)."""
    rng = np.random.default_rng(7)
    jobs = [add_job(f"random #{i}", int8(rng, n), int8(rng, n), add_params(rng))
            for i, n in enumerate(rng.integers(1, 3000, max(4, runner.random_cases // 4)))]
    jobs += [
        add_job("one element", int8(rng, 1), int8(rng, 1), add_params(rng)),
        add_job("zero points at the extremes", int8(rng, 999), int8(rng, 999),
                add_params(rng, a_zp=-128, b_zp=127, out_zp=127)),
        add_job("relu6-like clamp", int8(rng, 777), int8(rng, 777), add_params(rng, act=(-128, 20))),
        add_job("two chunks and a bit", int8(rng, 2 * SPAD_BYTES + 5), int8(rng, 2 * SPAD_BYTES + 5), add_params(rng)),
    ]
    p = add_params(rng)
    p.update(a_shift=3, b_shift=-31, out_shift=-1, left_shift=0, a_offset=255, b_offset=-256)  # the API's range
    jobs.append(add_job("positive and extreme shifts", int8(rng, 300), int8(rng, 300), p))
    check_jobs(runner, jobs)
    values = np.concatenate([job.expected for job in jobs[:-1]])
    assert len(np.unique(values)) > 200


ADD_BAD_ARGS = {  # name -> (argument changes, flags)
    "count 0": ({"count": 0}, 0), "a_offset 256": ({"a_offset": 256}, 0), "b_offset -257": ({"b_offset": -257}, 0),
    "left_shift 21": ({"left_shift": 21}, 0), "a_shift 32": ({"a_shift": 32}, 0), "out_shift -32": ({"out_shift": -32}, 0),
    "output_offset 128": ({"output_offset": 128}, 0), "act_min above act_max": ({"act_min": 5, "act_max": 4}, 0),
    "null a": ({}, NULL_INPUT), "null b": ({}, NULL_WEIGHTS), "null output": ({}, NULL_OUTPUT),
    "output is a": ({}, OUTPUT_IS_INPUT),
}


@pytest.mark.parametrize("case", ADD_BAD_ARGS)
def test_add_argument_errors(runner: Runner, case: str) -> None:
    change, flags = ADD_BAD_ARGS[case]
    rng = np.random.default_rng(3)
    job = add_job("bad", int8(rng, 64), int8(rng, 64), add_params(rng))
    args = dict(zip(["count", *add_params(rng)], job.args))
    args.update(change)
    job.args, job.flags, job.expected, job.expected_rc, job.output_bytes = list(args.values()), flags, None, ARGUMENT, 64
    check_jobs(runner, [job])
