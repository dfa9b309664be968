"""The verilator_soc board's simulator: rtl/ Verilated into a program, built on demand and cached.

    python -m rvtvm.soc_sim +elf=FW.elf [+uart=SOCKET] [+timeout=CYCLES] [+trace=FILE.vcd] ...
    python -m rvtvm.soc_sim --build-only     build (or find in the cache) and print the path
    python -m rvtvm.soc_sim --lint           verilator --lint-only -Wall over rtl/ (the SoC)

Running builds the model if the RTL changed (rvtvm.verilator caches it by the hash of its
sources), then execs the harness (rtl/sim/soc_main.cpp, which documents every plusarg), so the
process the Project API started is the simulator itself and its exit status is the firmware's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import RvtvmError, ToolchainError
from .verilator import REPO_ROOT, build_model, lint

RTL = REPO_ROOT / "rtl"
TOP = "rvtvm_soc"
MODEL_NAME = "verilator_soc"


def picorv32_source() -> Path:
    """picorv32.v from PyPI's pythondata-cpu-picorv32, used unmodified."""
    try:
        import pythondata_cpu_picorv32
    except ImportError as exc:
        raise ToolchainError("pythondata-cpu-picorv32 is not installed: run scripts/setup.sh") from exc
    return Path(pythondata_cpu_picorv32.data_location) / "picorv32.v"


def rtl_sources() -> list[Path]:
    """Our RTL, in the order Verilator reads it."""
    return sorted((RTL / "soc").glob("*.v")) + sorted((RTL / "accel").glob("*.v"))


def waivers() -> list[Path]:
    return sorted((RTL / "soc").glob("*.vlt")) + sorted((RTL / "accel").glob("*.vlt"))


def build(quiet: bool = False) -> Path:
    """The simulator's path, Verilating it first if its sources changed."""
    return build_model(MODEL_NAME, TOP, [*waivers(), picorv32_source(), *rtl_sources()],
                       [RTL / "sim" / "soc_main.cpp"], include_dirs=[RTL / "accel"],
                       flags=["--trace"], quiet=quiet)


def lint_soc() -> str:
    return lint(TOP, [picorv32_source(), *rtl_sources()], include_dirs=[RTL / "accel"], waivers=waivers())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        if args == ["--build-only"]:
            print(build())
            return 0
        if args == ["--lint"]:
            print(lint_soc() or "lint clean")
            return 0
        if not args or any(not a.startswith("+") for a in args):
            print(__doc__.strip(), file=sys.stderr)
            return 2
        binary = build()
    except RvtvmError as exc:
        print(f"rvtvm.soc_sim: {exc}", file=sys.stderr)
        return 2
    sys.stderr.flush()
    os.execv(binary, [str(binary), *args])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
