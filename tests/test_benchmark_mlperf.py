"""scripts/benchmark_mlperf.py, piece by piece: MAC counting against the models' README, TFLite
Micro's arena and outputs from the child process, the table and goals, and the device flow on an
example model (the .tflite models themselves take minutes; run the script for those)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rvtvm import mlperf_tiny

from .conftest import require_tools

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "benchmark_mlperf.py"

_spec = importlib.util.spec_from_file_location("benchmark_mlperf", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up there
_spec.loader.exec_module(bench)


def _models_dir() -> Path:
    return mlperf_tiny.models_dir()


def test_mac_counts_match_the_readme():
    models = _models_dir()
    readme = (models / "README.md").read_text()
    published = {m[1]: int(m[2].replace(",", "")) for m in re.finditer(r"^\| (\w+)\.tflite \|.*\| ([\d,]+) \|$", readme, re.M)}
    assert set(published) == set(bench.MODELS.values()), published
    for stem, macs in published.items():
        assert bench.count_macs(models / f"{stem}.tflite") == macs, stem


def test_tflm_arena_is_parsed_from_stderr():
    text = ("[RecordingMicroAllocator] Arena allocation total 24272 bytes\n"
            "[RecordingMicroAllocator] Arena allocation head 16000 bytes\n")
    assert bench.parse_tflm_arena(text) == 24272
    with pytest.raises(RuntimeError, match="no arena total in TFLite Micro's output: boom"):
        bench.parse_tflm_arena("boom\n")


def test_tflm_child_gives_arena_and_the_interpreters_outputs(tmp_path):
    from tflite_micro.python.tflite_micro import runtime

    path = _models_dir() / "ad01_int8.tflite"
    sets = bench.tflite_random_inputs(path, 2)
    assert sets[0][0].dtype == np.int8 and sets[0][0].shape == (1, 640)
    assert not np.array_equal(sets[0][0], sets[1][0])
    arena, outputs = bench.tflm_reference(path, sets, tmp_path)
    assert 0 < arena < 64 * 1024
    interpreter = runtime.Interpreter.from_file(str(path), arena_size=bench.TFLM_ARENA_SIZE)
    for arrays, outs in zip(sets, outputs):
        interpreter.set_input(arrays[0], 0)
        interpreter.invoke()
        np.testing.assert_array_equal(outs[0], interpreter.get_output(0))


def test_compare_is_bit_exact():
    ref = [[np.array([1, 2, 3], np.int8)]]
    assert bench.compare([{"y": np.array([[1, 2, 3]], np.int8)}], ref) == "yes"
    assert bench.compare([{"y": np.array([1, 2, 5], np.int8)}], ref) == "NO (max diff 2)"
    assert bench.compare([{"y": np.array([1, 2, 3], np.int32)}], ref).startswith("NO (int32")


def test_table_and_goals():
    good = bench.Row("kws", macs=1000, instret=11_000, flash=50_000, ram=20_000, arena=15_000, io=500,
                     stack=700, tflm_arena=24_272, exact="yes", times={"compile": 1.0, "build": 2.0, "run": 3.0})
    slow = bench.Row("vww", macs=1000, instret=13_000, ram=30_000, tflm_arena=24_000, exact="NO (max diff 1)")
    failed = bench.Row("ad", macs=264_192, tflm_arena=3984, error="compile: ModelError: no | here")
    lines = bench.format_table([good, slow, failed]).splitlines()
    assert len(lines) == 5
    assert lines[1].count("|") == len(bench.COLUMNS) + 1
    cells = [[c.strip() for c in line.strip("|").split(" | ")] for line in lines]
    assert all(len(row) == len(bench.COLUMNS) for i, row in enumerate(cells) if i != 1)
    row = dict(zip(bench.COLUMNS, cells[2]))
    assert row["MACs"] == "1,000" and row["instret/MAC"] == "11.00" and row["RAM/TFLM"] == "0.82"
    assert row["exact"] == "yes" and row["run s"] == "3.0" and row["error"] == ""
    row = dict(zip(bench.COLUMNS, cells[4]))
    assert row["instret"] == "—" and row["error"] == "compile: ModelError: no \\| here"
    assert bench.goal_lines([good, slow, failed]) == [
        "- kws: RAM 20,000 <= TFLM arena 24,272: met",
        "- kws: instret/MAC 11.00 <= 12: met",
        "- vww: RAM 30,000 <= TFLM arena 24,000: NOT met",
        "- vww: instret/MAC 13.00 <= 12: NOT met",
        "- ad: RAM — <= TFLM arena 3,984: unknown",
    ]


def test_a_failing_model_gets_its_row_and_a_nonzero_exit(tmp_path):
    (tmp_path / "kws_ref_model.tflite").write_bytes(b"not a flatbuffer")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--models", "kws,ad", "--models-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| kws ") or line.startswith("| ad ")]
    assert len(rows) == 2, proc.stdout
    assert "inputs: " in rows[0] and "ad01_int8.tflite not found" in rows[1], rows
    assert "Goals:" in proc.stdout and "[mlperf] kws" in proc.stderr
    bad = subprocess.run([sys.executable, str(SCRIPT), "--models", "bogus"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "unknown model 'bogus'; choose from kws, vww, resnet, ad" in bad.stderr


@pytest.mark.qemu
def test_device_flow_on_an_example_model(tmp_path):
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    keep = tmp_path / "work"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--example", "int_mlp", "--inputs", "2", "--stack", "4096", "--keep", str(keep)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [line] = [ln for ln in proc.stdout.splitlines() if ln.startswith("| int_mlp ")]
    row = dict(zip(bench.COLUMNS, (c.strip() for c in line.strip("|").split(" | "))))
    assert row["exact"] == "yes" and row["error"] == "", row
    stack = int(row["stack"].replace(",", ""))
    assert 0 < stack < 4096
    ram = int(row["RAM"].replace(",", ""))
    assert ram > int(row["arena"].replace(",", "")) + int(row["io"].replace(",", "")) + stack
    assert int(row["instret"].replace(",", "")) > 1000 and float(row["run s"]) > 0
    assert "STACK_BYTES := 4096" in (keep / "int_mlp" / "project" / "board.mk").read_text()
