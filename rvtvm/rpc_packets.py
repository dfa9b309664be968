"""Raw TVM RPC packets (riscv_runtime/rpc/PROTOCOL.md), for talking to a board's RPC server
without a tvm.rpc client: the benchmark's wire measurements and the hostile-request tests.
"""

from __future__ import annotations

import struct

# RPCCode (PROTOCOL.md §2) and TVM-FFI type indices (§3).
SHUTDOWN, INIT_SERVER, CALL_FUNC, RETURN, EXCEPTION = 1, 2, 3, 4, 5
COPY_FROM_REMOTE, COPY_TO_REMOTE, COPY_ACK = 6, 7, 8
GET_GLOBAL_FUNC, FREE_HANDLE, DEV_GET_ATTR, DEV_FREE_DATA, DEV_STREAM_SYNC = 9, 10, 12, 14, 15
DEV_ALLOC_DATA_WITH_SCOPE = 17
TYPE_NONE, TYPE_INT, TYPE_OPAQUE_PTR, TYPE_DEVICE, TYPE_DLTENSOR, TYPE_RAW_STR = 0, 1, 4, 6, 7, 8
KDL_CPU = 1


def packet(code: int, body: bytes = b"") -> bytes:
    return struct.pack("<Qi", 4 + len(body), code) + body


def seq(*args: bytes) -> bytes:
    """A packed sequence of already-encoded arguments."""
    return struct.pack("<i", len(args)) + b"".join(args)


def arg_int(value: int) -> bytes:
    return struct.pack("<iq", TYPE_INT, value)


def arg_ptr(value: int) -> bytes:
    return struct.pack("<iQ", TYPE_OPAQUE_PTR, value)


def arg_str(text: str) -> bytes:
    data = text.encode("utf-8", errors="replace")
    return struct.pack("<iQ", TYPE_RAW_STR, len(data)) + data


def arg_cpu() -> bytes:
    return struct.pack("<iii", TYPE_DEVICE, KDL_CPU, 0)


def tensor_record(data: int, shape: tuple[int, ...], *, byte_offset: int = 0, code: int = 0,
                  bits: int = 8) -> bytes:
    """The DLTensor record of a copy request or a tensor argument (dtype code 0 = int)."""
    return (struct.pack("<QiiiBBH", data, KDL_CPU, 0, len(shape), code, bits, 1)
            + struct.pack(f"<{len(shape)}q", *shape) + struct.pack("<Q", byte_offset))


def init_server(version: str = "0.8.0") -> bytes:
    return packet(INIT_SERVER, struct.pack("<Q", len(version)) + version.encode() + seq())


def alloc(nbytes: int) -> bytes:
    """kDevAllocDataWithScope for an int8 tensor of nbytes, no scope."""
    return packet(DEV_ALLOC_DATA_WITH_SCOPE,
                  seq(struct.pack("<i", TYPE_DLTENSOR) + tensor_record(0, (nbytes,)),
                      struct.pack("<i", TYPE_NONE)))


def copy_to(pointer: int, size: int, data: bytes, offset: int = 0) -> bytes:
    return packet(COPY_TO_REMOTE, tensor_record(pointer, (size,), byte_offset=offset)
                  + struct.pack("<Q", len(data)) + data)


def copy_from(pointer: int, size: int, nbytes: int, offset: int = 0) -> bytes:
    return packet(COPY_FROM_REMOTE, tensor_record(pointer, (size,), byte_offset=offset)
                  + struct.pack("<Q", nbytes))


def exception(message: str) -> bytes:
    """A kException reply carrying `message` (PROTOCOL.md §6)."""
    return packet(EXCEPTION, seq(arg_str(message)))


def code_of(reply: bytes) -> int:
    return struct.unpack_from("<i", reply, 8)[0]


def single_value(reply: bytes) -> int:
    """The one Int or OpaquePtr a syscall's kReturn carries."""
    if code_of(reply) != RETURN:
        raise ValueError(f"expected kReturn, got {exception_message(reply) or code_of(reply)}")
    count, type_index, value = struct.unpack_from("<iiq", reply, 12)
    if count != 1 or type_index not in (TYPE_INT, TYPE_OPAQUE_PTR):
        raise ValueError("expected one Int or OpaquePtr")
    return value


def exception_message(reply: bytes) -> str | None:
    """The message of a kException reply, or None for any other reply."""
    if len(reply) < 28 or code_of(reply) != EXCEPTION:
        return None
    (n,) = struct.unpack_from("<Q", reply, 20)
    return reply[28:28 + n].decode(errors="replace")
