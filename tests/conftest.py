"""Fixtures and helpers shared by the host tests."""

import os
import shutil
import sys
import time
from pathlib import Path

import pytest


def require_tools(*tools: str) -> None:
    """Skips the calling test if a tool is missing from PATH; under CI=true, fails it."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not on PATH (run scripts/setup.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def need_tools():
    """require_tools for test modules that can't import conftest."""
    return require_tools


def qemu_pids() -> set[int]:
    """Every qemu-system-riscv32 process on the machine (orphans included, unlike descendants)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv0 = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")[0]
                state = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if argv0.endswith(b"qemu-system-riscv32") and state not in ("Z", "X"):
                pids.add(int(entry))
    return pids


@pytest.fixture(autouse=True)
def no_emulator_left_running():
    """Whatever a test does, no QEMU it started may outlive it."""
    before = qemu_pids()
    yield
    deadline = time.monotonic() + 5
    while (qemu_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    leaked = qemu_pids() - before
    assert not leaked, f"QEMU still running after the test: pids {sorted(leaked)}"


def cli_command_line(*args) -> list[str]:
    return [sys.executable, "-m", "rvtvm.cli", *map(str, args)]


@pytest.fixture
def cli_command():
    return cli_command_line


@pytest.fixture
def run_cli():
    """Runs `rvtvm ARGS...` in a child process (with a timeout) and returns its CompletedProcess."""
    from rvtvm import process

    def run(*args, env=None, timeout=600):
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
        if env:
            full_env.update(env)
        return process.run(cli_command_line(*args), timeout, env=full_env)

    return run
