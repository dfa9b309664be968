"""The reference a device run is checked against: the same model compiled by TVM for the host
(target llvm) and run in Relax's virtual machine. It shares the frontend with the device flow
but nothing after it, so it checks our lowering, executor, runtime and firmware."""

from __future__ import annotations

import numpy as np
import tvm
import tvm_ffi
from tvm import relax

from .frontend import load_model
from .standalone import check_inputs


def run_on_host(model, metadata: dict, inputs) -> dict[str, np.ndarray]:
    loaded = load_model(model)
    with tvm.transform.PassContext(opt_level=3):
        exe = tvm.compile(loaded.mod, target="llvm")
    vm = relax.VirtualMachine(exe, tvm.cpu())
    arrays = check_inputs(metadata, inputs)
    result = vm["main"](*[tvm.runtime.tensor(a) for a in arrays])
    results = list(result) if isinstance(result, (list, tuple, tvm_ffi.Array)) else [result]
    return {port["name"]: r.numpy() for port, r in zip(metadata["outputs"], results)}
