"""The four MLPerf Tiny int8 models, bit-exact with TFLite Micro's reference kernels:
on the host (TVM llvm, 20 random inputs each), and on QEMU through the CLI (3 inputs each).

These are the full-size models, so they are marked `slow`; CI runs them too. ad01 (the
smallest) also runs in the quick tier through the one-shot `rvtvm run model.tflite`."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
import tvm
from tvm import relax

from rvtvm import mlperf_tiny
from rvtvm.frontend import load_model

from .conftest import require_tools
from .tflm_reference import random_inputs, run_tflm

MODELS = list(mlperf_tiny.MODELS.values())
HOST_INPUTS = 20
QEMU_INPUTS = 3


def test_models_are_the_published_files():
    """The copies in models/mlperf_tiny/ are byte for byte the ones its README's checksums name."""
    readme = (mlperf_tiny.models_dir() / "README.md").read_text()
    listed = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+\.tflite)$", readme, re.M))
    assert sorted(listed) == sorted(f"{stem}.tflite" for stem in MODELS)
    for name, digest in listed.items():
        assert hashlib.sha256((mlperf_tiny.models_dir() / name).read_bytes()).hexdigest() == digest, name


def model_path(name: str) -> Path:
    return mlperf_tiny.models_dir() / f"{name}.tflite"


def random_input(path: Path, seed: int) -> np.ndarray:
    [x] = random_inputs(path, np.random.default_rng(seed))
    return x


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_host_bit_exact_with_tflm(name):
    path = model_path(name)
    vm = relax.VirtualMachine(tvm.compile(load_model(path).mod, target="llvm"), tvm.cpu())
    for seed in range(HOST_INPUTS):
        x = random_input(path, seed)
        [expected] = run_tflm(path.read_bytes(), [x])
        got = vm["main"](tvm.runtime.tensor(x)).numpy()
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}, input seed {seed}")


@pytest.mark.slow
@pytest.mark.qemu
@pytest.mark.parametrize("name", MODELS)
def test_qemu_bit_exact_with_tflm(name, tmp_path, run_cli):
    """`rvtvm compile`, `project create`, `project build`, then `rvtvm run` on the project for each
    input: the same flow a user types."""
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    path = model_path(name)
    mlf, project = tmp_path / "model.tar", tmp_path / "project"
    for args in (["compile", path, "-o", mlf], ["project", "create", project, "--mlf", mlf], ["project", "build", project]):
        done = run_cli(*args)
        assert done.returncode == 0, f"rvtvm {args[0]} failed:\n{done.stderr}"
    [input_name] = load_model(path).input_names
    for seed in range(QEMU_INPUTS):
        x = random_input(path, 100 + seed)
        np.save(tmp_path / "x.npy", x)
        done = run_cli("run", project, "--input", f"{input_name}=" + str(tmp_path / "x.npy"), "--output", tmp_path / "y.npz")
        assert done.returncode == 0, done.stderr
        [expected] = run_tflm(path.read_bytes(), [x])
        with np.load(tmp_path / "y.npz") as outputs:
            [got] = [outputs[k] for k in outputs.files]
        np.testing.assert_array_equal(got.reshape(expected.shape), expected, err_msg=f"{name} on QEMU, input seed {100 + seed}")


@pytest.mark.qemu
def test_one_shot_run_of_a_tflite_model(tmp_path, run_cli):
    """`rvtvm run model.tflite --board qemu_riscv32` compiles, builds and runs in one command; with
    no --input it runs seeded random inputs and says so."""
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    path = model_path("ad01_int8")
    done = run_cli("run", path, "--board", "qemu_riscv32", "--seed", "7", "--output", tmp_path / "y.npz")
    assert done.returncode == 0, done.stderr
    assert "random inputs (seed 7)" in done.stderr
    assert "instret" in done.stdout and "stack:" in done.stdout
    assert "dequantized (scale" in done.stdout  # int8 outputs are also shown as real values

    from rvtvm.examples import random_inputs as rvtvm_random_inputs

    [name] = load_model(path).input_names
    metadata = {"inputs": [{"name": name, "shape": [1, 640], "dtype": "int8"}]}
    x = rvtvm_random_inputs(metadata, seed=7)[name]
    [expected] = run_tflm(path.read_bytes(), [x])
    with np.load(tmp_path / "y.npz") as outputs:
        [got] = [outputs[k] for k in outputs.files]
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)
