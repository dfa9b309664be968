"""The quick-start demo: compile models with TVM, build their firmware, boot it on QEMU riscv32
and print the device's outputs beside a reference for a few random inputs: TFLite Micro for the
int8 MLPerf Tiny keyword-spotting model, host TVM (llvm) for two example models. Then the first
model again: on the Verilator-simulated SoC (in clock cycles), CPU-only and with its layers
offloaded to the accelerator (--accel rvtvm), and
host-driven, its operators called one by one from the host over TVM RPC, with the device cycles
of each.

The projects are kept in build/demo/ for a look around (model/, src/, build/firmware.map)."""

import shutil
import sys
from pathlib import Path

import numpy as np

import rvtvm
from rvtvm import examples, mlperf_tiny
from rvtvm.host_reference import run_on_host

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "demo"


def tflm_reference(path: Path):
    from tflite_micro.python.tflite_micro import runtime

    def run(_metadata, inputs: dict) -> np.ndarray:
        interpreter = runtime.Interpreter.from_file(str(path))
        interpreter.set_input(next(iter(inputs.values())), 0)
        interpreter.invoke()
        return interpreter.get_output(0)

    return run


def host_tvm_reference(model):
    def run(metadata, inputs: dict) -> np.ndarray:
        return run_on_host(model, metadata, inputs)[metadata["outputs"][0]["name"]]

    return run


def demo_models():
    """(name, what, model, reference) for each demo model."""
    kws = mlperf_tiny.model_path("kws")
    yield kws.stem, "MLPerf Tiny keyword spotting, int8 TFLite (must match TFLite Micro bit for bit)", kws, tflm_reference(kws)
    for name, what in [
        ("int_mlp", "int8 MLP, integer-only (must match host TVM bit for bit)"),
        ("conv_relu_dense", "float32 conv2d + relu + maxpool + dense (must match host TVM to 1e-5)"),
    ]:
        model = examples.EXAMPLES[name]()
        yield name, what, model, host_tvm_reference(model)


def log(msg: str) -> None:
    print(f"  [rvtvm] {msg}", file=sys.stderr, flush=True)


def show(values: np.ndarray) -> str:
    if values.dtype.kind == "f":
        return " ".join(f"{v:8.4f}" for v in values.ravel()[:6])
    return " ".join(f"{v:5d}" for v in values.ravel()[:12])


def host_driven(name: str, compiled, reference, inputs: dict) -> bool:
    print(f"\n== {name}, host-driven: each operator called from the host over TVM RPC")
    project = WORK / name / "host_driven"
    shutil.rmtree(project, ignore_errors=True)
    rvtvm.create_project(project, compiled.path, project_type="host_driven", log=log)
    rvtvm.build(project, log=log)
    result = rvtvm.run_host_driven(project, inputs, log=log)
    ref = reference(compiled.metadata, inputs)
    got = next(iter(result.outputs.values())).reshape(ref.shape)
    match = np.array_equal(got, ref) if got.dtype.kind != "f" else np.allclose(got, ref, rtol=1e-5)
    print(result.profile_table())
    print(f"  outputs {'match the reference' if match else 'DO NOT MATCH the reference'}")
    return bool(match)


def on_the_soc(name: str, model, compiled, reference, inputs: dict) -> bool:
    """The model on the SoC twice: CPU-only, then with its layers offloaded to the accelerator."""
    print(f"\n== {name}, on the Verilator SoC: PicoRV32 + rvtvm's accelerator in RTL, cycle-accurate")
    accelerated = rvtvm.compile_model(model, WORK / name / "model_accel.tar", accel="rvtvm", log=log)
    report = accelerated.metadata["accel"]
    print(f"  --accel rvtvm: {len(report['offloaded'])} operators offloaded, on the CPU: "
          + (", ".join(item["op"] for item in report["cpu"]) or "none"))
    ok, cycles = True, {}
    for kind, mlf in (("CPU only", compiled), ("accelerated", accelerated)):
        project = WORK / name / f"verilator_soc_{'cpu' if kind == 'CPU only' else 'accel'}"
        shutil.rmtree(project, ignore_errors=True)
        rvtvm.create_project(project, mlf.path, board="verilator_soc", log=log)
        rvtvm.build(project, log=log)
        [res] = rvtvm.run(project, [inputs], timeout_sec=600, log=log)
        ref = reference(mlf.metadata, inputs)
        got = next(iter(res.outputs.values())).reshape(ref.shape)
        match = np.array_equal(got, ref) if got.dtype.kind != "f" else np.allclose(got, ref, rtol=1e-5)
        print(f"  {kind + ':':<12} device {show(got)} ...   {'bit-exact' if match else 'MISMATCH'}, "
              f"{res.cycles:,} clock cycles, {res.instret:,} instructions")
        ok &= bool(match)
        cycles[kind] = res.cycles
    print(f"  speedup {cycles['CPU only'] / cycles['accelerated']:.0f}x; per layer and all four MLPerf Tiny models: scripts/bench")
    return ok


def main() -> int:
    ok = True
    first = None
    for name, what, model, reference in demo_models():
        print(f"\n== {name}: {what}")
        work = WORK / name
        shutil.rmtree(work, ignore_errors=True)
        compiled = rvtvm.compile_model(model, work / "model.tar", log=log)
        rvtvm.create_project(work / "project", compiled.path, log=log)
        rvtvm.build(work / "project", log=log)
        inputs = [examples.random_inputs(compiled.metadata, seed=s) for s in range(3)]
        results = rvtvm.run(work / "project", inputs, log=log)
        out_name = compiled.metadata["outputs"][0]["name"]
        for i, (inp, res) in enumerate(zip(inputs, results)):
            ref = reference(compiled.metadata, inp)
            got = res.outputs[out_name].reshape(ref.shape)
            if got.dtype.kind == "f":
                err = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-6)))
                match = err <= 1e-5
                verdict = f"max rel err {err:.1e}"
            else:
                match = np.array_equal(got, ref)
                verdict = "bit-exact" if match else "MISMATCH"
            ok &= match
            print(f"  input {i}: device  {show(got)} ...")
            print(f"           ref     {show(ref)} ...   {verdict}, {res.instret:,} instructions on the device")
        first = first or (name, model, compiled, reference, inputs[0])
    if first is not None:
        name, model, compiled, reference, inputs = first
        ok &= on_the_soc(name, model, compiled, reference, inputs)
        ok &= host_driven(name, compiled, reference, inputs)
    print("\nall outputs match their references" if ok else "\nSOME OUTPUTS DO NOT MATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except rvtvm.RvtvmError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        sys.exit(1)
