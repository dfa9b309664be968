#!/usr/bin/env python3
"""Benchmark the int8 accelerator on the Verilator SoC: MACs per cycle against the array's peak,
DMA and driver included, for square GEMMs and for every convolution, depthwise and
fully-connected layer shape of the four MLPerf Tiny models; the SoC's simulation speed; and
PicoRV32's cycles per MAC for a plain int8 dot product, the CPU-only reference point.

    .venv/bin/python scripts/benchmark_accel.py [--quick]

How it measures: one firmware (scripts/firmware/accel_bench.c, MMIO driver backend) is built and
run once on the SoC. It reads the cycle counter (rdcycle: clock cycles) around each driver call,
so a figure includes programming the registers, every DMA transfer and the engine's passes.
Operand values are random; correctness is what tests/test_accel_* check. Simulated cycles per
second is the harness's own count over the whole run (cycles / wall seconds).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rvtvm import bare_firmware, mlperf_tiny  # noqa: E402
from rvtvm.accel.layout import COLS, ROWS  # noqa: E402
from rvtvm.accel.shapes import LayerShape, gemm, model_layers  # noqa: E402

FIRMWARE = Path(__file__).resolve().parent / "firmware" / "accel_bench.c"
GEMM_SIZES = (16, 32, 64, 128, 256)
LARGE_GEMM = 128  # "large" for the 80 % goal: this size and up
DOT_ELEMENTS = 4096
KINDS = {"conv2d": 0, "depthwise_conv2d": 1, "fully_connected": 2}
GOAL_CYCLES_PER_SECOND = 3e6
GOAL_LARGE_GEMM_SHARE = 0.80


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def weight_bytes(s: LayerShape) -> int:
    groups = _ceil_div(s.out_c, COLS)
    if s.kind == "depthwise_conv2d":
        return groups * s.kernel_h * s.kernel_w * ROWS * COLS
    return groups * s.kernel_h * _ceil_div(s.kernel_w * s.in_c, ROWS) * ROWS * COLS


def shapes_header(shapes: list[LayerShape]) -> str:
    rows = ",\n".join(
        f"  {{{KINDS[s.kind]}, {s.in_h}, {s.in_w}, {s.in_c}, {s.out_h}, {s.out_w}, {s.out_c}, {s.kernel_h}, "
        f"{s.kernel_w}, {s.stride_h}, {s.stride_w}, {s.pad_top}, {s.pad_left}}}" for s in shapes)
    max_in = max([s.in_h * s.in_w * s.in_c for s in shapes] + [DOT_ELEMENTS])
    max_w = max([weight_bytes(s) for s in shapes] + [DOT_ELEMENTS])
    max_out = max(s.out_h * s.out_w * s.out_c for s in shapes)
    max_c = max(_ceil_div(s.out_c, COLS) * COLS for s in shapes)
    return f"""/* Written by scripts/benchmark_accel.py. */
#include <stdint.h>
enum {{ BENCH_CONV2D = 0, BENCH_DEPTHWISE_CONV2D = 1, BENCH_FULLY_CONNECTED = 2 }};
struct bench_shape {{
  int32_t kind, in_h, in_w, in_c, out_h, out_w, out_c, kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
}};
#define BENCH_SHAPE_COUNT {len(shapes)}u
#define BENCH_MAX_INPUT_BYTES {max_in}u
#define BENCH_MAX_WEIGHT_BYTES {max_w}u
#define BENCH_MAX_OUTPUT_BYTES {max_out}u
#define BENCH_MAX_CHANNELS {max_c}u
static const struct bench_shape bench_shapes[] = {{
{rows}
}};
"""


def collect_shapes(quick: bool) -> tuple[list[LayerShape], dict[LayerShape, list[str]]]:
    """The GEMMs, then each distinct MLPerf layer shape with the layers that have it."""
    shapes = [gemm(n, n, n) for n in (GEMM_SIZES[:3] if quick else GEMM_SIZES)]
    users: dict[LayerShape, list[str]] = {}
    for short in mlperf_tiny.MODELS:
        for layer in model_layers(mlperf_tiny.model_path(short), prefix=f"{short}#"):
            key = LayerShape("", layer.kind, layer.in_h, layer.in_w, layer.in_c, layer.out_h, layer.out_w, layer.out_c,
                             layer.kernel_h, layer.kernel_w, layer.stride_h, layer.stride_w, layer.pad_top,
                             layer.pad_left)
            users.setdefault(key, []).append(layer.name)
    layer_shapes = list(users)
    if quick:
        layer_shapes = layer_shapes[:6]
    return shapes + layer_shapes, users


def run(quick: bool) -> int:
    shapes, users = collect_shapes(quick)
    with tempfile.TemporaryDirectory(prefix="rvtvm-accel-bench-") as tmp:
        work = Path(tmp)
        (work / "accel_bench_shapes.h").write_text(shapes_header(shapes))
        print(f"building the benchmark firmware ({len(shapes)} shapes) and the SoC simulator...", file=sys.stderr)
        sources, defines = bare_firmware.accel_driver("mmio")
        elf = bare_firmware.build([FIRMWARE, *sources], work / "accel_bench.elf", include_dirs=[work],
                                  defines=defines, stack_bytes=8192)
        print("running on the Verilator SoC...", file=sys.stderr)
        done = bare_firmware.run_on_soc(elf, timeout_sec=1800)
    if done.returncode != 0:
        raise SystemExit(f"the benchmark firmware failed (exit {done.returncode}): {done.log.strip().splitlines()[-1:]}")
    peak = int(re.search(r"^ARRAY (\d+)", done.output, re.M).group(1))
    cycles = {int(i): (int(rc), int(c)) for i, rc, c in re.findall(r"^SHAPE (\d+) (-?\d+) (\d+)", done.output, re.M)}
    dot_n, dot_cycles = map(int, re.search(r"^DOT (\d+) (\d+)", done.output, re.M).groups())
    failed = [shapes[i].describe() for i, (rc, _) in cycles.items() if rc != 0]
    if failed or len(cycles) != len(shapes):
        raise SystemExit(f"the driver refused {failed or 'some shapes (output incomplete)'}")

    print(f"Accelerator: {ROWS}x{COLS} array, peak {peak} MACs/cycle (depthwise uses {COLS} lanes: ceiling "
          f"{COLS}/cycle). Cycles are SoC clock cycles around one driver call (registers, DMA, engine).\n")
    header = f"| {'shape':<36} | {'layers':<28} | {'MACs':>10} | {'cycles':>9} | {'MACs/cycle':>10} | {'% of peak':>9} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    large_shares = []
    for i, s in enumerate(shapes):
        n = cycles[i][1]
        rate = s.macs / n
        share = rate / peak
        if s.name.startswith("gemm") and s.in_c >= LARGE_GEMM:
            large_shares.append(share)
        names = ", ".join(users.get(s, [])) or "-"
        names = names if len(names) <= 28 else names[:25] + "..."
        print(f"| {s.name or s.describe():<36} | {names:<28} | {s.macs:>10,} | {n:>9,} | {rate:>10.2f} | {share:>8.1%} |")
    print()
    rate = done.cycles_per_second or 0.0
    print(f"CPU reference, PicoRV32: int8 dot product of {dot_n} elements: {dot_cycles:,} cycles = "
          f"{dot_cycles / dot_n:.1f} cycles/MAC")
    print(f"SoC simulation speed under Verilator: {rate / 1e6:.2f} M cycles/s over this run")
    print()
    print(f"goal: >= {GOAL_CYCLES_PER_SECOND / 1e6:g} M simulated cycles/s: "
          f"{'met' if rate >= GOAL_CYCLES_PER_SECOND else 'NOT met'} ({rate / 1e6:.2f} M)")
    if large_shares:
        worst = min(large_shares)
        print(f"goal: >= {GOAL_LARGE_GEMM_SHARE:.0%} of peak on GEMMs of {LARGE_GEMM} and up: "
              f"{'met' if worst >= GOAL_LARGE_GEMM_SHARE else 'NOT met'} (worst {worst:.1%})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three GEMMs and six layer shapes (for the tests)")
    return run(parser.parse_args().quick)


if __name__ == "__main__":
    sys.exit(main())
