"""Tests of the session framing (rvtvm/session_frame.py against riscv_runtime's session_frame.c).

Property tests (hypothesis, derandomized so every run checks the same examples): round trip,
resync after garbage, and single corruptions of a frame followed by a good frame. The CRC is
checked against binascii.crc_hqx, an independent CRC-16/CCITT implementation. The cross tests run
the C codec (tests/c/session_frame_test.c in its --encode/--decode modes, built with ASan/UBSan):
encodings must be byte-identical both ways, and on damaged streams the C and Python decoders must
report the same events in the same order.
"""

from __future__ import annotations

import binascii
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rvtvm import process
from rvtvm import session_frame as sf
from rvtvm.session_frame import Decoder, FrameError, encode

from .test_runtime_c import build_host_unit, sanitizer_flags  # noqa: F401 (fixture)

PROPERTY = settings(max_examples=150, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CROSS = settings(PROPERTY, max_examples=25)

payloads = st.binary(max_size=300) | st.lists(
    st.sampled_from([sf.START, sf.ESCAPE, sf.START ^ sf.ESCAPE_XOR, sf.ESCAPE ^ sf.ESCAPE_XOR, 0]),
    max_size=64,
).map(bytes)
no_start = st.binary(max_size=200).map(lambda b: b.replace(bytes([sf.START]), b"\x00"))


def frames(events: list) -> list[bytes]:
    return [event for event in events if isinstance(event, bytes)]


# ---------------------------------------------------------------------------------------------
# CRC and format


def test_crc_check_value_matches_header() -> None:
    assert sf.crc16_ccitt(b"123456789") == sf.C["SFRAME_CRC_CHECK"] == 0x29B1


@PROPERTY
@given(st.binary(max_size=200))
def test_crc_matches_independent_implementation(data: bytes) -> None:
    assert sf.crc16_ccitt(data) == binascii.crc_hqx(data, 0xFFFF)


def test_reference_vectors() -> None:
    # START, length 00 00, CRC(00 00) = 0x1D0F little-endian; START/ESCAPE bytes escaped.
    assert encode(b"") == bytes.fromhex("7e00000f1d")
    assert encode(b"\x7e\x7d\x20hi") == bytes.fromhex("7e05007d5e7d5d2068697d5ed8")
    with pytest.raises(ValueError):
        encode(bytes(sf.MAX_PAYLOAD + 1))


@PROPERTY
@given(payloads)
def test_round_trip(payload: bytes) -> None:
    wire = encode(payload)
    assert wire[0] == sf.START and sf.START not in wire[1:]
    decoder = Decoder(capacity=len(payload))
    assert decoder.feed(wire) == [payload]
    assert decoder.garbage_bytes == 0


@PROPERTY
@given(st.lists(payloads, min_size=1, max_size=4), st.lists(st.integers(0, 2000), max_size=8))
def test_round_trip_fed_in_arbitrary_pieces(messages: list[bytes], cuts: list[int]) -> None:
    wire = b"".join(encode(m) for m in messages)
    decoder = Decoder()
    events = []
    bounds = [0, *sorted(c % (len(wire) + 1) for c in cuts), len(wire)]
    for start, end in zip(bounds, bounds[1:]):
        events += decoder.feed(wire[start:end])
    assert events == messages


def test_round_trip_fed_at_every_split_point() -> None:
    messages = [b"\x7e\x7d" * 5, b"", b"abc"]
    wire = b"".join(encode(m) for m in messages)
    for cut in range(len(wire) + 1):
        decoder = Decoder(16)
        assert decoder.feed(wire[:cut]) + decoder.feed(wire[cut:]) == messages


@PROPERTY
@given(no_start, payloads)
def test_garbage_then_frame_yields_exactly_that_frame(garbage: bytes, payload: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(garbage + encode(payload)) == [payload]
    assert decoder.garbage_bytes == len(garbage)


# ---------------------------------------------------------------------------------------------
# Corruption


def corrupt(wire: bytes, kind: str, position: int, value: int) -> bytes:
    position %= len(wire)
    if kind == "flip":
        return wire[:position] + bytes([wire[position] ^ (1 << (value % 8))]) + wire[position + 1:]
    if kind == "drop":
        return wire[:position] + wire[position + 1:]
    if kind == "duplicate":
        return wire[: position + 1] + wire[position:]
    if kind == "insert":
        return wire[:position] + bytes([value]) + wire[position:]
    assert kind == "truncate"
    return wire[:position]


@PROPERTY
@given(payloads, payloads, st.sampled_from(["flip", "drop", "duplicate", "insert", "truncate"]),
       st.integers(0, 10_000), st.integers(0, 255))
def test_single_corruption_never_delivers_a_wrong_payload(
    damaged: bytes, good: bytes, kind: str, position: int, value: int
) -> None:
    stream = corrupt(encode(damaged), kind, position, value) + encode(good)
    delivered = frames(Decoder().feed(stream))
    # The damaged frame is lost or (a duplicated START, an insert between frames) intact.
    assert delivered in ([good], [damaged, good])
    if kind == "flip":
        assert delivered == [good]  # CRC-16 catches every single-bit error


def test_oversized_length_rejected_when_length_complete() -> None:
    decoder = Decoder(capacity=8)
    assert decoder.feed(bytes([sf.START, 9])) == []
    assert decoder.feed(b"\x00") == [FrameError.LENGTH]
    assert decoder.feed(bytes(range(1, 20)) + encode(b"ok")) == [b"ok"]
    assert decoder.garbage_bytes == 19
    assert Decoder(capacity=8).feed(encode(bytes(8))) == [bytes(8)]


def test_error_kinds() -> None:
    assert Decoder().feed(bytes([sf.START, 1, sf.ESCAPE, 0x41])) == [FrameError.ESCAPE]
    wire = bytearray(encode(b"abc"))
    wire[-1] ^= 0x01
    assert Decoder().feed(bytes(wire)) == [FrameError.CRC]
    assert Decoder().feed(bytes([sf.START, 3, 0, 0x61]) + encode(b"x")) == [FrameError.TRUNCATED, b"x"]
    # A START right after a START has abandoned nothing.
    assert Decoder().feed(bytes([sf.START]) + encode(b"x")) == [b"x"]


# ---------------------------------------------------------------------------------------------
# C <-> Python


@pytest.fixture(scope="module")
def c_codec(sanitizer_flags: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    return build_host_unit("session_frame_test", sanitizer_flags, tmp_path_factory.mktemp("sframe"))


def c_run(binary: Path, arguments: list[str], data: bytes) -> list[str]:
    result = process.run([str(binary), *arguments], 60, input=data)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def c_decode(binary: Path, stream: bytes, capacity: int) -> list[str]:
    return c_run(binary, ["--decode", str(capacity)], stream)


def python_decode(stream: bytes, capacity: int) -> list[str]:
    decoder = Decoder(capacity)
    lines = [f"frame {e.hex()}" if isinstance(e, bytes) else f"error {int(e)}"
             for e in decoder.feed(stream)]
    return lines + [f"garbage {decoder.garbage_bytes}"]


@CROSS
@given(st.lists(payloads, max_size=12))
def test_c_and_python_encode_identically_and_decode_each_other(c_codec: Path,
                                                               messages: list[bytes]) -> None:
    c_lines = c_run(c_codec, ["--encode"], b"".join(m.hex().encode() + b"\n" for m in messages))
    assert c_lines == [encode(m).hex() for m in messages]
    c_wire = b"".join(bytes.fromhex(line) for line in c_lines)
    assert frames(Decoder().feed(c_wire)) == messages
    python_wire = b"".join(encode(m) for m in messages)
    assert c_decode(c_codec, python_wire, sf.MAX_PAYLOAD) == (
        [f"frame {m.hex()}" for m in messages] + ["garbage 0"]
    )


def test_c_decodes_large_python_frame(c_codec: Path) -> None:
    payload = bytes(range(256)) * 200 + b"\x7e\x7d" * 1000
    assert c_decode(c_codec, encode(payload), sf.MAX_PAYLOAD) == [f"frame {payload.hex()}", "garbage 0"]


segments = st.one_of(
    payloads.map(encode),
    st.binary(max_size=40),
    st.tuples(payloads, st.sampled_from(["flip", "drop", "duplicate", "insert", "truncate"]),
              st.integers(0, 10_000), st.integers(0, 255)).map(lambda t: corrupt(encode(t[0]), *t[1:])),
)


@CROSS
@given(st.lists(segments, max_size=10), st.sampled_from([0, 1, 16, 64, 300, sf.MAX_PAYLOAD]))
def test_c_and_python_decoders_report_the_same_events(c_codec: Path, parts: list[bytes],
                                                      capacity: int) -> None:
    stream = b"".join(parts)
    assert c_decode(c_codec, stream, capacity) == python_decode(stream, capacity)
