"""scripts/benchmark_rpc.py runs end to end on QEMU and prints its table: every measure, with
the server's .text against the goal. The figures themselves are the script's business."""

import re
import sys
from pathlib import Path

import pytest

from rvtvm import process

from .conftest import require_tools

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_rpc.py"


@pytest.mark.qemu
@pytest.mark.slow
def test_benchmark_prints_every_measure():
    require_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32", "make")
    result = process.run([sys.executable, str(SCRIPT)], 900)
    assert result.returncode == 0, result.stdout + result.stderr
    for measure in ("RPC calls/s", "copy host->device", "copy device->host", "per-call overhead",
                    "RPC server .text total"):
        assert re.search(rf"^{re.escape(measure)}.*\s[\d,]+\s", result.stdout, re.M), result.stdout
    assert "goal < 16,384: met" in result.stdout
