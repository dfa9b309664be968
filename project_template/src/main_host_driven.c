/* host_driven firmware: a TVM RPC server on the UART. The host (rvtvm.session.connect, through
 * rvtvm/rpc_bridge.py) calls the model's operators and its AOT entry, moves tensors, and times
 * calls with the cycle counter.
 *
 * Layers: UART bytes -> session frames and messages (rvtvm/session.h) -> RPC packets
 * (rvtvm/rpc_server.h) -> the model's packed functions (model_rpc.h). BOOT is sent at boot; the
 * firmware then serves forever (the host stops the emulator).
 *
 * Build defines (board.mk through the Makefile, or EXTRA_CFLAGS):
 *   RVTVM_RPC_HEAP_BYTES          memory for tensors the host allocates (rpc_heap_bytes option)
 *   RVTVM_RPC_MAX_PACKET_BYTES    largest RPC packet accepted; bounds the one receive buffer
 *   RVTVM_BOARD_CYCLES_PER_SECOND the cycle counter's rate, for the time evaluator's seconds
 * Test hooks, compiled in only with -DRVTVM_TEST_FUNCTIONS: global functions "rvtvm.test.Reset",
 * which restarts the firmware from _start without replying, as a watchdog reset would, and
 * "rvtvm.test.HogStack"(n), which writes an n-byte local array (to overflow the stack).
 */
#include <stdint.h>
#include <string.h>

#include "model_glue.h"
#include "model_rpc.h"
#include "rvtvm/board.h"
#include "rvtvm/rpc_server.h"
#include "rvtvm/session.h"
#include "rvtvm/stack.h"
#include "rvtvm/tvm_backend.h"
#include "rvtvm/workspace.h"

#ifndef RVTVM_RPC_HEAP_BYTES
#define RVTVM_RPC_HEAP_BYTES 65536
#endif
#ifndef RVTVM_RPC_MAX_PACKET_BYTES
#define RVTVM_RPC_MAX_PACKET_BYTES 2048
#endif
#ifndef RVTVM_BOARD_CYCLES_PER_SECOND
#define RVTVM_BOARD_CYCLES_PER_SECOND 1000000000ull
#endif

/* One message: session header, the packet's u64 length field, and the packet. */
#define MESSAGE_BYTES (RVTVM_SESSION_HEADER_BYTES + 8u + RVTVM_RPC_MAX_PACKET_BYTES)
_Static_assert(MESSAGE_BYTES <= RVTVM_SFRAME_MAX_PAYLOAD, "RVTVM_RPC_MAX_PACKET_BYTES too large");

static uint8_t message_buffer[MESSAGE_BYTES];
static uint8_t rpc_heap[RVTVM_RPC_HEAP_BYTES] __attribute__((aligned(RVTVM_RPC_HEAP_ALIGN)));
static struct rvtvm_rpc_server server;
static struct rvtvm_rpc_config config;
static struct rvtvm_session session;

static void write_uart(void* context, const uint8_t* bytes, uint32_t count) {
  (void)context;
  rvtvm_board_uart_write(bytes, count);
}

static uint32_t cycle_entropy(void) { return (uint32_t)rvtvm_board_cycles(); }

/* The RPC server's replies go out as the session's REPLY. */
static void reply_begin(void* context, uint32_t packet_bytes) {
  rvtvm_session_reply_begin((struct rvtvm_session*)context, packet_bytes);
}
static void reply_put(void* context, const void* bytes, uint32_t count) {
  rvtvm_session_reply_put((struct rvtvm_session*)context, bytes, count);
}
static void reply_end(void* context) { rvtvm_session_reply_end((struct rvtvm_session*)context); }

static void on_open(void* context) {
  (void)context;
  rvtvm_rpc_server_reset(&server);
}

/* Cycles from a complete request to its reply sent, for the request before the current one. */
static uint64_t last_request_cycles;

static void on_request(void* context, struct rvtvm_session* current, const uint8_t* packet,
                       uint32_t length) {
  (void)context;
  uint64_t start = rvtvm_board_cycles();
  const struct rvtvm_rpc_writer writer = {reply_begin, reply_put, reply_end, current};
  if (rvtvm_stack_overflowed()) {
    /* Memory below the stack may be corrupt: serve nothing more, not even a copy of results. */
    rvtvm_rpc_server_refuse(&server,
                            "the stack outgrew its #-byte reservation in an earlier call, so the "
                            "board's memory may be corrupt; raise stack_size_bytes and boot again",
                            rvtvm_stack_reserved_bytes(), &writer);
    return;
  }
  /* Operators called one at a time take their scratch from the general pool. */
  rvtvm_workspace_set(0, 0);
  (void)rvtvm_rpc_server_handle(&server, packet, length, &writer);
  last_request_cycles = rvtvm_board_cycles() - start;
}

static int32_t refuse(const char* message) {
  const char* parts[1] = {message};
  TVMFFIErrorSetRaisedFromCStrParts("ValueError", parts, 1);
  return -1;
}

static int32_t return_int(TVMFFIAny* result, int64_t value) {
  result->type_index = kTVMFFIInt;
  result->zero_padding = 0;
  result->v_int64 = value;
  return 0;
}

/* "rvtvm.session.LastRequestCycles"() -> the device cycles the previous request took: parsing,
 * the call, encoding and sending the reply (scripts/benchmark_rpc.py). */
static int32_t previous_request_cycles(void* self, const TVMFFIAny* args, int32_t num_args,
                                       TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  return return_int(result, (int64_t)last_request_cycles);
}

/* "rvtvm.board.CyclesPerSecond"() -> the cycle counter's rate. */
static int32_t cycles_per_second(void* self, const TVMFFIAny* args, int32_t num_args,
                                 TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  return return_int(result, (int64_t)RVTVM_BOARD_CYCLES_PER_SECOND);
}

#ifdef RVTVM_TEST_FUNCTIONS
extern void _start(void);
static int32_t reset_now(void* self, const TVMFFIAny* args, int32_t num_args,
                         TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  (void)result;
  __asm__ volatile("jr %0" : : "r"(_start));
  __builtin_unreachable();
}

/* Stores to every byte of a local array of args[0] bytes, the deepest first. */
static int32_t hog_stack(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  if (num_args != 1 || args[0].type_index != kTVMFFIInt || args[0].v_int64 < 1 ||
      args[0].v_int64 > (1 << 20)) {
    return refuse("HogStack(bytes) takes one int in [1, 2^20]");
  }
  uint32_t bytes = (uint32_t)args[0].v_int64;
  volatile uint8_t hog[bytes];
  for (uint32_t i = 0; i < bytes; ++i) {
    hog[i] = (uint8_t)i;
  }
  return return_int(result, hog[bytes - 1]);
}
#endif

/* ----- The model as one call (model_rpc.h) */

static uint64_t tensor_bytes(const DLTensor* tensor) {
  uint64_t count = 1;
  for (int32_t i = 0; i < tensor->ndim; ++i) {
    count *= (uint64_t)tensor->shape[i];
  }
  return count * ((tensor->dtype.bits * tensor->dtype.lanes + 7u) / 8u);
}

/* The i-th argument as a tensor of exactly `bytes` bytes, or null. */
static uint8_t* tensor_data(const TVMFFIAny* arg, uint32_t bytes) {
  if (arg->type_index != kTVMFFIDLTensorPtr) {
    return 0;
  }
  const DLTensor* tensor = (const DLTensor*)arg->v_ptr;
  if (tensor_bytes(tensor) != bytes) {
    return 0;
  }
  return (uint8_t*)tensor->data + tensor->byte_offset;
}

int32_t rvtvm_model_run_packed(void* self, const TVMFFIAny* args, int32_t num_args,
                               TVMFFIAny* result) {
  (void)self;
  (void)result;
  uint32_t inputs = rvtvm_model_num_inputs;
  uint32_t outputs = rvtvm_model_num_outputs;
  if (num_args < 0 || (uint32_t)num_args != inputs + outputs) {
    return refuse("the model takes its inputs, then its outputs, as tensors");
  }
  for (uint32_t i = 0; i < inputs + outputs; ++i) {
    uint32_t bytes = i < inputs ? rvtvm_model_input_bytes[i] : rvtvm_model_output_bytes[i - inputs];
    if (tensor_data(&args[i], bytes) == 0) {
      return refuse("an input or output is not a tensor of the model's size for it");
    }
  }
  for (uint32_t i = 0; i < inputs; ++i) {
    memmove(rvtvm_model_inputs[i], tensor_data(&args[i], rvtvm_model_input_bytes[i]),
            rvtvm_model_input_bytes[i]);
  }
  int32_t status = rvtvm_model_run();
  if (status != 0) {
    return status;
  }
  for (uint32_t i = 0; i < outputs; ++i) {
    memmove(tensor_data(&args[inputs + i], rvtvm_model_output_bytes[i]), rvtvm_model_outputs[i],
            rvtvm_model_output_bytes[i]);
  }
  return 0;
}

/* "rvtvm.model.RegionTensor"(region, byte_offset, dtype, *shape): a tensor over model memory,
 * named as metadata.json's executor refs name it (model_rpc.h), so the host can call the
 * operators on the arena and the constants without copying them. The tensor owns nothing. */
static DLTensor region_tensor;
static int64_t region_shape[RVTVM_RPC_MAX_NDIM];

static int32_t make_region_tensor(void* self, const TVMFFIAny* args, int32_t num_args,
                                  TVMFFIAny* result) {
  (void)self;
  if (num_args < 3 || num_args - 3 > RVTVM_RPC_MAX_NDIM || args[0].type_index != kTVMFFIInt ||
      args[1].type_index != kTVMFFIInt || args[2].type_index != kTVMFFIDataType) {
    return refuse("RegionTensor(region, byte_offset, dtype, *shape) takes two ints, a dtype "
                  "and up to RVTVM_RPC_MAX_NDIM ints");
  }
  uint32_t count = config.region_count;
  if (args[0].v_int64 < 0 || (uint64_t)args[0].v_int64 >= count) {
    return refuse("RegionTensor: no such region");
  }
  const struct rvtvm_rpc_region* region = &config.regions[args[0].v_int64];
  DLDataType dtype = args[2].v_dtype;
  uint64_t bytes = (uint64_t)((dtype.bits * dtype.lanes + 7u) / 8u);
  int32_t ndim = num_args - 3;
  for (int32_t i = 0; i < ndim; ++i) {
    const TVMFFIAny* dim = &args[3 + i];
    /* Dimensions below 2^24 keep the product of up to 8 of them far from overflowing. */
    if (dim->type_index != kTVMFFIInt || dim->v_int64 < 0 || dim->v_int64 > (1 << 24)) {
      return refuse("RegionTensor: each dimension must be an int in [0, 2^24]");
    }
    region_shape[i] = dim->v_int64;
    bytes *= (uint64_t)dim->v_int64;
    if (bytes > region->bytes) {
      break;
    }
  }
  int64_t offset = args[1].v_int64;
  if (offset < 0 || bytes > region->bytes || (uint64_t)offset > region->bytes - bytes) {
    return refuse("RegionTensor: the tensor does not fit in the region at that offset");
  }
  region_tensor = (DLTensor){
      .data = (uint8_t*)region->base + offset,
      .device = {kDLCPU, 0},
      .ndim = ndim,
      .dtype = dtype,
      .shape = region_shape,
      .strides = 0,
      .byte_offset = 0,
  };
  result->type_index = kTVMFFIDLTensorPtr;
  result->zero_padding = 0;
  result->v_ptr = &region_tensor;
  return 0;
}

static const struct rvtvm_rpc_function kGlobals[] = {
    {"rvtvm.board.CyclesPerSecond", cycles_per_second},
    {"rvtvm.model.RegionTensor", make_region_tensor},
    {"rvtvm.session.LastRequestCycles", previous_request_cycles},
#ifdef RVTVM_TEST_FUNCTIONS
    {"rvtvm.test.Reset", reset_now},
    {"rvtvm.test.HogStack", hog_stack},
#endif
};

int main(void) {
  rvtvm_board_init();
  uint32_t region_count = 0;
  const struct rvtvm_rpc_region* regions = rvtvm_model_regions(&region_count);
  config = (struct rvtvm_rpc_config){
      .system_lib = rvtvm_model_functions,
      .system_lib_count = rvtvm_model_num_functions,
      .globals = kGlobals,
      .globals_count = sizeof kGlobals / sizeof kGlobals[0],
      .regions = regions,
      .region_count = region_count,
      .heap = rpc_heap,
      .heap_bytes = sizeof rpc_heap,
      .max_packet_bytes = RVTVM_RPC_MAX_PACKET_BYTES,
      .read_cycles = rvtvm_board_cycles,
      .cycles_per_second = RVTVM_BOARD_CYCLES_PER_SECOND,
  };
  rvtvm_rpc_server_init(&server, &config);
  const struct rvtvm_session_handlers handlers = {on_open, on_request, 0};
  rvtvm_session_init(&session, message_buffer, sizeof message_buffer, write_uart, 0, &handlers,
                     cycle_entropy);
  rvtvm_session_announce_boot(&session);
  for (;;) {
    rvtvm_session_feed(&session, rvtvm_board_uart_read_byte());
  }
}
