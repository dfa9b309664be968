"""The MLPerf Tiny models on verilator_soc, CPU-only against offloaded to the accelerator.

For each model, in one run: compile it twice (plain, and with --accel rvtvm), build both as
aot_standalone firmware for verilator_soc and run one seeded random input through each. It
prints the clock cycles per inference of both, the speedup and the end-to-end MACs per cycle
(MACs of the CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED operators over the accelerated
cycles), then the accelerated model's per-layer table: each operator's cycles measured
host-driven (TVM RPC time_evaluator on the SoC, each operator called on its own), whether it
was offloaded, its MACs per cycle and its share. Both builds' outputs must be identical, and
identical to TFLite Micro's when the tflite-micro package is installed. A per-layer plot (PNG)
is saved.

    scripts/bench [--models kws,vww,resnet,ad] [--quick] [--plot FILE.png] [--keep DIR]

--quick runs ad only, for a check that the script works. Progress goes to stderr, tables to
stdout; a model that fails gets its error in its row and the exit status is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rvtvm import api, mlperf_tiny
from rvtvm.accel.shapes import model_layers
from rvtvm.examples import random_inputs

REPO = Path(__file__).resolve().parents[1]
BOARD = "verilator_soc"
ACCEL = "rvtvm"
SEED = 20261121
RUN_TIMEOUT_SEC = 1800
# The goals, accelerated cycles per inference.
GOALS = {"kws": 1.0e6, "vww": 3.0e6, "resnet": 2.0e6, "ad": 0.3e6}


@dataclass
class Layer:
    step: int
    op: str
    offloaded: bool
    cycles: int
    macs: int


@dataclass
class Result:
    model: str
    macs: int = 0
    cpu_cycles: int = 0
    accel_cycles: int = 0
    layers: list[Layer] = field(default_factory=list)
    tflm: str = "not installed"
    error: str = ""


def say(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def tflm_outputs(path: Path, inputs: dict) -> list[np.ndarray] | None:
    try:
        sys.path.insert(0, str(REPO))
        from tests.tflm_reference import run_tflm
    except ImportError:
        return None
    return run_tflm(path.read_bytes(), list(inputs.values()))


def build(mlf: Path, project: Path, project_type: str) -> Path:
    api.create_project(project, mlf, board=BOARD, project_type=project_type)
    api.build(project)
    return project


def bench_model(short: str, path: Path, work: Path) -> Result:
    res = Result(short)
    layers = model_layers(path)
    res.macs = sum(layer.macs for layer in layers)
    macs_by_index = {int(layer.name): layer.macs for layer in layers}

    say(f"{short}: compiling CPU-only and with --accel {ACCEL}")
    cpu = api.compile_model(path, work / "cpu.tar")
    acc = api.compile_model(path, work / "accel.tar", accel=ACCEL)
    inputs = random_inputs(cpu.metadata, seed=SEED)

    outputs = {}
    for kind, compiled in (("cpu", cpu), ("accel", acc)):
        say(f"{short}: building and running the {kind} firmware on {BOARD}")
        project = build(compiled.path, work / f"{kind}_standalone", "aot_standalone")
        [run] = api.run(project, [inputs], timeout_sec=RUN_TIMEOUT_SEC)
        outputs[kind] = run.outputs
        setattr(res, f"{kind}_cycles", run.cycles)
    for name in outputs["cpu"]:
        if not np.array_equal(outputs["cpu"][name], outputs["accel"][name]):
            raise RuntimeError(f"output {name}: the accelerated firmware differs from the CPU-only one")
    expected = tflm_outputs(path, inputs)
    if expected is not None:
        same = all(np.array_equal(got.reshape(want.shape), want) for got, want in zip(outputs["accel"].values(), expected))
        res.tflm = "bit-exact" if same else "DIFFERS"
        if not same:
            raise RuntimeError("the outputs differ from TFLite Micro's")

    say(f"{short}: per-layer profile, host-driven")
    project = build(acc.path, work / "accel_host_driven", "host_driven")
    profile = api.run_host_driven(project, inputs, timeout_sec=RUN_TIMEOUT_SEC)
    offloaded = {item["step"]: item["op"] for item in acc.metadata["accel"]["offloaded"]}
    for op in profile.operators:
        label = offloaded.get(op.step, op.func)
        macs = macs_by_index.get(int(label.split("#")[1]), 0) if op.step in offloaded else 0
        res.layers.append(Layer(op.step, label, op.step in offloaded, op.cycles, macs))
    return res


def summary_table(results: list[Result]) -> str:
    lines = ["| model | MACs | CPU-only cycles | accelerated cycles | speedup | MACs/cycle | goal | met | vs TFLM |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
    for r in results:
        if r.error:
            lines.append(f"| {r.model} | error: {r.error} | | | | | | | |")
            continue
        goal = GOALS.get(r.model)
        lines.append(
            f"| {r.model} | {r.macs:,} | {r.cpu_cycles:,} | {r.accel_cycles:,} | {r.cpu_cycles / r.accel_cycles:.1f}x "
            f"| {r.macs / r.accel_cycles:.2f} | {goal / 1e6:.1f} M | {'yes' if r.accel_cycles <= goal else 'NO'} | {r.tflm} |")
    return "\n".join(lines)


def layer_table(r: Result) -> str:
    total = sum(layer.cycles for layer in r.layers) or 1
    lines = [f"{r.model}: per layer, host-driven (sum {total:,} cycles; each call's RPC overhead included)",
             "| step | operator | where | cycles | MACs | MACs/cycle | share |",
             "| ---: | --- | --- | ---: | ---: | ---: | ---: |"]
    for layer in r.layers:
        rate = f"{layer.macs / layer.cycles:.2f}" if layer.macs else ""
        lines.append(f"| {layer.step} | {layer.op} | {'accel' if layer.offloaded else 'cpu'} | {layer.cycles:,} "
                     f"| {layer.macs:,} | {rate} | {100 * layer.cycles / total:.1f}% |")
    return "\n".join(lines)


def plot(results: list[Result], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in results if not r.error]
    fig, axes = plt.subplots(len(done), 1, figsize=(10, 2.2 + 0.22 * sum(len(r.layers) for r in done)), squeeze=False)
    for ax, r in zip(axes[:, 0], done):
        names = [f"{layer.step}: {layer.op}" for layer in r.layers]
        cycles = [layer.cycles for layer in r.layers]
        colors = ["tab:green" if layer.offloaded else "tab:red" for layer in r.layers]
        ax.barh(range(len(names)), cycles, color=colors)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("cycles (green: accelerator, red: CPU)")
        ax.set_title(f"{r.model}: {r.accel_cycles:,} cycles accelerated, {r.cpu_cycles / r.accel_cycles:.0f}x faster than CPU-only")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(mlperf_tiny.MODELS), help="comma-separated: " + ", ".join(mlperf_tiny.MODELS))
    p.add_argument("--quick", action="store_true", help="ad only")
    p.add_argument("--plot", type=Path, default=REPO / "build" / "bench" / "layers.png", help="where to save the per-layer plot")
    p.add_argument("--keep", type=Path, help="build in this directory and keep it (default: a temporary one)")
    args = p.parse_args(argv)
    names = ["ad"] if args.quick else [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in mlperf_tiny.MODELS]
    if unknown:
        p.error(f"unknown model {', '.join(unknown)}; choose from {', '.join(mlperf_tiny.MODELS)}")

    start = time.monotonic()
    results = []
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rvtvm-bench-")))
        for short in names:
            work = root / short
            work.mkdir(parents=True, exist_ok=True)
            try:
                results.append(bench_model(short, mlperf_tiny.model_path(short), work))
            except Exception as exc:  # one model's failure is reported in its row; the rest still run
                traceback.print_exc(file=sys.stderr)
                results.append(Result(short, error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    print(f"MLPerf Tiny on {BOARD}: clock cycles per inference, one input (seed {SEED})\n")
    print(summary_table(results))
    for r in results:
        if not r.error:
            print()
            print(layer_table(r))
    if any(not r.error for r in results):
        plot(results, args.plot)
        print(f"\nper-layer plot: {args.plot}")
    say(f"done in {time.monotonic() - start:.0f} s")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
