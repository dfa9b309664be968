"""The quick-start demo: compile two example models with TVM, build their firmware, boot it on
QEMU riscv32 and print the device's outputs beside host TVM's (llvm) for a few random inputs.

The projects are kept in build/demo/ for a look around (model/, src/, build/firmware.map)."""

import shutil
import sys
from pathlib import Path

import numpy as np

import rvtvm
from rvtvm import examples
from rvtvm.host_reference import run_on_host

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "demo"
MODELS = [
    ("int_mlp", "int8 MLP, integer-only (must match bit for bit)"),
    ("conv_relu_dense", "float32 conv2d + relu + maxpool + dense (must match to 1e-5)"),
]


def log(msg: str) -> None:
    print(f"  [rvtvm] {msg}", file=sys.stderr, flush=True)


def show(values: np.ndarray, n: int = 6) -> str:
    flat = values.ravel()[:n]
    if values.dtype.kind == "f":
        return " ".join(f"{v:8.4f}" for v in flat)
    return " ".join(f"{v:5d}" for v in flat)


def main() -> int:
    ok = True
    for name, what in MODELS:
        print(f"\n== {name}: {what}")
        model = examples.EXAMPLES[name]()
        work = WORK / name
        shutil.rmtree(work, ignore_errors=True)
        compiled = rvtvm.compile_model(model, work / "model.tar", log=log)
        rvtvm.create_project(work / "project", compiled.path, log=log)
        rvtvm.build(work / "project", log=log)
        inputs = [examples.random_inputs(compiled.metadata, seed=s) for s in range(3)]
        results = rvtvm.run(work / "project", inputs, log=log)
        out_name = compiled.metadata["outputs"][0]["name"]
        for i, (inp, res) in enumerate(zip(inputs, results)):
            ref = run_on_host(model, compiled.metadata, inp)[out_name]
            got = res.outputs[out_name]
            if got.dtype.kind == "f":
                err = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-6)))
                match = err <= 1e-5
                verdict = f"max rel err {err:.1e}"
            else:
                match = np.array_equal(got, ref)
                verdict = "bit-exact" if match else "MISMATCH"
            ok &= match
            print(f"  input {i}: device  {show(got)} ...")
            print(f"           host    {show(ref)} ...   {verdict}, {res.instret:,} instructions on the device")
    print("\nall outputs match host TVM" if ok else "\nSOME OUTPUTS DO NOT MATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except rvtvm.RvtvmError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        sys.exit(1)
