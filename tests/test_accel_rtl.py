"""The accelerator's RTL (rtl/accel) on its own, under Verilator: registers and error codes, the
DMA, and engine passes programmed from here as the README's operator mapping says (convolution
passes and elementwise add passes), compared bit for bit with rvtvm.accel.reference (numpy).

Each test writes a command script for the testbench rtl/tb/accel_tb.cpp (its header documents the
commands), runs it once, and checks what it printed; many random cases share one run to keep the
file fast. The register map comes from rtl/accel/accel_regs.vh, the same generated header the RTL
includes."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from rvtvm import process, verilator
from rvtvm.accel import layout, reference

from .conftest import require_verilator

pytestmark = pytest.mark.verilator

REPO = Path(__file__).resolve().parent.parent
ACCEL_RTL = REPO / "rtl" / "accel"
TB_SOURCE = REPO / "rtl" / "tb" / "accel_tb.cpp"
WAIVERS = ACCEL_RTL / "accel.vlt"

# rvtvm_accel's default parameters, which the testbench builds with
ROWS, COLS, DMA_BYTES = layout.ROWS, layout.COLS, 32
SPAD_BYTES = {0: 65536, 1: 65536, 2: 65536, 3: 512 * 16}
PARAM_CHANNELS = 512
RAM_BASE, RAM_BYTES = 0x8000_0000, 1 << 20
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _header() -> dict[str, int]:
    """REG_*, ERR_* and the constants, from the generated Verilog header."""
    text = (ACCEL_RTL / "accel_regs.vh").read_text()
    values = {}
    for name, base, digits in re.findall(r"localparam \[\d+:0\] (\w+) = \d+'([hd])([0-9A-Fa-f]+);", text):
        values[name] = int(digits, 16 if base == "h" else 10)
    return values


H = _header()
REG = {name[4:]: value for name, value in H.items() if name.startswith("REG_")}
ERR = {name[4:]: value for name, value in H.items() if name.startswith("ERR_")}
# the read-write registers: the DMA's and the convolution pass's, then the add pass's
RW_REGS = [name for name in REG if REG["DMA_RAM_ADDR"] <= REG[name] <= REG["ACT_MAX"]
           or REG["ELT_COUNT"] <= REG[name] <= REG["ADD_OUT_SHIFT"]]


@pytest.fixture(scope="session")
def accel_tb() -> Path:
    """The testbench, built once (rvtvm.verilator caches it by the hash of its sources)."""
    require_verilator()
    return verilator.build_model("accel_tb", "rvtvm_accel", [*sorted(ACCEL_RTL.glob("*.v")), WAIVERS], [TB_SOURCE],
                                 include_dirs=[ACCEL_RTL], flags=["--trace-vcd"])


# ---------------------------------------------------------------- testbench scripts


class Script:
    """Testbench commands; the methods that print return an index into Run.outputs."""

    def __init__(self):
        self.lines: list[str] = []
        self.outputs = 0

    def _out(self, line: str) -> int:
        self.lines.append(line)
        self.outputs += 1
        return self.outputs - 1

    def w(self, reg: str | int, value: int) -> None:
        offset = REG[reg] if isinstance(reg, str) else reg
        self.lines.append(f"w {offset:#x} {value & 0xFFFF_FFFF:#x}")

    def r(self, reg: str | int) -> int:
        return self._out(f"r {REG[reg] if isinstance(reg, str) else reg:#x}")

    def wait(self, limit: int = 10_000_000) -> int:
        return self._out(f"wait {limit}")

    def load(self, addr: int, data: bytes) -> None:
        if data:
            self.lines.append(f"load {addr:#x} {bytes(data).hex()}")

    def dump(self, addr: int, length: int) -> int:
        return self._out(f"dump {addr:#x} {length}")

    def reset(self, cycles: int) -> None:
        self.lines.append(f"reset {cycles}")

    def dma(self, ram: int, spad: int, offset: int, row_bytes: int, rows: int = 1, ram_stride: int = 0,
            spad_stride: int = 0, mode: int = 0, fill: int = 0, wait: bool = True) -> int | None:
        """Programs and starts one DMA block; returns the wait's output index."""
        for reg, value in (("DMA_RAM_ADDR", ram), ("DMA_SPAD_ADDR", spad << 28 | offset),
                           ("DMA_ROW_BYTES", row_bytes), ("DMA_ROWS", rows), ("DMA_RAM_STRIDE", ram_stride),
                           ("DMA_SPAD_STRIDE", spad_stride), ("DMA_MODE", mode), ("DMA_FILL", fill)):
            self.w(reg, value)
        self.w("COMMAND", H["CMD_DMA"])
        return self.wait() if wait else None

    def run(self, tb: Path, *plusargs: str, timeout: float = 120) -> "Run":
        result = process.run([str(tb), *plusargs], timeout, input=("\n".join(self.lines) + "\n").encode())
        lines = result.stdout.splitlines()
        assert result.returncode == 0 and lines and lines[-1].startswith("TB done"), (
            f"testbench failed (status {result.returncode}):\n" + "\n".join(lines[-20:]) + result.stderr[-2000:])
        outputs = []
        for line in lines[:-1]:
            kind, *fields = line.split()
            if kind == "R":
                outputs.append(int(fields[1], 16))
            elif kind == "D":
                outputs.append(bytes.fromhex(fields[1]) if len(fields) > 1 else b"")
            elif kind == "W":
                outputs.append(tuple(int(f.split("=")[1], 0) for f in fields))
            elif kind == "C":
                outputs.append(int(fields[0]))
        assert len(outputs) == self.outputs, lines[-20:]
        return Run(outputs, int(lines[-1].split("=")[1]))


@dataclass
class Run:
    outputs: list
    cycles: int

    def __getitem__(self, index: int):
        return self.outputs[index]

    def status(self, wait_index: int) -> int:
        return self.outputs[wait_index][1]


def error_of(status: int) -> int:
    return status >> H["STATUS_ERROR_SHIFT"] & 0xFF


# ---------------------------------------------------------------- lint and registers


def test_lint_clean():
    require_verilator()
    verilator.lint("rvtvm_accel", sorted(ACCEL_RTL.glob("*.v")), include_dirs=[ACCEL_RTL], waivers=[WAIVERS])


def test_identity_and_sizes(accel_tb):
    s = Script()
    reads = {name: s.r(name) for name in ("ID", "ARRAY", "IN_SPAD_BYTES", "W_SPAD_BYTES", "OUT_SPAD_BYTES",
                                         "PARAM_CHANNELS", "STATUS", "COMMAND", "DMA_CYCLES", "ENGINE_CYCLES")}
    run = s.run(accel_tb)
    assert run[reads["ID"]] == H["ID_VALUE"]
    assert run[reads["ARRAY"]] == ROWS | COLS << 8 | DMA_BYTES << 16
    assert [run[reads[n]] for n in ("IN_SPAD_BYTES", "W_SPAD_BYTES", "OUT_SPAD_BYTES")] == [65536] * 3
    assert run[reads["PARAM_CHANNELS"]] == PARAM_CHANNELS
    assert run[reads["STATUS"]] == 0 and run[reads["COMMAND"]] == 0
    assert run[reads["DMA_CYCLES"]] == 0 and run[reads["ENGINE_CYCLES"]] == 0


def test_registers_round_trip_and_read_only(accel_tb):
    rng = np.random.default_rng(1)
    s = Script()
    values = {name: int(rng.integers(0, 2**32)) for name in RW_REGS}
    for name, value in values.items():
        s.w(name, value)
    reads = {name: s.r(name) for name in RW_REGS}
    for value in (0, 0xFFFF_FFFF):  # every bit both ways
        for name in RW_REGS:
            s.w(name, value)
        reads[value] = [s.r(name) for name in RW_REGS]
    # read-only registers ignore writes; unlisted offsets read 0 and ignore writes
    for name in ("ID", "ARRAY", "IN_SPAD_BYTES", "W_SPAD_BYTES", "OUT_SPAD_BYTES", "PARAM_CHANNELS", "STATUS",
                 "DMA_CYCLES", "ENGINE_CYCLES"):
        s.w(name, 0x1234_5678)
    ro = {name: s.r(name) for name in ("ID", "ARRAY", "PARAM_CHANNELS", "STATUS", "DMA_CYCLES")}
    s.w(0x200, 0xFFFF_FFFF)
    s.w(0xFFC, 0xFFFF_FFFF)
    unlisted = [s.r(0x200), s.r(0xFFC), s.r(REG["ADD_OUT_SHIFT"] + 4), s.r("COMMAND")]
    run = s.run(accel_tb)
    assert {name: run[reads[name]] for name in RW_REGS} == values
    assert [run[i] for i in reads[0]] == [0] * len(RW_REGS)
    assert [run[i] for i in reads[0xFFFF_FFFF]] == [0xFFFF_FFFF] * len(RW_REGS)
    assert run[ro["ID"]] == H["ID_VALUE"] and run[ro["ARRAY"]] == ROWS | COLS << 8 | DMA_BYTES << 16
    assert run[ro["PARAM_CHANNELS"]] == PARAM_CHANNELS and run[ro["STATUS"]] == 0 and run[ro["DMA_CYCLES"]] == 0
    assert [run[i] for i in unlisted] == [0, 0, 0, 0]


# ---------------------------------------------------------------- error codes


def _valid_pass(s: Script) -> None:
    """A 1x1x8 -> 8 pass that fits everything (all scratchpads start out zero-free of checks)."""
    for reg, value in (("IN_BASE", 0), ("IN_ROW_STRIDE", 8), ("IN_PIXEL_STEP", 8), ("IN_ROW_STEP", 8),
                       ("TAP_ROWS", 1), ("TAP_COLS", 1), ("TAP_COL_STEP", 8), ("GROUP_IN_STEP", 0),
                       ("OUT_W", 1), ("OUT_H", 1), ("CHANNELS", 8), ("W_BASE", 0), ("P_BASE", 0),
                       ("OUT_BASE", 0), ("OUT_PIXEL_STRIDE", 8), ("OUT_ROW_STRIDE", 8), ("IN_OFFSET", 0),
                       ("OUT_OFFSET", 0), ("ACT_MIN", -128), ("ACT_MAX", 127)):
        s.w(reg, value)


# (description, DMA settings) -> error
DMA_REFUSALS = [
    ("mode 3", dict(mode=3), "DMA_MODE"),
    ("mode 0xffffffff", dict(mode=0xFFFF_FFFF), "DMA_MODE"),
    ("RAM below its base", dict(ram=RAM_BASE - 1), "DMA_RAM"),
    ("RAM past its end", dict(ram=RAM_BASE + RAM_BYTES - 15), "DMA_RAM"),
    ("RAM end exactly", dict(ram=RAM_BASE + RAM_BYTES - 16), None),
    ("RAM stride past the end", dict(rows=2, ram_stride=RAM_BYTES - 15), "DMA_RAM"),
    ("RAM address wraps 2^32", dict(ram=0xFFFF_FFF8), "DMA_RAM"),
    ("RAM rows*stride wraps 2^32", dict(rows=0x10001, ram_stride=0x10000), "DMA_RAM"),
    ("RAM row bytes wrap 2^32", dict(row_bytes=0xFFFF_FFFF), "DMA_RAM"),
    ("to RAM, past its end", dict(mode=1, ram=RAM_BASE + RAM_BYTES - 8), "DMA_RAM"),
    ("scratchpad id 4", dict(spad=4), "DMA_SPAD"),
    ("scratchpad id 15, empty block", dict(spad=15, rows=0), "DMA_SPAD"),
    ("input scratchpad past its end", dict(offset=65536 - 15), "DMA_SPAD"),
    ("input scratchpad end exactly", dict(offset=65536 - 16), None),
    ("param scratchpad past its end", dict(spad=3, offset=8192 - 8), "DMA_SPAD"),
    ("offset bit 27", dict(offset=1 << 27), "DMA_SPAD"),
    ("scratchpad stride", dict(rows=3, spad_stride=32768), "DMA_SPAD"),
    ("fill ignores RAM", dict(mode=2, ram=0), None),
    ("fill past the output scratchpad", dict(mode=2, spad=2, offset=65530), "DMA_SPAD"),
    ("empty block: rows 0", dict(rows=0, ram=0), None),
    ("empty block: row bytes 0", dict(row_bytes=0, ram=0), None),
]

ENGINE_REFUSALS = [
    ("TAP_ROWS 0", {"TAP_ROWS": 0}, "ENGINE_SHAPE"),
    ("TAP_COLS 0", {"TAP_COLS": 0}, "ENGINE_SHAPE"),
    ("OUT_W 0", {"OUT_W": 0}, "ENGINE_SHAPE"),
    ("OUT_H 0", {"OUT_H": 0}, "ENGINE_SHAPE"),
    ("CHANNELS 0", {"CHANNELS": 0}, "ENGINE_SHAPE"),
    ("W_BASE misaligned", {"W_BASE": 32}, "ENGINE_RANGE"),
    ("weights past the end", {"W_BASE": 65536 - 64, "TAP_COLS": 2}, "ENGINE_RANGE"),
    ("weights end exactly", {"W_BASE": 65536 - 128, "TAP_COLS": 2}, None),
    ("weights: 2 groups x 16 x 32 words", {"CHANNELS": 16, "TAP_ROWS": 16, "TAP_COLS": 32}, None),
    ("weights: 2 groups x 16 x 33 words", {"CHANNELS": 16, "TAP_ROWS": 16, "TAP_COLS": 33}, "ENGINE_RANGE"),
    ("weights: TAP_ROWS huge", {"TAP_ROWS": 0x1000_0000}, "ENGINE_RANGE"),
    ("weights: taps wrap 2^32", {"TAP_ROWS": 0x1_0000, "TAP_COLS": 0x1_0000}, "ENGINE_RANGE"),
    ("weights: taps wrap 2^64", {"TAP_ROWS": 0x8000_0000, "TAP_COLS": 0x8000_0000}, "ENGINE_RANGE"),
    ("channels wrap", {"CHANNELS": 0xFFFF_FFF8}, "ENGINE_RANGE"),
    ("params past the end", {"P_BASE": 505}, "ENGINE_RANGE"),
    ("params end exactly", {"P_BASE": 504}, None),
    ("params wrap", {"P_BASE": 0xFFFF_FFFC}, "ENGINE_RANGE"),
    ("outputs past the end", {"OUT_BASE": 65536 - 7}, "ENGINE_RANGE"),
    ("outputs end exactly", {"OUT_BASE": 65536 - 8}, None),
    ("output rows past the end", {"OUT_H": 3, "OUT_ROW_STRIDE": 32765}, "ENGINE_RANGE"),
    ("output pixels wrap 2^32", {"OUT_W": 0x10001, "OUT_PIXEL_STRIDE": 0x10000}, "ENGINE_RANGE"),
    ("IN_OFFSET 256", {"IN_OFFSET": 256}, "ENGINE_QUANT"),
    ("IN_OFFSET -257", {"IN_OFFSET": -257}, "ENGINE_QUANT"),
    ("IN_OFFSET -256", {"IN_OFFSET": -256}, None),
    ("IN_OFFSET 255", {"IN_OFFSET": 255}, None),
    ("OUT_OFFSET 128", {"OUT_OFFSET": 128}, "ENGINE_QUANT"),
    ("OUT_OFFSET -129", {"OUT_OFFSET": -129}, "ENGINE_QUANT"),
    ("ACT_MIN -129", {"ACT_MIN": -129}, "ENGINE_QUANT"),
    ("ACT_MAX 128", {"ACT_MAX": 128}, "ENGINE_QUANT"),
    ("ACT_MAX < ACT_MIN", {"ACT_MIN": 5, "ACT_MAX": 4}, "ENGINE_QUANT"),
    ("ACT_MAX == ACT_MIN", {"ACT_MIN": 5, "ACT_MAX": 5}, None),
    ("shape before range", {"OUT_W": 0, "W_BASE": 3}, "ENGINE_SHAPE"),
    ("range before quant", {"W_BASE": 3, "ACT_MAX": 200}, "ENGINE_RANGE"),
]


def test_dma_refusals(accel_tb):
    """Each refused DMA start sets its code, starts nothing and moves no byte; codes stay until
    cleared, and a start while one is set is refused and keeps it."""
    s = Script()
    marker = RAM_BASE + 0x1000
    checks = []
    for text, settings, error in DMA_REFUSALS:
        block = dict(ram=marker, spad=0, offset=0, row_bytes=16, rows=1, mode=1)  # 16 B of spad 0 to RAM
        block.update(settings)
        waited = s.dma(**block)
        status = s.r("STATUS")
        again = s.dma(marker, 0, 0, 16, mode=1)  # a valid block
        s.w("COMMAND", H["CMD_CLEAR"])
        cleared = s.r("STATUS")
        checks.append((text, error, waited, status, again, cleared))
    run = s.run(accel_tb)
    for text, error, waited, status, again, cleared in checks:
        code = ERR[error] if error else 0
        assert error_of(run.status(waited)) == code, text
        assert run[status] == code << 8, f"{text}: the unit must be idle after a refusal"
        if error:
            assert error_of(run.status(again)) == code, f"{text}: a start while the error is set keeps it"
        assert run[cleared] == 0, text


def test_dma_refusal_moves_nothing(accel_tb):
    s = Script()
    s.dma(RAM_BASE, 0, 0, 64, mode=2, fill=0x11)  # input scratchpad 0..63 = 0x11
    s.load(RAM_BASE + 0x100, bytes([0x22] * 64))
    s.dma(RAM_BASE + RAM_BYTES - 32, 0, 0, 64)   # RAM block leaves RAM: refused
    err = s.r("STATUS")
    s.w("COMMAND", H["CMD_CLEAR"])
    s.dma(RAM_BASE + 0x100, 0, 65536 - 32, 64)   # scratchpad block leaves the scratchpad: refused
    err2 = s.r("STATUS")
    s.w("COMMAND", H["CMD_CLEAR"])
    s.dma(RAM_BASE + 0x200, 0, 0, 64, mode=1)
    out = s.dump(RAM_BASE + 0x200, 64)
    run = s.run(accel_tb)
    assert error_of(run[err]) == ERR["DMA_RAM"] and error_of(run[err2]) == ERR["DMA_SPAD"]
    assert run[out] == bytes([0x11] * 64)


def test_engine_refusals(accel_tb):
    s = Script()
    checks = []
    for text, settings, error in ENGINE_REFUSALS:
        _valid_pass(s)
        for reg, value in settings.items():
            s.w(reg, value)
        s.w("COMMAND", H["CMD_ENGINE"])
        waited = s.wait()
        s.w("COMMAND", H["CMD_ENGINE"])
        again = s.wait()
        s.w("COMMAND", H["CMD_CLEAR"])
        checks.append((text, error, waited, again, s.r("STATUS")))
    run = s.run(accel_tb)
    for text, error, waited, again, cleared in checks:
        code = ERR[error] if error else 0
        assert run.status(waited) == code << 8, text
        assert run.status(again) == code << 8, text
        assert run[cleared] == 0, text


def test_busy(accel_tb):
    """Starting a unit that is busy sets BUSY and leaves the running job alone; the other unit
    can start meanwhile."""
    s = Script()
    s.dma(RAM_BASE, 2, 0, 65536, mode=2, fill=0x77, wait=False)  # 4096 cycles of fill
    s.w("COMMAND", H["CMD_DMA"])
    busy = s.r("STATUS")
    s.w("COMMAND", H["CMD_CLEAR"])
    _valid_pass(s)
    s.w("OUT_BASE", 0)
    s.w("TAP_ROWS", 300)   # a 300-step pass
    s.w("W_BASE", 0)
    s.w("COMMAND", H["CMD_ENGINE"])  # runs beside the DMA
    both = s.r("STATUS")
    s.w("COMMAND", H["CMD_ENGINE"])
    busy2 = s.r("STATUS")
    done = s.wait()
    s.w("COMMAND", H["CMD_CLEAR"])
    s.dma(RAM_BASE + 0x100, 2, 8, 65536 - 8, mode=1)
    out = s.dump(RAM_BASE + 0x100, 65536 - 8)
    run = s.run(accel_tb)
    assert run[busy] == (ERR["BUSY"] << 8 | H["STATUS_DMA_BUSY"])
    assert run[both] == (H["STATUS_DMA_BUSY"] | H["STATUS_ENGINE_BUSY"])
    assert error_of(run[busy2]) == ERR["BUSY"] and run[busy2] & 3 == 3
    assert run.status(done) == ERR["BUSY"] << 8
    assert run[out] == bytes([0x77] * (65536 - 8)), "the first DMA finished untouched"


def test_settings_are_taken_at_start(accel_tb):
    """A running pass (and DMA block) keeps the settings it started with: the driver may program
    the next one meanwhile."""
    rng = np.random.default_rng(5)
    low = {"out_base": 0, "out_pixel_gap": 0, "out_row_gap": 0}  # outputs below 1 KiB
    layers = [_random_layer(rng, "conv2d", hw=(6, 6), c=8, oc=16, kernel=(3, 3), stride=(1, 1), placement=dict(low)),
              _random_layer(rng, "depthwise_conv2d", hw=(5, 5), c=8, kernel=(3, 3), stride=(1, 1),
                            placement=dict(low))]

    def scribble(s: Script) -> None:  # a DMA started (far from the outputs), then every setting overwritten
        s.dma(RAM_BASE + 0x8000, 2, 60000, 4096, mode=2, fill=0x99, wait=False)
        for name in RW_REGS:
            s.w(name, 0x5555_5555)

    s = Script()
    marks = [_program(s, layer, rng, after_start=scribble) for layer in layers]
    run = s.run(accel_tb)
    for layer, (done, got, _) in zip(layers, marks):
        _check(run, layer, done, got)


def test_reset_stops_everything(accel_tb):
    s = Script()
    s.dma(RAM_BASE, 2, 0, 65536, mode=2, fill=0x12, wait=False)
    _valid_pass(s)
    s.w("TAP_ROWS", 1000)
    s.w("COMMAND", H["CMD_ENGINE"])
    s.w("COMMAND", H["CMD_ENGINE"])  # BUSY
    busy = s.r("STATUS")
    s.reset(2)
    after = [s.r(name) for name in ("STATUS", "DMA_CYCLES", "ENGINE_CYCLES", "DMA_ROW_BYTES", "TAP_ROWS")]
    s.load(RAM_BASE + 0x100, bytes(range(32)))
    s.dma(RAM_BASE + 0x100, 0, 5, 32)
    s.dma(RAM_BASE + 0x200, 0, 5, 32, mode=1)
    moved = s.dump(RAM_BASE + 0x200, 32)
    run = s.run(accel_tb)
    assert run[busy] == (ERR["BUSY"] << 8 | 3)
    assert [run[i] for i in after] == [0, 0, 0, 0, 0]
    assert run[moved] == bytes(range(32))


# ---------------------------------------------------------------- DMA


def _dma_round_trips(rng, count: int):
    """Random 2-D blocks: RAM -> scratchpad -> RAM (and fills), with what RAM must then hold."""
    s = Script()
    checks = []
    for _ in range(count):
        spad = int(rng.integers(0, 4))
        size = SPAD_BYTES[spad]
        row_bytes = int(rng.choice([1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, int(rng.integers(1, 100))]))
        rows = int(rng.integers(1, 5))
        spad_stride = row_bytes + int(rng.integers(0, 40))
        ram_stride = row_bytes + int(rng.integers(0, 40))
        span_spad = (rows - 1) * spad_stride + row_bytes
        offset = int(rng.integers(0, size - span_spad + 1))
        if rng.random() < 0.2:
            offset = size - span_spad  # up to the scratchpad's end
        src = RAM_BASE + 0x1000 + int(rng.integers(0, 64))
        dst = RAM_BASE + 0x40000 + int(rng.integers(0, 64))
        span_ram = (rows - 1) * ram_stride + row_bytes
        data = rng.integers(0, 256, span_ram, dtype=np.uint8).tobytes()
        s.load(src, data)
        s.load(dst, bytes([0xEE]) * span_ram)
        fill = rng.random() < 0.25
        if fill:
            byte = int(rng.integers(0, 256))
            w1 = s.dma(0, spad, offset, row_bytes, rows, 0, spad_stride, mode=2, fill=byte)
        else:
            w1 = s.dma(src, spad, offset, row_bytes, rows, ram_stride, spad_stride)
        w2 = s.dma(dst, spad, offset, row_bytes, rows, ram_stride, spad_stride, mode=1)
        got = s.dump(dst, span_ram)
        want = bytearray([0xEE]) * span_ram
        for r in range(rows):
            row = bytes([byte]) * row_bytes if fill else data[r * ram_stride:r * ram_stride + row_bytes]
            want[r * ram_stride:r * ram_stride + row_bytes] = row
        checks.append((dict(spad=spad, offset=offset, row_bytes=row_bytes, rows=rows, ram_stride=ram_stride,
                            spad_stride=spad_stride, src=hex(src), dst=hex(dst), fill=fill), w1, w2, got, bytes(want)))
    return s, checks


@pytest.mark.parametrize("stall", [0, 40])
def test_dma_round_trips(accel_tb, stall):
    s, checks = _dma_round_trips(np.random.default_rng(10 + stall), 300)
    run = s.run(accel_tb, f"+stall={stall}", "+seed=7")
    for case, w1, w2, got, want in checks:
        assert run.status(w1) == 0 and run.status(w2) == 0, case
        assert run[got] == want, case


def test_dma_overlapping_rows_keep_order(accel_tb):
    """Rows that overlap in the scratchpad (stride < row bytes) land in row order."""
    s = Script()
    data = bytes(range(200))
    s.load(RAM_BASE, data)
    s.dma(RAM_BASE, 0, 100, 40, rows=4, ram_stride=50, spad_stride=10)
    s.dma(RAM_BASE + 0x1000, 0, 100, 70, mode=1)
    got = s.dump(RAM_BASE + 0x1000, 70)
    run = s.run(accel_tb)
    want = bytearray(70)
    for r in range(4):
        want[10 * r:10 * r + 40] = data[50 * r:50 * r + 40]
    assert run[got] == bytes(want)


def _dma_cycles(s: Script, **block) -> tuple[int, int]:
    before = s.r("DMA_CYCLES")
    s.dma(**block)
    return before, s.r("DMA_CYCLES")


def test_dma_throughput(accel_tb):
    """One cycle per RAM word a row touches, rows back to back, plus a fixed start-up."""
    s = Script()
    blocks = [
        dict(ram=RAM_BASE, spad=0, offset=0, row_bytes=32768),                       # 2048 words
        dict(ram=RAM_BASE + 3, spad=1, offset=7, row_bytes=32768),                   # 2049 words
        dict(ram=RAM_BASE + 5, spad=2, offset=1000, row_bytes=100, rows=64, ram_stride=200, spad_stride=100),
        dict(ram=RAM_BASE + 0x20000 + 9, spad=0, offset=3, row_bytes=32768, mode=1),
        dict(ram=0, spad=2, offset=0, row_bytes=65536, mode=2),
    ]
    marks = [_dma_cycles(s, **b) for b in blocks]
    run = s.run(accel_tb)
    for block, (before, after) in zip(blocks, marks):
        row, stride, rows = block["row_bytes"], block.get("ram_stride", 0), block.get("rows", 1)
        first = block["offset"] if block.get("mode") == 2 else block["ram"]
        words = sum(((first + r * stride + row - 1) // DMA_BYTES) - ((first + r * stride) // DMA_BYTES) + 1
                    for r in range(rows))
        cycles = run[after] - run[before]
        assert words <= cycles <= words + 4, (block, words, cycles)
    big = run[marks[0][1]] - run[marks[0][0]]
    print(f"\nDMA RAM -> scratchpad: {32768 / big:.2f} bytes/cycle ({big} cycles for 32 KiB)")


# ---------------------------------------------------------------- engine passes


@dataclass
class Layer:
    """One operator as a single pass: its numpy data, where it goes, and what it must produce."""

    kind: str                      # conv2d, depthwise_conv2d, fully_connected
    x: np.ndarray                  # [H, W, C] (fully connected: [1, M, K], a 1-row tile of M pixels)
    weights: np.ndarray            # unpacked TFLite layout
    bias: np.ndarray
    mult: np.ndarray
    shift: np.ndarray
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    input_offset: int = 0
    output_offset: int = 0
    act: tuple[int, int] = (-128, 127)
    placement: dict = field(default_factory=dict)

    @property
    def out_c(self) -> int:
        return self.x.shape[2] if self.kind == "depthwise_conv2d" else self.weights.shape[0]

    @property
    def out_hw(self) -> tuple[int, int]:
        h, w, _ = self.x.shape
        (kh, kw), (sh, sw), (pt, pl, pb, pr) = self.kernel, self.stride, self.pad
        return (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1

    def expected(self) -> np.ndarray:
        common = dict(input_offset=self.input_offset, output_offset=self.output_offset, act_min=self.act[0],
                      act_max=self.act[1])
        if self.kind == "fully_connected":
            return reference.fully_connected(self.x[0], self.weights, self.bias, self.mult, self.shift,
                                             **common)[None]
        fn = reference.conv2d if self.kind == "conv2d" else reference.depthwise_conv2d
        return fn(self.x, self.weights, self.bias, self.mult, self.shift, stride=self.stride,
                  pad=self.pad[:2], out_hw=self.out_hw, **common)

    def packed_weights(self) -> np.ndarray:
        if self.kind == "conv2d":
            return layout.conv2d_weights(self.weights)
        if self.kind == "depthwise_conv2d":
            return layout.depthwise_conv2d_weights(self.weights)
        return layout.fully_connected_weights(self.weights)

    def __str__(self) -> str:
        return (f"{self.kind} x{self.x.shape} k{self.kernel} s{self.stride} pad{self.pad} oc={self.out_c} "
                f"in_off={self.input_offset} out_off={self.output_offset} act={self.act} at {self.placement}")


def _program(s: Script, layer: Layer, rng, before_start=None, after_start=None) -> tuple[int, int, tuple[int, int]]:
    """Scripts the whole pass: the input tile, weights and params DMA'd in, the pass, the outputs
    DMA'd out. Returns the output indices of the pass's wait, of the outputs' dump and of
    ENGINE_CYCLES before and after. before_start(s) and after_start(s) add commands around the
    pass's start."""
    h, w, c = layer.x.shape
    (kh, kw), (sh, sw), (pt, pl, _, _) = layer.kernel, layer.stride, layer.pad
    oh, ow = layer.out_hw
    oc = layer.out_c
    zp = -layer.input_offset
    # the padded tile: just what the outputs read
    tile_h, tile_w = (oh - 1) * sh + kh, (ow - 1) * sw + kw
    tile_bytes = tile_h * tile_w * c
    packed = layer.packed_weights().tobytes()
    params = layout.channel_params(layer.bias, layer.mult, layer.shift).astype("<i4").tobytes()
    p = layer.placement
    pix_stride = oc + p.get("out_pixel_gap", 0)
    row_stride = ow * pix_stride + p.get("out_row_gap", 0)
    out_span = (oh - 1) * row_stride + (ow - 1) * pix_stride + oc
    in_base = p.setdefault("in_base", int(rng.integers(0, 65536 - tile_bytes + 1)))
    w_base = p.setdefault("w_base", 64 * int(rng.integers(0, (65536 - len(packed)) // 64 + 1)))
    p_base = p.setdefault("p_base", int(rng.integers(0, PARAM_CHANNELS - oc + 1)))
    out_base = p.setdefault("out_base", int(rng.integers(0, 65536 - out_span + 1)))
    ram_x = RAM_BASE + 0x1000 + int(rng.integers(0, 16))
    ram_w = RAM_BASE + 0x20000 + int(rng.integers(0, 16))
    ram_p = RAM_BASE + 0x40000 + int(rng.integers(0, 16))
    ram_out = RAM_BASE + 0x50000 + int(rng.integers(0, 16))

    # input: the tile filled with the zero point, then the input's rows that the tile holds
    s.dma(0, 0, in_base, tile_bytes, mode=2, fill=zp & 0xFF)
    rows_in = min(h, tile_h - pt)
    cols_in = min(w, tile_w - pl)
    s.load(ram_x, layer.x.astype(np.int8).tobytes())
    if rows_in > 0 and cols_in > 0:
        s.dma(ram_x, 0, in_base + (pt * tile_w + pl) * c, cols_in * c, rows_in, w * c, tile_w * c)
    s.load(ram_w, packed)
    s.dma(ram_w, 1, w_base, len(packed))
    s.load(ram_p, params)
    s.dma(ram_p, 3, 16 * p_base, len(params))
    s.dma(0, 2, out_base, out_span, mode=2, fill=0xA5)  # marks the bytes the pass must not write

    if layer.kind == "conv2d":
        taps = dict(TAP_ROWS=kh, TAP_COLS=-(-kw * c // ROWS), TAP_COL_STEP=ROWS, GROUP_IN_STEP=0)
    elif layer.kind == "depthwise_conv2d":
        taps = dict(TAP_ROWS=kh, TAP_COLS=kw, TAP_COL_STEP=c, GROUP_IN_STEP=COLS)
    else:
        taps = dict(TAP_ROWS=1, TAP_COLS=-(-c // ROWS), TAP_COL_STEP=ROWS, GROUP_IN_STEP=0)
    regs = dict(IN_BASE=in_base, IN_ROW_STRIDE=tile_w * c, IN_PIXEL_STEP=sw * c, IN_ROW_STEP=sh * tile_w * c,
                OUT_W=ow, OUT_H=oh, CHANNELS=oc, W_BASE=w_base, P_BASE=p_base, OUT_BASE=out_base,
                OUT_PIXEL_STRIDE=pix_stride, OUT_ROW_STRIDE=row_stride, IN_OFFSET=layer.input_offset,
                OUT_OFFSET=layer.output_offset, ACT_MIN=layer.act[0], ACT_MAX=layer.act[1], **taps)
    for reg, value in regs.items():
        s.w(reg, value)
    before = s.r("ENGINE_CYCLES")
    if before_start:
        before_start(s)
    s.w("COMMAND", H["CMD_ENGINE"])
    if after_start:
        after_start(s)
    done = s.wait()
    after = s.r("ENGINE_CYCLES")
    s.dma(ram_out, 2, out_base, out_span, mode=1)
    got = s.dump(ram_out, out_span)
    layer.placement.update(pix_stride=pix_stride, row_stride=row_stride)
    return done, got, (before, after)


def _check(run: Run, layer: Layer, done: int, got: int) -> None:
    assert run.status(done) == 0, f"{layer}: STATUS {run.status(done):#x}"
    oh, ow = layer.out_hw
    oc = layer.out_c
    pix, row = layer.placement["pix_stride"], layer.placement["row_stride"]
    raw = np.frombuffer(run[got], dtype=np.uint8)
    written = np.zeros(raw.size, dtype=bool)
    idx = (np.arange(oh)[:, None, None] * row + np.arange(ow)[None, :, None] * pix + np.arange(oc)[None, None, :])
    written[idx.reshape(-1)] = True
    result = raw[idx].view(np.int8)
    want = layer.expected()
    if not np.array_equal(result, want):
        bad = np.argwhere(result != want)
        y, x, ch = bad[0]
        raise AssertionError(f"{layer}: {len(bad)} wrong outputs, first at {tuple(bad[0])}: "
                             f"got {result[y, x, ch]}, want {want[y, x, ch]}")
    assert np.all(raw[~written] == 0xA5), f"{layer}: bytes outside the outputs were written"


def _quant(rng, oc: int, taps: int, extreme: bool = False):
    """Per-channel bias, multiplier and shift. Realistic ones scale a typical accumulator
    (sqrt(taps) * ~100 * ~64) to about +-50, so most outputs land inside the int8 range."""
    bias = rng.integers(-20000, 20000, oc)
    mult = rng.integers(1 << 30, 1 << 31, oc)
    typical = np.sqrt(taps) * 100 * 64
    shift = np.round(np.log2(50 / typical)).astype(np.int64) + rng.integers(-1, 2, oc)
    if extreme:  # wrapping bias and shifts, saturating products, every sign of multiplier
        def mix(special, low, high):
            return np.where(rng.random(oc) < 0.3, rng.choice(special, oc), rng.integers(low, high, oc))
        bias = mix([INT32_MIN, INT32_MAX, -1, 1], INT32_MIN, INT32_MAX)
        mult = mix([INT32_MIN, INT32_MAX, 0, 1], INT32_MIN, INT32_MAX)
        shift = mix([-31, 31, 0, -1, 1, 30, -30], -31, 32)
    return bias.astype(np.int64), mult.astype(np.int64), shift.astype(np.int64)


def _random_layer(rng, kind: str, *, extreme: bool = False, **fixed) -> Layer:
    k = fixed.pop("kernel", None) or (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    stride = fixed.pop("stride", None) or (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    if kind == "fully_connected":
        k, stride = (1, 1), (1, 1)
        m, kk, n = fixed.pop("mkn", None) or (int(rng.integers(1, 12)), int(rng.integers(1, 40)),
                                             int(rng.integers(1, 24)))
        x = rng.integers(-128, 128, (1, m, kk), dtype=np.int8)
        weights = rng.integers(-128, 128, (n, kk), dtype=np.int8)
        pad = (0, 0, 0, 0)
        oc = n
    else:
        h, w = fixed.pop("hw", None) or (int(rng.integers(1, 9)), int(rng.integers(1, 9)))
        c = fixed.pop("c", None) or int(rng.integers(1, 20))
        pad = fixed.pop("pad", None) or tuple(int(rng.integers(0, k[i % 2])) for i in range(4))
        # the padded input must hold at least one window
        h, w = max(h, k[0] - pad[0] - pad[2]), max(w, k[1] - pad[1] - pad[3])
        x = rng.integers(-128, 128, (h, w, c), dtype=np.int8)
        if kind == "conv2d":
            oc = fixed.pop("oc", None) or int(rng.integers(1, 20))
            weights = rng.integers(-128, 128, (oc, k[0], k[1], c), dtype=np.int8)
        else:
            oc = c
            weights = rng.integers(-128, 128, (k[0], k[1], c), dtype=np.int8)
    zp_in = fixed.pop("input_zp", None)
    zp_in = int(rng.integers(-128, 128)) if zp_in is None else zp_in
    zp_out = fixed.pop("output_zp", None)
    zp_out = int(rng.integers(-128, 128)) if zp_out is None else zp_out
    act = fixed.pop("act", None) or ((-128, 127) if rng.random() < 0.6 else
                                     tuple(sorted(int(v) for v in rng.integers(-128, 128, 2))))
    taps = int(np.prod(weights.shape[1:])) if kind != "depthwise_conv2d" else k[0] * k[1]
    bias, mult, shift = _quant(rng, oc, taps, extreme)
    layer = Layer(kind, x, weights, bias, mult, shift, kernel=k, stride=stride, pad=pad, input_offset=-zp_in,
                  output_offset=zp_out, act=act, placement=fixed.pop("placement", {}))
    if rng.random() < 0.3 and "out_pixel_gap" not in layer.placement:
        layer.placement.update(out_pixel_gap=int(rng.integers(0, 5)), out_row_gap=int(rng.integers(0, 9)))
    assert not fixed, fixed
    return layer


def _run_layers(tb: Path, layers: list[Layer], rng, *plusargs: str) -> Run:
    s = Script()
    marks = [_program(s, layer, rng) for layer in layers]
    run = s.run(tb, *plusargs)
    for layer, (done, got, _) in zip(layers, marks):
        _check(run, layer, done, got)
    return run


@pytest.mark.parametrize("kind", ["conv2d", "depthwise_conv2d", "fully_connected"])
def test_engine_random_layers(accel_tb, kind):
    rng = np.random.default_rng({"conv2d": 100, "depthwise_conv2d": 200, "fully_connected": 300}[kind])
    layers = [_random_layer(rng, kind, extreme=i % 4 == 3) for i in range(150)]
    _run_layers(accel_tb, layers, rng)


def test_engine_edge_cases(accel_tb):
    rng = np.random.default_rng(7)
    layers = []
    for zp in (-128, 127):  # zero points at both ends, in and out (IN_OFFSET 128 and -127)
        for kind in ("conv2d", "depthwise_conv2d", "fully_connected"):
            layers.append(_random_layer(rng, kind, input_zp=zp, output_zp=zp))
            layers.append(_random_layer(rng, kind, input_zp=-zp - 1, output_zp=zp, extreme=True))
    # IN_OFFSET at the register's limits, -256 and 255 (beyond TFLite's zero points; no padding)
    layers.append(_random_layer(rng, "fully_connected", input_zp=256, mkn=(7, 19, 11)))
    layers.append(_random_layer(rng, "conv2d", input_zp=-255, pad=(0, 0, 0, 0), kernel=(2, 2), oc=5))
    # saturation at both ends: a narrow activation range, big multipliers and positive shifts
    sat = _random_layer(rng, "conv2d", act=(-20, 30), oc=16)
    sat.shift[:] = 4
    layers.append(sat)
    for kind in ("conv2d", "fully_connected"):
        layer = _random_layer(rng, kind, extreme=True)
        # x = INT32_MIN and mult = INT32_MIN: the doubling high multiply saturates to INT32_MAX
        layer.weights[...] = 0
        layer.bias[0], layer.mult[0], layer.shift[0] = INT32_MIN, INT32_MIN, 0
        if layer.out_c > 1:  # 1 << 31 wraps to INT32_MIN too
            layer.bias[1], layer.mult[1], layer.shift[1] = 1, INT32_MIN, 31
        layers.append(layer)
    # shifts of -31 and 31
    layers.append(_random_layer(rng, "fully_connected", mkn=(5, 17, 9)))
    layers[-1].shift[:] = np.resize([-31, 31, -30, 30, 0], 9)
    # channel counts that are not a multiple of COLS, 1x1 kernels, KW*C not a multiple of ROWS
    layers.append(_random_layer(rng, "conv2d", kernel=(1, 1), c=3, oc=13, stride=(1, 1)))
    layers.append(_random_layer(rng, "conv2d", kernel=(1, 1), c=16, oc=8, stride=(2, 2)))
    layers.append(_random_layer(rng, "conv2d", kernel=(3, 3), c=5, oc=9, stride=(2, 2), pad=(1, 1, 1, 1)))
    layers.append(_random_layer(rng, "conv2d", kernel=(3, 2), c=7, oc=17, stride=(1, 2), pad=(2, 1, 0, 1)))
    layers.append(_random_layer(rng, "depthwise_conv2d", kernel=(3, 3), c=13, stride=(2, 2), pad=(1, 1, 1, 1)))
    layers.append(_random_layer(rng, "depthwise_conv2d", kernel=(3, 3), c=8, stride=(1, 1), pad=(0, 2, 2, 0)))
    layers.append(_random_layer(rng, "depthwise_conv2d", kernel=(1, 1), c=1, stride=(1, 1), pad=(0, 0, 0, 0)))
    layers.append(_random_layer(rng, "fully_connected", mkn=(1, 1, 1)))
    layers.append(_random_layer(rng, "fully_connected", mkn=(3, 200, 33)))
    # a tile at the input scratchpad's end: the reads past a window's end wrap to its start
    layers.append(_random_layer(rng, "conv2d", kernel=(1, 3), c=3, oc=8, stride=(1, 1), pad=(0, 0, 0, 0),
                                hw=(2, 4), placement={"in_base": 65536 - 2 * 4 * 3}))
    _run_layers(accel_tb, layers, rng)


def test_engine_under_back_pressure_and_beside_dma(accel_tb):
    """RAM stalls, and a DMA filling the output scratchpad while the engine writes it."""
    rng = np.random.default_rng(11)
    layers = [_random_layer(rng, kind) for kind in ("conv2d", "depthwise_conv2d", "fully_connected") * 3]
    _run_layers(accel_tb, layers, rng, "+stall=50", "+seed=3")

    # the pass's outputs go to 0..~4 KiB; meanwhile a DMA fills 8192..65535 (the engine's writes go first)
    layer = _random_layer(rng, "fully_connected", mkn=(64, 64, 64), placement={"out_base": 0})
    s = Script()
    done, got, _ = _program(s, layer, rng, before_start=lambda s: s.dma(0, 2, 8192, 65536 - 8192, mode=2, fill=0x3C,
                                                                         wait=False))
    s.dma(RAM_BASE + 0x80000, 2, 8192, 65536 - 8192, mode=1)
    check_fill = s.dump(RAM_BASE + 0x80000, 65536 - 8192)
    run = s.run(accel_tb)
    _check(run, layer, done, got)
    assert run[check_fill] == bytes([0x3C]) * (65536 - 8192)


def _gemm_cycles(tb: Path, m: int, k: int, n: int) -> int:
    """ENGINE_CYCLES of one M x K x N GEMM pass (checked against numpy)."""
    rng = np.random.default_rng(m * k * n)
    layer = _random_layer(rng, "fully_connected", mkn=(m, k, n))
    s = Script()
    done, got, (before, after) = _program(s, layer, rng)
    run = s.run(tb)
    _check(run, layer, done, got)
    return run[after] - run[before]


def test_engine_throughput_gemm(accel_tb):
    """A 64x64x64 GEMM pass takes one cycle per step, plus the pipeline's fill (param loads and
    about 10 cycles of latency): at least 97% of ROWS*COLS MACs per cycle."""
    cycles = _gemm_cycles(accel_tb, 64, 64, 64)
    steps = 64 * (64 // COLS) * (64 // ROWS)
    assert steps <= cycles <= steps + 40, cycles
    macs_per_cycle = 64**3 / cycles
    assert macs_per_cycle >= 0.97 * ROWS * COLS
    print(f"\nengine GEMM 64x64x64: {cycles} cycles, {macs_per_cycle:.1f} MACs/cycle "
          f"({100 * macs_per_cycle / (ROWS * COLS):.1f}% of {ROWS * COLS})")


def test_testbench_timeout_wait_limit_and_trace(accel_tb, tmp_path):
    """The testbench itself: +timeout ends a run with status 2, a wait limit with status 1, and
    +trace writes a VCD."""
    hung = process.run([str(accel_tb), "+timeout=50"], 60, input=b"idle 100\n")
    assert hung.returncode == 2 and "TB timeout at cycle" in hung.stdout
    s = Script()
    s.dma(RAM_BASE, 2, 0, 65536, mode=2, wait=False)
    s.wait(limit=100)
    stuck = process.run([str(accel_tb)], 60, input=("\n".join(s.lines) + "\n").encode())
    assert stuck.returncode == 1 and "TB error: still busy after 100 cycles" in stuck.stdout
    trace = tmp_path / "accel.vcd"
    traced = process.run([str(accel_tb), f"+trace={trace}"], 60, input=b"r 0\nidle 10\n")
    assert traced.returncode == 0 and traced.stdout.strip().endswith("TB done cycles=16")
    assert "$enddefinitions" in trace.read_text()


def test_engine_full_scratchpads(accel_tb):
    """Passes that fill the scratchpads: a 256x256x256 GEMM (64 KiB each of input, weights and
    output) at one step per cycle, and big convolutions."""
    rng = np.random.default_rng(256)
    dense = {"out_pixel_gap": 0, "out_row_gap": 0}
    gemm = _random_layer(rng, "fully_connected", mkn=(256, 256, 256), act=(-128, 127), placement=dict(dense))
    conv = _random_layer(rng, "conv2d", hw=(32, 32), c=32, oc=60, kernel=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1),
                         placement=dict(dense))
    dw = _random_layer(rng, "depthwise_conv2d", hw=(48, 48), c=16, kernel=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1),
                       placement=dict(dense))
    s = Script()
    marks = [_program(s, layer, rng) for layer in (gemm, conv, dw)]
    run = s.run(accel_tb, timeout=600)
    for layer, (done, got, _) in zip((gemm, conv, dw), marks):
        _check(run, layer, done, got)
    before, after = marks[0][2]
    steps = 256 * (256 // COLS) * (256 // ROWS)
    assert steps <= run[after] - run[before] <= steps + 40


def test_engine_big_random_layers(accel_tb):
    rng = np.random.default_rng(99)
    layers = []
    for _ in range(6):
        layers.append(_random_layer(rng, "conv2d", hw=(16, 16), c=int(rng.integers(8, 40)),
                                    oc=int(rng.integers(8, 70)), extreme=True))
        layers.append(_random_layer(rng, "depthwise_conv2d", hw=(20, 20), c=int(rng.integers(8, 70))))
        layers.append(_random_layer(rng, "fully_connected", mkn=(int(rng.integers(16, 80)), int(rng.integers(16, 300)),
                                                                 int(rng.integers(16, 120)))))
    _run_layers(accel_tb, layers, rng)
    _run_layers(accel_tb, layers[:6], rng, "+stall=30")


# ---------------------------------------------------------------- add passes


# reference.add's keyword arguments -> the registers that carry them
ADD_REGS = {"a_offset": "ADD_A_OFFSET", "a_multiplier": "ADD_A_MULT", "a_shift": "ADD_A_SHIFT",
            "b_offset": "ADD_B_OFFSET", "b_multiplier": "ADD_B_MULT", "b_shift": "ADD_B_SHIFT",
            "left_shift": "ADD_LEFT_SHIFT", "out_multiplier": "ADD_OUT_MULT", "out_shift": "ADD_OUT_SHIFT",
            "output_offset": "OUT_OFFSET", "act_min": "ACT_MIN", "act_max": "ACT_MAX"}
OUT_GUARD = 40  # marked output bytes either side of an add pass's outputs


@dataclass
class Add:
    """One add pass: a and b (int8, same size), reference.add's parameters, and where the
    operands go (placement: a_base, b_base, out_base; random when missing)."""

    a: np.ndarray
    b: np.ndarray
    params: dict
    placement: dict = field(default_factory=dict)

    def expected(self) -> np.ndarray:
        return reference.add(self.a, self.b, **self.params)

    def __str__(self) -> str:
        return f"add of {self.a.size} at {self.placement} {self.params}"


def _tflm_multiplier(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp (0 < real < 1): a Q31 multiplier and a shift <= 0
    (as rvtvm.tflite.fixed_point's, without importing TVM)."""
    q, shift = math.frexp(real)
    q_fixed = math.floor(q * 2**31 + 0.5)
    if q_fixed == 2**31:
        q_fixed, shift = q_fixed // 2, shift + 1
    return (q_fixed, shift) if shift >= -31 else (0, 0)


def _add_params(rng, kind: str = "tflm", **fixed) -> dict:
    """tflm: what TFLM's ADD Prepare derives from random scales and zero points (left shift 20);
    q31: TFLM's ranges drawn uniformly (multipliers in [2^30, 2^31), shifts -31..0); extreme: every
    register over its whole range, with the special values mixed in."""
    def zp() -> int:
        return int(rng.integers(-128, 128))

    def act() -> tuple[int, int]:
        return (-128, 127) if rng.random() < 0.6 else tuple(sorted(int(v) for v in rng.integers(-128, 128, 2)))

    if kind == "tflm":
        s_a, s_b = np.exp(rng.uniform(np.log(1e-3), np.log(0.5), 2))
        s_out = float(rng.uniform(0.3, 3.0) * max(s_a, s_b))
        twice_max = 2 * max(s_a, s_b)
        (ma, sha), (mb, shb) = (_tflm_multiplier(s / twice_max) for s in (s_a, s_b))
        mo, sho = _tflm_multiplier(twice_max / ((1 << 20) * s_out))
        p = dict(a_offset=-zp(), a_multiplier=ma, a_shift=sha, b_offset=-zp(), b_multiplier=mb, b_shift=shb,
                 left_shift=20, out_multiplier=mo, out_shift=sho)
    elif kind == "q31":
        m = rng.integers(1 << 30, 1 << 31, 3)
        sh = rng.integers(-31, 1, 3)
        p = dict(a_offset=-zp(), a_multiplier=m[0], a_shift=sh[0], b_offset=-zp(), b_multiplier=m[1],
                 b_shift=sh[1], left_shift=20, out_multiplier=m[2], out_shift=sh[2])
    else:
        def mix(special, low, high):
            return int(rng.choice(special)) if rng.random() < 0.3 else int(rng.integers(low, high))
        mult = [INT32_MIN, INT32_MAX, 0, 1, -1, 1 << 30]
        shift = [-31, 31, 0, -1, 1, 30, -30]
        p = dict(a_offset=mix([-256, 255], -256, 256), a_multiplier=mix(mult, INT32_MIN, INT32_MAX),
                 a_shift=mix(shift, -31, 32), b_offset=mix([-256, 255], -256, 256),
                 b_multiplier=mix(mult, INT32_MIN, INT32_MAX), b_shift=mix(shift, -31, 32),
                 left_shift=mix([0, 20], 0, 21), out_multiplier=mix(mult, INT32_MIN, INT32_MAX),
                 out_shift=mix(shift, -31, 32))
    p = {k: int(v) for k, v in p.items()}
    p["output_offset"] = zp()
    p["act_min"], p["act_max"] = act()
    p.update(fixed)
    return p


def _random_add(rng, n: int | None = None, kind: str = "tflm", placement: dict | None = None, **fixed) -> Add:
    if n is None:
        n = int(rng.choice([int(rng.integers(1, 17)), int(rng.integers(1, 600)), int(rng.integers(600, 3000))]))
    a = rng.integers(-128, 128, n, dtype=np.int8)
    b = rng.integers(-128, 128, n, dtype=np.int8)
    p = _add_params(rng, kind, **fixed)
    if kind == "extreme" and rng.random() < 0.6 and "out_shift" not in fixed:
        # Extreme sa and sb would mostly clamp: scale the output's rescale to their actual sums so
        # that the outputs spread over the int8 range and show any wrong bit of sa + sb.
        sa, sb = (reference.rescale((x.astype(np.int64) + p[f"{k}_offset"]) << p["left_shift"],
                                    p[f"{k}_multiplier"], p[f"{k}_shift"]) for x, k in ((a, "a"), (b, "b")))
        spread = int(np.abs(reference.wrap_int32(sa + sb)).max())
        p["out_shift"] = int(np.clip(7 - math.ceil(math.log2(spread + 1)), -31, 31))
        p["out_multiplier"] = int(rng.integers(1 << 30, 1 << 31)) * int(rng.choice([-1, 1]))
    return Add(a, b, p, dict(placement or {}))


def _program_add(s: Script, add: Add, rng, before_start=None, after_start=None) -> tuple[int, int, tuple[int, int]]:
    """Scripts one add pass: a and b DMA'd in, the output bytes and OUT_GUARD bytes either side
    marked, the pass, its last output byte DMA'd out at once (it must be written when STATUS
    shows the engine idle), then the whole span. Returns the output indices of the pass's wait,
    of the dumps (span, last byte) and of ENGINE_CYCLES before and after; before_start(s) and
    after_start(s) add commands around the pass's start."""
    n = add.a.size
    p = add.placement
    a_base = p.setdefault("a_base", int(rng.integers(0, SPAD_BYTES[0] - n + 1)))
    b_base = p.setdefault("b_base", int(rng.integers(0, SPAD_BYTES[1] - n + 1)))
    out_base = p.setdefault("out_base", int(rng.integers(0, SPAD_BYTES[2] - n + 1)))
    lo, hi = max(0, out_base - OUT_GUARD), min(SPAD_BYTES[2], out_base + n + OUT_GUARD)
    p.update(lo=lo, hi=hi)
    ram_a = RAM_BASE + 0x1000 + int(rng.integers(0, 32))
    ram_b = RAM_BASE + 0x20000 + int(rng.integers(0, 32))
    ram_out = RAM_BASE + 0x40000 + int(rng.integers(0, 32))
    s.load(ram_a, add.a.tobytes())
    s.dma(ram_a, 0, a_base, n)
    s.load(ram_b, add.b.tobytes())
    s.dma(ram_b, 1, b_base, n)
    s.dma(0, 2, lo, hi - lo, mode=2, fill=0xA5)
    for key, reg in ADD_REGS.items():
        s.w(reg, add.params[key])
    for reg, value in (("IN_BASE", a_base), ("W_BASE", b_base), ("OUT_BASE", out_base), ("ELT_COUNT", n)):
        s.w(reg, value)
    before = s.r("ENGINE_CYCLES")
    if before_start:
        before_start(s)
    s.w("COMMAND", H["CMD_ADD"])
    if after_start:
        after_start(s)
    done = s.wait()
    s.dma(ram_out, 2, out_base + n - 1, 1, mode=1)
    last = s.dump(ram_out, 1)
    after = s.r("ENGINE_CYCLES")
    s.dma(ram_out, 2, lo, hi - lo, mode=1)
    return done, (s.dump(ram_out, hi - lo), last), (before, after)


def _check_add(run: Run, add: Add, done: int, got: tuple[int, int]) -> None:
    assert run.status(done) == 0, f"{add}: STATUS {run.status(done):#x}"
    p, n = add.placement, add.a.size
    raw = np.frombuffer(run[got[0]], dtype=np.uint8)
    start = p["out_base"] - p["lo"]
    result = raw[start:start + n].view(np.int8)
    want = add.expected()
    if not np.array_equal(result, want):
        bad = np.flatnonzero(result != want)
        i = bad[0]
        raise AssertionError(f"{add}: {len(bad)} wrong outputs, first at {i} (a {add.a[i]}, b {add.b[i]}): "
                             f"got {result[i]}, want {want[i]}")
    outside = np.concatenate([raw[:start], raw[start + n:]])
    assert np.all(outside == 0xA5), f"{add}: bytes outside the outputs were written"
    assert run[got[1]] == want[-1:].tobytes(), f"{add}: the last output was written after the pass ended"


def _run_adds(tb: Path, adds: list[Add], rng, *plusargs: str) -> Run:
    s = Script()
    marks = [_program_add(s, add, rng) for add in adds]
    run = s.run(tb, *plusargs)
    for add, (done, got, _) in zip(adds, marks):
        _check_add(run, add, done, got)
    return run


@pytest.mark.parametrize("kind", ["tflm", "q31", "extreme"])
def test_add_random(accel_tb, kind):
    """Random add passes of random lengths and placements (any byte offset) against reference.add."""
    rng = np.random.default_rng({"tflm": 400, "q31": 500, "extreme": 600}[kind])
    adds = [_random_add(rng, kind=kind) for _ in range(60)]
    _run_adds(accel_tb, adds, rng)
    if kind == "tflm":  # the outputs cover the int8 range, not just a few clamped values
        values = np.concatenate([add.expected() for add in adds])
        assert len(np.unique(values)) > 200


def test_add_edge_cases(accel_tb):
    rng = np.random.default_rng(41)
    end = SPAD_BYTES[0]
    adds = [
        # one element, and short lengths around the lane count, at the scratchpads' very ends
        _random_add(rng, 1, placement=dict(a_base=end - 1, b_base=end - 1, out_base=end - 1)),
        _random_add(rng, 1, placement=dict(a_base=0, b_base=0, out_base=0)),
        _random_add(rng, 7, placement=dict(a_base=end - 7, b_base=end - 7, out_base=end - 7)),
        _random_add(rng, 9, placement=dict(a_base=end - 9, b_base=end - 12, out_base=end - 10)),
        _random_add(rng, 13, placement=dict(a_base=3, b_base=5, out_base=7)),
        _random_add(rng, 1001, placement=dict(a_base=end - 1001, b_base=end - 1001, out_base=end - 1001)),
        # every one of b's byte offsets within a word (the weight port reads aligned words)
        *[_random_add(rng, 37 + k, placement=dict(a_base=1000 + 3 * k, b_base=8 * 100 + k, out_base=500 + 5 * k))
          for k in range(8)],
        # offsets at the registers' ends, positive shifts, the largest multiplier, no left shift
        _random_add(rng, 500, kind="q31", a_offset=-256, b_offset=255, a_shift=5, b_shift=31, out_shift=3,
                    a_multiplier=INT32_MAX, b_multiplier=INT32_MAX, left_shift=0),
        _random_add(rng, 500, kind="q31", a_offset=255, b_offset=-256, a_shift=2, b_shift=-31, out_shift=-1,
                    out_multiplier=INT32_MAX),
        _random_add(rng, 300, a_shift=-31, b_shift=-31, out_shift=-31),
        _random_add(rng, 300, kind="q31", left_shift=20, a_shift=10, b_shift=11, out_shift=0),
        # act ranges that clamp at both ends, and a range of one value
        _random_add(rng, 800, act_min=-20, act_max=30),
        _random_add(rng, 800, kind="q31", act_min=-128, act_max=-100),
        _random_add(rng, 200, act_min=5, act_max=5),
        _random_add(rng, 200, output_offset=127, act_min=100, act_max=127),
        _random_add(rng, 200, output_offset=-128),
    ]
    # x = INT32_MIN and mult = INT32_MIN: (x * mult + 2^30) >> 31 is 2^31 and saturates to INT32_MAX.
    # a + a_offset = -256 shifted by 23 is INT32_MIN, so sa saturates; b + b_offset = 1 gives sb = 1,
    # and sa + sb wraps to INT32_MIN, which saturates again in the output's rescale.
    for out_shift in (0, -1, -30, -31, 5):
        a = np.full(24, -128, np.int8)
        b = np.full(24, -127, np.int8)
        a[1::3] = rng.integers(-128, 128, 8)  # and some others beside
        b[2::3] = rng.integers(-128, 128, 8)
        params = dict(a_offset=-128, a_multiplier=INT32_MIN, a_shift=23, b_offset=128, b_multiplier=INT32_MAX,
                      b_shift=0, left_shift=0, out_multiplier=INT32_MIN, out_shift=out_shift,
                      output_offset=int(rng.integers(-128, 128)), act_min=-128, act_max=127)
        adds.append(Add(a, b, params))
    # left shift 20 and a positive shift reach INT32_MIN too: -256 << 20 << 3
    adds.append(_random_add(rng, 64, kind="q31", a_offset=-256, b_offset=-256, a_shift=3, b_shift=3,
                            a_multiplier=INT32_MIN, b_multiplier=INT32_MIN))
    adds[-1].a[:] = adds[-1].b[:] = 0
    # a whole scratchpad of each
    adds.append(_random_add(rng, SPAD_BYTES[0], placement=dict(a_base=0, b_base=0, out_base=0)))
    for add in adds[-7:-1]:
        want = add.expected()
        assert len(want) and add.params["act_min"] <= want.min() and want.max() <= add.params["act_max"]
    saturated = adds[-7]  # out_shift 0: INT32_MAX + offset, clamped to 127; without saturation -128
    assert saturated.expected()[0] == 127
    _run_adds(accel_tb, adds, rng)
    _run_adds(accel_tb, adds[:8], rng, "+stall=50", "+seed=5")


ADD_REFUSALS = [
    ("ELT_COUNT 0", {"ELT_COUNT": 0}, "ENGINE_SHAPE"),
    ("ELT_COUNT 0 before range", {"ELT_COUNT": 0, "IN_BASE": 1 << 20}, "ENGINE_SHAPE"),
    ("a past the end", {"IN_BASE": 65536 - 15}, "ENGINE_RANGE"),
    ("a ends exactly", {"IN_BASE": 65536 - 16}, None),
    ("b past the end", {"W_BASE": 65536 - 15}, "ENGINE_RANGE"),
    ("b ends exactly, unaligned", {"W_BASE": 65536 - 16, "IN_BASE": 3}, None),
    ("outputs past the end", {"OUT_BASE": 65536 - 15}, "ENGINE_RANGE"),
    ("outputs end exactly", {"OUT_BASE": 65536 - 16}, None),
    ("ELT_COUNT a scratchpad", {"ELT_COUNT": 65536}, None),
    ("ELT_COUNT a scratchpad and one", {"ELT_COUNT": 65537}, "ENGINE_RANGE"),
    ("ELT_COUNT wraps 2^32", {"ELT_COUNT": 0xFFFF_FFFF, "IN_BASE": 1}, "ENGINE_RANGE"),
    ("IN_BASE wraps 2^32", {"IN_BASE": 0xFFFF_FFF0}, "ENGINE_RANGE"),
    ("W_BASE wraps 2^32", {"W_BASE": 0xFFFF_FFF8}, "ENGINE_RANGE"),
    ("OUT_BASE wraps 2^32", {"OUT_BASE": 0xFFFF_FFFF}, "ENGINE_RANGE"),
    ("range before quant", {"OUT_BASE": 65536, "ADD_LEFT_SHIFT": 21}, "ENGINE_RANGE"),
    ("ADD_A_OFFSET 256", {"ADD_A_OFFSET": 256}, "ENGINE_QUANT"),
    ("ADD_A_OFFSET -257", {"ADD_A_OFFSET": -257}, "ENGINE_QUANT"),
    ("ADD_A_OFFSET -256", {"ADD_A_OFFSET": -256}, None),
    ("ADD_B_OFFSET 256", {"ADD_B_OFFSET": 256}, "ENGINE_QUANT"),
    ("ADD_B_OFFSET -257", {"ADD_B_OFFSET": -257}, "ENGINE_QUANT"),
    ("ADD_B_OFFSET 255", {"ADD_B_OFFSET": 255}, None),
    ("ADD_LEFT_SHIFT 21", {"ADD_LEFT_SHIFT": 21}, "ENGINE_QUANT"),
    ("ADD_LEFT_SHIFT -1", {"ADD_LEFT_SHIFT": -1}, "ENGINE_QUANT"),
    ("ADD_LEFT_SHIFT 0", {"ADD_LEFT_SHIFT": 0}, None),
    ("ADD_A_SHIFT 32", {"ADD_A_SHIFT": 32}, "ENGINE_QUANT"),
    ("ADD_A_SHIFT -32", {"ADD_A_SHIFT": -32}, "ENGINE_QUANT"),
    ("ADD_A_SHIFT 31", {"ADD_A_SHIFT": 31}, None),
    ("ADD_B_SHIFT 32", {"ADD_B_SHIFT": 32}, "ENGINE_QUANT"),
    ("ADD_B_SHIFT -32", {"ADD_B_SHIFT": -32}, "ENGINE_QUANT"),
    ("ADD_B_SHIFT -31", {"ADD_B_SHIFT": -31}, None),
    ("ADD_OUT_SHIFT 32", {"ADD_OUT_SHIFT": 32}, "ENGINE_QUANT"),
    ("ADD_OUT_SHIFT -32", {"ADD_OUT_SHIFT": -32}, "ENGINE_QUANT"),
    ("ADD_OUT_SHIFT 0x80000000", {"ADD_OUT_SHIFT": 0x8000_0000}, "ENGINE_QUANT"),
    ("OUT_OFFSET 128", {"OUT_OFFSET": 128}, "ENGINE_QUANT"),
    ("OUT_OFFSET -129", {"OUT_OFFSET": -129}, "ENGINE_QUANT"),
    ("ACT_MIN -129", {"ACT_MIN": -129}, "ENGINE_QUANT"),
    ("ACT_MAX 128", {"ACT_MAX": 128}, "ENGINE_QUANT"),
    ("ACT_MAX < ACT_MIN", {"ACT_MIN": 5, "ACT_MAX": 4}, "ENGINE_QUANT"),
    ("any multipliers", {"ADD_A_MULT": 0x8000_0000, "ADD_B_MULT": 0xFFFF_FFFF, "ADD_OUT_MULT": 0}, None),
    ("the convolution registers do not matter",
     {"TAP_ROWS": 0, "OUT_W": 0, "CHANNELS": 0, "IN_OFFSET": 1000, "P_BASE": 0xFFFF_FFFF, "OUT_H": 0}, None),
]


def _valid_add(s: Script) -> None:
    """A 16-element add pass at byte 0 of each scratchpad, its settings all in range."""
    for reg, value in (("IN_BASE", 0), ("W_BASE", 0), ("OUT_BASE", 0), ("ELT_COUNT", 16),
                       ("ADD_LEFT_SHIFT", 20), ("ADD_A_OFFSET", 0), ("ADD_A_MULT", 1 << 30), ("ADD_A_SHIFT", 0),
                       ("ADD_B_OFFSET", 0), ("ADD_B_MULT", 1 << 30), ("ADD_B_SHIFT", 0),
                       ("ADD_OUT_MULT", 1 << 30), ("ADD_OUT_SHIFT", -20), ("OUT_OFFSET", 0), ("ACT_MIN", -128),
                       ("ACT_MAX", 127)):
        s.w(reg, value)


def test_add_refusals(accel_tb):
    """Each refused add start sets its code and runs nothing (no engine cycle, no output byte);
    the code stays until cleared, and a start while it is set keeps it."""
    s = Script()
    s.dma(0, 2, 0, 65536, mode=2, fill=0xA5)
    checks = []
    for text, settings, error in ADD_REFUSALS:
        _valid_pass(s)
        _valid_add(s)
        for reg, value in settings.items():
            s.w(reg, value)
        before = s.r("ENGINE_CYCLES")
        s.w("COMMAND", H["CMD_ADD"])
        waited = s.wait()
        after = s.r("ENGINE_CYCLES")
        s.w("COMMAND", H["CMD_ADD"])
        again = s.wait()
        s.w("COMMAND", H["CMD_CLEAR"])
        checks.append((text, error, waited, again, s.r("STATUS"), before, after))
        if error is None:  # mark the output scratchpad again
            s.dma(0, 2, 0, 65536, mode=2, fill=0xA5)
    _valid_add(s)
    s.w("ADD_A_SHIFT", 99)
    s.w("COMMAND", H["CMD_ADD"])  # refused: the outputs stay as marked
    s.w("COMMAND", H["CMD_CLEAR"])
    s.dma(RAM_BASE + 0x100, 2, 0, 64, mode=1)
    untouched = s.dump(RAM_BASE + 0x100, 64)
    run = s.run(accel_tb)
    for text, error, waited, again, cleared, before, after in checks:
        code = ERR[error] if error else 0
        assert run.status(waited) == code << 8, text
        assert run.status(again) == code << 8, text
        assert run[cleared] == 0, text
        if error:
            assert run[after] == run[before], f"{text}: a refused start ran the engine"
        else:
            assert run[after] > run[before], text
    assert run[untouched] == bytes([0xA5] * 64)


def test_add_busy(accel_tb):
    """While an add pass runs, STATUS shows the engine busy and starting either kind of pass is
    refused with BUSY; the running pass finishes with the right outputs. And the same the other
    way round: an add start while a convolution pass runs."""
    rng = np.random.default_rng(8)
    add = _random_add(rng, 65536, placement=dict(a_base=0, b_base=0, out_base=0))  # 8192 cycles
    marks = {}

    def meddle(s: Script) -> None:
        marks["running"] = s.r("STATUS")
        s.w("COMMAND", H["CMD_ADD"])
        marks["add_busy"] = s.r("STATUS")
        s.w("COMMAND", H["CMD_CLEAR"])
        _valid_pass(s)  # new settings: the running pass keeps its own
        s.w("COMMAND", H["CMD_ENGINE"])
        marks["conv_busy"] = s.r("STATUS")
        s.w("COMMAND", H["CMD_CLEAR"])

    s = Script()
    done, got, _ = _program_add(s, add, rng, after_start=meddle)
    layer = _random_layer(rng, "fully_connected", mkn=(64, 64, 64))  # 4096 steps

    def add_while_conv(s: Script) -> None:
        _valid_add(s)
        s.w("COMMAND", H["CMD_ADD"])
        marks["add_during_conv"] = s.r("STATUS")
        s.w("COMMAND", H["CMD_CLEAR"])

    conv_done, conv_got, _ = _program(s, layer, rng, after_start=add_while_conv)
    run = s.run(accel_tb)
    assert run[marks["running"]] == H["STATUS_ENGINE_BUSY"]
    for mark in ("add_busy", "conv_busy", "add_during_conv"):
        assert run[marks[mark]] == (ERR["BUSY"] << 8 | H["STATUS_ENGINE_BUSY"]), mark
    _check_add(run, add, done, got)
    _check(run, layer, conv_done, conv_got)


def test_add_and_convolution_passes_interleaved(accel_tb):
    """Convolution passes right after add passes and the other way round, with the settings of
    the next pass written while one runs."""
    rng = np.random.default_rng(9)
    low = {"out_base": 0, "out_pixel_gap": 0, "out_row_gap": 0}

    def scribble(s: Script) -> None:
        for name in RW_REGS:
            s.w(name, 0x5555_5555)

    s = Script()
    checks = []
    for i in range(12):
        kind = ("conv2d", "depthwise_conv2d", "fully_connected")[i % 3]
        layer = _random_layer(rng, kind, placement=dict(low) if i % 2 else {})
        checks.append((layer, _program(s, layer, rng, after_start=scribble if i % 4 == 1 else None)))
        for _ in range(1 + i % 2):
            add = _random_add(rng, kind=("tflm", "q31", "extreme")[i % 3])
            checks.append((add, _program_add(s, add, rng, after_start=scribble if i % 4 == 2 else None)))
    run = s.run(accel_tb)
    for item, (done, got, _) in checks:
        (_check_add if isinstance(item, Add) else _check)(run, item, done, got)


def test_add_beside_dma_and_reset(accel_tb):
    """An add pass writing the output scratchpad while a DMA fills another part of it (the
    engine's writes go first); then a reset in the middle of an add pass stops it."""
    rng = np.random.default_rng(12)
    add = _random_add(rng, 4000, placement=dict(a_base=123, b_base=4567, out_base=100))
    s = Script()
    done, got, _ = _program_add(s, add, rng, before_start=lambda s: s.dma(0, 2, 8192, 65536 - 8192, mode=2,
                                                                          fill=0x3C, wait=False))
    s.dma(RAM_BASE + 0x80000, 2, 8192, 65536 - 8192, mode=1)
    check_fill = s.dump(RAM_BASE + 0x80000, 65536 - 8192)
    _valid_add(s)
    s.w("ELT_COUNT", 65536)
    s.w("COMMAND", H["CMD_ADD"])
    busy = s.r("STATUS")
    s.reset(2)
    after = [s.r(name) for name in ("STATUS", "ENGINE_CYCLES", "ELT_COUNT", "ADD_A_MULT")]
    again = _random_add(rng, 100)
    again_marks = _program_add(s, again, rng)
    run = s.run(accel_tb)
    _check_add(run, add, done, got)
    assert run[check_fill] == bytes([0x3C]) * (65536 - 8192)
    assert run[busy] == H["STATUS_ENGINE_BUSY"]
    assert [run[i] for i in after] == [0, 0, 0, 0]
    _check_add(run, again, *again_marks[:2])


def test_add_throughput(accel_tb):
    """ADD_LANES (min(ROWS, COLS)) elements per cycle plus the pipeline's latency."""
    rng = np.random.default_rng(4096)
    lanes = min(ROWS, COLS)
    results = {}
    for n in (4096, 4096 + 3, 65536):
        add = _random_add(rng, n, placement=dict(a_base=1, b_base=3, out_base=5) if n < 65536 else
                          dict(a_base=0, b_base=0, out_base=0))
        s = Script()
        done, got, (before, after) = _program_add(s, add, rng)
        run = s.run(accel_tb)
        _check_add(run, add, done, got)
        results[n] = cycles = run[after] - run[before]
        beats = -(-n // lanes)
        assert beats <= cycles <= beats + 16, (n, cycles)
    print(f"\nengine add pass: 4096 elements in {results[4096]} cycles "
          f"({4096 / results[4096]:.2f} elements/cycle), 65536 in {results[65536]}")
