/* The server side of TVM 0.27's RPC protocol (riscv_runtime/rpc/PROTOCOL.md), for a bare-metal
 * board. Portable C with no board calls: the firmware feeds it packets from the framed session
 * (rvtvm/session.h), and the host unit tests feed it packets from a pipe driven by a stock
 * tvm.rpc client.
 *
 * One complete packet in (u64 length, i32 code, body), exactly one reply packet out through the
 * caller's writer (none for kShutdown). Nothing the client sends is trusted: every length,
 * handle, pointer and offset is checked, bad ones get a kException reply naming the problem,
 * and the server never reads outside the packet it was given nor writes outside its own state,
 * its heap and the writable regions of its config. Fields are read with memcpy: the packet may
 * sit at any address and its u64s at any offset (PicoRV32 traps on misaligned loads).
 *
 * A packet must be exactly as long as its length field says, end exactly after its last field,
 * and have a length field of at most max_packet_bytes. An exception message is one line that
 * starts with the request ("CopyToRemote: ...") or the function ("add_one failed (status -1):
 * ValueError: ..."); a request refused by a check has changed nothing (a kInitServer resets the
 * session all the same).
 *
 * What it serves:
 *  - kInitServer ("0.8.0", no session constructor arguments; always resets the server like
 *    rvtvm_rpc_server_reset, even when refused: a client that reconnects may have been killed
 *    before its kShutdown), kShutdown.
 *  - kGetGlobalFunc for the built-ins below and the config's globals; an unknown name gets a
 *    null handle (the client raises AttributeError).
 *  - kCallFunc with Int, Bool, Float, OpaquePtr, DataType, Device, DLTensor, RawStr, Str,
 *    SmallStr, Bytes, SmallBytes and (for the built-ins) Module arguments. Strings reach the
 *    callee as NUL-terminated RawStr (all of one request's together at most
 *    RVTVM_RPC_STRING_BYTES - 1 chars), bytes as ByteArrayPtr into the packet. DLTensor
 *    arguments (and non-null OpaquePtr ones) must lie inside one live heap block or one config
 *    region, a read-only one included (the server cannot tell inputs from outputs); the callee
 *    gets a compact DLTensor with byte_offset folded into data. The result may be None, Int,
 *    Bool, Float, OpaquePtr, RawStr (sent as a str) or DLTensorPtr (see rvtvm_rpc_region);
 *    anything else is a kException. A callee that returns non-zero becomes a kException
 *    carrying rvtvm_tvm_last_error() (rvtvm/tvm_backend.h), cleared before every call.
 *  - kCopyToRemote, kCopyFromRemote (kCopyAck), kCopyAmongRemote (equal sizes): the bytes must
 *    lie inside one live heap block (the bytes allocated, not the rounded block) or one region,
 *    and a destination must be writable.
 *  - kDevAllocData (alignment 0 or a power of two up to 64), kDevAllocDataWithScope (scope None
 *    or "global"; 16-byte aligned), kDevFreeData (only the start of a live block), kDevGetAttr
 *    (kExist of any device; other attributes None), kDevSetDevice, kDevStreamSync, the stream
 *    calls (the cpu has only the null stream; stream arguments are ignored), kFreeHandle.
 *    Only device type kDLCPU (1), id 0.
 * Handles are (session epoch << 32) | (slot + 1): never 0, and those of an earlier session, freed
 * ones and made-up ones are refused. Function handles from kGetGlobalFunc/ModuleGetFunction,
 * modules, time evaluators and returned tensors all take a slot until kFreeHandle.
 * Built-in global functions:
 *  - "tvm.rpc.server.GetCRTMaxPacketSize" -> max_packet_bytes (so the client chunks copies).
 *  - "ffi.SystemLib" -> a Module whose functions are the config's system_lib.
 *  - "tvm.rpc.server.ModuleGetFunction"(Module, name, query_imports) -> Function or None.
 *  - "runtime.RPCTimeEvaluator"(Module|None, name, dev_type, dev_id, number, repeat,
 *    min_repeat_ms, limit_zero_time_iterations, cooldown_interval_ms, repeats_to_cooldown,
 *    cache_flush_bytes, f_preproc) -> a Function that calls `name` (looked up in the module,
 *    or in the config's globals for None) once to warm up, then `repeat` times runs it
 *    `number` times (number grows as in TVM's WrapTimeEvaluator while a round is shorter than
 *    min_repeat_ms, and keeps its growth) and returns Bytes of `repeat` doubles: seconds per
 *    call, from read_cycles() and cycles_per_second (which must be below 2^32). The arithmetic
 *    is integer-only, so no soft-float or 64-bit division comes in from libgcc; the doubles are
 *    rounded toward zero. cooldown and cache flush do not apply (no caches, nothing to cool);
 *    f_preproc must be "". The results wait in a heap block of 8 * repeat bytes.
 */
#ifndef RVTVM_RPC_SERVER_H_
#define RVTVM_RPC_SERVER_H_

#include <stdint.h>
#include <tvm/ffi/c_api.h>

#include "rvtvm/text.h"

#define RVTVM_RPC_PROTOCOL_VERSION "0.8.0"

/* Capacities of the server's state; a request beyond them gets a kException. */
#ifndef RVTVM_RPC_MAX_HANDLES
#define RVTVM_RPC_MAX_HANDLES 32
#endif
#ifndef RVTVM_RPC_MAX_ARGS
#define RVTVM_RPC_MAX_ARGS 16
#endif
#ifndef RVTVM_RPC_MAX_NDIM
#define RVTVM_RPC_MAX_NDIM 8
#endif
/* Bytes for NUL-terminated copies of a call's string arguments. */
#ifndef RVTVM_RPC_STRING_BYTES
#define RVTVM_RPC_STRING_BYTES 256
#endif
/* Alignment of heap payloads. Each block also costs an 8-byte header, and sizes round up to
 * 16 bytes with it: an allocation of n bytes takes round_up(n + 8, 16) of the heap. */
#define RVTVM_RPC_HEAP_ALIGN 16

/* Results of rvtvm_rpc_server_handle. */
#define RVTVM_RPC_SERVED 0
#define RVTVM_RPC_SHUTDOWN 1

/* TVM-FFI's packed calling convention, as TVM's C codegen emits it (__tvm_ffi_<name>). */
typedef int32_t (*rvtvm_packed_fn)(void* self, const TVMFFIAny* args, int32_t num_args,
                                   TVMFFIAny* result);

struct rvtvm_rpc_function {
  const char* name;
  rvtvm_packed_fn fn;
};

/* Memory the host may name in tensors without allocating it (model constants, the arena).
 * A function that returns a DLTensor* (type index kTVMFFIDLTensorPtr) must point it at static
 * storage inside a region (or a live heap block), compact (strides NULL or compact), with
 * ndim <= RVTVM_RPC_MAX_NDIM and device cpu(0); the client gets a remote Tensor on it, held by
 * a handle until the client frees it. */
struct rvtvm_rpc_region {
  void* base;
  uint32_t bytes;
  uint8_t writable;
};

/* Where a reply goes: begin(total bytes of the packet, its u64 length field included), any
 * number of put() adding up to that total, end(). */
struct rvtvm_rpc_writer {
  void (*begin)(void* context, uint32_t packet_bytes);
  void (*put)(void* context, const void* bytes, uint32_t count);
  void (*end)(void* context);
  void* context;
};

struct rvtvm_rpc_config {
  const struct rvtvm_rpc_function* system_lib; /* ffi.SystemLib's functions */
  uint32_t system_lib_count;
  const struct rvtvm_rpc_function* globals; /* more global functions for kGetGlobalFunc */
  uint32_t globals_count;
  const struct rvtvm_rpc_region* regions;
  uint32_t region_count;
  uint8_t* heap; /* kDevAlloc* pool; the server rounds its start up to RVTVM_RPC_HEAP_ALIGN */
  uint32_t heap_bytes;
  /* Largest u64 length field accepted (what GetCRTMaxPacketSize reports). The client sends
   * copies in chunks of max_packet_bytes - 44 - 8 * ndim bytes, so it must exceed
   * 44 + 8 * RVTVM_RPC_MAX_NDIM. Calls are not chunked: their strings and bytes must fit. */
  uint32_t max_packet_bytes;
  uint64_t (*read_cycles)(void); /* for the time evaluator; NULL refuses timing */
  uint64_t cycles_per_second;    /* of read_cycles, below 2^32 */
};

/* Bytes of the longest exception message (longer ones are cut), and of a reply's fixed part:
 * the longest is a returned tensor, [u64 length][kReturn][3][Int 70][DLTensor record with
 * RVTVM_RPC_MAX_NDIM dimensions][OpaquePtr handle]. */
#define RVTVM_RPC_MESSAGE_BYTES 224
#define RVTVM_RPC_REPLY_HEAD_BYTES (84 + 8 * RVTVM_RPC_MAX_NDIM)

/* What a handle names. */
enum rvtvm_rpc_handle_kind {
  RVTVM_RPC_HANDLE_FREE = 0,
  RVTVM_RPC_HANDLE_MODULE,   /* the system lib: its functions are config->system_lib */
  RVTVM_RPC_HANDLE_FUNCTION, /* a config function (system_lib or globals) */
  RVTVM_RPC_HANDLE_BUILTIN,  /* one of the built-in global functions, `builtin` says which */
  RVTVM_RPC_HANDLE_TIME_EVALUATOR,
  RVTVM_RPC_HANDLE_TENSOR, /* a DLTensor a function returned; its memory is not ours to free */
};

struct rvtvm_rpc_handle {
  uint8_t kind;
  uint8_t builtin;
  rvtvm_packed_fn fn; /* FUNCTION, TIME_EVALUATOR: the function called */
  const char* name;   /* for error messages */
  int32_t number;     /* TIME_EVALUATOR parameters; number grows as in TVM and is kept */
  int32_t repeat;
  int32_t min_repeat_ms;
  int32_t limit_zero_time_iterations;
};

/* Fields are the server's own; use the functions below. */
struct rvtvm_rpc_server {
  const struct rvtvm_rpc_config* config;
  const struct rvtvm_rpc_writer* out; /* of the packet being served */
  const char* what;                   /* prefix of the exception message, or NULL */
  uint8_t* heap;                      /* config->heap rounded up to RVTVM_RPC_HEAP_ALIGN */
  uint32_t heap_end;                  /* offset just past the last heap block */
  uint32_t epoch; /* bumped by every reset, so handles of an earlier session are refused */
  uint32_t string_bytes; /* used of `strings` */
  uint32_t reply_bytes;  /* used of `reply` */
  struct rvtvm_rpc_handle handles[RVTVM_RPC_MAX_HANDLES];
  /* The decoded arguments of the packet being served. */
  TVMFFIAny args[RVTVM_RPC_MAX_ARGS];
  DLTensor tensors[RVTVM_RPC_MAX_ARGS];
  uint64_t tensor_data[RVTVM_RPC_MAX_ARGS]; /* data as the client sent it, until checked */
  int64_t shapes[RVTVM_RPC_MAX_ARGS][RVTVM_RPC_MAX_NDIM];
  TVMFFIByteArray byte_arrays[RVTVM_RPC_MAX_ARGS];
  char strings[RVTVM_RPC_STRING_BYTES];
  struct rvtvm_text message; /* the exception being built, in message_chars */
  char message_chars[RVTVM_RPC_MESSAGE_BYTES];
  uint8_t reply[RVTVM_RPC_REPLY_HEAD_BYTES];
};

void rvtvm_rpc_server_init(struct rvtvm_rpc_server* server, const struct rvtvm_rpc_config* config);

/* Frees every handle and heap block: a new client session begins. kInitServer does this too. */
void rvtvm_rpc_server_reset(struct rvtvm_rpc_server* server);

/* Serves one complete packet, `length` bytes from its u64 length field on. Writes exactly one
 * reply through `out` (none for kShutdown and for a zero-length packet). Returns
 * RVTVM_RPC_SERVED, or RVTVM_RPC_SHUTDOWN after kShutdown (the server is reset). The packet
 * may be at any address; it is only read, and only during the call. */
int rvtvm_rpc_server_handle(struct rvtvm_rpc_server* server, const uint8_t* packet,
                            uint32_t length, const struct rvtvm_rpc_writer* out);

/* Replies with a kException for a packet whose u64 length field (`declared_length`) exceeds
 * max_packet_bytes, for a transport that refuses it before reading its body. */
void rvtvm_rpc_server_refuse_oversized(struct rvtvm_rpc_server* server, uint64_t declared_length,
                                       const struct rvtvm_rpc_writer* out);

/* Replies with a kException carrying `message`, its '#' replaced by `number`, instead of
 * serving a packet: for a firmware that must not serve any more (its stack overflowed). */
void rvtvm_rpc_server_refuse(struct rvtvm_rpc_server* server, const char* message,
                             uint64_t number, const struct rvtvm_rpc_writer* out);

/* Bytes of the largest free heap block, for error messages and tests. */
uint32_t rvtvm_rpc_server_heap_largest_free(const struct rvtvm_rpc_server* server);

#endif /* RVTVM_RPC_SERVER_H_ */
