"""`compile_model`: a model in, a Model Library Format tar out.

Model Library Format (the contract with the Project API server, which unpacks it into a
generated project's model/ folder):

    metadata.json                         see `_metadata` below
    codegen/host/src/lib0.c               the operators, as TVM's C backend emits them
    codegen/host/src/tvmgen_<name>.c      the AOT executor and the constants (rvtvm)
    codegen/host/include/tvmgen_<name>.h  the executor's API, with size macros
    runtime/include/...                   the TVM headers the C above includes
    src/relax.txt                         the lowered Relax module, for reading

metadata.json:
    {"version": 2, "model_name", "tvm_version", "target": "c",
     "inputs" / "outputs": [{"name", "c_name", "shape", "dtype", "nbytes", "quantization"}],
     "memory": {"arena_bytes", "naive_bytes", "constant_bytes", "io_bytes", "workspace_bytes"},
     "operators": [{"name", "calls", "workspace_bytes"}],
     "executor": {"steps": [{"func", "args": [ref]}], "inputs": [ref], "outputs": [ref],
                  "output_copies": [[ref from, ref to]]},
     "accel": null, or {"target", "offloaded": [{"op", "entry", "func", "step"}],
               "cpu": [{"op", "reasons": {entry: [reason]}}], "sources": [file name]}}
`quantization` is {"scale", "zero_point"} for an int8 port of a TFLite model (real value =
scale * (q - zero_point)), else null. `arena_bytes` is the planned arena (tensors and operator scratch), `naive_bytes` the same
buffers laid end to end, `workspace_bytes` the largest scratch a single operator needs.
`executor` is the AOT executor's program, for a host that runs the model one operator at a time
(host-driven): each `ref` is {"region", "offset", "shape", "dtype"}, where region 0 is the arena
(offset into it) and region 1 + i is constant i (offset 0), as host-driven firmware numbers its
memory regions (project_template/src/model_glue.h).
`accel` is the offload report of `--accel` (rvtvm/accel/partition.py); its `sources` are C files
the driver calls need, shipped as codegen/host/src/accel_<file>. A project for such a model must
link the target's driver: the Project API adds rvtvm's accel_driver/ for target "rvtvm".
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import tvm

from . import aot_codegen
from .accel.partition import partition
from .arena import Buffer, align_up, plan_arena
from .errors import TVM_ERRORS, ModelError
from .frontend import load_model
from .lower import ARENA, INPUT, OUTPUT, extract_graph, lower_relax, tir_functions

MLF_VERSION = 2  # 2: inputs and outputs have arena slots (TVMGEN_<NAME>_INPUT_<C>_OFFSET)

# TVM headers that `target="c"` output includes, relative to the wheel's include roots.
_TVM_HEADERS = [
    ("tvm", "tvm/runtime/base.h"),
    ("tvm", "tvm/runtime/c_backend_api.h"),
    ("tvm_ffi", "tvm/ffi/c_api.h"),
    ("tvm_ffi", "tvm/ffi/extra/c_env_api.h"),
    ("tvm_ffi", "dlpack/dlpack.h"),
]


@dataclass
class CompiledModel:
    path: Path
    metadata: dict
    seconds: float


def compile_model(
    model,
    output: "str | os.PathLike",
    *,
    model_name: str = "default",
    accel: str | None = None,
    log=None,
) -> CompiledModel:
    """Compile `model` (a .tflite or .onnx path, or a Relax IRModule) into a Model Library Format tar.
    With `accel`, the operators that target's registry entries accept become calls into its driver."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", model_name):
        raise ModelError(f"model name '{model_name}' is not a C identifier")
    say = log or (lambda msg: None)
    start = time.monotonic()

    say("importing model")
    loaded = load_model(model)
    mod, report = loaded.mod, None
    if accel is not None:
        say(f"partitioning for accelerator {accel}")
        try:
            mod, report = partition(mod, accel)
        except TVM_ERRORS as exc:
            raise ModelError(f"TVM could not partition the model for {accel}: {_first_line(exc)}") from exc
        say(f"{len(report.offloaded)} operators offloaded to {accel}, {len(report.cpu)} on the CPU")
    say("lowering Relax to TIR")
    try:
        lowered = lower_relax(mod)
    except TVM_ERRORS as exc:
        raise ModelError(f"TVM could not lower the model: {_first_line(exc)}") from exc
    graph = extract_graph(lowered, loaded.output_names)
    if report is not None:
        _locate_offloaded(report, graph)

    say(f"generating C for {len(graph.steps)} operator calls")
    try:
        lib_c = tvm.compile(tir_functions(lowered), target="c").mod.inspect_source()
    except TVM_ERRORS as exc:
        raise ModelError(f"TVM could not generate C: {_first_line(exc)}") from exc
    workspace = operator_workspace_bytes(lib_c)

    buffers = _lifetimes(graph, workspace)
    plan = plan_arena(buffers)

    taken: set[str] = set()
    inputs = [_port(graph, tid, loaded.input_names[i], taken) for i, tid in enumerate(graph.inputs)]
    taken = set()
    out_names = loaded.output_names or [f"output{i}" for i in range(len(graph.outputs))]
    outputs = [_port(graph, tid, out_names[i], taken) for i, tid in enumerate(graph.outputs)]

    slots = [plan.offsets[tid] for tid in graph.inputs], [plan.offsets[tid] for tid in graph.outputs]
    num_constants = sum(1 for t in graph.tensors.values() if t.kind == "const")
    header = aot_codegen.generate_header(model_name, inputs, outputs, plan.size, *slots, num_constants)
    executor = aot_codegen.generate_executor(model_name, graph, plan, workspace, inputs, outputs)
    metadata = _metadata(model_name, graph, plan, workspace, inputs, outputs, loaded.quantization)
    metadata["accel"] = report.to_json() if report is not None else None

    files = {
        "metadata.json": json.dumps(metadata, indent=2).encode(),
        "codegen/host/src/lib0.c": lib_c.encode(),
        f"codegen/host/src/tvmgen_{model_name}.c": executor.encode(),
        f"codegen/host/include/tvmgen_{model_name}.h": header.encode(),
        "src/relax.txt": lowered.script(show_meta=False).encode(),
    }
    for source in report.sources if report is not None else []:
        try:
            files[f"codegen/host/src/accel_{Path(source).name}"] = Path(source).read_bytes()
        except OSError as exc:
            raise ModelError(f"accelerator {accel}: cannot read the driver source {source}: {exc.strerror}") from exc
    for root, rel in _TVM_HEADERS:
        files[f"runtime/include/{rel}"] = (_include_root(root) / rel).read_bytes()

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    _write_tar(output, files)
    say(f"wrote {output}")
    return CompiledModel(output, metadata, time.monotonic() - start)


def _locate_offloaded(report, graph) -> None:
    """Give each offloaded operator the executor step that calls it ("step"). The lowering keeps
    main's order, so the k-th step calling a driver function is the k-th offloaded operator."""
    funcs = {item["func"] for item in report.offloaded}
    steps = [i for i, step in enumerate(graph.steps) if step.func in funcs]
    if len(steps) != len(report.offloaded):
        raise ModelError(f"{len(report.offloaded)} operators were offloaded but {len(steps)} steps call the driver")
    for item, i in zip(report.offloaded, steps):
        item["step"] = i


def read_metadata(mlf: "str | os.PathLike") -> dict:
    """metadata.json of a Model Library Format tar."""
    try:
        with tarfile.open(mlf) as tar:
            member = tar.extractfile("metadata.json")
            return json.load(member)
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise ModelError(f"{mlf} is not a Model Library Format tar from rvtvm compile: {exc}") from exc


def operator_workspace_bytes(c_source: str) -> dict[str, int]:
    """Scratch bytes each operator asks TVMBackendAllocWorkspace for, from TVM's C output.

    Allocations inside one operator nest, so the sum (each rounded up to the runtime's
    alignment) is enough; the runtime refuses, rather than corrupts, if it ever is not."""
    needs: dict[str, int] = {}
    parts = re.split(r"^TVM_DLL int32_t __tvm_ffi_(\w+)\(void\* self_handle[^)]*\) \{$", c_source, flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        total = 0
        for call in re.findall(r"TVMBackendAllocWorkspace\(([^;]*)\);", body):
            size = re.match(r"\s*\w+,\s*\w+,\s*\(uint64_t\)(\d+)ULL,", call)
            if not size:
                raise ModelError(f"operator {name} allocates scratch of a size only known at run time")
            total += align_up(int(size.group(1)))
        needs[name] = total
    return needs


def _lifetimes(graph, workspace: dict[str, int]) -> list[Buffer]:
    """Arena tensors live from the step that writes them to the last step that reads them;
    each operator's scratch lives for its own step only. Model inputs and outputs have slots in
    the arena too (copied in before the first step, out after the last, unless the caller works
    in place): an input lives from the start to its last reader, an output from its writer to
    the end. Step n (one past the last) stands for the copies at the end."""
    end = len(graph.steps)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for tid in graph.inputs:
        first[tid] = last[tid] = 0
    for i, step in enumerate(graph.steps):
        for tid in step.args:
            if graph.tensors[tid].kind in (ARENA, INPUT, OUTPUT):
                first.setdefault(tid, i)
                last[tid] = i
    for tid in graph.outputs:
        first.setdefault(tid, end)
        last[tid] = end
    for src, _ in graph.output_copies:
        if src in first:
            last[src] = end
    buffers = [Buffer(tid, graph.tensors[tid].nbytes, first[tid], last[tid]) for tid in first]
    for i, step in enumerate(graph.steps):
        if workspace.get(step.func):
            buffers.append(Buffer(f"ws{i}", workspace[step.func], i, i))
    return buffers


def _port(graph, tid: str, name: str, taken: set[str]) -> aot_codegen.Port:
    t = graph.tensors[tid]
    return aot_codegen.Port(name, aot_codegen.c_identifier(name, taken), t.shape, t.dtype, t.nbytes)


def _metadata(name, graph, plan, workspace, inputs, outputs, quantization: dict) -> dict:
    def port(p):
        return {"name": p.name, "c_name": p.c_name, "shape": list(p.shape), "dtype": p.dtype, "nbytes": p.nbytes,
                "quantization": quantization.get(p.name)}

    calls: dict[str, int] = {}
    for step in graph.steps:
        calls[step.func] = calls.get(step.func, 0) + 1
    consts = [t for t in graph.tensors.values() if t.kind == "const"]
    return {
        "version": MLF_VERSION,
        "model_name": name,
        "tvm_version": tvm.__version__,
        "target": "c",
        "inputs": [port(p) for p in inputs],
        "outputs": [port(p) for p in outputs],
        "memory": {
            "arena_bytes": plan.size,
            "naive_bytes": plan.naive_size,
            "constant_bytes": sum(t.nbytes for t in consts),
            "io_bytes": sum(p.nbytes for p in inputs + outputs),
            "workspace_bytes": max(workspace.values(), default=0),
        },
        "operators": [{"name": f, "calls": calls[f], "workspace_bytes": workspace.get(f, 0)} for f in sorted(calls)],
        "executor": _executor_program(graph, plan),
    }


def _executor_program(graph, plan) -> dict:
    def ref(tid: str) -> dict:
        t = graph.tensors[tid]
        const = t.kind == "const"
        return {"region": 1 + t.index if const else 0, "offset": 0 if const else plan.offsets[tid],
                "shape": list(t.shape), "dtype": t.dtype}

    return {
        "steps": [{"func": step.func, "args": [ref(tid) for tid in step.args]} for step in graph.steps],
        "inputs": [ref(tid) for tid in graph.inputs],
        "outputs": [ref(tid) for tid in graph.outputs],
        "output_copies": [[ref(src), ref(dst)] for src, dst in graph.output_copies],
    }


def _include_root(package: str) -> Path:
    if package == "tvm":
        return Path(tvm.__file__).parent / "include"
    import tvm_ffi

    return Path(tvm_ffi.__file__).parent / "include"


def _write_tar(path: Path, files: dict[str, bytes]) -> None:
    tmp = path.with_name(path.name + ".partial")
    with tarfile.open(tmp, "w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0  # reproducible archives
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(path)


def _first_line(exc: Exception) -> str:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
