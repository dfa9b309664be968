"""The accelerator's register map has one source of truth (rtl/README.md's tables); the Verilog
and C headers generated from it must be current."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import gen_accel_regs  # noqa: E402


def test_generated_headers_are_current() -> None:
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "gen_accel_regs.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_tables_are_consistent() -> None:
    registers, errors, constants = gen_accel_regs.read_tables(gen_accel_regs.README.read_text())
    assert registers[0][:2] == ("ID", 0), "the ID/version register must come first"
    for names in ([name for name, _, _ in registers], [name for name, _ in errors], [name for name, _ in constants]):
        assert len(names) == len(set(names))
    assert sorted(code for _, code in errors) == list(range(1, len(errors) + 1))
    assert all(access in {"RO", "RW", "WO"} for _, _, access in registers)


def test_check_catches_a_stale_header(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "accel_regs.h"
    stale.write_text(gen_accel_regs.C_OUT.read_text().replace("0x018u", "0x01Cu", 1))
    monkeypatch.setattr(gen_accel_regs, "C_OUT", stale)
    assert gen_accel_regs.main(["--check"]) == 1
    assert gen_accel_regs.main([]) == 0
    assert stale.read_text() == (REPO / "accel_driver/include/rvtvm/accel_regs.h").read_text()
