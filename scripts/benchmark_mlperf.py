"""Benchmark the int8 MLPerf Tiny models on qemu_riscv32 against TFLite Micro; print one Markdown table.

For each model (models/mlperf_tiny/*.tflite): the MACs of its CONV_2D,
DEPTHWISE_CONV_2D and FULLY_CONNECTED operators, counted from the .tflite graph; compile, project
create (with --stack bytes of stack) and build; N seeded random int8 inputs through one boot of
QEMU (-icount shift=0: instret is exact); the median instret per inference and per MAC; flash
(.text + .rodata) and RAM (.data + .bss + the stack high-water mark the firmware reports); and
TFLite Micro on the same inputs, in a child process: its arena (RecordingMicroAllocator's total,
printed by its C++ code to stderr) and its outputs, which the device's must equal bit for bit.
Under the table, the goals and whether each is met. Progress goes to stderr, the table to stdout;
a model that fails gets its error in its row, the others still run, and the exit status is 1.

    .venv/bin/python scripts/benchmark_mlperf.py [--models kws,vww] [--inputs 3] [--stack 8192]
                                                 [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rvtvm import mlperf_tiny

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # `from benchmark import section_sizes`
MODELS = mlperf_tiny.MODELS  # short name -> file stem
INSTRET_PER_MAC_GOAL = 12.0
INSTRET_GOAL_MODELS = ("kws", "vww", "resnet")
SEED = 20260101
TFLM_TIMEOUT_SEC = 600
RUN_TIMEOUT_SEC = 3600  # per inference, and for the emulator's whole boot
# Large enough for every model; RecordingMicroAllocator reports what is used, not this.
TFLM_ARENA_SIZE = 16 << 20
_ARENA_RE = re.compile(r"\[RecordingMicroAllocator\] Arena allocation total (\d+) bytes")


# -- MACs ---------------------------------------------------------------------------------------


def count_macs(tflite_path: Path) -> int:
    """Multiply-accumulates of one inference: CONV_2D = output elements x kh x kw x in_channels,
    DEPTHWISE_CONV_2D = output elements x kh x kw, FULLY_CONNECTED = batch x out x in. Other
    operators (pooling, add, softmax) are not counted, as in MLPerf Tiny's figures."""
    import tflite
    from tflite.BuiltinOperator import BuiltinOperator

    model = tflite.Model.GetRootAs(tflite_path.read_bytes(), 0)
    graph = model.Subgraphs(0)

    def shape(index: int) -> list[int]:
        return [int(d) for d in graph.Tensors(index).ShapeAsNumpy()]

    macs = 0
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        opcode = model.OperatorCodes(op.OpcodeIndex())
        # Schema 3a moved codes >= 127 to builtin_code and left deprecated_builtin_code at 127;
        # older files only have deprecated_builtin_code. The larger is the real one.
        code = max(opcode.BuiltinCode(), opcode.DeprecatedBuiltinCode())
        out_elems = int(np.prod(shape(op.Outputs(0))))
        if code == BuiltinOperator.CONV_2D:  # filter [out_ch, kh, kw, in_ch]
            _, kh, kw, cin = shape(op.Inputs(1))
            macs += out_elems * kh * kw * cin
        elif code == BuiltinOperator.DEPTHWISE_CONV_2D:  # filter [1, kh, kw, out_ch]
            _, kh, kw, _ = shape(op.Inputs(1))
            macs += out_elems * kh * kw
        elif code == BuiltinOperator.FULLY_CONNECTED:  # weights [out, in]
            n_out, n_in = shape(op.Inputs(1))
            macs += (out_elems // n_out) * n_out * n_in
    return macs


# -- inputs and TFLite Micro ---------------------------------------------------------------------


def tflite_random_inputs(tflite_path: Path, count: int, seed: int = SEED) -> list[list[np.ndarray]]:
    """`count` input sets, each one array per subgraph input in order: integers over their full
    range, floats N(0, 1)."""
    import tflite

    dtypes = {tflite.TensorType.INT8: np.int8, tflite.TensorType.UINT8: np.uint8,
              tflite.TensorType.INT16: np.int16, tflite.TensorType.INT32: np.int32,
              tflite.TensorType.FLOAT32: np.float32}
    graph = tflite.Model.GetRootAs(tflite_path.read_bytes(), 0).Subgraphs(0)
    specs = []
    for i in range(graph.InputsLength()):
        tensor = graph.Tensors(graph.Inputs(i))
        specs.append(([int(d) for d in tensor.ShapeAsNumpy()], np.dtype(dtypes[tensor.Type()])))
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        arrays = []
        for shape, dtype in specs:
            if dtype.kind == "f":
                arrays.append(rng.standard_normal(shape).astype(dtype))
            else:
                info = np.iinfo(dtype)
                arrays.append(rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True))
        sets.append(arrays)
    return sets


def parse_tflm_arena(stderr: str) -> int:
    """The arena total from print_allocations()'s stderr."""
    match = _ARENA_RE.search(stderr)
    if not match:
        tail = " | ".join(stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"no arena total in TFLite Micro's output: {tail or '(empty)'}")
    return int(match.group(1))


def tflm_reference(tflite_path: Path, input_sets: list[list[np.ndarray]], work: Path) -> tuple[int, list[list[np.ndarray]]]:
    """(arena bytes, outputs per input set) from TFLite Micro, run in a child process because
    print_allocations() writes to the C++ stderr."""
    inputs_path, outputs_path = work / "tflm_inputs.npz", work / "tflm_outputs.npz"
    np.savez(inputs_path, **{f"{s}_{i}": a for s, arrays in enumerate(input_sets) for i, a in enumerate(arrays)})
    cmd = [sys.executable, str(Path(__file__).resolve()), "--tflm-child", str(tflite_path), str(inputs_path), str(outputs_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TFLM_TIMEOUT_SEC)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"TFLite Micro failed (exit {proc.returncode}): {tail}")
    arena = parse_tflm_arena(proc.stderr)
    with np.load(outputs_path) as saved:
        outputs = [[saved[f"{s}_{o}"] for o in range(int(saved["n_outputs"]))] for s in range(len(input_sets))]
    return arena, outputs


def _tflm_child(tflite_path: str, inputs_path: str, outputs_path: str) -> int:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(tflite_path, arena_size=TFLM_ARENA_SIZE)
    with np.load(inputs_path) as saved:
        keys = sorted(saved.files, key=lambda k: tuple(map(int, k.split("_"))))
        sets: dict[int, list[np.ndarray]] = {}
        for key in keys:
            sets.setdefault(int(key.split("_")[0]), []).append(saved[key])
    import tflite

    n_outputs = tflite.Model.GetRootAs(Path(tflite_path).read_bytes(), 0).Subgraphs(0).OutputsLength()
    results = {"n_outputs": np.array(n_outputs)}
    for s, arrays in sorted(sets.items()):
        for i, array in enumerate(arrays):
            interpreter.set_input(np.ascontiguousarray(array), i)
        interpreter.invoke()
        for o in range(n_outputs):
            results[f"{s}_{o}"] = np.array(interpreter.get_output(o), copy=True)
    np.savez(outputs_path, **results)
    sys.stdout.flush()
    interpreter.print_allocations()  # -> C++ stderr
    return 0


# -- one model ------------------------------------------------------------------------------------


@dataclass
class Row:
    model: str
    macs: int | None = None
    instret: int | None = None
    flash: int | None = None
    ram: int | None = None
    arena: int | None = None
    io: int | None = None
    stack: int | None = None
    tflm_arena: int | None = None
    exact: str | None = None
    times: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def instret_per_mac(self) -> float | None:
        return self.instret / self.macs if self.instret is not None and self.macs else None

    @property
    def ram_ratio(self) -> float | None:
        return self.ram / self.tflm_arena if self.ram is not None and self.tflm_arena else None


def _progress(msg: str) -> None:
    print(f"[mlperf] {msg}", file=sys.stderr, flush=True)


def _one_line(exc: BaseException, limit: int = 240) -> str:
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def compare(device: list[dict[str, np.ndarray]], reference: list[list[np.ndarray]]) -> str:
    """'yes' if every device output equals the reference's (same dtype, same values in order),
    else 'NO' with the largest difference."""
    worst = 0
    for outs, refs in zip(device, reference, strict=True):
        got = list(outs.values())
        if len(got) != len(refs):
            return f"NO ({len(got)} outputs, reference has {len(refs)})"
        for g, r in zip(got, refs):
            if g.dtype != r.dtype or g.size != r.size:
                return f"NO ({g.dtype}{list(g.shape)} vs {r.dtype}{list(r.shape)})"
            diff = np.abs(g.reshape(-1).astype(np.float64) - r.reshape(-1).astype(np.float64))
            worst = max(worst, float(diff.max()) if diff.size else 0.0)
    return "yes" if worst == 0 else f"NO (max diff {worst:g})"


def device_run(row: Row, model, work: Path, stack: int, make_inputs, reference) -> None:
    """compile, create, build and run on QEMU; fills `row` as far as it gets. `make_inputs(metadata)`
    gives the input sets (lists in input order); `reference(metadata, input_sets)` their expected
    outputs (lists in output order)."""
    import rvtvm
    from benchmark import section_sizes

    step = "compile"
    try:
        t0 = time.monotonic()
        _progress(f"{row.model}: compiling")
        compiled = rvtvm.compile_model(model, work / "model.tar")
        t1 = time.monotonic()
        row.times["compile"] = t1 - t0
        mem = compiled.metadata["memory"]
        row.arena, row.io = mem["arena_bytes"], mem["io_bytes"]

        step = "build"
        _progress(f"{row.model}: building with a {stack}-byte stack")
        project = rvtvm.create_project(work / "project", compiled.path, options={"stack_size_bytes": stack})
        rvtvm.build(project)
        t2 = time.monotonic()
        row.times["build"] = t2 - t1
        sizes = section_sizes(project / "build" / "firmware.elf")
        row.flash = sizes[".text"] + sizes[".rodata"]

        step = "reference"
        input_sets = make_inputs(compiled.metadata)
        expected = reference(compiled.metadata, input_sets)

        step = "run"
        _progress(f"{row.model}: running {len(input_sets)} inputs on QEMU")
        names = [p["name"] for p in compiled.metadata["inputs"]]
        t3 = time.monotonic()
        results = rvtvm.run(project, [dict(zip(names, arrays, strict=True)) for arrays in input_sets],
                            options={"emulator_timeout_sec": RUN_TIMEOUT_SEC}, timeout_sec=RUN_TIMEOUT_SEC)
        row.times["run"] = time.monotonic() - t3
        row.instret = int(np.median([r.instret for r in results]))
        row.stack = max(r.stack_bytes for r in results)
        row.ram = sizes[".data"] + sizes[".bss"] + row.stack
        if expected is not None:
            row.exact = compare([r.outputs for r in results], expected)
    except Exception as exc:  # one model's failure is its row's, the others still run
        row.error = f"{step}: {_one_line(exc)}"


def bench_tflite(short: str, path: Path, work: Path, n_inputs: int, stack: int) -> Row:
    row = Row(short)
    if not path.is_file():
        row.error = f"{path} not found"
        return row
    errors = []
    try:
        row.macs = count_macs(path)
    except Exception as exc:
        errors.append(f"MACs: {_one_line(exc)}")
    try:
        input_sets = tflite_random_inputs(path, n_inputs)
    except Exception as exc:  # without its inputs' shapes nothing else can run
        row.error = "; ".join(errors + [f"inputs: {_one_line(exc)}"])
        return row
    tflm_outputs = None
    try:
        _progress(f"{short}: TFLite Micro")
        row.tflm_arena, tflm_outputs = tflm_reference(path, input_sets, work)
    except Exception as exc:
        errors.append(f"TFLM: {_one_line(exc)}")

    def reference(_metadata, _sets):
        return tflm_outputs

    device_run(row, path, work, stack, lambda _metadata: input_sets, reference)
    if errors:
        row.error = "; ".join(errors + ([row.error] if row.error else []))
    return row


def bench_example(name: str, work: Path, n_inputs: int, stack: int) -> Row:
    """A model from rvtvm.examples, checked against host TVM (no MACs, no TFLite Micro): the
    device half of the flow, for testing it while no .tflite model compiles."""
    from rvtvm import examples
    from rvtvm.host_reference import run_on_host

    row = Row(name)
    model = examples.EXAMPLES[name]()

    def make_inputs(metadata):
        return [list(examples.random_inputs(metadata, seed=SEED + s).values()) for s in range(n_inputs)]

    def reference(metadata, input_sets):
        names = [p["name"] for p in metadata["inputs"]]
        return [list(run_on_host(model, metadata, dict(zip(names, arrays))).values()) for arrays in input_sets]

    device_run(row, model, work, stack, make_inputs, reference)
    return row


# -- output ---------------------------------------------------------------------------------------

COLUMNS = ("model", "MACs", "instret", "instret/MAC", "flash", "RAM", "arena", "io", "stack",
           "TFLM arena", "RAM/TFLM", "exact", "compile s", "build s", "run s", "error")
LEFT_COLUMNS = ("model", "exact", "error")


def _n(value) -> str:
    return "—" if value is None else f"{value:,}"


def _f(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_table(rows: list[Row]) -> str:
    align = ["---" if c in LEFT_COLUMNS else "---:" for c in COLUMNS]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        cells = [r.model, _n(r.macs), _n(r.instret), _f(r.instret_per_mac), _n(r.flash), _n(r.ram),
                 _n(r.arena), _n(r.io), _n(r.stack), _n(r.tflm_arena), _f(r.ram_ratio),
                 r.exact or "—", _f(r.times.get("compile"), 1), _f(r.times.get("build"), 1),
                 _f(r.times.get("run"), 1), r.error or ""]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def goal_lines(rows: list[Row]) -> list[str]:
    """Each goal, one line per model: 'met', 'NOT met' or 'unknown' (a number is missing)."""

    def verdict(ok: bool | None) -> str:
        return "unknown" if ok is None else "met" if ok else "NOT met"

    lines = []
    for r in rows:
        ok = None if r.ram is None or r.tflm_arena is None else r.ram <= r.tflm_arena
        lines.append(f"- {r.model}: RAM {_n(r.ram)} <= TFLM arena {_n(r.tflm_arena)}: {verdict(ok)}")
        if r.model in INSTRET_GOAL_MODELS:
            per_mac = r.instret_per_mac
            ok = None if per_mac is None else per_mac <= INSTRET_PER_MAC_GOAL
            lines.append(f"- {r.model}: instret/MAC {_f(per_mac)} <= {INSTRET_PER_MAC_GOAL:g}: {verdict(ok)}")
    return lines


def _select_models(spec: str | None) -> list[str]:
    if not spec:
        return list(MODELS)
    stems = {stem: short for short, stem in MODELS.items()}
    chosen = []
    for word in (w.strip() for w in spec.split(",") if w.strip()):
        short = word if word in MODELS else stems.get(word.removesuffix(".tflite"))
        if short is None:
            raise SystemExit(f"benchmark_mlperf: unknown model '{word}'; choose from {', '.join(MODELS)}")
        chosen.append(short)
    return chosen


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--tflm-child"]:
        return _tflm_child(*argv[1:4])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help=f"comma-separated subset of {','.join(MODELS)} (default: all)")
    parser.add_argument("--inputs", type=int, default=3, help="random inputs per model, through one boot (default 3)")
    parser.add_argument("--stack", type=int, default=8192, help="stack_size_bytes of each project (default 8192)")
    parser.add_argument("--keep", type=Path, help="keep each model's work files in DIR/<model> (must not exist yet)")
    parser.add_argument("--models-dir", type=Path, default=mlperf_tiny.models_dir(),
                        help="where the .tflite files are (default: the repo's models/mlperf_tiny)")
    parser.add_argument("--example", help=argparse.SUPPRESS)  # an rvtvm.examples model instead, for tests
    args = parser.parse_args(argv)
    if args.inputs < 1:
        parser.error("--inputs must be at least 1")

    names = [args.example] if args.example else _select_models(args.models)
    rows = []
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rvtvm-mlperf-")))
        for name in names:
            work = root / name
            if work.exists() and any(work.iterdir()):
                rows.append(Row(name, error=f"{work} exists and is not empty"))
                continue
            work.mkdir(parents=True, exist_ok=True)
            try:
                if args.example:
                    rows.append(bench_example(name, work, args.inputs, args.stack))
                else:
                    rows.append(bench_tflite(name, args.models_dir / f"{MODELS[name]}.tflite", work, args.inputs, args.stack))
            except Exception as exc:  # a bug here must not cost the other models their rows
                rows.append(Row(name, error=f"benchmark: {_one_line(exc)}"))
            r = rows[-1]
            if r.error:
                _progress(f"{name}: FAILED: {r.error}")
            else:  # the gist now, in case the whole run does not finish
                _progress(f"{name}: instret {_n(r.instret)} ({_f(r.instret_per_mac)}/MAC), RAM {_n(r.ram)} "
                          f"vs TFLM arena {_n(r.tflm_arena)}, exact {r.exact or '—'}")
    print(format_table(rows))
    print()
    print(f"qemu_riscv32, {args.inputs} seeded random inputs per model through one boot, stack_size_bytes "
          f"{args.stack}. instret: median per inference. flash = .text + .rodata; RAM = .data + .bss + "
          "stack high-water mark; the arena is inside .bss and holds the model's inputs and outputs (io). "
          "TFLM arena: TFLite Micro's "
          "recorded arena total on this 64-bit host. exact: device outputs equal TFLite Micro's "
          "(host TVM's for examples). Sizes in bytes, times in wall seconds.")
    print()
    print("Goals:")
    print("\n".join(goal_lines(rows)))
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
