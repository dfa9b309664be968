"""The accelerator driver on real firmware: the MMIO backend on the Verilator SoC (the RTL doing
the work) and the software backend on QEMU and on the SoC, each against numpy
(rvtvm.accel.reference), bit for bit, on the same cases.

The cases include shapes the MMIO backend must tile (inputs larger than the input scratchpad,
weights larger than the weight scratchpad), odd channel counts, stride 2, padding on every side,
extreme zero points, saturation and misaligned output buffers."""

from pathlib import Path

import numpy as np
import pytest

from rvtvm import bare_firmware
from rvtvm.accel import layout, reference
from rvtvm.accel.shapes import LayerShape

from .conftest import require_tools, require_verilator

pytestmark = [pytest.mark.verilator, pytest.mark.qemu]

REPO = Path(__file__).resolve().parent.parent
FIRMWARE = REPO / "tests" / "c" / "accel_cases.c"
KINDS = {"conv2d": 0, "depthwise_conv2d": 1, "fully_connected": 2}


def _case(shape: LayerShape, rng, *, input_zp=None, output_zp=None, act=(-128, 127), shift=None, misalign=0):
    x = rng.integers(-128, 128, (shape.in_h, shape.in_w, shape.in_c), dtype=np.int8)
    out_c = shape.out_c
    input_offset = -int(rng.integers(-128, 128) if input_zp is None else input_zp)
    output_offset = int(rng.integers(-128, 128) if output_zp is None else output_zp)
    bias = rng.integers(-5000, 5000, out_c)
    mult = rng.integers(1 << 30, (1 << 31) - 1, out_c)
    shifts = rng.integers(-12, 2, out_c) if shift is None else np.full(out_c, shift)
    common = dict(input_offset=input_offset, output_offset=output_offset, act_min=act[0], act_max=act[1])
    if shape.kind == "conv2d":
        w = rng.integers(-127, 128, (out_c, shape.kernel_h, shape.kernel_w, shape.in_c), dtype=np.int8)
        packed = layout.conv2d_weights(w)
        want = reference.conv2d(x, w, bias, mult, shifts, stride=(shape.stride_h, shape.stride_w),
                                pad=(shape.pad_top, shape.pad_left), out_hw=(shape.out_h, shape.out_w), **common)
    elif shape.kind == "depthwise_conv2d":
        w = rng.integers(-127, 128, (shape.kernel_h, shape.kernel_w, shape.in_c), dtype=np.int8)
        packed = layout.depthwise_conv2d_weights(w)
        want = reference.depthwise_conv2d(x, w, bias, mult, shifts, stride=(shape.stride_h, shape.stride_w),
                                          pad=(shape.pad_top, shape.pad_left), out_hw=(shape.out_h, shape.out_w),
                                          **common)
    else:
        w = rng.integers(-127, 128, (out_c, shape.in_c), dtype=np.int8)
        packed = layout.fully_connected_weights(w)
        want = reference.fully_connected(x.reshape(shape.in_h, shape.in_c), w, bias, mult, shifts, **common)
    params = layout.channel_params(bias, mult, shifts)
    return dict(shape=shape, input=x, weights=packed, params=params, expected=want, misalign=misalign, **common)


def conv(in_hw, in_c, out_c, k, stride=1, pad=(0, 0), out_hw=None, kind="conv2d", name=""):
    if out_hw is None:
        out_hw = tuple((in_hw[i] + 2 * pad[i] - k[i]) // stride + 1 for i in range(2))
    if kind == "depthwise_conv2d":
        out_c = in_c
    return LayerShape(name, kind, in_hw[0], in_hw[1], in_c, out_hw[0], out_hw[1], out_c, k[0], k[1], stride, stride,
                      pad[0], pad[1])


def fc(rows, k, n):
    return LayerShape("", "fully_connected", rows, 1, k, rows, 1, n)


def cases() -> list[dict]:
    rng = np.random.default_rng(2026)
    c = [
        _case(conv((5, 5), 3, 8, (3, 3), pad=(1, 1)), rng),
        _case(conv((7, 6), 5, 13, (3, 2), stride=2, pad=(1, 0)), rng),  # odd channels, stride 2
        _case(conv((6, 6), 16, 10, (1, 1)), rng, misalign=3),  # pointwise, odd output address
        _case(conv((9, 7), 1, 16, (4, 3), stride=2, pad=(2, 1)), rng),  # KWS-like first layer
        _case(conv((6, 5), 12, 12, (3, 3), pad=(1, 1), kind="depthwise_conv2d"), rng),
        _case(conv((8, 8), 20, 20, (3, 3), stride=2, pad=(0, 0), kind="depthwise_conv2d"), rng, misalign=1),
        _case(fc(1, 37, 11), rng),
        _case(fc(5, 64, 24), rng),
        # extremes: zero points, saturation at both ends, large shifts
        _case(conv((4, 4), 8, 8, (3, 3), pad=(1, 1)), rng, input_zp=-128, output_zp=127),
        _case(conv((4, 4), 8, 8, (3, 3), pad=(1, 1)), rng, input_zp=127, output_zp=-128),
        _case(fc(2, 32, 16), rng, shift=20, act=(-100, 90)),
        _case(fc(2, 32, 16), rng, shift=-31),
        # larger than the scratchpads: the driver must tile
        _case(conv((48, 48), 32, 16, (1, 1)), rng),  # 72 KiB of input
        _case(fc(1, 640, 128), rng),  # 80 KiB of packed weights
        _case(fc(129, 512, 136), rng),  # both: 66 KiB of input, 70 KiB of weights
    ]
    return c


SMALL_MACS = 100_000  # the software backend on PicoRV32 costs ~30 cycles per MAC


def _array(name: str, ctype: str, values) -> str:
    flat = np.asarray(values).reshape(-1)
    body = ",".join(str(int(v)) for v in flat)
    return f"static const {ctype} {name}[{max(flat.size, 1)}] __attribute__((aligned(16))) = {{{body}}};\n"


def write_header(path: Path, all_cases: list[dict]) -> None:
    parts = ["/* Written by tests/test_accel_soc.py. */\n#include <stdint.h>\n",
             "enum { ACCEL_CASE_CONV2D = 0, ACCEL_CASE_DEPTHWISE_CONV2D = 1, ACCEL_CASE_FULLY_CONNECTED = 2 };\n"]
    for i, case in enumerate(all_cases):
        parts += [_array(f"input_{i}", "int8_t", case["input"]), _array(f"weights_{i}", "int8_t", case["weights"]),
                  _array(f"params_{i}", "int32_t", case["params"]), _array(f"expected_{i}", "int8_t", case["expected"])]
    parts.append("""struct accel_case {
  int32_t kind, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
  uint32_t output_bytes, output_misalign;
  const int8_t* input; const int8_t* weights; const int32_t* params; const int8_t* expected;
};
""")
    rows = []
    for i, case in enumerate(all_cases):
        s = case["shape"]
        rows.append(f"  {{{KINDS[s.kind]}, {s.in_h}, {s.in_w}, {s.in_c}, {s.out_h}, {s.out_w}, {s.out_c}, {s.kernel_h}, "
                    f"{s.kernel_w}, {s.stride_h}, {s.stride_w}, {s.pad_top}, {s.pad_left}, {case['input_offset']}, "
                    f"{case['output_offset']}, {case['act_min']}, {case['act_max']}, {case['expected'].size}u, "
                    f"{case['misalign']}u, input_{i}, weights_{i}, params_{i}, expected_{i}}}")
    max_out = max(case["expected"].size for case in all_cases)
    parts.append(f"#define ACCEL_CASE_COUNT {len(all_cases)}u\n#define ACCEL_CASES_MAX_OUTPUT {max_out}u\n")
    parts.append("static const struct accel_case accel_cases[] = {\n" + ",\n".join(rows) + "\n};\n")
    path.write_text("".join(parts))


def _build(work: Path, name: str, backend: str, some_cases: list[dict]) -> Path:
    (work / name).mkdir()
    write_header(work / name / "accel_cases.h", some_cases)
    sources, defines = bare_firmware.accel_driver(backend)
    return bare_firmware.build([FIRMWARE, *sources], work / name / "cases.elf", include_dirs=[work / name],
                               defines=defines, stack_bytes=8192)


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    """The case firmware with the MMIO backend and with the software backend; for the software
    backend on the SoC's slow CPU, also with only the small cases."""
    require_verilator()
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    work = tmp_path_factory.mktemp("accel_cases")
    all_cases = cases()
    small = [c for c in all_cases if c["shape"].macs <= SMALL_MACS]
    elves = {"mmio": _build(work, "mmio", "mmio", all_cases), "sw": _build(work, "sw", "sw", all_cases),
             "sw_small": _build(work, "sw_small", "sw", small)}
    return all_cases, small, elves


def _results(run, count: int) -> list[tuple[int, int, int, str]]:
    assert run.returncode == 0, run.log + run.output
    lines = [ln.split() for ln in run.output.splitlines() if ln.startswith("CASE ")]
    assert "DONE" in run.output and len(lines) == count, run.output
    return [(int(rc), int(mismatch), int(clobbered), digest) for _, _, rc, mismatch, clobbered, digest in lines]


def _check(results, all_cases, where: str) -> None:
    for (rc, mismatch, clobbered, _), case in zip(results, all_cases):
        what = f"{case['shape'].describe()} on {where}"
        assert rc == 0, f"{what}: driver returned {rc:#x}"
        assert mismatch == -1, f"{what}: output differs from numpy from byte {mismatch}"
        assert clobbered == 0, f"{what}: {clobbered} bytes written outside the output"


def test_mmio_backend_on_the_soc_matches_numpy_and_the_software_backend(firmware):
    all_cases, _, elves = firmware
    mmio = _results(bare_firmware.run_on_soc(elves["mmio"], timeout_sec=900), len(all_cases))
    _check(mmio, all_cases, "the SoC's accelerator")
    sw_qemu = _results(bare_firmware.run_on_qemu(elves["sw"], timeout_sec=300), len(all_cases))
    _check(sw_qemu, all_cases, "QEMU (software backend)")
    assert [r[3] for r in mmio] == [r[3] for r in sw_qemu]  # the same bytes, by their hashes


def test_software_backend_on_the_soc_matches_numpy(firmware):
    """The software backend is the reference the MMIO one is held to; it also runs on PicoRV32."""
    _, small, elves = firmware
    _check(_results(bare_firmware.run_on_soc(elves["sw_small"], timeout_sec=900), len(small)), small,
           "the SoC's CPU (software backend)")


def test_benchmark_script_runs():
    """scripts/benchmark_accel.py --quick: the table, the simulation speed and the CPU reference
    all come out, and every shape ran (the script exits non-zero if the driver refused one)."""
    require_verilator()
    require_tools("riscv64-unknown-elf-gcc")
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO / "scripts" / "benchmark_accel.py"), "--quick"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "| gemm 64x64x64" in done.stdout and "kws#0" in done.stdout
    assert "cycles/MAC" in done.stdout and "M cycles/s" in done.stdout
