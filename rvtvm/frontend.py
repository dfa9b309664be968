"""Read a model into a Relax IRModule: an IRModule given from Python, an ONNX file, or an int8
TFLite file (rvtvm.tflite, bit-exact with TFLite Micro)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import tvm

from .errors import ModelError


@dataclass
class LoadedModel:
    mod: tvm.IRModule
    input_names: list[str]
    output_names: list[str] | None  # None: the frontend does not name outputs
    # Port name -> {"scale", "zero_point"} for quantized inputs and outputs (TFLite models).
    quantization: dict[str, dict] = field(default_factory=dict)


def load_model(model: "str | os.PathLike | tvm.IRModule") -> LoadedModel:
    if isinstance(model, tvm.IRModule):
        return _from_relax(model)
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return _from_onnx(path)
    if suffix == ".tflite":
        from .tflite.importer import from_tflite

        imported = from_tflite(path)
        return LoadedModel(imported.mod, imported.input_names, imported.output_names, imported.quantization)
    raise ModelError(f"unknown model format '{suffix}' for {path}; rvtvm reads .tflite and .onnx files or a Relax IRModule")


def _from_relax(mod: tvm.IRModule) -> LoadedModel:
    if "main" not in [gv.name_hint for gv in mod.get_global_vars()]:
        raise ModelError("the Relax IRModule has no 'main' function")
    main = mod["main"]
    if not isinstance(main, tvm.relax.Function):
        raise ModelError("the IRModule's 'main' is not a Relax function")
    return LoadedModel(mod, [p.name for p in main.params], None)


def _from_onnx(path: Path) -> LoadedModel:
    import onnx
    from tvm.relax.frontend.onnx import from_onnx

    try:
        proto = onnx.load(str(path))
        onnx.checker.check_model(proto)
    except Exception as exc:  # onnx raises several unrelated types for a bad file
        raise ModelError(f"{path} is not a valid ONNX model: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc

    known = {op.lower() for op in _onnx_converters()}
    missing = sorted({n.op_type for n in proto.graph.node if n.op_type.lower() not in known})
    if missing:
        raise ModelError(f"unsupported operator in {path.name}: {', '.join(missing)} (TVM's ONNX frontend has no converter)")

    initializers = {i.name for i in proto.graph.initializer}
    inputs = [i.name for i in proto.graph.input if i.name not in initializers]
    outputs = [o.name for o in proto.graph.output]
    try:
        mod = from_onnx(proto, keep_params_in_input=False)
    except Exception as exc:
        raise ModelError(f"TVM could not import {path.name}: {str(exc).strip().splitlines()[-1]}") from exc
    return LoadedModel(mod, inputs, outputs)


def _onnx_converters() -> list[str]:
    from tvm.relax.frontend.onnx import onnx_frontend

    return list(onnx_frontend._get_convert_map().keys())
