"""Small firmware programs on the rvtvm runtime, outside the Project API: driver tests and the
accelerator benchmark build one C file against crt0, the board port and the log, and run it on
QEMU or the SoC with the UART on stdio.

A model's firmware always goes through the Project API (project_template/); this is for programs
that exercise one piece (the UART, the accelerator driver) on both boards.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from . import soc_sim
from .errors import FirmwareError
from .process import ProcessTimeoutError, run

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME = REPO_ROOT / "riscv_runtime"
ACCEL_DRIVER = REPO_ROOT / "accel_driver"
RAM_ORIGIN = 0x80000000
SOC_RAM_BYTES = 1 << 20
RUNTIME_SOURCES = [RUNTIME / "src" / name for name in ("crt0.S", "board_qemu_virt.c", "trap.c", "log.c", "text.c")]
CFLAGS = ["--specs=picolibc.specs", "-march=rv32imc", "-mabi=ilp32", "-O2", "-g", "-ffreestanding",
          "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wcast-align",
          "-Wstrict-prototypes", "-Wmissing-prototypes"]
QEMU = ["qemu-system-riscv32", "-machine", "virt", "-cpu", "rv32", "-m", "16M", "-bios", "none",
        "-display", "none", "-monitor", "none", "-serial", "stdio", "-icount", "shift=0", "-no-reboot"]


def accel_driver(backend: str) -> tuple[list[Path], list[str]]:
    """The driver's C and defines for one backend: "mmio" (the SoC's accelerator, through the
    inline port of rvtvm/accel_port.h) or "sw" (the CPU)."""
    src = ACCEL_DRIVER / "src"
    if backend == "mmio":
        return [src / "accel_mmio.c", src / "accel_args.c"], ["RVTVM_ACCEL_PORT_MMIO"]
    if backend == "sw":
        return [src / "accel_sw.c", src / "accel_args.c"], []
    raise ValueError(f"unknown accelerator backend {backend!r}: expected mmio or sw")


def build(sources: Sequence[Path], elf: Path, *, include_dirs: Iterable[Path] = (), defines: Sequence[str] = (),
          ram_length: int = SOC_RAM_BYTES, stack_bytes: int = 16384, timeout: float = 300) -> Path:
    """Compiles and links `sources` with the runtime into `elf` (RAM at 0x8000_0000)."""
    includes = [RUNTIME / "include", ACCEL_DRIVER / "include", *include_dirs]
    cmd = ["riscv64-unknown-elf-gcc", *CFLAGS, *(f"-I{d}" for d in includes), *(f"-D{d}" for d in defines),
           "-nostartfiles", "-T", str(RUNTIME / "link.ld"), "-Wl,--gc-sections",
           f"-Wl,--defsym=__rvtvm_ram_origin={RAM_ORIGIN:#x}", f"-Wl,--defsym=__rvtvm_ram_length={ram_length:#x}",
           f"-Wl,--defsym=__rvtvm_stack_bytes={stack_bytes}", *map(str, RUNTIME_SOURCES), *map(str, sources),
           "-o", str(elf)]
    elf.parent.mkdir(parents=True, exist_ok=True)
    done = run(cmd, timeout)
    if done.returncode != 0:
        raise FirmwareError(f"building {elf.name} failed:\n{done.stderr.strip()}")
    return elf


@dataclass
class BareRun:
    returncode: int
    output: str  # the UART's text
    log: str  # the emulator's own output (the SoC's summary and exit reason)
    cycles_per_second: float | None  # simulated cycles per wall second (SoC only)


def run_on_soc(elf: Path, *, timeout_cycles: int = 0, timeout_sec: float = 600, stdin: bytes = b"",
               plusargs: Sequence[str] = ()) -> BareRun:
    binary = soc_sim.build(quiet=True)
    cmd = [str(binary), f"+elf={elf}", "+uart=stdio", f"+timeout={timeout_cycles}", *plusargs]
    done = _run(cmd, timeout_sec, stdin)
    rate = re.search(r"SOC exit=-?\d+ cycles=\d+ seconds=\S+ cycles_per_second=(\d+)", done.stderr)
    return BareRun(done.returncode, done.stdout, done.stderr, float(rate.group(1)) if rate else None)


def run_on_qemu(elf: Path, *, timeout_sec: float = 600, stdin: bytes = b"") -> BareRun:
    done = _run([*QEMU, "-kernel", str(elf)], timeout_sec, stdin)
    return BareRun(done.returncode, done.stdout, done.stderr, None)


def _run(cmd: list[str], timeout_sec: float, stdin: bytes) -> subprocess.CompletedProcess:
    try:
        return run(cmd, timeout_sec, input=stdin)
    except ProcessTimeoutError as exc:
        raise FirmwareError(f"{Path(cmd[0]).name} did not finish within {timeout_sec:g} s (killed)") from exc
