"""End to end on QEMU riscv32: compile, generate, build, boot, run several inputs through one
boot, and compare with host TVM (llvm): bit-exact for integer models, 1e-5 relative for float."""

import re

import numpy as np
import pytest

import rvtvm
from rvtvm import examples
from rvtvm.compiler import read_metadata
from rvtvm.host_reference import run_on_host

from .conftest import require_tools

pytestmark = pytest.mark.qemu

N_INPUTS = 3


def _compile_and_build(model, tmp_path):
    compiled = rvtvm.compile_model(model, tmp_path / "model.tar")
    project = rvtvm.create_project(tmp_path / "project", compiled.path, board="qemu_riscv32")
    rvtvm.build(project)
    return compiled, project


@pytest.mark.parametrize(
    "name, exact",
    [("int_mlp", True), ("conv_relu_dense", False), ("onnx_cnn", False)],
)
def test_model_matches_host_tvm(name, exact, tmp_path):
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    model = examples.write_onnx_cnn(tmp_path / "cnn.onnx") if name == "onnx_cnn" else examples.EXAMPLES[name]()
    compiled, project = _compile_and_build(model, tmp_path)
    inputs = [examples.random_inputs(compiled.metadata, seed=s) for s in range(N_INPUTS)]

    # The first input again at the end: same program, same data, so the same instret.
    results = rvtvm.run(project, inputs + inputs[:1])
    assert results[-1].instret == results[0].instret
    for key in results[0].outputs:
        np.testing.assert_array_equal(results[-1].outputs[key], results[0].outputs[key])
    results = results[:N_INPUTS]

    for inp, res in zip(inputs, results):
        ref = run_on_host(model, compiled.metadata, inp)
        assert list(res.outputs) == list(ref)
        for key in ref:
            got, want = res.outputs[key], ref[key]
            assert got.dtype == want.dtype and got.shape == want.shape
            if exact:
                np.testing.assert_array_equal(got, want)
            else:
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert res.instret > 1000 and res.cycles > 0
    # Different inputs give different outputs: the firmware really reads each new input.
    first = results[0].outputs
    assert any(not np.array_equal(first[k], results[1].outputs[k]) for k in first)


def test_cli_end_to_end(tmp_path, run_cli):
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    onnx_path = examples.write_onnx_cnn(tmp_path / "cnn.onnx")
    mlf, proj = tmp_path / "model.tar", tmp_path / "proj"
    assert run_cli("compile", onnx_path, "-o", mlf).returncode == 0
    assert run_cli("project", "create", proj, "--mlf", mlf, "--board", "qemu_riscv32").returncode == 0
    assert run_cli("project", "build", proj).returncode == 0
    flashed = run_cli("project", "flash", proj)
    assert flashed.returncode == 0 and "answered with model 'default'" in flashed.stdout

    x = np.random.default_rng(7).standard_normal((1, 1, 8, 8)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "out.npz"
    ran = run_cli("run", proj, "--input", f"input={tmp_path / 'x.npy'}", "--output", out)
    assert ran.returncode == 0, ran.stderr
    assert "instret:" in ran.stdout and "scores" in ran.stdout
    metadata = read_metadata(mlf)
    np.testing.assert_allclose(np.load(out)["scores"], run_on_host(onnx_path, metadata, {"input": x})["scores"], rtol=1e-5, atol=1e-6)

    # The one-shot form: model in, outputs out, everything in a temporary directory.
    oneshot = run_cli("run", onnx_path, "--board", "qemu_riscv32", "--input", f"input={tmp_path / 'x.npy'}", "--output", tmp_path / "out2.npz")
    assert oneshot.returncode == 0, oneshot.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "out2.npz")["scores"], np.load(out)["scores"])


def test_workspace_size_option_reserves_the_general_pool(tmp_path):
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    from rvtvm import process

    # conv_relu_dense has operator scratch, so the workspace code (and the pool) is linked in.
    compiled = rvtvm.compile_model(examples.conv_relu_dense(), tmp_path / "model.tar")
    project = rvtvm.create_project(tmp_path / "project", compiled.path, options={"workspace_size_bytes": 16384})
    rvtvm.build(project)
    nm = process.run(["riscv64-unknown-elf-nm", "-S", str(project / "build" / "firmware.elf")], 60)
    pools = [line.split() for line in nm.stdout.splitlines() if line.endswith(" general_pool")]
    assert pools and int(pools[0][1], 16) == 16384, nm.stdout
    inputs = examples.random_inputs(compiled.metadata)
    [result] = rvtvm.run(project, [inputs])
    want = run_on_host(examples.conv_relu_dense(), compiled.metadata, inputs)["output0"]
    np.testing.assert_allclose(result.outputs["output0"], want, rtol=1e-5, atol=1e-6)


def test_stack_size_option_and_reported_high_water(tmp_path):
    """stack_size_bytes sets the ELF's stack reservation; every result carries the stack's
    high-water mark, which is below the reservation and the same for the same input."""
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    from rvtvm import process

    stack = 8192
    compiled = rvtvm.compile_model(examples.conv_relu_dense(), tmp_path / "model.tar")
    project = rvtvm.create_project(tmp_path / "project", compiled.path, options={"stack_size_bytes": stack})
    rvtvm.build(project)
    elf = str(project / "build" / "firmware.elf")
    sections = process.run(["riscv64-unknown-elf-size", "-A", elf], 60).stdout
    assert re.search(rf"^\.stack_reserve\s+{stack}\s", sections, re.M), sections
    symbols = dict(reversed(line.split()[::2]) for line in process.run(["riscv64-unknown-elf-nm", elf], 60).stdout.splitlines() if "__rvtvm_stack_" in line)
    assert int(symbols["__rvtvm_stack_top"], 16) - int(symbols["__rvtvm_stack_bottom"], 16) == stack

    inputs = examples.random_inputs(compiled.metadata)
    results = rvtvm.run(project, [inputs] * 3)
    used = [r.stack_bytes for r in results]
    assert 0 < used[0] < stack, used
    assert used[1] == used[2] and used[0] <= used[1], used  # since boot: never shrinks
    np.testing.assert_array_equal(results[0].outputs["output0"], results[2].outputs["output0"])
