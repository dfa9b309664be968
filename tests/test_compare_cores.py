"""scripts/compare_cores.py, the measurement behind rtl/README.md's choice of core, keeps working:
it builds the bench tops, checks every region against the host build and prints its table."""

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require_tools

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.verilator
def test_compare_cores_prints_the_table():
    require_tools("riscv64-unknown-elf-gcc", "gcc", "g++", "perl")
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "compare_cores.py"), "--runs", "1",
                           "--cores", "picorv32,vexriscv_lite"], capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| PicoRV32 (SoC config) | RV32IMC |" in done.stdout
    assert "| VexRiscv_Lite" in done.stdout
