"""Host side of the aot_standalone wire protocol (riscv_runtime/include/rvtvm/wire.h).

The constants are read from wire.h itself, which is the single source of truth for both
languages. A frame is MAGIC0 MAGIC1 | type:u8 | length:u32le | payload | crc32:u32le, with the
CRC over type, length and payload. Bytes between frames are the device's log text.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import FirmwareError

WIRE_H = Path(__file__).resolve().parent.parent / "riscv_runtime" / "include" / "rvtvm" / "wire.h"


def _read_constants(path: Path) -> dict[str, int]:
    text = path.read_text()
    return {m[1]: int(m[2], 0) for m in re.finditer(r"^#define RVTVM_(\w+) (0x[0-9A-Fa-f]+|\d+)\s*$", text, re.M)}


C = _read_constants(WIRE_H)
ERROR_NAMES = {v: k for k, v in C.items() if k.startswith("ERR_")}
MAX_LOG_BYTES = 64 * 1024
POLL_SEC = 0.25


def encode_frame(msg_type: int, payload: bytes = b"") -> bytes:
    body = struct.pack("<BI", msg_type, len(payload)) + payload
    return bytes([C["FRAME_MAGIC0"], C["FRAME_MAGIC1"]]) + body + struct.pack("<I", zlib.crc32(body))


@dataclass
class Frame:
    type: int
    payload: bytes


class FrameReader:
    """Pulls frames out of a byte stream, keeping the text between them as the device log.

    `read(n, timeout_sec)` returns 1..n bytes, raises TimeoutError when nothing arrived in time,
    or raises anything else for a transport that is gone."""

    def __init__(self, read: Callable[[int, float], bytes]):
        self._read = read
        self._buf = bytearray()
        self.log = bytearray()

    def _fill(self, deadline: float) -> None:
        # Poll in short slices: the Project API server is single-threaded, and a long read
        # would hold off a close_transport (Ctrl-C) until it timed out.
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            try:
                self._buf += self._read(65536, min(remaining, POLL_SEC))
                return
            except TimeoutError:
                continue

    def read_frame(self, timeout_sec: float) -> Frame:
        deadline = time.monotonic() + timeout_sec
        magic = bytes([C["FRAME_MAGIC0"], C["FRAME_MAGIC1"]])
        header = C["FRAME_HEADER_BYTES"]
        while True:
            start = self._buf.find(magic)
            if start < 0:
                # Keep a trailing MAGIC0: its MAGIC1 may still be on the way.
                keep = 1 if self._buf.endswith(magic[:1]) else 0
                self._log(self._buf[: len(self._buf) - keep])
                del self._buf[: len(self._buf) - keep]
                self._fill(deadline)
                continue
            self._log(self._buf[:start])
            del self._buf[:start]
            while len(self._buf) < header:
                self._fill(deadline)
            msg_type, length = struct.unpack_from("<BI", self._buf, 2)
            total = header + length + C["FRAME_TRAILER_BYTES"]
            while len(self._buf) < total:
                self._fill(deadline)
            body = bytes(self._buf[2 : header + length])
            (crc,) = struct.unpack_from("<I", self._buf, header + length)
            del self._buf[:total]
            if crc != zlib.crc32(body):
                raise FirmwareError(f"corrupt frame from the device (type 0x{msg_type:02x}, {length} bytes): CRC mismatch")
            return Frame(msg_type, body[5:])

    def drain(self) -> None:
        """Move whatever is buffered into the log (after the device has stopped)."""
        self._log(self._buf)
        self._buf.clear()

    def _log(self, data) -> None:
        self.log += data
        del self.log[: max(0, len(self.log) - MAX_LOG_BYTES)]

    def log_text(self) -> str:
        return self.log.decode("ascii", errors="replace")


def error_name(code: int) -> str:
    return ERROR_NAMES.get(code, f"0x{code:04x}")
