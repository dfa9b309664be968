"""Benchmark host-driven RPC on qemu_riscv32 and print one table.

In one run, on one boot of a host_driven project (rvtvm.examples.int_mlp):
  - RPC calls per second of an empty function ("rvtvm.board.CyclesPerSecond"), through the
    stock tvm.rpc client, the bridge, the Project API transport and the framed session;
  - copy throughput host->device (tensor.copyfrom) and device->host (tensor.numpy()) in payload
    bytes/s, against the transport's raw rate measured on the same session: host->device, the
    extra time a request takes behind N bytes of filler the device skips; device->host, the
    extra time a reply takes for N more bytes;
  - per-call overhead in device cycles: from a complete request to its reply sent, for the empty
    call (the firmware's "rvtvm.session.LastRequestCycles"); QEMU counts instructions;
  - the RPC server's code size: .text of session_frame.c, session.c and rpc_server.c built with
    -Os for rv32imc, against the 16 KB goal.

    .venv/bin/python scripts/benchmark_rpc.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import rvtvm
from rvtvm import examples, rpc_packets as rp
from rvtvm.compiler import _include_root
from rvtvm.rpc_bridge import open_board
from rvtvm.session import connect

REPO = Path(__file__).resolve().parent.parent
SERVER_SOURCES = ("session_frame.c", "session.c", "rpc_server.c")
TEXT_GOAL_BYTES = 16 * 1024
CALLS = 200
COPY_BYTES = 48 * 1024
COPY_REPEATS = 3
RAW_BYTES = 16 * 1024


def server_text_bytes(work: Path) -> dict[str, int]:
    """.text of each RPC server source at -Os for rv32imc (as in a firmware build)."""
    sizes = {}
    includes = [f"-I{REPO / 'riscv_runtime' / 'include'}"] + [f"-I{d}" for d in _tvm_include_dirs()]
    for source in SERVER_SOURCES:
        obj = work / (source + ".o")
        subprocess.run(["riscv64-unknown-elf-gcc", "--specs=picolibc.specs", "-march=rv32imc", "-mabi=ilp32",
                        "-Os", "-ffreestanding", "-ffunction-sections", *includes, "-c",
                        str(REPO / "riscv_runtime" / "src" / source), "-o", str(obj)], check=True, timeout=120)
        out = subprocess.run(["riscv64-unknown-elf-size", "-A", str(obj)], capture_output=True, text=True,
                             check=True, timeout=60).stdout
        sizes[source] = sum(int(line.split()[1]) for line in out.splitlines()
                            if line.startswith(".text") and line.split()[1].isdigit())
    return sizes


def _tvm_include_dirs() -> list[Path]:
    return [_include_root("tvm"), _include_root("tvm_ffi")]


def build_project(work: Path) -> Path:
    compiled = rvtvm.compile_model(examples.int_mlp(), work / "model.tar", model_name="mlp")
    project = rvtvm.create_project(work / "p", compiled.path, project_type="host_driven",
                                   options={"rpc_heap_bytes": 2 * COPY_BYTES})
    rvtvm.build(project)
    return project


def tvm_figures(project: Path) -> dict:
    import tvm

    with connect(project, quiet=True) as sess:
        empty = sess.get_function("rvtvm.board.CyclesPerSecond")
        last_cycles = sess.get_function("rvtvm.session.LastRequestCycles")
        empty()
        start = time.perf_counter()
        for _ in range(CALLS):
            empty()
        calls_per_s = CALLS / (time.perf_counter() - start)
        overheads = []
        for _ in range(20):
            empty()
            overheads.append(last_cycles())
        data = np.random.default_rng(0).integers(-128, 128, COPY_BYTES, dtype=np.int8)
        remote = tvm.runtime.empty((COPY_BYTES,), "int8", sess.cpu(0))
        up, down = [], []
        for _ in range(COPY_REPEATS):
            start = time.perf_counter()
            remote.copyfrom(data)
            up.append(time.perf_counter() - start)
            start = time.perf_counter()
            back = remote.numpy()
            down.append(time.perf_counter() - start)
            assert np.array_equal(back, data), "device->host copy returned wrong bytes"
    return {"calls_per_s": calls_per_s, "call_cycles": statistics.median(overheads),
            "h2d": COPY_BYTES / statistics.median(up), "d2h": COPY_BYTES / statistics.median(down)}


def raw_rates(project: Path) -> dict:
    """The session's wire rates, from the difference between a small and a large transfer."""
    with open_board(project) as board:
        board.request(rp.init_server())
        pointer = rp.single_value(board.request(rp.alloc(1024)))
        chunk = 1024

        def timed(fn) -> float:
            times = []
            for _ in range(5):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
            return statistics.median(times)

        small = timed(lambda: board.request(rp.copy_from(pointer, chunk, 1)))
        large = timed(lambda: board.request(rp.copy_from(pointer, chunk, chunk)))
        d2h = (chunk - 1) / max(large - small, 1e-9)
        filler = bytes(RAW_BYTES)  # zeros: never a frame start, the device skips them

        def behind_filler():
            board.link.write(filler, 30)
            board.request(rp.copy_from(pointer, chunk, 1))

        h2d = RAW_BYTES / max(timed(behind_filler) - small, 1e-9)
    return {"raw_h2d": h2d, "raw_d2h": d2h}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="keep the work files in DIR (must not exist yet)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rvtvm-rpc-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=args.keep is None)
        print("building a host_driven project...", file=sys.stderr, flush=True)
        project = build_project(work)
        print("measuring through tvm.rpc...", file=sys.stderr, flush=True)
        figures = tvm_figures(project)
        print("measuring the session's wire rates...", file=sys.stderr, flush=True)
        figures.update(raw_rates(project))
        sizes = server_text_bytes(work)

    total = sum(sizes.values())
    rows = [
        ("RPC calls/s, empty function", f"{figures['calls_per_s']:.0f}", ""),
        ("copy host->device, bytes/s", f"{figures['h2d']:,.0f}",
         f"{100 * figures['h2d'] / figures['raw_h2d']:.0f}% of raw {figures['raw_h2d']:,.0f}"),
        ("copy device->host, bytes/s", f"{figures['d2h']:,.0f}",
         f"{100 * figures['d2h'] / figures['raw_d2h']:.0f}% of raw {figures['raw_d2h']:,.0f}"),
        ("per-call overhead, device cycles", f"{figures['call_cycles']:,.0f}", "request in -> reply out"),
    ] + [(f".text {name} (-Os)", f"{size:,}", "") for name, size in sizes.items()] + [
        ("RPC server .text total", f"{total:,}",
         f"goal < {TEXT_GOAL_BYTES:,}: {'met' if total < TEXT_GOAL_BYTES else 'NOT met'}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>12}  note")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    return 0 if total < TEXT_GOAL_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
