"""The host package's one way to run a child process.

Every child (make, QEMU, the simulator, a Project API server) runs in a new process group with
PR_SET_PDEATHSIG, so it dies when the thread that started it dies, and the helpers here kill and
reap that whole group on every exit path: normal return, timeout, exception and Ctrl-C.

    run(cmd, timeout)        finished command, output captured; ProcessTimeoutError on timeout
    spawn(cmd, ...)          context manager around a long-lived child (a Popen)
    live_descendants(pid)    pids still running below pid, for tests and leak checks
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from rvtvm.errors import RvtvmError, ToolchainError

_PR_SET_PDEATHSIG = 1


class ProcessTimeoutError(RvtvmError):
    """A command run through run() did not finish in time (it has been killed)."""

    def __init__(self, cmd: Sequence[str], timeout: float, stdout: str, stderr: str):
        super().__init__(f"{Path(cmd[0]).name} did not finish within {timeout:g} s (killed)")
        self.cmd = list(cmd)
        self.timeout = timeout
        self.stdout = stdout
        self.stderr = stderr


def _pdeathsig_preexec(death_signal: int, parent_pid: int | None = None):
    """Returns a Popen preexec_fn that sets PR_SET_PDEATHSIG in the child (its parent is
    `parent_pid`, by default this process). libc is looked up here, in the parent, because a
    forked child of a threaded process must not dlopen."""
    parent_pid = os.getpid() if parent_pid is None else parent_pid
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        prctl = None

    def preexec() -> None:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def die_with_parent(death_signal: int) -> None:
    """PR_SET_PDEATHSIG for this process, for a child that something else started (the RPC
    bridge, started by TVM's CreatePipeClient): `death_signal` when its parent dies."""
    _pdeathsig_preexec(death_signal, os.getppid())()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM proc's group, SIGKILL it after `grace` seconds, reap proc, then SIGKILL whatever
    is left in the group and wait until it is dead. A second Ctrl-C during the grace period
    skips to SIGKILL."""
    try:
        if proc.poll() is None and grace > 0:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
    finally:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        _wait_group_dead(proc.pid)


def _wait_group_dead(pgid: int, timeout: float = 5.0) -> None:
    """SIGKILL is delivered asynchronously: the group's other members (orphans now, reaped by
    init or a subreaper) may run on for a moment. Wait until none is alive, so that a caller
    that returns has nothing of its command left running."""
    deadline = time.monotonic() + timeout
    while _group_members_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.005)


def _group_members_alive(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat_fields(int(entry))
            if info is not None and info[0] not in ("Z", "X") and int(info[2]) == pgid:
                return True
    return False


def _popen(cmd: Sequence[str], death_signal: int, **kwargs) -> subprocess.Popen:
    try:
        return subprocess.Popen(list(map(str, cmd)), start_new_session=True,
                                preexec_fn=_pdeathsig_preexec(death_signal), **kwargs)
    except FileNotFoundError:
        raise ToolchainError(f"{cmd[0]} not found; run scripts/setup.sh") from None


def run(cmd: Sequence[str], timeout: float, *, cwd: str | os.PathLike | None = None,
        env: Mapping[str, str] | None = None, input: bytes | None = None,
        ) -> subprocess.CompletedProcess:
    """Runs cmd to completion with a timeout and returns its CompletedProcess (returncode,
    stdout and stderr as text; a non-zero status is not an error here). Raises
    ProcessTimeoutError after `timeout` seconds and ToolchainError if cmd[0] doesn't exist.
    The process group is killed and reaped however this returns."""
    proc = _popen(cmd, signal.SIGKILL, cwd=cwd, env=env,
                  stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc, 0)
        stdout, stderr = proc.communicate()
        raise ProcessTimeoutError(cmd, timeout, _text(stdout), _text(stderr)) from None
    finally:
        _stop(proc, 0)
    return subprocess.CompletedProcess(list(cmd), proc.returncode, _text(stdout), _text(stderr))


@contextlib.contextmanager
def spawn(cmd: Sequence[str], *, cwd: str | os.PathLike | None = None,
          env: Mapping[str, str] | None = None, stdin=subprocess.DEVNULL, stdout=None,
          stderr=None, pass_fds: Sequence[int] = (), death_signal: int = signal.SIGKILL,
          terminate_grace: float = 2.0) -> Iterator[subprocess.Popen]:
    """Starts cmd in a new process group and yields its Popen. On leaving the block, however
    that happens, the group gets SIGTERM, then SIGKILL after terminate_grace seconds, and the
    child is reaped. death_signal is what the child gets if this thread dies first; use SIGTERM
    for a child that cleans up after itself (a Project API server stops its emulator)."""
    proc = _popen(cmd, death_signal, cwd=cwd, env=env, stdin=stdin, stdout=stdout,
                  stderr=stderr, pass_fds=tuple(pass_fds))
    try:
        yield proc
    finally:
        _stop(proc, terminate_grace)


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/pid/stat's fields after the command name: state, ppid, pgrp, ..."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    return stat[stat.rindex(")") + 2:].split()


def _ppid_and_state(pid: int) -> tuple[int, str] | None:
    fields = _stat_fields(pid)
    return None if fields is None else (int(fields[1]), fields[0])


def is_alive(pid: int) -> bool:
    """True if pid exists and is not a zombie (Linux /proc)."""
    info = _ppid_and_state(pid)
    return info is not None and info[1] not in ("Z", "X")


def live_descendants(pid: int | None = None) -> list[int]:
    """Pids of the running (non-zombie) descendants of pid (default: this process), from
    /proc. Tests use it to check that nothing a command started is left running."""
    root = os.getpid() if pid is None else pid
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _ppid_and_state(int(entry))
            if info is not None and info[1] not in ("Z", "X"):
                children.setdefault(info[0], []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return sorted(found)


def command_line(pid: int) -> list[str]:
    """pid's argv from /proc, or [] if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]
