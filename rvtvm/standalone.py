"""Run inputs through aot_standalone firmware and get outputs, cycles, instret and stack use back.

`StandaloneSession` speaks the wire protocol (rvtvm/wire.py) over a board transport: any object
with `read(n, timeout_sec) -> bytes` and `write(data, timeout_sec)`, such as the Project API
transport of a flashed project. One session serves any number of runs; new inputs never need a
rebuild.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import numpy as np

from . import wire
from .errors import FirmwareError, InputError, RvtvmError
from .wire import C

_TRAP_RE = re.compile(r"TRAP mcause=(0x[0-9a-fA-F]+) mepc=(0x[0-9a-fA-F]+) mtval=(0x[0-9a-fA-F]+)")

# RESULT payload before the outputs: status, cycles, instret, stack_bytes (wire.h).
_RESULT_HEADER = struct.Struct("<IQQI")
assert _RESULT_HEADER.size == C["RESULT_HEADER_BYTES"], "wire.h's RESULT layout changed"

# RISC-V privileged spec, mcause exception codes (interrupt bit clear).
_MCAUSE = {
    0: "instruction address misaligned",
    1: "instruction access fault",
    2: "illegal instruction",
    3: "breakpoint",
    4: "load address misaligned",
    5: "load access fault",
    6: "store address misaligned",
    7: "store access fault",
    11: "environment call from M-mode",
}


@dataclass
class RunResult:
    outputs: dict[str, np.ndarray]
    cycles: int
    instret: int
    stack_bytes: int  # the firmware's stack high-water mark since boot, measured after this run


def describe_trap(log: str) -> str | None:
    """'illegal instruction (mcause 0x2) at pc 0x80000123, mtval 0x0' from the trap line."""
    m = _TRAP_RE.search(log)
    if not m:
        return None
    cause, pc, tval = (int(x, 16) for x in m.groups())
    what = _MCAUSE.get(cause, "interrupt" if cause >> 31 else "unknown cause")
    return f"{what} (mcause 0x{cause:x}) at pc 0x{pc:08x}, mtval 0x{tval:x}"


class StandaloneSession:
    def __init__(self, transport, metadata: dict, timeout_sec: float = 60.0):
        self.transport = transport
        self.metadata = metadata
        self.timeout_sec = timeout_sec
        self.reader = wire.FrameReader(self._read)
        self._hello()

    # -- transport, with its failures turned into one readable line -------------------------
    def _read(self, n: int, timeout_sec: float) -> bytes:
        from .project import IoTimeoutError, TransportClosedError

        try:
            return self.transport.read(n, timeout_sec)
        except IoTimeoutError:
            raise TimeoutError from None
        except TransportClosedError as exc:
            raise self._died(exc) from None

    def _died(self, exc) -> FirmwareError:
        self.reader.drain()
        log = self.reader.log_text()
        status = _exit_status(exc)
        trap = describe_trap(log)
        if trap:
            return FirmwareError(f"firmware trapped: {trap}")
        tail = " | ".join(log.strip().splitlines()[-3:])
        how = f"with status {status}" if status is not None else "unexpectedly"
        reason = getattr(exc, "reason", None)
        return FirmwareError(f"the board stopped {how} during the session" + (f": {reason}" if reason else "")
                             + (f"; last output: {tail}" if tail else ""))

    def _frame(self, what: str) -> wire.Frame:
        try:
            return self.reader.read_frame(self.timeout_sec)
        except TimeoutError:
            raise FirmwareError(f"no answer from the firmware within {self.timeout_sec:g} s while waiting for {what}") from None

    def _send(self, msg_type: int, payload: bytes = b"") -> None:
        from .project import IoTimeoutError, TransportClosedError

        try:
            self.transport.write(wire.encode_frame(msg_type, payload), self.timeout_sec)
        except IoTimeoutError:
            raise FirmwareError(f"the firmware did not take input within {self.timeout_sec:g} s") from None
        except TransportClosedError as exc:
            raise self._died(exc) from None

    # -- protocol ------------------------------------------------------------------------------
    def _hello(self) -> None:
        frame = self._frame("the firmware's HELLO after boot")
        if frame.type != C["MSG_HELLO"]:
            raise FirmwareError(f"expected HELLO from the firmware, got frame type 0x{frame.type:02x}")
        version, n_in, n_out = struct.unpack_from("<III", frame.payload)
        if version != C["WIRE_VERSION"]:
            raise FirmwareError(f"firmware speaks wire protocol {version}, host speaks {C['WIRE_VERSION']}; rebuild the project")
        sizes = struct.unpack_from(f"<{n_in + n_out}I", frame.payload, 12)
        name = frame.payload[12 + 4 * (n_in + n_out) :].decode("ascii", errors="replace")
        want = [p["nbytes"] for p in self.metadata["inputs"]] + [p["nbytes"] for p in self.metadata["outputs"]]
        if list(sizes) != want or name != self.metadata["model_name"]:
            raise FirmwareError(
                f"the firmware runs model '{name}' with tensor sizes {list(sizes)}, but the project's model "
                f"'{self.metadata['model_name']}' has {want}; rebuild and flash the project"
            )

    def run(self, inputs: "dict[str, np.ndarray] | list[np.ndarray]") -> RunResult:
        payload = b"".join(a.tobytes() for a in check_inputs(self.metadata, inputs))
        self._send(C["MSG_RUN"], payload)
        frame = self._frame("the model's outputs")
        if frame.type == C["MSG_ERROR"]:
            (code,) = struct.unpack_from("<I", frame.payload)
            detail = frame.payload[4:].decode("ascii", errors="replace").strip()
            raise FirmwareError(f"the firmware failed the run: {wire.error_name(code)}" + (f" ({detail})" if detail else ""))
        if frame.type != C["MSG_RESULT"]:
            raise FirmwareError(f"expected RESULT from the firmware, got frame type 0x{frame.type:02x}")
        if len(frame.payload) < _RESULT_HEADER.size:
            raise FirmwareError(f"RESULT frame has {len(frame.payload)} bytes, expected at least {_RESULT_HEADER.size}")
        status, cycles, instret, stack_bytes = _RESULT_HEADER.unpack_from(frame.payload)
        if status != C["OK"]:
            raise FirmwareError(f"the firmware reported status {wire.error_name(status)}")
        outputs, offset = {}, _RESULT_HEADER.size
        for port in self.metadata["outputs"]:
            n = port["nbytes"]
            data = frame.payload[offset : offset + n]
            outputs[port["name"]] = np.frombuffer(data, dtype=port["dtype"]).reshape(port["shape"]).copy()
            offset += n
        if offset != len(frame.payload):
            raise FirmwareError(f"RESULT frame has {len(frame.payload)} bytes, expected {offset}")
        return RunResult(outputs, cycles, instret, stack_bytes)

    def quit(self) -> None:
        """Ask the firmware to exit through the finisher (status 0)."""
        self._send(C["MSG_QUIT"])
        frame = self._frame("BYE")
        if frame.type != C["MSG_BYE"]:
            raise FirmwareError(f"expected BYE from the firmware, got frame type 0x{frame.type:02x}")

    def log_text(self) -> str:
        return self.reader.log_text()


def check_inputs(metadata: dict, inputs) -> list[np.ndarray]:
    """The inputs in declaration order, as contiguous arrays; one clear line if any is wrong."""
    ports = metadata["inputs"]
    names = [p["name"] for p in ports]
    if isinstance(inputs, dict):
        unknown = sorted(set(inputs) - set(names))
        if unknown:
            raise InputError(f"unknown input '{unknown[0]}'; the model's inputs are: {', '.join(names)}")
        missing = [n for n in names if n not in inputs]
        if missing:
            raise InputError(f"missing input '{missing[0]}'; the model's inputs are: {', '.join(names)}")
        arrays = [inputs[n] for n in names]
    else:
        arrays = list(inputs)
        if len(arrays) != len(ports):
            raise InputError(f"the model takes {len(ports)} inputs ({', '.join(names)}), got {len(arrays)}")
    result = []
    for port, value in zip(ports, arrays):
        arr = np.asarray(value)
        if arr.dtype != np.dtype(port["dtype"]):
            raise InputError(f"input '{port['name']}' must be {port['dtype']}, got {arr.dtype}")
        if list(arr.shape) != list(port["shape"]):
            raise InputError(f"input '{port['name']}' must have shape {tuple(port['shape'])}, got {arr.shape}")
        result.append(np.ascontiguousarray(arr))
    return result


def _exit_status(exc: RvtvmError) -> int | None:
    status = getattr(exc, "exit_status", None)
    return status if isinstance(status, int) else None
