"""Host side of the session framing (riscv_runtime/include/rvtvm/session_frame.h).

The format and the decoder rules are written down once, in session_frame.h; its RVTVM_SFRAME_*
constants are read from there. A frame is START | escaped(length:u16le | payload | crc16:u16le),
with CRC-16/CCITT-FALSE over length and payload. This decoder mirrors the C one byte for byte:
same events for the same input, in the same order.
"""

from __future__ import annotations

import binascii
import enum
from pathlib import Path

from .wire import _read_constants

SESSION_FRAME_H = (
    Path(__file__).resolve().parent.parent / "riscv_runtime" / "include" / "rvtvm" / "session_frame.h"
)

C = _read_constants(SESSION_FRAME_H)
START = C["SFRAME_START"]
ESCAPE = C["SFRAME_ESCAPE"]
ESCAPE_XOR = C["SFRAME_ESCAPE_XOR"]
MAX_PAYLOAD = C["SFRAME_MAX_PAYLOAD"]


class FrameError(enum.IntEnum):
    """A rejected frame, as the decoder reports it (values shared with the C decoder)."""

    CRC = C["SFRAME_ERR_CRC"]
    ESCAPE = C["SFRAME_ERR_ESCAPE"]
    LENGTH = C["SFRAME_ERR_LENGTH"]
    TRUNCATED = C["SFRAME_ERR_TRUNCATED"]


def crc16_ccitt(data: bytes, crc: int = C["SFRAME_CRC_INIT"]) -> int:
    """CRC-16/CCITT-FALSE, continuing from `crc`: the standard library's CRC-CCITT (polynomial
    0x1021, not reflected), with the caller's initial value."""
    return binascii.crc_hqx(data, crc)


assert C["SFRAME_CRC_POLY"] == 0x1021 and crc16_ccitt(b"123456789") == C["SFRAME_CRC_CHECK"], \
    "session_frame.h's CRC is no longer the one binascii.crc_hqx computes"


def _escape(body: bytes) -> bytes:
    out = bytearray()
    for byte in body:
        if byte in (START, ESCAPE):
            out += bytes([ESCAPE, byte ^ ESCAPE_XOR])
        else:
            out.append(byte)
    return bytes(out)


def encode(payload: bytes) -> bytes:
    """One frame carrying `payload` (at most MAX_PAYLOAD bytes)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = len(payload).to_bytes(2, "little") + bytes(payload)
    return bytes([START]) + _escape(body + crc16_ccitt(body).to_bytes(2, "little"))


Event = bytes | FrameError


class Decoder:
    """Streaming decoder. feed() returns the events of the bytes given: a delivered payload as
    bytes (only after its CRC matched), or a FrameError. Bytes skipped outside frames are counted
    in garbage_bytes, and the last `keep_skipped` of them are kept in .skipped (the device's
    log text travels there)."""

    _HUNT, _LENGTH_LOW, _LENGTH_HIGH, _PAYLOAD, _CRC_LOW, _CRC_HIGH = range(6)

    def __init__(self, capacity: int = MAX_PAYLOAD, keep_skipped: int = 0) -> None:
        self.capacity = max(0, min(capacity, MAX_PAYLOAD))
        self.garbage_bytes = 0
        self.skipped = bytearray()
        self._keep_skipped = keep_skipped
        self._begin()
        self._state = self._HUNT  # outside a frame until the first START

    def _begin(self) -> None:
        self._state = self._LENGTH_LOW
        self._escape_pending = False
        self._length = 0
        self._payload = bytearray()
        self._crc = C["SFRAME_CRC_INIT"]
        self._received_crc = 0

    def _reject(self, error: FrameError) -> FrameError:
        self._state = self._HUNT
        self._escape_pending = False
        return error

    def feed(self, data: bytes) -> list[Event]:
        events = []
        i, end = 0, len(data)
        while i < end:
            if self._state == self._PAYLOAD and not self._escape_pending:
                i = self._take_payload_run(data, i)
                if i == end:
                    break
            event = self._feed_byte(data[i])
            i += 1
            if event is not None:
                events.append(event)
        return events

    def _take_payload_run(self, data: bytes, start: int) -> int:
        """Takes payload bytes from data[start:] up to the next START or ESCAPE or the end of
        the payload, in one step (the same result as byte by byte); returns where it stopped."""
        stop = min(len(data), start + self._length - len(self._payload))
        for special in (START, ESCAPE):
            found = data.find(special, start, stop)
            if found >= 0:
                stop = found
        if stop > start:
            run = data[start:stop]
            self._payload += run
            self._crc = crc16_ccitt(run, self._crc)
            if len(self._payload) == self._length:
                self._state = self._CRC_LOW
        return stop

    def _feed_byte(self, byte: int) -> Event | None:
        if byte == START:
            truncated = self._state != self._HUNT and (
                self._state != self._LENGTH_LOW or self._escape_pending
            )
            self._begin()
            return FrameError.TRUNCATED if truncated else None
        if self._state == self._HUNT:
            self.garbage_bytes += 1
            if self._keep_skipped:
                self.skipped.append(byte)
                del self.skipped[: max(0, len(self.skipped) - self._keep_skipped)]
            return None
        if self._escape_pending:
            self._escape_pending = False
            if byte not in (START ^ ESCAPE_XOR, ESCAPE ^ ESCAPE_XOR):
                return self._reject(FrameError.ESCAPE)
            return self._take_body_byte(byte ^ ESCAPE_XOR)
        if byte == ESCAPE:
            self._escape_pending = True
            return None
        return self._take_body_byte(byte)

    def _take_body_byte(self, value: int) -> Event | None:
        state = self._state
        if state in (self._LENGTH_LOW, self._LENGTH_HIGH, self._PAYLOAD):
            self._crc = crc16_ccitt(bytes([value]), self._crc)
        if state == self._LENGTH_LOW:
            self._length = value
            self._state = self._LENGTH_HIGH
        elif state == self._LENGTH_HIGH:
            self._length |= value << 8
            if self._length > self.capacity:
                return self._reject(FrameError.LENGTH)
            self._state = self._PAYLOAD if self._length else self._CRC_LOW
        elif state == self._PAYLOAD:
            self._payload.append(value)
            if len(self._payload) == self._length:
                self._state = self._CRC_LOW
        elif state == self._CRC_LOW:
            self._received_crc = value
            self._state = self._CRC_HIGH
        else:
            self._received_crc |= value << 8
            self._state = self._HUNT
            if self._received_crc != self._crc:
                return FrameError.CRC
            return bytes(self._payload)
        return None
