"""Benchmark the example models on qemu_riscv32 and print one table.

For each model, in one run: wall time of compile, project create + build and a run of
N_RUNS inferences through one boot; the firmware's .text/.rodata/.data/.bss (from
riscv64-unknown-elf-size -A on the ELF); the planned arena against the naive sum of its
buffers (from metadata.json); the stack high-water mark the firmware reports; and QEMU's
instret per inference (QEMU runs with -icount shift=0, so counts are exact; it has no timing
model, so these are instructions, not time). The MLPerf Tiny models: benchmark_mlperf.py.

    .venv/bin/python scripts/benchmark.py
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import rvtvm
from rvtvm import examples

N_RUNS = 3


def section_sizes(elf: Path) -> dict[str, int]:
    out = subprocess.run(["riscv64-unknown-elf-size", "-A", str(elf)], capture_output=True, text=True, check=True, timeout=60).stdout
    sizes = {".text": 0, ".rodata": 0, ".data": 0, ".bss": 0}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            for sec in sizes:
                if parts[0] == sec or parts[0].startswith(sec + "."):
                    sizes[sec] += int(parts[1])
    return sizes


def bench(name: str, model, work: Path) -> dict:
    t0 = time.monotonic()
    compiled = rvtvm.compile_model(model, work / "model.tar")
    t1 = time.monotonic()
    project = rvtvm.create_project(work / "project", compiled.path)
    rvtvm.build(project)
    t2 = time.monotonic()
    inputs = [examples.random_inputs(compiled.metadata, seed=s) for s in range(N_RUNS)]
    results = rvtvm.run(project, inputs)
    t3 = time.monotonic()
    mem = compiled.metadata["memory"]
    return {
        "model": name,
        **section_sizes(project / "build" / "firmware.elf"),
        "arena": mem["arena_bytes"],
        "naive": mem["naive_bytes"],
        "stack": max(r.stack_bytes for r in results),
        "instret": sorted(r.instret for r in results)[len(results) // 2],
        "compile_s": t1 - t0,
        "build_s": t2 - t1,
        "run_s": t3 - t2,
    }


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory(prefix="rvtvm-bench-") as tmp:
        models = [(n, f()) for n, f in examples.EXAMPLES.items()]
        models.append(("onnx_cnn", examples.write_onnx_cnn(Path(tmp) / "cnn.onnx")))
        for name, model in models:
            print(f"[bench] {name}", file=sys.stderr, flush=True)
            rows.append(bench(name, model, Path(tmp) / name))
    cols = [("model", 16, ""), (".text", 8, "d"), (".rodata", 8, "d"), (".data", 6, "d"), (".bss", 8, "d"),
            ("arena", 7, "d"), ("naive", 7, "d"), ("stack", 6, "d"), ("instret", 10, "d"),
            ("compile_s", 9, ".2f"), ("build_s", 8, ".2f"), ("run_s", 6, ".2f")]
    print(f"qemu_riscv32, {N_RUNS} inferences per boot; instret = median per inference; sizes in bytes; times are wall seconds")
    print(" ".join(f"{c:<{w}}" if not f else f"{c:>{w}}" for c, w, f in cols))
    for row in rows:
        print(" ".join(f"{row[c]:<{w}}" if not f else f"{row[c]:>{w}{f}}" for c, w, f in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
