"""Compare the RISC-V cores PyPI's pythondata packages ship, under Verilator, and print one table.

One rv32im program (rtl/core_compare/bench.c) runs on PicoRV32 and on VexRiscv variants, each in
a bench top with a zero-wait-state RAM (rtl/core_compare/*_bench_top.v) and one C++ harness
(bench_main.cpp). The harness counts cycles and retired instructions between the program's
region markers; this script checks every region's checksum against the same C code built for the
host and every region's instruction count across cores (same instruction stream), then prints
CPI on general code, cycles per int8 MAC, Verilator simulation speed and build time.

Models, the program and the host reference are built into build/core_compare/ and rebuilt only
when a hash of their inputs changes (sources, flags, parameters, tool versions).

    .venv/bin/python scripts/compare_cores.py [--runs N] [--cores picorv32,vexriscv_full,...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from rvtvm.errors import RvtvmError, ToolchainError
from rvtvm.process import ProcessTimeoutError, run
from rvtvm.verilator import verilator_env, verilator_root

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "rtl" / "core_compare"
OUT = REPO / "build" / "core_compare"

CROSS_CC = "riscv64-unknown-elf-gcc"
WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes"]
CROSS_FLAGS = ["-march=rv32im", "-mabi=ilp32", "-O2", "-ffreestanding", "-nostdlib", "-nostartfiles", *WARNINGS,
               "-Wl,--no-warn-rwx-segments"]
HOST_CC = "gcc"
VERILATOR_FLAGS = ["--cc", "--exe", "--build", "-j", "2", "-O3", "--x-assign", "fast", "--x-initial", "fast",
                   "--noassert"]
CXX_FLAGS = "-O2"
BUILD_TIMEOUT_S = 1200
SIM_TIMEOUT_S = 300
SIM_TIMEOUT_CYCLES = 200_000_000

GENERAL_REGIONS = ("crc32", "isort", "divide")
DOT_REGION = "dot"


@dataclass(frozen=True)
class MemoryMap:
    """Where the program is linked and the top decodes RAM and the two devices."""
    name: str
    ram_base: int
    ram_bytes: int
    mark_addr: int
    finish_addr: int

    def describe(self) -> str:
        return (f"RAM 0x{self.ram_base:08X} ({self.ram_bytes // 1024} KiB), marker 0x{self.mark_addr:08X}, "
                f"finisher 0x{self.finish_addr:08X}")


# Devices above 0x8000_0000 and RAM below it: VexRiscv's data cache treats addresses with bit 31
# set as I/O. QEMU virt's addresses with 0xF000_0000 OR'ed in, RAM where LiteX puts main RAM.
BENCH_MAP = MemoryMap("bench", 0x4000_0000, 256 * 1024, 0xF020_0000, 0xF010_0000)
# QEMU virt's map, which the rvtvm SoC keeps: on VexRiscv, data in RAM is then uncached.
QEMU_VIRT_MAP = MemoryMap("qemu-virt", 0x8000_0000, 256 * 1024, 0x0020_0000, 0x0010_0000)


@dataclass(frozen=True)
class Core:
    key: str          # build directory and --cores name
    label: str        # first column of the table
    top: str          # bench top module (rtl/core_compare/<top>.v)
    verilog: str      # the core's file inside its pythondata package
    package: str      # the pythondata distribution
    memory: MemoryMap

    def verilog_path(self) -> Path:
        try:
            module = __import__(self.package.replace("-", "_"))
        except ImportError:
            raise ToolchainError(f"the Python package {self.package} is not installed (pip install {self.package})") from None
        return Path(module.data_location) / self.verilog


CORES = [
    Core("picorv32", "PicoRV32 (SoC config)", "picorv32_bench_top", "picorv32.v", "pythondata-cpu-picorv32",
         BENCH_MAP),
    Core("vexriscv_lite", "VexRiscv_Lite (I$ 2K, no D$)", "vexriscv_bench_top", "VexRiscv_Lite.v",
         "pythondata-cpu-vexriscv", BENCH_MAP),
    Core("vexriscv_full", "VexRiscv_Full (I$/D$ 4K)", "vexriscv_bench_top", "VexRiscv_Full.v",
         "pythondata-cpu-vexriscv", BENCH_MAP),
    Core("vexriscv_imac", "VexRiscv_IMAC (I$/D$ 4K)", "vexriscv_bench_top", "VexRiscv_IMAC.v",
         "pythondata-cpu-vexriscv", BENCH_MAP),
    Core("vexriscv_full_qemu_map", "VexRiscv_Full at QEMU virt map", "vexriscv_bench_top", "VexRiscv_Full.v",
         "pythondata-cpu-vexriscv", QEMU_VIRT_MAP),
]


class CompareError(RvtvmError):
    """A build, a run or a cross-check failed."""


# ---------------------------------------------------------------- tools and caching


def require_tools(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise ToolchainError(f"{tool} not found on PATH (run scripts/setup.sh)")


def tool_version(cmd: list[str]) -> str:
    result = run(cmd, 60)
    return (result.stdout or result.stderr).splitlines()[0] if result.returncode == 0 else "?"


def checked(cmd: list, timeout: float, what: str, **kwargs) -> subprocess.CompletedProcess:
    """Runs cmd; raises CompareError with the tail of its output if it fails or times out."""
    try:
        result = run([str(c) for c in cmd], timeout, **kwargs)
    except ProcessTimeoutError:
        raise CompareError(f"{what} did not finish within {timeout} s (killed)") from None
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise CompareError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result


def input_hash(files: list[Path], *extra: object) -> str:
    digest = hashlib.sha256(repr(extra).encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached_build(directory: Path, key: str, build) -> dict:
    """Returns directory's build.json if it was built from `key`; otherwise calls build(staging)
    in a fresh staging directory, which replaces `directory` only once the build succeeded.
    build() may return the seconds to record; by default its whole wall time is."""
    stamp = directory / "build.json"
    if stamp.exists():
        info = json.loads(stamp.read_text())
        if info.get("key") == key:
            return {**info, "cached": True}
    staging = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        start = time.monotonic()
        seconds = build(staging)
        info = {"key": key, "seconds": round(seconds if seconds is not None else time.monotonic() - start, 1)}
        (staging / "build.json").write_text(json.dumps(info))
        shutil.rmtree(directory, ignore_errors=True)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {**info, "cached": False}


# ---------------------------------------------------------------- program and host reference


def program_sources() -> list[Path]:
    return [SRC / "crt0.S", SRC / "bench.c", SRC / "bench.ld"]


def build_program(memory: MemoryMap, gcc_version: str) -> Path:
    """bench.elf linked for `memory`."""
    directory = OUT / "program" / memory.name
    defines = [f"-DMARK_ADDR=0x{memory.mark_addr:08X}", f"-DFINISH_ADDR=0x{memory.finish_addr:08X}"]
    link = [f"-Wl,--defsym=__ram_base=0x{memory.ram_base:08X},--defsym=__ram_size=0x{memory.ram_bytes:X}"]
    cmd = [CROSS_CC, *CROSS_FLAGS, *defines, "-T", SRC / "bench.ld", *link, SRC / "crt0.S", SRC / "bench.c"]
    key = input_hash(program_sources(), [str(c) for c in cmd], gcc_version)

    def build(staging: Path) -> None:
        checked([*cmd, "-o", staging / "bench.elf"], 120, f"building bench.elf for the {memory.name} map")

    cached_build(directory, key, build)
    return directory / "bench.elf"


def host_reference() -> dict[str, str]:
    """Checksums of bench.c's workloads computed on the host: what every core must print."""
    directory = OUT / "program" / "host"
    cmd = [HOST_CC, "-O2", *WARNINGS, "-DBENCH_HOST", SRC / "bench.c"]
    key = input_hash([SRC / "bench.c"], [str(c) for c in cmd], tool_version([HOST_CC, "--version"]))

    def build(staging: Path) -> None:
        checked([*cmd, "-o", staging / "bench_host"], 120, "building bench.c for the host")

    cached_build(directory, key, build)
    output = checked([directory / "bench_host"], 60, "the host build of bench.c").stdout
    return {fields["region"]: fields["checksum"] for fields in bench_lines(output) if "region" in fields}


# ---------------------------------------------------------------- models


def top_parameters(memory: MemoryMap) -> dict[str, str]:
    return {"RAM_BASE": f"32'h{memory.ram_base:08X}", "RAM_BYTES": f"32'h{memory.ram_bytes:08X}",
            "MARK_ADDR": f"32'h{memory.mark_addr:08X}", "FINISH_ADDR": f"32'h{memory.finish_addr:08X}"}


def model_inputs(core: Core) -> list[Path]:
    return [SRC / "cores.vlt", core.verilog_path(), SRC / f"{core.top}.v"]


def build_model(core: Core, verilator_version: str, cxx_version: str) -> tuple[Path, dict]:
    """Lints the top with -Wall, then Verilates top + core + harness into one executable."""
    verilator = str(verilator_root() / "bin" / "verilator")
    params = [f"-G{name}={value}" for name, value in top_parameters(core.memory).items()]
    sources = model_inputs(core)
    lint_cmd = [verilator, "--lint-only", "-Wall", "--top-module", core.top, *params, *sources]
    build_flags = [*VERILATOR_FLAGS, "--top-module", core.top, *params, "-CFLAGS",
                   f"{CXX_FLAGS} -DBENCH_TOP={core.top}", "-o", "bench"]
    key = input_hash([*sources, SRC / "bench_main.cpp"], lint_cmd[1:], build_flags, verilator_version,
                     cxx_version)

    def build(staging: Path) -> float:
        lint = checked(lint_cmd, 300, f"verilator --lint-only -Wall of {core.top} with {core.verilog}",
                       env=verilator_env())
        if "%Warning" in lint.stdout + lint.stderr:
            raise CompareError(f"lint of {core.top} is not clean:\n{lint.stdout}{lint.stderr}")
        print(f"[build] Verilating {core.key} ({core.verilog} + {core.top}.v)", file=sys.stderr, flush=True)
        start = time.monotonic()
        checked([verilator, *build_flags, "--Mdir", staging / "obj", *sources, SRC / "bench_main.cpp"],
                BUILD_TIMEOUT_S, f"Verilating {core.key}", env=verilator_env())
        return time.monotonic() - start

    info = cached_build(OUT / core.key, key, build)
    return OUT / core.key / "obj" / "bench", info


# ---------------------------------------------------------------- running


def bench_lines(output: str) -> list[dict[str, str]]:
    """`BENCH k=v k=v ...` lines as dicts; `BENCH sim ...` gets the key "sim"."""
    lines = []
    for line in output.splitlines():
        if line.startswith("BENCH "):
            fields = dict(part.split("=", 1) if "=" in part else (part, "") for part in line.split()[1:])
            lines.append(fields)
    return lines


@dataclass
class Result:
    regions: dict[str, tuple[int, int, str]]   # name -> (cycles, instret, checksum)
    sim_cycles: int
    sim_instret: int
    rates: list[float]                         # simulated cycles/s of each run

    def cpi(self, names) -> float:
        return sum(self.regions[n][0] for n in names) / sum(self.regions[n][1] for n in names)


def run_once(core: Core, binary: Path, elf: Path) -> Result:
    """One simulation; its BENCH lines parsed."""
    try:
        proc = run([str(binary), f"+elf={elf}", f"+timeout={SIM_TIMEOUT_CYCLES}"], SIM_TIMEOUT_S)
    except ProcessTimeoutError:
        raise CompareError(f"{core.key}: the simulation ran over {SIM_TIMEOUT_S} s (killed)") from None
    if proc.returncode != 0:
        error = next((l for l in proc.stderr.splitlines() if l.startswith("BENCH error=")), proc.stderr.strip())
        raise CompareError(f"{core.key}: simulation failed (exit {proc.returncode}): {error}")
    lines = bench_lines(proc.stdout)
    regions = {f["region"]: (int(f["cycles"]), int(f["instret"]), f["checksum"]) for f in lines if "region" in f}
    sim = next((f for f in lines if "sim" in f), None)
    if sim is None:
        raise CompareError(f"{core.key}: the simulation printed no BENCH sim line")
    return Result(regions, int(sim["cycles"]), int(sim["instret"]), [float(sim["cycles_per_second"])])


def run_all(cores: list[Core], binaries: dict[str, Path], elves: dict[MemoryMap, Path], runs: int) -> dict[str, Result]:
    """Runs every model `runs` times, round robin, so that a slow spell of the machine does not
    fall on one core's runs only. Every run of a model must count the same cycles and instructions
    (the models are deterministic)."""
    results: dict[str, Result] = {}
    for index in range(runs):
        print(f"[run] {index + 1}/{runs}: {', '.join(core.key for core in cores)}", file=sys.stderr, flush=True)
        for core in cores:
            this = run_once(core, binaries[core.key], elves[core.memory])
            first = results.setdefault(core.key, this)
            if first is this:
                continue
            if (this.regions, this.sim_cycles) != (first.regions, first.sim_cycles):
                raise CompareError(f"{core.key}: run {index + 1} counted differently from run 1 (nondeterministic model?)")
            first.rates += this.rates
    return results


def cross_check(results: dict[str, Result], reference: dict[str, str]) -> None:
    """Every core printed the host's checksums and retired the same instructions in each region."""
    for key, result in results.items():
        if set(result.regions) != set(reference):
            raise CompareError(f"{key}: regions {sorted(result.regions)}, expected {sorted(reference)}")
        for name, (_, _, checksum) in result.regions.items():
            if checksum != reference[name]:
                raise CompareError(f"{key}: region {name} checksum {checksum}, the host computes {reference[name]}")
    first_key, first = next(iter(results.items()))
    for key, result in results.items():
        for name in reference:
            if result.regions[name][1] != first.regions[name][1]:
                raise CompareError(f"region {name}: {key} retired {result.regions[name][1]} instructions, "
                                   f"{first_key} {first.regions[name][1]}: the instruction streams differ")


# ---------------------------------------------------------------- describing the cores


def picorv32_config(top_file: Path) -> tuple[str, str]:
    """(ISA, parameters) from the picorv32 instance in the bench top."""
    text = top_file.read_text()
    block = text[text.index("picorv32 #("):text.index(") u_cpu")]
    params = dict(re.findall(r"\.(\w+)\s*\(([^)]*)\)", block))
    isa = "RV32I" + ("M" if params.get("ENABLE_FAST_MUL") == "1" or params.get("ENABLE_MUL") == "1" else "")
    isa += "C" if params.get("COMPRESSED_ISA") == "1" else ""
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "PROGADDR_RESET")
    return isa, shown + " (others default: no IRQ, no PCPI, CATCH_MISALIGN=1, CATCH_ILLINSN=1)"


def vexriscv_config(core: Core) -> tuple[str, str]:
    """(ISA, GenCoreDefault arguments) from the pythondata package's Makefile rule for the variant."""
    makefile = core.verilog_path().parent / "Makefile"
    match = re.search(rf"^{re.escape(core.verilog)}:.*\n\s*sbt compile \"runMain vexriscv\.GenCoreDefault ?(.*)\"",
                      makefile.read_text(), re.M)
    if not match:
        return "?", "(generator arguments not found in the package's Makefile)"
    args = re.sub(r"\s*--outputFile \S+", "", match.group(1)).strip()
    isa = "RV32I"
    isa += "" if "--mulDiv false" in args else "M"
    isa += "A" if "--atomics true" in args else ""
    isa += "C" if "--compressedGen true" in args else ""
    return isa, f"GenCoreDefault {args or '(defaults)'}"


def describe(core: Core) -> tuple[str, str]:
    if core.top == "picorv32_bench_top":
        isa, config = picorv32_config(SRC / f"{core.top}.v")
        bus = "native memory interface, mem_ready = mem_valid"
    else:
        isa, config = vexriscv_config(core)
        bus = "Wishbone iBus and dBus, ACK = CYC & STB"
    version = metadata.version(core.package)
    return isa, f"{core.verilog} ({core.package} {version}): {config}; {bus}; {core.memory.describe()}"


# ---------------------------------------------------------------- report


def millions(value: float) -> str:
    return f"{value / 1e6:.2f} M"


def machine() -> str:
    """CPU model and count, for the simulation-speed figures."""
    model = "unknown CPU"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} CPUs"


def dot_macs() -> int:
    """DOT_N, the length of bench.c's dot product."""
    match = re.search(r"^#define DOT_N\s+(\d+)", (SRC / "bench.c").read_text(), re.M)
    if not match:
        raise CompareError("bench.c has no #define DOT_N")
    return int(match.group(1))


def print_report(cores: list[Core], results: dict[str, Result], builds: dict[str, dict], runs: int,
                 versions: dict[str, str]) -> None:
    first = results[cores[0].key]
    macs = dot_macs()
    general_insns = sum(first.regions[n][1] for n in GENERAL_REGIONS)
    cached = any(info["cached"] for info in builds.values())
    print(f"Core comparison: `.venv/bin/python scripts/compare_cores.py` (Verilator {versions['verilator']}, "
          f"{versions['gcc']}; {machine()}).")
    print()
    print("One rv32im program, rtl/core_compare/bench.c built with -O2, runs on each core in a bench top with a "
          "zero-wait-state RAM (every bus request completes in the cycle it is issued) and no interrupts. "
          "Each workload runs once to warm the caches, then once measured: the harness counts cycles and retired "
          "instructions between the retirements of the two marker stores around it (PicoRV32: its instruction "
          "counter; VexRiscv: the writeback stage firing). Every region's checksum equals the host build of "
          "bench.c, and every region retired the same number of instructions on every core.")
    print(f"- CPI (general code): cycles / instructions over the regions crc32 + isort + divide "
          f"({general_insns:,} instructions).")
    print(f"- Cycles per MAC: cycles of the region `dot` / {macs:,} MACs. The plain C loop "
          f"`acc += (int32_t)(in[i] + input_offset) * w[i]` (int8 in and w, int32 acc) retires "
          f"{first.regions[DOT_REGION][1] / macs:.1f} instructions per MAC.")
    print(f"- Simulated cycles/s: cycles of the whole run (warm-up included) / CPU time of the harness's clock "
          f"loop (one thread); the best of {runs} runs taken round robin over the cores, since other load on the "
          f"machine only slows a run down. It is the binary that counts instructions (the harness reads the retire "
          f"and bus ports every cycle; there is no separate instrumented build). Simulated instr/s: the same for "
          f"retired instructions.")
    print("- Verilate+build time: wall time of `verilator --cc --exe --build -j 2 -O3 --x-assign fast "
          "--x-initial fast` (C++ -O2) for core + bench top + harness"
          + ("; * = measured when the cached model was built." if cached else "."))
    print()
    print("| core (config) | ISA | CPI (general code) | cycles per MAC, int8 dot product "
          "| simulated cycles/s (Verilator) | simulated instr/s | Verilate+build time (s) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for core in cores:
        result, build = results[core.key], builds[core.key]
        rate = max(result.rates)
        seconds = f"{build['seconds']:.1f}" + ("*" if build["cached"] else "")
        print(f"| {core.label} | {describe(core)[0]} | {result.cpi(GENERAL_REGIONS):.2f} "
              f"| {result.regions[DOT_REGION][0] / macs:.1f} | {millions(rate)} "
              f"| {millions(rate * result.sim_instret / result.sim_cycles)} | {seconds} |")
    print()
    print("Configurations:")
    for core in cores:
        print(f"- {core.label}: {describe(core)[1]}")
    print()
    print("Per region: cycles (CPI). `dot_alias` is `dot` with the weights a multiple of 4 KiB after the inputs, "
          "so that a direct-mapped 4 KiB data cache evicts one stream with the other.")
    print()
    print("| region | instructions | " + " | ".join(core.label for core in cores) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in cores) + " |")
    for name in first.regions:
        cells = []
        for core in cores:
            cycles, insns, _ = results[core.key].regions[name]
            cells.append(f"{cycles:,} ({cycles / insns:.2f})")
        print(f"| {name} | {first.regions[name][1]:,} | " + " | ".join(cells) + " |")
    cells = [f"{results[core.key].sim_cycles:,}" for core in cores]
    print("| whole run, cycles | | " + " | ".join(cells) + " |")
    cells = [f"{min(results[core.key].rates) / 1e6:.2f}-{max(results[core.key].rates) / 1e6:.2f} M" for core in cores]
    print(f"| simulated cycles/s, min-max of {runs} | | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="simulation runs per core; the fastest gives the simulation speed")
    parser.add_argument("--cores", default=",".join(core.key for core in CORES),
                        help="comma-separated subset of: " + ", ".join(core.key for core in CORES))
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    wanted = args.cores.split(",")
    unknown = set(wanted) - {core.key for core in CORES}
    if unknown:
        parser.error(f"unknown core(s) {', '.join(sorted(unknown))}")
    cores = [core for core in CORES if core.key in wanted]

    try:
        require_tools(CROSS_CC, HOST_CC, "g++", "make", "perl")
        verilator_root()
        versions = {
            "gcc": f"{CROSS_CC} {tool_version([CROSS_CC, '-dumpversion'])}",
            "verilator": metadata.version("verilator"),
        }
        verilator_version = f"{versions['verilator']} {verilator_root()}"
        cxx_version = tool_version(["g++", "--version"])
        reference = host_reference()
        elves = {memory: build_program(memory, versions["gcc"]) for memory in {core.memory for core in cores}}
        builds, binaries = {}, {}
        for core in cores:
            binaries[core.key], builds[core.key] = build_model(core, verilator_version, cxx_version)
        results = run_all(cores, binaries, elves, args.runs)
        cross_check(results, reference)
    except RvtvmError as exc:
        print(f"compare_cores: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("compare_cores: interrupted", file=sys.stderr)
        return 130
    print_report(cores, results, builds, args.runs, versions)
    return 0


if __name__ == "__main__":
    sys.exit(main())
