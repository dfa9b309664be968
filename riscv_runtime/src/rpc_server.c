/* The RPC server of rvtvm/rpc_server.h: TVM 0.27's wire protocol (rpc/PROTOCOL.md), one whole
 * packet at a time.
 *
 * Every handler parses its whole packet, checks everything, and only then acts and replies; an
 * error anywhere leaves a message in server->message, and the dispatcher sends it as the one
 * kException reply. So a refused request has changed nothing (kInitServer resets first), and a
 * reply is never begun twice.
 *
 * The file runs top-down: reading packets, writing replies, exception text, handles, the heap,
 * memory spans, arguments, calls, built-in functions, copies, syscalls, the dispatcher.
 */
#include "rvtvm/rpc_server.h"

#include <stdint.h>
#include <string.h>

#include "rvtvm/text.h"
#include "rvtvm/tvm_backend.h"

/* Integers are copied to and from the wire as they lie in memory. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the RPC wire is little-endian, and so must the host be"
#endif
_Static_assert(sizeof(DLDevice) == 8 && sizeof(DLDataType) == 4, "wire layout of DLPack types");
_Static_assert(RVTVM_RPC_HEAP_ALIGN == 16, "the heap's block layout assumes 16-byte alignment");

#define FAILED (-1)

enum {
  CODE_SHUTDOWN = 1,
  CODE_INIT_SERVER,
  CODE_CALL_FUNC,
  CODE_RETURN,
  CODE_EXCEPTION,
  CODE_COPY_FROM_REMOTE,
  CODE_COPY_TO_REMOTE,
  CODE_COPY_ACK,
  CODE_GET_GLOBAL_FUNC, /* the first syscall */
  CODE_FREE_HANDLE,
  CODE_DEV_SET_DEVICE,
  CODE_DEV_GET_ATTR,
  CODE_DEV_ALLOC_DATA,
  CODE_DEV_FREE_DATA,
  CODE_DEV_STREAM_SYNC,
  CODE_COPY_AMONG_REMOTE,
  CODE_DEV_ALLOC_DATA_WITH_SCOPE,
  CODE_DEV_CREATE_STREAM,
  CODE_DEV_FREE_STREAM,
  CODE_DEV_SET_STREAM,
  CODE_DEV_GET_CURRENT_STREAM,
  CODE_COUNT
};

/* Prefixes of exception messages, so the client reads which request failed. */
static const char* const kCodeNames[CODE_COUNT] = {
    "None",           "Shutdown",        "InitServer",      "CallFunc",
    "Return",         "Exception",       "CopyFromRemote",  "CopyToRemote",
    "CopyAck",        "GetGlobalFunc",   "FreeHandle",      "DevSetDevice",
    "DevGetAttr",     "DevAllocData",    "DevFreeData",     "DevStreamSync",
    "CopyAmongRemote", "DevAllocDataWithScope", "DevCreateStream", "DevFreeStream",
    "DevSetStream",   "DevGetCurrentStream",
};

/* ----- Reading packets */

struct reader {
  const uint8_t* at;
  const uint8_t* end;
  uint8_t overrun; /* a field ran past the end of the packet; every later take fails too */
};

/* The next `count` bytes, or NULL if the packet has fewer left. `count` comes from the wire and
 * may be anything, so it is compared with what is left rather than added to `at`. */
static const uint8_t* take(struct reader* reader, uint64_t count) {
  const uint8_t* start = reader->at;
  if (count > (uint64_t)(reader->end - reader->at)) {
    reader->overrun = 1;
    reader->at = reader->end;
    return NULL;
  }
  reader->at += count;
  return start;
}

/* A little-endian integer of `bytes` (at most 8) bytes; 0 past the end. memcpy because fields
 * sit at any offset and PicoRV32 traps on misaligned loads. */
static uint64_t read_n(struct reader* reader, uint32_t bytes) {
  uint64_t value = 0;
  const uint8_t* field = take(reader, bytes);
  if (field != NULL) {
    memcpy(&value, field, bytes);
  }
  return value;
}

/* ----- Writing replies: a fixed head built in server->reply, then an optional tail */

static void put(struct rvtvm_rpc_server* server, uint64_t value, uint32_t bytes) {
  /* RVTVM_RPC_REPLY_HEAD_BYTES is the longest head, so this test never fails; it is here so that
   * a mistake in that sum costs a wrong reply, not memory. */
  if (server->reply_bytes + bytes <= sizeof server->reply) {
    memcpy(server->reply + server->reply_bytes, &value, bytes);
    server->reply_bytes += bytes;
  }
}

static void begin_reply(struct rvtvm_rpc_server* server, int32_t code) {
  server->reply_bytes = 8; /* the u64 length, filled in by send_reply */
  put(server, (uint32_t)code, 4);
}

static void begin_return(struct rvtvm_rpc_server* server, int32_t count) {
  begin_reply(server, CODE_RETURN);
  put(server, (uint32_t)count, 4);
}

/* One element of a packed sequence: type index, then 8 bytes unless it is None. */
static void put_value(struct rvtvm_rpc_server* server, int32_t type_index, uint64_t bits) {
  put(server, (uint32_t)type_index, 4);
  if (type_index != kTVMFFINone) {
    put(server, bits, 8);
  }
}

static void send_reply(struct rvtvm_rpc_server* server, const void* tail, uint32_t tail_bytes) {
  const struct rvtvm_rpc_writer* out = server->out;
  uint32_t total = server->reply_bytes + tail_bytes;
  uint64_t length = total - 8u;
  memcpy(server->reply, &length, 8);
  out->begin(out->context, total);
  out->put(out->context, server->reply, server->reply_bytes);
  if (tail_bytes != 0) {
    out->put(out->context, tail, tail_bytes);
  }
  out->end(out->context);
}

/* A syscall's reply: exactly one value. */
static int reply_one(struct rvtvm_rpc_server* server, int32_t type_index, uint64_t bits) {
  begin_return(server, 1);
  put_value(server, type_index, bits);
  send_reply(server, NULL, 0);
  return 0;
}

/* A call's reply: [Int type_index][value] (PROTOCOL.md §4.2). */
static int reply_result(struct rvtvm_rpc_server* server, int32_t type_index, int32_t wire_type,
                        uint64_t bits) {
  begin_return(server, 2);
  put_value(server, kTVMFFIInt, (uint64_t)type_index);
  put_value(server, wire_type, bits);
  send_reply(server, NULL, 0);
  return 0;
}

/* ----- Exception text */

static void append_char(struct rvtvm_text* text, char c) {
  if (text->length < text->capacity) {
    text->chars[text->length++] = c;
  }
}

/* "0x" and 8 hex digits, or 16 when the value needs them (host pointers). */
static void append_hex_u64(struct rvtvm_text* text, uint64_t value) {
  char digits[RVTVM_TEXT_HEX_U32_CHARS + 1];
  uint32_t high = (uint32_t)(value >> 32);
  digits[RVTVM_TEXT_HEX_U32_CHARS] = '\0';
  if (high != 0) {
    rvtvm_format_hex_u32(digits, high);
    rvtvm_text_append_str(text, digits);
  }
  rvtvm_format_hex_u32(digits, (uint32_t)value);
  rvtvm_text_append_str(text, high != 0 ? digits + 2 : digits);
}

/* Appends `format` to the message with '%' replaced by `str` and '#', '@', '$' by a, b, c in
 * turn: '#' unsigned decimal (hex beyond 32 bits: no 64-bit division on rv32), '@' hex, '$'
 * signed 32-bit decimal. A printf without varargs or 64-bit division. */
static void append_format(struct rvtvm_rpc_server* server, const char* format, const char* str,
                          uint64_t a, uint64_t b, uint64_t c) {
  const uint64_t numbers[4] = {a, b, c, 0};
  uint32_t next = 0;
  struct rvtvm_text* text = &server->message;
  for (; *format != '\0'; ++format) {
    char token = *format;
    uint64_t number = numbers[next & 3u];
    if (token == '%') {
      rvtvm_text_append_str(text, str != NULL ? str : "");
    } else if (token == '$') {
      rvtvm_text_append_dec_i32(text, (int32_t)number);
      ++next;
    } else if (token == '#' && number <= UINT32_MAX) {
      rvtvm_text_append_dec_u32(text, (uint32_t)number);
      ++next;
    } else if (token == '#' || token == '@') {
      append_hex_u64(text, number);
      ++next;
    } else {
      append_char(text, token);
    }
  }
}

/* Starts the exception message, "<what>: " then the formatted text; returns FAILED. */
static int fail(struct rvtvm_rpc_server* server, const char* format, const char* str, uint64_t a,
                uint64_t b, uint64_t c) {
  rvtvm_text_init(&server->message, server->message_chars, sizeof server->message_chars);
  if (server->what != NULL) {
    rvtvm_text_append_str(&server->message, server->what);
    rvtvm_text_append_str(&server->message, ": ");
  }
  append_format(server, format, str, a, b, c);
  return FAILED;
}

static int fail_overrun(struct rvtvm_rpc_server* server) {
  return fail(server, "the packet ends inside a field", NULL, 0, 0, 0);
}

static void send_exception(struct rvtvm_rpc_server* server) {
  begin_reply(server, CODE_EXCEPTION);
  put(server, 1, 4);
  put(server, kTVMFFIRawStr, 4);
  put(server, server->message.length, 8);
  send_reply(server, server->message_chars, server->message.length);
}

/* ----- Handles: (epoch << 32) | (slot + 1), never 0; the epoch refuses an earlier session's */

#define ANY_KIND RVTVM_RPC_HANDLE_FREE

static struct rvtvm_rpc_handle* new_handle(struct rvtvm_rpc_server* server, uint8_t kind,
                                           uint64_t* value) {
  for (uint32_t slot = 0; slot < RVTVM_RPC_MAX_HANDLES; ++slot) {
    struct rvtvm_rpc_handle* handle = &server->handles[slot];
    if (handle->kind == RVTVM_RPC_HANDLE_FREE) {
      memset(handle, 0, sizeof *handle);
      handle->kind = kind;
      *value = ((uint64_t)server->epoch << 32) | (slot + 1u);
      return handle;
    }
  }
  fail(server, "too many live handles (#); free some", NULL, RVTVM_RPC_MAX_HANDLES, 0, 0);
  return NULL;
}

/* The live handle `value` names, if it is of `kind` (or any kind for ANY_KIND). */
static struct rvtvm_rpc_handle* find_handle(struct rvtvm_rpc_server* server, uint64_t value,
                                            uint8_t kind) {
  uint32_t slot = (uint32_t)value - 1u;
  if ((uint32_t)(value >> 32) == server->epoch && slot < RVTVM_RPC_MAX_HANDLES) {
    struct rvtvm_rpc_handle* handle = &server->handles[slot];
    if (handle->kind != RVTVM_RPC_HANDLE_FREE && (kind == ANY_KIND || handle->kind == kind)) {
      return handle;
    }
  }
  fail(server, "invalid handle @", NULL, value, 0, 0);
  return NULL;
}

/* [Int type_index][OpaquePtr handle]: how a new Function or Module goes to the client. */
static int reply_handle(struct rvtvm_rpc_server* server, int32_t type_index, uint64_t value) {
  return reply_result(server, type_index, kTVMFFIOpaquePtr, value);
}

/* ----- The heap
 *
 * The heap is a row of blocks that tile it: an 8-byte header (total bytes, bytes in use) then
 * the payload. Blocks start 8 bytes past a 16-byte boundary, so payloads are 16-byte aligned and
 * a block's size is a multiple of 16. Free blocks never touch (freeing merges them), so a walk
 * over the row is first fit, and it is also how a pointer from the wire is checked against the
 * live blocks: a span must fit the bytes that were asked for, not the rounded block. A header
 * with an impossible size ends every walk (the heap is then reported damaged): a function that
 * wrote past its tensor must not send us looping.
 */

#define BLOCK_HEADER_BYTES 8u
#define FIRST_BLOCK 8u
#define MIN_BLOCK_BYTES 16u
#define BLOCK_FREE UINT32_MAX /* in `used`: no allocation is that large */

struct heap_block {
  uint32_t bytes; /* header included */
  uint32_t used;  /* bytes allocated (payload - 15 .. payload), or BLOCK_FREE */
};

/* The block header at `offset`; the heap's base is 16-byte aligned and offsets are 8 mod 16. */
static struct heap_block* header_at(const struct rvtvm_rpc_server* server, uint32_t offset) {
  return (struct heap_block*)(void*)(server->heap + offset);
}

/* The block at `offset` if it is a sound one, NULL at the end of the heap or at damage. */
static struct heap_block* block_at(const struct rvtvm_rpc_server* server, uint32_t offset) {
  struct heap_block* block;
  if (offset >= server->heap_end) {
    return NULL;
  }
  block = header_at(server, offset);
  if (block->bytes < MIN_BLOCK_BYTES || (block->bytes & 15u) != 0 ||
      block->bytes > server->heap_end - offset ||
      (block->used != BLOCK_FREE && (block->used > block->bytes - BLOCK_HEADER_BYTES ||
                                     block->used + 16u <= block->bytes - BLOCK_HEADER_BYTES))) {
    return NULL;
  }
  return block;
}

static uint8_t* payload_of(const struct rvtvm_rpc_server* server, uint32_t offset) {
  return server->heap + offset + BLOCK_HEADER_BYTES;
}

static void make_free_block(const struct rvtvm_rpc_server* server, uint32_t offset,
                            uint32_t bytes) {
  struct heap_block* block = header_at(server, offset);
  block->bytes = bytes;
  block->used = BLOCK_FREE;
}

uint32_t rvtvm_rpc_server_heap_largest_free(const struct rvtvm_rpc_server* server) {
  uint32_t largest = 0;
  struct heap_block* block;
  for (uint32_t offset = FIRST_BLOCK; (block = block_at(server, offset)) != NULL;
       offset += block->bytes) {
    if (block->used == BLOCK_FREE && block->bytes - BLOCK_HEADER_BYTES > largest) {
      largest = block->bytes - BLOCK_HEADER_BYTES;
    }
  }
  return largest;
}

/* A walk that reaches the end exactly found no damage. */
static int heap_is_sound(const struct rvtvm_rpc_server* server) {
  uint32_t offset = FIRST_BLOCK;
  struct heap_block* block;
  while ((block = block_at(server, offset)) != NULL) {
    offset += block->bytes;
  }
  return offset == server->heap_end;
}

static int fail_heap_damaged(struct rvtvm_rpc_server* server) {
  return fail(server,
              "the rpc heap's block headers are damaged (did a function write outside its "
              "tensor?); a new session resets it",
              NULL, 0, 0, 0);
}

/* First fit; `alignment` is a power of two from 16 to 64. */
static uint8_t* heap_alloc(struct rvtvm_rpc_server* server, uint64_t bytes, uint32_t alignment) {
  /* bytes <= heap_end < 2^32 keeps the rounding below from overflowing. */
  uint64_t need = (bytes + BLOCK_HEADER_BYTES + 15u) & ~(uint64_t)15u;
  struct heap_block* block;
  for (uint32_t offset = FIRST_BLOCK;
       bytes <= server->heap_end && (block = block_at(server, offset)) != NULL;
       offset += block->bytes) {
    /* Payloads are 16-aligned, so the gap to a larger alignment is a multiple of 16 and can be
     * left behind as a free block of its own. */
    uint32_t gap = (uint32_t)(0u - (uintptr_t)payload_of(server, offset)) & (alignment - 1u);
    if (block->used != BLOCK_FREE || gap + need > block->bytes) {
      continue;
    }
    if (gap != 0) {
      make_free_block(server, offset + gap, block->bytes - gap);
      block->bytes = gap;
      offset += gap;
      block = header_at(server, offset);
    }
    if (block->bytes - need >= MIN_BLOCK_BYTES) {
      make_free_block(server, offset + (uint32_t)need, block->bytes - (uint32_t)need);
      block->bytes = (uint32_t)need;
    }
    block->used = (uint32_t)bytes;
    return payload_of(server, offset);
  }
  if (!heap_is_sound(server)) {
    fail_heap_damaged(server);
  } else {
    fail(server,
         "out of device memory: # bytes requested, largest free block # of # (raise the rpc "
         "heap)",
         NULL, bytes, rvtvm_rpc_server_heap_largest_free(server), server->config->heap_bytes);
  }
  return NULL;
}

/* Frees the live block whose payload starts at `address`, merging it with free neighbours. */
static int heap_free(struct rvtvm_rpc_server* server, uint64_t address) {
  struct heap_block* previous = NULL;
  struct heap_block* block;
  for (uint32_t offset = FIRST_BLOCK; (block = block_at(server, offset)) != NULL;
       previous = block, offset += block->bytes) {
    if (block->used != BLOCK_FREE && (uintptr_t)payload_of(server, offset) == address) {
      struct heap_block* next = block_at(server, offset + block->bytes);
      block->used = BLOCK_FREE;
      if (next != NULL && next->used == BLOCK_FREE) {
        block->bytes += next->bytes;
      }
      if (previous != NULL && previous->used == BLOCK_FREE) {
        previous->bytes += block->bytes;
      }
      return 0;
    }
  }
  if (!heap_is_sound(server)) {
    return fail_heap_damaged(server);
  }
  return fail(server, "@ is not the start of a live allocation", NULL, address, 0, 0);
}

/* ----- Memory spans */

/* [address, address + length) inside [base, base + size), without overflow. */
static int inside(uint64_t base, uint64_t size, uint64_t address, uint64_t length) {
  return address >= base && address - base <= size && length <= size - (address - base);
}

/* Where [address, address + offset + bytes) lies, if it lies inside one config region or one
 * live heap block (a writable one if `write`); NULL and the exception otherwise. The returned
 * pointer is for `address`. Wire addresses are u64: one that does not fit a pointer lies in no
 * region, so it needs no test of its own, and no integer is ever turned into a pointer. */
static uint8_t* find_span(struct rvtvm_rpc_server* server, uint64_t address, uint64_t offset,
                          uint64_t bytes, int write) {
  const struct rvtvm_rpc_config* config = server->config;
  uint64_t length = offset + bytes;
  int read_only = 0;
  if (length >= offset) {
    struct heap_block* block;
    for (uint32_t i = 0; i < config->region_count; ++i) {
      const struct rvtvm_rpc_region* region = &config->regions[i];
      uint64_t base = (uintptr_t)region->base;
      if (inside(base, region->bytes, address, length)) {
        if (!write || region->writable) {
          return (uint8_t*)region->base + (address - base);
        }
        read_only = 1;
      }
    }
    for (uint32_t at = FIRST_BLOCK; (block = block_at(server, at)) != NULL; at += block->bytes) {
      uint8_t* payload = payload_of(server, at);
      uint64_t base = (uintptr_t)payload;
      if (block->used != BLOCK_FREE && inside(base, block->used, address, length)) {
        return payload + (address - base);
      }
    }
  }
  fail(server,
       read_only ? "# bytes at @+# are in a read-only region"
                 : "# bytes at @+# are outside every allocation",
       NULL, bytes, address, offset);
  return NULL;
}

/* ----- Arguments */

static int check_device(struct rvtvm_rpc_server* server, DLDevice device) {
  if (device.device_type == kDLCPU && device.device_id == 0) {
    return 0;
  }
  return fail(server, "device type $ id $ is not served (only cpu 0)", NULL,
              (uint64_t)device.device_type, (uint64_t)device.device_id, 0);
}

/* Bytes of a compact tensor. Dimensions are checked to 32 bits first, so the product needs no
 * 64-bit division to detect overflow; no tensor of 4 GiB fits a board anyway. */
static int tensor_bytes(struct rvtvm_rpc_server* server, const DLTensor* tensor,
                        uint64_t* bytes) {
  uint64_t count = 1;
  int empty = 0;
  int huge = 0;
  for (int32_t i = 0; i < tensor->ndim; ++i) {
    int64_t extent = tensor->shape[i];
    if (extent < 0) {
      return fail(server, "dimension # is negative", NULL, (uint64_t)i, 0, 0);
    }
    if (extent == 0) {
      empty = 1;
    } else if ((uint64_t)extent > UINT32_MAX) {
      huge = 1;
    } else {
      count *= (uint64_t)extent;
      if (count > UINT32_MAX) {
        huge = 1;
        count = 1;
      }
    }
  }
  *bytes = empty ? 0 : count * (((uint64_t)tensor->dtype.bits * tensor->dtype.lanes + 7u) / 8u);
  if (!empty && (huge || *bytes > UINT32_MAX)) {
    return fail(server, "a tensor of 4 GiB or more", NULL, 0, 0, 0);
  }
  return 0;
}

/* A DLTensor record (PROTOCOL.md §3) into tensors[index]. Its data stays a wire value, in
 * tensor_data[index], until find_span has placed it. */
static int decode_tensor(struct rvtvm_rpc_server* server, struct reader* reader, uint32_t index) {
  DLTensor* tensor = &server->tensors[index];
  uint64_t device;
  uint32_t dtype;
  const uint8_t* shape;
  memset(tensor, 0, sizeof *tensor);
  server->tensor_data[index] = read_n(reader, 8);
  device = read_n(reader, 8);
  memcpy(&tensor->device, &device, sizeof tensor->device);
  tensor->ndim = (int32_t)read_n(reader, 4);
  dtype = (uint32_t)read_n(reader, 4);
  memcpy(&tensor->dtype, &dtype, sizeof tensor->dtype);
  if (tensor->ndim < 0 || tensor->ndim > RVTVM_RPC_MAX_NDIM) {
    return fail(server, "ndim $ is not in 0..#", NULL, (uint64_t)tensor->ndim,
                RVTVM_RPC_MAX_NDIM, 0);
  }
  shape = take(reader, 8u * (uint32_t)tensor->ndim);
  if (shape != NULL) {
    memcpy(server->shapes[index], shape, 8u * (uint32_t)tensor->ndim);
  }
  tensor->shape = server->shapes[index];
  tensor->byte_offset = read_n(reader, 8);
  if (reader->overrun) {
    return fail_overrun(server);
  }
  return check_device(server, tensor->device);
}

/* One argument into args[index]. Str and SmallStr become NUL-terminated RawStr in `strings`;
 * Bytes and SmallBytes become ByteArrayPtr pointing into the packet; OpaquePtr and Module stay
 * wire values until their use. */
static int decode_arg(struct rvtvm_rpc_server* server, struct reader* reader, uint32_t index) {
  TVMFFIAny* arg = &server->args[index];
  int32_t type = (int32_t)read_n(reader, 4);
  if (type == kTVMFFISmallStr || type == kTVMFFIStr || type == kTVMFFISmallBytes ||
      type == kTVMFFIBytes) {
    /* Objects carry their type index a second time (PROTOCOL.md §3). */
    int is_str = type == kTVMFFISmallStr || type == kTVMFFIStr;
    uint32_t inner = (uint32_t)read_n(reader, 4);
    if (inner != (is_str ? kTVMFFIStr : kTVMFFIBytes)) {
      return fail(server, "argument # of type index $ holds an object of type index $", NULL,
                  index, (uint64_t)type, inner);
    }
    type = is_str ? kTVMFFIRawStr : kTVMFFIByteArrayPtr;
  }
  arg->type_index = type;
  switch (type) {
    case kTVMFFINone:
      return 0;
    case kTVMFFIInt:
    case kTVMFFIBool:
    case kTVMFFIFloat:
    case kTVMFFIOpaquePtr:
    case kTVMFFIDevice:
    case kTVMFFIModule:
      arg->v_uint64 = read_n(reader, 8);
      return 0;
    case kTVMFFIDataType:
      arg->v_uint64 = read_n(reader, 4);
      take(reader, 4); /* padding */
      return 0;
    case kTVMFFIDLTensorPtr:
      arg->v_ptr = &server->tensors[index];
      return decode_tensor(server, reader, index);
    case kTVMFFIRawStr:
    case kTVMFFIByteArrayPtr: {
      uint64_t length = read_n(reader, 8);
      const uint8_t* bytes = take(reader, length);
      if (bytes == NULL) {
        return fail_overrun(server);
      }
      if (type == kTVMFFIByteArrayPtr) {
        server->byte_arrays[index].data = (const char*)bytes;
        server->byte_arrays[index].size = (size_t)length;
        arg->v_ptr = &server->byte_arrays[index];
        return 0;
      }
      if (length >= sizeof server->strings - server->string_bytes) {
        return fail(server, "the string arguments of a request exceed # bytes", NULL,
                    sizeof server->strings - 1, 0, 0);
      }
      arg->v_c_str = server->strings + server->string_bytes;
      memcpy(server->strings + server->string_bytes, bytes, (size_t)length);
      server->string_bytes += (uint32_t)length;
      server->strings[server->string_bytes++] = '\0';
      return 0;
    }
    default:
      return fail(server, "argument # has type index $, which is not served", NULL, index,
                  (uint64_t)type, 0);
  }
}

/* A packed sequence (PROTOCOL.md §3) into args; *count is how many. */
static int decode_args(struct rvtvm_rpc_server* server, struct reader* reader, int32_t* count) {
  int32_t n = (int32_t)read_n(reader, 4);
  memset(server->args, 0, sizeof server->args);
  server->string_bytes = 0;
  *count = 0;
  if (reader->overrun) {
    return fail_overrun(server);
  }
  if (n < 0 || n > RVTVM_RPC_MAX_ARGS) {
    return fail(server, "$ arguments; at most # are served", NULL, (uint64_t)n,
                RVTVM_RPC_MAX_ARGS, 0);
  }
  for (int32_t i = 0; i < n; ++i) {
    if (decode_arg(server, reader, (uint32_t)i) != 0) {
      return FAILED;
    }
  }
  *count = n;
  return 0;
}

/* The packet must end exactly after its last field. */
static int finish(struct rvtvm_rpc_server* server, const struct reader* reader) {
  if (reader->overrun) {
    return fail_overrun(server);
  }
  if (reader->at != reader->end) {
    return fail(server, "# bytes after the last field", NULL,
                (uint64_t)(reader->end - reader->at), 0, 0);
  }
  return 0;
}

/* Argument kinds of the built-ins and syscalls, one letter each in their signatures. */
static const struct {
  char letter;
  uint8_t type_index;
  uint8_t or_type_index;
  const char* name;
} kArgKinds[] = {
    {'S', kTVMFFIRawStr, kTVMFFIRawStr, "a string"},
    {'s', kTVMFFIRawStr, kTVMFFINone, "a string or None"},
    {'M', kTVMFFIModule, kTVMFFINone, "a Module or None"},
    {'B', kTVMFFIBool, kTVMFFIInt, "a bool"},
    {'I', kTVMFFIInt, kTVMFFIInt, "an int"},
    {'P', kTVMFFIOpaquePtr, kTVMFFIOpaquePtr, "a pointer"},
    {'D', kTVMFFIDevice, kTVMFFIDevice, "a Device"},
    {'Y', kTVMFFIDataType, kTVMFFIDataType, "a DataType"},
    {'T', kTVMFFIDLTensorPtr, kTVMFFIDLTensorPtr, "a DLTensor"},
};

static int check_signature(struct rvtvm_rpc_server* server, int32_t count,
                           const char* signature) {
  uint32_t wanted = (uint32_t)strlen(signature);
  if ((uint32_t)count != wanted) {
    return fail(server, "takes # arguments, not #", NULL, wanted, (uint64_t)count, 0);
  }
  for (uint32_t i = 0; i < wanted; ++i) {
    for (uint32_t k = 0; k < sizeof kArgKinds / sizeof kArgKinds[0]; ++k) {
      int32_t type = server->args[i].type_index;
      if (kArgKinds[k].letter == signature[i] && type != kArgKinds[k].type_index &&
          type != kArgKinds[k].or_type_index) {
        return fail(server, "argument # must be %", kArgKinds[k].name, i, 0, 0);
      }
    }
  }
  return 0;
}

/* Tensor data and opaque pointers must lie in memory the server knows. The callee gets compact
 * tensors with byte_offset folded into data. Read-only regions are allowed: the server cannot
 * tell inputs from outputs. */
static int bind_arg(struct rvtvm_rpc_server* server, uint32_t index) {
  TVMFFIAny* arg = &server->args[index];
  uint8_t* data;
  if (arg->type_index == kTVMFFIDLTensorPtr) {
    DLTensor* tensor = &server->tensors[index];
    uint64_t bytes;
    if (tensor_bytes(server, tensor, &bytes) != 0) {
      return FAILED;
    }
    data = find_span(server, server->tensor_data[index], tensor->byte_offset, bytes, 0);
    if (data == NULL) {
      return FAILED;
    }
    tensor->data = data + tensor->byte_offset;
    tensor->byte_offset = 0;
  } else if (arg->type_index == kTVMFFIOpaquePtr && arg->v_uint64 != 0) {
    data = find_span(server, arg->v_uint64, 0, 0, 0);
    if (data == NULL) {
      return FAILED;
    }
    arg->v_uint64 = 0;
    arg->v_ptr = data;
  } else if (arg->type_index == kTVMFFIModule) {
    return fail(server, "only the built-in functions take a Module", NULL, 0, 0, 0);
  }
  return 0;
}

static int bind_args(struct rvtvm_rpc_server* server, int32_t count) {
  for (int32_t i = 0; i < count; ++i) {
    if (bind_arg(server, (uint32_t)i) != 0) {
      append_format(server, " (argument #)", NULL, (uint64_t)i, 0, 0);
      return FAILED;
    }
  }
  return 0;
}

/* ----- Calls */

static const struct rvtvm_rpc_function* find_function(const struct rvtvm_rpc_function* table,
                                                      uint32_t count, const char* name) {
  for (uint32_t i = 0; i < count; ++i) {
    if (table[i].name != NULL && strcmp(table[i].name, name) == 0) {
      return &table[i];
    }
  }
  return NULL;
}

static int call_function(struct rvtvm_rpc_server* server, rvtvm_packed_fn fn, const char* name,
                         int32_t count, TVMFFIAny* result) {
  int32_t status;
  memset(result, 0, sizeof *result); /* type_index kTVMFFINone, as TVM-FFI requires */
  rvtvm_tvm_clear_last_error();      /* a status without a message must not show a stale one */
  status = fn(NULL, server->args, count, result);
  if (status == 0) {
    return 0;
  }
  server->what = NULL;
  fail(server, "% failed (status $): ", name, (uint64_t)status, 0, 0);
  rvtvm_text_append_str(&server->message, rvtvm_tvm_last_error());
  return FAILED;
}

/* [Int 70][DLTensorPtr record][OpaquePtr handle]; the tensor must lie in a region or a heap
 * block and be compact. Its byte_offset is folded into data, because the client's copies replace
 * byte_offset with their own (PROTOCOL.md §7). */
static int reply_tensor(struct rvtvm_rpc_server* server, const DLTensor* tensor) {
  uint64_t bytes;
  uint64_t value;
  uint64_t stride = 1;
  uint8_t* data;
  if (tensor == NULL || tensor->ndim < 0 || tensor->ndim > RVTVM_RPC_MAX_NDIM ||
      (tensor->ndim > 0 && tensor->shape == NULL)) {
    return fail(server, "returned a DLTensor that is null or has no ndim in 0..#", NULL,
                RVTVM_RPC_MAX_NDIM, 0, 0);
  }
  for (int32_t i = tensor->ndim - 1; tensor->strides != NULL && i >= 0; --i) {
    if (tensor->shape[i] != 1 && (uint64_t)tensor->strides[i] != stride) {
      return fail(server, "returned a DLTensor that is not compact", NULL, 0, 0, 0);
    }
    stride *= (uint64_t)tensor->shape[i];
  }
  if (check_device(server, tensor->device) != 0 || tensor_bytes(server, tensor, &bytes) != 0) {
    return FAILED;
  }
  data = find_span(server, (uintptr_t)tensor->data, tensor->byte_offset, bytes, 0);
  if (data == NULL || new_handle(server, RVTVM_RPC_HANDLE_TENSOR, &value) == NULL) {
    return FAILED;
  }
  begin_return(server, 3);
  put_value(server, kTVMFFIInt, kTVMFFITensor);
  put_value(server, kTVMFFIDLTensorPtr, (uintptr_t)(data + tensor->byte_offset));
  put(server, kDLCPU, 4);
  put(server, 0, 4);
  put(server, (uint32_t)tensor->ndim, 4);
  put(server, (uint64_t)tensor->dtype.code | (uint64_t)tensor->dtype.bits << 8 |
                  (uint64_t)tensor->dtype.lanes << 16,
      4);
  for (int32_t i = 0; i < tensor->ndim; ++i) {
    put(server, (uint64_t)tensor->shape[i], 8);
  }
  put(server, 0, 8); /* byte_offset */
  put_value(server, kTVMFFIOpaquePtr, value);
  send_reply(server, NULL, 0);
  return 0;
}

/* A callee's result as PROTOCOL.md §4.2 has it. */
static int reply_callee_result(struct rvtvm_rpc_server* server, const TVMFFIAny* result) {
  int32_t type = result->type_index;
  switch (type) {
    case kTVMFFINone:
    case kTVMFFIInt:
    case kTVMFFIBool:
    case kTVMFFIFloat:
      return reply_result(server, type, type, result->v_uint64);
    case kTVMFFIOpaquePtr:
      return reply_result(server, type, type, (uintptr_t)result->v_ptr);
    case kTVMFFIRawStr: {
      const char* text = result->v_c_str != NULL ? result->v_c_str : "";
      uint32_t length = (uint32_t)strlen(text);
      begin_return(server, 2);
      put_value(server, kTVMFFIInt, kTVMFFIStr);
      put_value(server, kTVMFFIRawStr, length);
      send_reply(server, text, length);
      return 0;
    }
    case kTVMFFIDLTensorPtr:
      return reply_tensor(server, (const DLTensor*)result->v_ptr);
    default:
      return fail(server, "returned type index $, which the server cannot send", NULL,
                  (uint64_t)type, 0, 0);
  }
}

/* Timing is the one place with 64-bit division and doubles. rv32imc has no FPU: libgcc's
 * soft-float (__adddf3, __muldf3, __divdf3, ...) and __udivdi3 would add some 7 KB, more than
 * half the server, for a few operations per timing round. These two loops do it in integers. */

/* n / d for d > 0, by shift and subtract. */
static uint64_t divide_u64(uint64_t n, uint64_t d) {
  uint64_t quotient = 0;
  uint64_t remainder = 0;
  for (uint32_t i = 0; i < 64; ++i) {
    uint64_t carry = remainder >> 63; /* the bit shifted out below, worth 2^64 > d */
    remainder = remainder << 1 | n >> 63;
    n <<= 1;
    quotient <<= 1;
    if (carry != 0 || remainder >= d) {
      remainder -= d;
      quotient |= 1u;
    }
  }
  return quotient;
}

/* n / d for n, d > 0 as the bits of an IEEE 754 double, rounded toward zero. Both are shifted
 * up to 64 significant bits; then 53 quotient bits are the significand, and the shifts the
 * exponent. */
static uint64_t ratio_as_double(uint64_t n, uint64_t d) {
  int32_t exponent = 1023;
  uint64_t significand = 0;
  uint64_t carry = 0;
  while ((n >> 63) == 0) {
    n <<= 1;
    --exponent;
  }
  while ((d >> 63) == 0) {
    d <<= 1;
    ++exponent;
  }
  if (n < d) { /* make n / d lie in [1, 2); d's lowest bit is lost, 2^-63 of it */
    d >>= 1;
    --exponent;
  }
  for (uint32_t i = 0; i < 53; ++i) {
    significand <<= 1;
    if (carry != 0 || n >= d) {
      n -= d;
      significand |= 1u;
    }
    carry = n >> 63;
    n <<= 1;
  }
  return (uint64_t)exponent << 52 | (significand & ((UINT64_C(1) << 52) - 1u));
}

/* Above this, cycles * 1000 would overflow (200 days at 1 GHz). */
#define MAX_TIMED_CYCLES (UINT64_MAX / 1000u)
#define MAX_NUMBER (1 << 30)

/* TVM's WrapTimeEvaluator (src/runtime/timer.cc): one warm-up call, then `repeat` rounds of
 * `number` calls; while a round is shorter than min_repeat_ms (and has not been 0 cycles long
 * limit_zero_time_iterations times), number grows to max(min_repeat_ms / time per call + 1,
 * number * 1.618) and the round runs again. number keeps its growth for the evaluator's later
 * calls, as TVM's does. Replies Bytes: `repeat` doubles, seconds per call. make_time_evaluator
 * has checked cycles_per_second to be below 2^32, so min_repeat_ms * cycles_per_second < 2^63. */
static int run_time_evaluator(struct rvtvm_rpc_server* server, struct rvtvm_rpc_handle* handle,
                              int32_t count) {
  const struct rvtvm_rpc_config* config = server->config;
  uint64_t min_cycles_x1000 = (uint64_t)handle->min_repeat_ms * config->cycles_per_second;
  uint64_t bytes = (uint64_t)handle->repeat * sizeof(double);
  TVMFFIAny result;
  uint8_t* times;
  int status;
  if (bind_args(server, count) != 0) {
    return FAILED;
  }
  /* The results wait on the heap: a call that fails in a late round must still be able to
   * reply with an exception, not with half a reply. */
  times = heap_alloc(server, bytes, RVTVM_RPC_HEAP_ALIGN);
  if (times == NULL) {
    append_format(server, " (for the timings)", NULL, 0, 0, 0);
    return FAILED;
  }
  status = call_function(server, handle->fn, handle->name, count, &result);
  for (int32_t i = 0; status == 0 && i < handle->repeat; ++i) {
    uint64_t cycles = 0;
    uint64_t per_second;
    uint64_t seconds;
    int32_t zero_rounds = 0;
    do {
      uint64_t start;
      if (cycles != 0) {
        uint32_t number = (uint32_t)handle->number;
        uint64_t per_call_x1000 = divide_u64(cycles * 1000u, number);
        uint64_t wanted = per_call_x1000 == 0 ? MAX_NUMBER
                                              : divide_u64(min_cycles_x1000, per_call_x1000) + 1;
        /* floor(number * 1.618) in 32 bits */
        uint64_t grown = number / 1000u * 1618u + number % 1000u * 1618u / 1000u;
        wanted = wanted > grown ? wanted : grown;
        handle->number = wanted < MAX_NUMBER ? (int32_t)wanted : MAX_NUMBER;
      }
      start = config->read_cycles();
      for (int32_t j = 0; status == 0 && j < handle->number; ++j) {
        status = call_function(server, handle->fn, handle->name, count, &result);
      }
      cycles = config->read_cycles() - start;
      cycles = cycles < MAX_TIMED_CYCLES ? cycles : MAX_TIMED_CYCLES;
      zero_rounds += cycles == 0;
    } while (status == 0 && cycles * 1000u < min_cycles_x1000 &&
             zero_rounds < handle->limit_zero_time_iterations);
    per_second = config->cycles_per_second * (uint32_t)handle->number; /* < 2^62 */
    seconds = cycles == 0 ? 0 : ratio_as_double(cycles, per_second);
    memcpy(times + sizeof(double) * (uint32_t)i, &seconds, sizeof seconds);
  }
  if (status == 0) {
    begin_return(server, 2);
    put_value(server, kTVMFFIInt, kTVMFFIBytes);
    put_value(server, kTVMFFIByteArrayPtr, bytes);
    send_reply(server, times, (uint32_t)bytes);
  }
  heap_free(server, (uintptr_t)times); /* cannot fail: the block is live */
  return status;
}

/* ----- Built-in global functions */

enum {
  BUILTIN_MAX_PACKET,
  BUILTIN_SYSTEM_LIB,
  BUILTIN_MODULE_GET_FUNCTION,
  BUILTIN_TIME_EVALUATOR,
  BUILTIN_COUNT
};

/* Names only: find_function looks them up like the config's globals. */
static const struct rvtvm_rpc_function kBuiltins[BUILTIN_COUNT] = {
    {"tvm.rpc.server.GetCRTMaxPacketSize", NULL},
    {"ffi.SystemLib", NULL},
    {"tvm.rpc.server.ModuleGetFunction", NULL},
    {"runtime.RPCTimeEvaluator", NULL},
};

/* (Module m, str name, bool query_imports), and RPCTimeEvaluator's twelve (PROTOCOL.md §5). */
static const char* const kBuiltinSignatures[BUILTIN_COUNT] = {"", "", "MSB", "MSIIIIIIIIIS"};

/* The value of an Int argument, if it lies in [low, INT32_MAX]. */
static int int32_arg(struct rvtvm_rpc_server* server, uint32_t index, int32_t low,
                     int32_t* value) {
  int64_t wide = server->args[index].v_int64;
  if (wide < low || wide > INT32_MAX) {
    return fail(server, "argument # is out of range ($..2147483647)", NULL, index,
                (uint64_t)low, 0);
  }
  *value = (int32_t)wide;
  return 0;
}

static int make_time_evaluator(struct rvtvm_rpc_server* server) {
  const struct rvtvm_rpc_config* config = server->config;
  const TVMFFIAny* args = server->args;
  const struct rvtvm_rpc_function* function;
  struct rvtvm_rpc_handle* handle;
  struct rvtvm_rpc_handle fields;
  DLDevice device;
  uint64_t value;
  if (args[0].type_index == kTVMFFIModule) {
    if (find_handle(server, args[0].v_uint64, RVTVM_RPC_HANDLE_MODULE) == NULL) {
      return FAILED;
    }
    function = find_function(config->system_lib, config->system_lib_count, args[1].v_c_str);
  } else {
    function = find_function(config->globals, config->globals_count, args[1].v_c_str);
  }
  if (function == NULL) {
    return fail(server, "no function '%'", args[1].v_c_str, 0, 0, 0);
  }
  device.device_type = (DLDeviceType)args[2].v_int64;
  device.device_id = (int32_t)args[3].v_int64;
  if (check_device(server, device) != 0 || int32_arg(server, 4, 1, &fields.number) != 0 ||
      int32_arg(server, 5, 1, &fields.repeat) != 0 ||
      int32_arg(server, 6, 0, &fields.min_repeat_ms) != 0 ||
      int32_arg(server, 7, 0, &fields.limit_zero_time_iterations) != 0) {
    return FAILED;
  }
  /* cooldown_interval_ms, repeats_to_cooldown, cache_flush_bytes: no caches, nothing to cool. */
  if (args[11].v_c_str[0] != '\0') {
    return fail(server, "f_preproc '%' is not supported", args[11].v_c_str, 0, 0, 0);
  }
  if (config->read_cycles == NULL || config->cycles_per_second == 0 ||
      config->cycles_per_second > UINT32_MAX) {
    return fail(server, "timing needs read_cycles and a cycles_per_second below 2^32", NULL, 0,
                0, 0);
  }
  handle = new_handle(server, RVTVM_RPC_HANDLE_TIME_EVALUATOR, &value);
  if (handle == NULL) {
    return FAILED;
  }
  fields.kind = RVTVM_RPC_HANDLE_TIME_EVALUATOR;
  fields.builtin = 0;
  fields.fn = function->fn;
  fields.name = function->name;
  *handle = fields;
  return reply_handle(server, kTVMFFIFunction, value);
}

static int call_builtin(struct rvtvm_rpc_server* server, uint8_t builtin, int32_t count) {
  const struct rvtvm_rpc_config* config = server->config;
  const struct rvtvm_rpc_function* function;
  struct rvtvm_rpc_handle* handle;
  uint64_t value;
  if (check_signature(server, count, kBuiltinSignatures[builtin]) != 0) {
    return FAILED;
  }
  switch (builtin) {
    case BUILTIN_MAX_PACKET:
      return reply_result(server, kTVMFFIInt, kTVMFFIInt, config->max_packet_bytes);
    case BUILTIN_SYSTEM_LIB:
      handle = new_handle(server, RVTVM_RPC_HANDLE_MODULE, &value);
      if (handle == NULL) {
        return FAILED;
      }
      handle->name = "system lib";
      return reply_handle(server, kTVMFFIModule, value);
    case BUILTIN_MODULE_GET_FUNCTION:
      if (find_handle(server, server->args[0].v_uint64, RVTVM_RPC_HANDLE_MODULE) == NULL) {
        return FAILED;
      }
      function =
          find_function(config->system_lib, config->system_lib_count, server->args[1].v_c_str);
      if (function == NULL) {
        return reply_result(server, kTVMFFINone, kTVMFFINone, 0); /* AttributeError */
      }
      handle = new_handle(server, RVTVM_RPC_HANDLE_FUNCTION, &value);
      if (handle == NULL) {
        return FAILED;
      }
      handle->fn = function->fn;
      handle->name = function->name;
      return reply_handle(server, kTVMFFIFunction, value);
    default:
      return make_time_evaluator(server);
  }
}

static int serve_call(struct rvtvm_rpc_server* server, struct reader* reader) {
  uint64_t value = read_n(reader, 8);
  struct rvtvm_rpc_handle* handle;
  TVMFFIAny result;
  int32_t count;
  if (decode_args(server, reader, &count) != 0 || finish(server, reader) != 0) {
    return FAILED;
  }
  handle = find_handle(server, value, ANY_KIND);
  if (handle == NULL) {
    return FAILED;
  }
  if (handle->kind == RVTVM_RPC_HANDLE_MODULE || handle->kind == RVTVM_RPC_HANDLE_TENSOR) {
    return fail(server, "handle @ is not a function", NULL, value, 0, 0);
  }
  server->what = handle->name;
  if (handle->kind == RVTVM_RPC_HANDLE_BUILTIN) {
    return call_builtin(server, handle->builtin, count);
  }
  if (handle->kind == RVTVM_RPC_HANDLE_TIME_EVALUATOR) {
    return run_time_evaluator(server, handle, count);
  }
  if (bind_args(server, count) != 0 ||
      call_function(server, handle->fn, handle->name, count, &result) != 0) {
    return FAILED;
  }
  return reply_callee_result(server, &result);
}

static int serve_get_global_func(struct rvtvm_rpc_server* server, const char* name) {
  const struct rvtvm_rpc_config* config = server->config;
  const struct rvtvm_rpc_function* builtin = find_function(kBuiltins, BUILTIN_COUNT, name);
  const struct rvtvm_rpc_function* function =
      find_function(config->globals, config->globals_count, name);
  struct rvtvm_rpc_handle* handle;
  uint64_t value = 0; /* unknown names get a null handle: the client raises AttributeError */
  if (builtin != NULL || function != NULL) {
    handle = new_handle(server,
                        builtin != NULL ? RVTVM_RPC_HANDLE_BUILTIN : RVTVM_RPC_HANDLE_FUNCTION,
                        &value);
    if (handle == NULL) {
      return FAILED;
    }
    if (builtin != NULL) {
      handle->builtin = (uint8_t)(builtin - kBuiltins);
      handle->name = builtin->name;
    } else {
      handle->fn = function->fn;
      handle->name = function->name;
    }
  }
  return reply_one(server, kTVMFFIOpaquePtr, value);
}

/* ----- Copies */

/* kCopyToRemote: record, u64 nbytes, the bytes. kCopyFromRemote: record, u64 nbytes; the reply
 * is kCopyAck and the raw bytes. The chunk's byte_offset is absolute (PROTOCOL.md §7). */
static int serve_copy(struct rvtvm_rpc_server* server, struct reader* reader, int to_remote) {
  const uint8_t* source = NULL;
  uint64_t nbytes;
  uint8_t* span;
  if (decode_tensor(server, reader, 0) != 0) {
    return FAILED;
  }
  nbytes = read_n(reader, 8);
  if (to_remote) {
    source = take(reader, nbytes);
  }
  if (finish(server, reader) != 0) {
    return FAILED;
  }
  span = find_span(server, server->tensor_data[0], server->tensors[0].byte_offset, nbytes,
                   to_remote);
  if (span == NULL) {
    return FAILED;
  }
  span += server->tensors[0].byte_offset;
  if (to_remote) {
    memcpy(span, source, (size_t)nbytes);
    return reply_one(server, kTVMFFINone, 0);
  }
  if (nbytes > UINT32_MAX - 16u) {
    return fail(server, "a reply of # bytes is too long", NULL, nbytes, 0, 0);
  }
  begin_reply(server, CODE_COPY_ACK);
  send_reply(server, span, (uint32_t)nbytes);
  return 0;
}

/* kCopyAmongRemote: both tensors of the same size, each inside one allocation. */
static int copy_among_remote(struct rvtvm_rpc_server* server) {
  uint64_t from_bytes;
  uint64_t to_bytes;
  uint8_t* from;
  uint8_t* to;
  if (tensor_bytes(server, &server->tensors[0], &from_bytes) != 0 ||
      tensor_bytes(server, &server->tensors[1], &to_bytes) != 0) {
    return FAILED;
  }
  if (from_bytes != to_bytes) {
    return fail(server, "# bytes cannot go to a tensor of # bytes", NULL, from_bytes, to_bytes,
                0);
  }
  from = find_span(server, server->tensor_data[0], server->tensors[0].byte_offset, from_bytes, 0);
  to = from == NULL ? NULL
                    : find_span(server, server->tensor_data[1], server->tensors[1].byte_offset,
                                to_bytes, 1);
  if (to == NULL) {
    return FAILED;
  }
  memmove(to + server->tensors[1].byte_offset, from + server->tensors[0].byte_offset,
          (size_t)from_bytes);
  return 0;
}

/* ----- Syscalls: a packed sequence in, exactly one value out (PROTOCOL.md §4.3) */

/* Indexed by code - CODE_GET_GLOBAL_FUNC; letters as in kArgKinds. */
static const char* const kSyscallSignatures[CODE_COUNT - CODE_GET_GLOBAL_FUNC] = {
    "S",    /* GetGlobalFunc(name) */
    "P",    /* FreeHandle(handle) */
    "D",    /* DevSetDevice(device) */
    "DI",   /* DevGetAttr(device, kind) */
    "DIIY", /* DevAllocData(device, nbytes, alignment, type hint) */
    "DP",   /* DevFreeData(device, pointer) */
    "DP",   /* DevStreamSync(device, stream) */
    "TTP",  /* CopyAmongRemote(from, to, stream) */
    "Ts",   /* DevAllocDataWithScope(tensor, scope) */
    "D",    /* DevCreateStream(device) */
    "DP",   /* DevFreeStream(device, stream) */
    "DP",   /* DevSetStream(device, stream) */
    "D",    /* DevGetCurrentStream(device) */
};

static int serve_syscall(struct rvtvm_rpc_server* server, struct reader* reader, int32_t code) {
  const TVMFFIAny* args = server->args;
  struct rvtvm_rpc_handle* handle;
  uint64_t bytes;
  int64_t alignment;
  uint8_t* data;
  int32_t count;
  if (decode_args(server, reader, &count) != 0 || finish(server, reader) != 0 ||
      check_signature(server, count, kSyscallSignatures[code - CODE_GET_GLOBAL_FUNC]) != 0) {
    return FAILED;
  }
  if (code == CODE_DEV_GET_ATTR && args[1].v_int64 == 0) {
    /* kExist: asked of any device (the client probes cuda), so it is an answer, not an error. */
    return reply_one(server, kTVMFFIInt,
                     args[0].v_device.device_type == kDLCPU && args[0].v_device.device_id == 0);
  }
  if (args[0].type_index == kTVMFFIDevice && check_device(server, args[0].v_device) != 0) {
    return FAILED;
  }
  /* Stream arguments are not checked: the cpu has only the null stream, as in TVM. */
  switch (code) {
    case CODE_GET_GLOBAL_FUNC:
      return serve_get_global_func(server, args[0].v_c_str);
    case CODE_FREE_HANDLE:
      handle = find_handle(server, args[0].v_uint64, ANY_KIND);
      if (handle == NULL) {
        return FAILED;
      }
      handle->kind = RVTVM_RPC_HANDLE_FREE;
      break;
    case CODE_DEV_ALLOC_DATA:
      alignment = args[2].v_int64;
      if (args[1].v_int64 < 0 || alignment < 0 || alignment > 64 ||
          (alignment & (alignment - 1)) != 0) {
        return fail(server, "cannot allocate # bytes aligned to # (alignments up to 64)", NULL,
                    args[1].v_uint64, args[2].v_uint64, 0);
      }
      data = heap_alloc(server, args[1].v_uint64,
                        alignment > RVTVM_RPC_HEAP_ALIGN ? (uint32_t)alignment
                                                         : RVTVM_RPC_HEAP_ALIGN);
      return data == NULL ? FAILED : reply_one(server, kTVMFFIOpaquePtr, (uintptr_t)data);
    case CODE_DEV_ALLOC_DATA_WITH_SCOPE:
      if (args[1].type_index == kTVMFFIRawStr && strcmp(args[1].v_c_str, "global") != 0) {
        return fail(server, "memory scope '%' is not served (only global)", args[1].v_c_str, 0,
                    0, 0);
      }
      if (tensor_bytes(server, &server->tensors[0], &bytes) != 0) {
        return FAILED;
      }
      data = heap_alloc(server, bytes, RVTVM_RPC_HEAP_ALIGN);
      return data == NULL ? FAILED : reply_one(server, kTVMFFIOpaquePtr, (uintptr_t)data);
    case CODE_DEV_FREE_DATA:
      if (heap_free(server, args[1].v_uint64) != 0) {
        return FAILED;
      }
      break;
    case CODE_COPY_AMONG_REMOTE:
      if (copy_among_remote(server) != 0) {
        return FAILED;
      }
      break;
    case CODE_DEV_CREATE_STREAM:
    case CODE_DEV_GET_CURRENT_STREAM:
      return reply_one(server, kTVMFFIOpaquePtr, 0);
    default: /* DevSetDevice, DevGetAttr of other kinds (unset: None), stream sync/free/set */
      break;
  }
  return reply_one(server, kTVMFFINone, 0);
}

/* ----- Sessions and the dispatcher */

/* kInitServer: u64 length, the version, a packed sequence (empty unless proxies chain). */
static int serve_init(struct rvtvm_rpc_server* server, struct reader* reader) {
  uint64_t length = read_n(reader, 8);
  const uint8_t* version = take(reader, length);
  int32_t count;
  rvtvm_rpc_server_reset(server);
  if (decode_args(server, reader, &count) != 0 || finish(server, reader) != 0) {
    return FAILED;
  }
  if (length != sizeof RVTVM_RPC_PROTOCOL_VERSION - 1 ||
      memcmp(version, RVTVM_RPC_PROTOCOL_VERSION, sizeof RVTVM_RPC_PROTOCOL_VERSION - 1) != 0) {
    uint32_t shown = length < 32 ? (uint32_t)length : 32;
    memcpy(server->strings, version, shown);
    server->strings[shown] = '\0';
    return fail(server, "client protocol '%' is not " RVTVM_RPC_PROTOCOL_VERSION,
                server->strings, 0, 0, 0);
  }
  if (count != 0) {
    return fail(server, "session constructor arguments are not served", NULL, 0, 0, 0);
  }
  return reply_one(server, kTVMFFINone, 0);
}

void rvtvm_rpc_server_init(struct rvtvm_rpc_server* server,
                           const struct rvtvm_rpc_config* config) {
  memset(server, 0, sizeof *server);
  server->config = config;
  rvtvm_rpc_server_reset(server);
}

void rvtvm_rpc_server_reset(struct rvtvm_rpc_server* server) {
  const struct rvtvm_rpc_config* config = server->config;
  uint32_t skip = (uint32_t)(0u - (uintptr_t)config->heap) & (RVTVM_RPC_HEAP_ALIGN - 1u);
  ++server->epoch;
  memset(server->handles, 0, sizeof server->handles);
  server->heap = config->heap;
  server->heap_end = FIRST_BLOCK; /* no blocks */
  if (config->heap_bytes >= skip + FIRST_BLOCK + MIN_BLOCK_BYTES) {
    server->heap = config->heap + skip;
    server->heap_end = FIRST_BLOCK + ((config->heap_bytes - skip - FIRST_BLOCK) & ~15u);
    make_free_block(server, FIRST_BLOCK, server->heap_end - FIRST_BLOCK);
  }
}

static void refuse_oversized(struct rvtvm_rpc_server* server, uint64_t declared_length) {
  fail(server, "a packet of # bytes is over the limit of # (GetCRTMaxPacketSize)", NULL,
       declared_length, server->config->max_packet_bytes, 0);
}

void rvtvm_rpc_server_refuse_oversized(struct rvtvm_rpc_server* server, uint64_t declared_length,
                                       const struct rvtvm_rpc_writer* out) {
  server->out = out;
  server->what = NULL;
  refuse_oversized(server, declared_length);
  send_exception(server);
}

void rvtvm_rpc_server_refuse(struct rvtvm_rpc_server* server, const char* message,
                             uint64_t number, const struct rvtvm_rpc_writer* out) {
  server->out = out;
  server->what = NULL;
  fail(server, message, NULL, number, 0, 0);
  send_exception(server);
}

int rvtvm_rpc_server_handle(struct rvtvm_rpc_server* server, const uint8_t* packet,
                            uint32_t length, const struct rvtvm_rpc_writer* out) {
  struct reader reader = {packet, packet + length, 0};
  uint64_t declared = read_n(&reader, 8);
  int32_t code;
  int status = FAILED;
  server->out = out;
  server->what = NULL;
  if (reader.overrun) {
    fail(server, "a packet of # bytes has no room for its length", NULL, length, 0, 0);
  } else if (declared > server->config->max_packet_bytes) {
    refuse_oversized(server, declared);
  } else if (declared != length - 8u) {
    fail(server, "the length field says # bytes, but # follow", NULL, declared, length - 8u, 0);
  } else if (declared == 0) {
    return RVTVM_RPC_SERVED; /* a no-op, as in TVM's server */
  } else {
    code = (int32_t)read_n(&reader, 4);
    if (!reader.overrun && code >= 0 && code < CODE_COUNT) {
      server->what = kCodeNames[code];
    }
    if (reader.overrun) {
      status = fail_overrun(server);
    } else if (code == CODE_SHUTDOWN) {
      rvtvm_rpc_server_reset(server);
      return RVTVM_RPC_SHUTDOWN;
    } else if (code == CODE_INIT_SERVER) {
      status = serve_init(server, &reader);
    } else if (code == CODE_CALL_FUNC) {
      status = serve_call(server, &reader);
    } else if (code == CODE_COPY_FROM_REMOTE || code == CODE_COPY_TO_REMOTE) {
      status = serve_copy(server, &reader, code == CODE_COPY_TO_REMOTE);
    } else if (code >= CODE_GET_GLOBAL_FUNC && code < CODE_COUNT) {
      status = serve_syscall(server, &reader, code);
    } else {
      server->what = NULL;
      status = fail(server, "RPC code $ is not a request", NULL, (uint64_t)code, 0, 0);
    }
  }
  if (status != 0) {
    send_exception(server);
  }
  return RVTVM_RPC_SERVED;
}
