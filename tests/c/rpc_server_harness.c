/* A host process that serves riscv_runtime's RPC server over pipes, for tests/test_rpc_server.py.
 *
 *   rpc_server_harness [--max-packet N] [--heap N] [--heap-offset N] [--clock fake|host]
 *                      [--stderr PATH] READ_FD WRITE_FD
 *
 * The last two arguments are what tvm.rpc's CreatePipeClient appends (PROTOCOL.md §1.3). Packets
 * are read whole (u64 length, body) into a buffer of exactly their size, so AddressSanitizer
 * reports any read past the packet; one longer than --max-packet is drained and refused through
 * rvtvm_rpc_server_refuse_oversized. The writer checks that every reply is as long as begin()
 * announced and as its own length field says, and aborts otherwise. Exits 0 after kShutdown or
 * at end of input. --stderr sends stderr (and so sanitizer reports) to a file, because the
 * stock client SIGKILLs its pipe child on close.
 *
 * The board side is a system lib of test functions in TVM-FFI's packed convention, two regions
 * (a read-only int32 table, a writable scratch area), a heap (default 64 KiB, malloc'd at its
 * exact size so ASan catches a write past its end; 64-byte aligned, or --heap-offset bytes
 * past that to test a misaligned one), and a cycle counter at cycles_per_second 1e9: the host's
 * monotonic clock in nanoseconds, or with --clock fake a counter that only harness.tick(n)
 * advances (by n), so that the time evaluator's rounds are exactly predictable.
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rvtvm/board.h"
#include "rvtvm/rpc_server.h"
#include "rvtvm/session.h"
#include "rvtvm/tvm_backend.h"

/* ----- The board shim for log.c */

void rvtvm_board_uart_write_byte(uint8_t byte) { fputc(byte, stderr); }

/* ----- Test functions */

static int32_t raise_error(const char* kind, const char* message) {
  const char* parts[] = {message};
  TVMFFIErrorSetRaisedFromCStrParts(kind, parts, 1);
  return -1;
}

static int64_t element_count(const DLTensor* tensor) {
  int64_t count = 1;
  for (int32_t i = 0; i < tensor->ndim; ++i) {
    count *= tensor->shape[i];
  }
  return count;
}

static int is_tensor_of(const TVMFFIAny* arg, uint8_t code, uint8_t bits) {
  const DLTensor* tensor = (const DLTensor*)arg->v_ptr;
  return arg->type_index == kTVMFFIDLTensorPtr && tensor->dtype.code == code &&
         tensor->dtype.bits == bits && tensor->dtype.lanes == 1 && tensor->strides == NULL &&
         tensor->byte_offset == 0;
}

/* add_one(int32 in, int32 out): out = in + 1, same shape. */
static int32_t add_one(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)result;
  if (num_args != 2 || !is_tensor_of(&args[0], kDLInt, 32) || !is_tensor_of(&args[1], kDLInt, 32)) {
    return raise_error("TypeError", "add_one takes two int32 tensors");
  }
  const DLTensor* in = (const DLTensor*)args[0].v_ptr;
  const DLTensor* out = (const DLTensor*)args[1].v_ptr;
  if (element_count(in) != element_count(out)) {
    return raise_error("ValueError", "add_one: the tensors differ in size");
  }
  const int32_t* from = (const int32_t*)in->data;
  int32_t* to = (int32_t*)out->data;
  for (int64_t i = 0; i < element_count(in); ++i) {
    to[i] = (int32_t)((uint32_t)from[i] + 1u);
  }
  return 0;
}

/* sum_i8(int8 in, int32 out of one element): out[0] = sum(in). */
static int32_t sum_i8(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)result;
  if (num_args != 2 || !is_tensor_of(&args[0], kDLInt, 8) || !is_tensor_of(&args[1], kDLInt, 32) ||
      element_count((const DLTensor*)args[1].v_ptr) != 1) {
    return raise_error("TypeError", "sum_i8 takes an int8 tensor and a one-element int32 tensor");
  }
  const DLTensor* in = (const DLTensor*)args[0].v_ptr;
  const int8_t* values = (const int8_t*)in->data;
  int32_t sum = 0;
  for (int64_t i = 0; i < element_count(in); ++i) {
    sum += values[i];
  }
  *(int32_t*)((const DLTensor*)args[1].v_ptr)->data = sum;
  return 0;
}

/* echo(x): x itself, for None, int, bool, float and str. */
static int32_t echo(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  if (num_args != 1) {
    return raise_error("TypeError", "echo takes one argument");
  }
  *result = args[0];
  return 0;
}

/* bytes_len(b): len(b). bytes_checksum(b): sum((i + 1) * b[i]). */
static int32_t bytes_len(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  if (num_args != 1 || args[0].type_index != kTVMFFIByteArrayPtr) {
    return raise_error("TypeError", "bytes_len takes bytes");
  }
  result->type_index = kTVMFFIInt;
  result->v_int64 = (int64_t)((const TVMFFIByteArray*)args[0].v_ptr)->size;
  return 0;
}

static int32_t bytes_checksum(void* self, const TVMFFIAny* args, int32_t num_args,
                              TVMFFIAny* result) {
  (void)self;
  if (num_args != 1 || args[0].type_index != kTVMFFIByteArrayPtr) {
    return raise_error("TypeError", "bytes_checksum takes bytes");
  }
  const TVMFFIByteArray* bytes = (const TVMFFIByteArray*)args[0].v_ptr;
  int64_t sum = 0;
  for (size_t i = 0; i < bytes->size; ++i) {
    sum += (int64_t)(i + 1) * (uint8_t)bytes->data[i];
  }
  result->type_index = kTVMFFIInt;
  result->v_int64 = sum;
  return 0;
}

/* fail(...): raises ValueError through TVM-FFI and returns -1. fail_silently: returns -2 without
 * raising (the server must not report an earlier message). */
static int32_t fail(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  (void)result;
  const char* parts[] = {"fail was asked to fail", "\nsecond line"};
  TVMFFIErrorSetRaisedFromCStrParts("ValueError", parts, 2);
  return -1;
}

static int32_t fail_silently(void* self, const TVMFFIAny* args, int32_t num_args,
                             TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  (void)result;
  return -2;
}

/* spin(n, ...): counts to n; further arguments (tensors to validate) are ignored. */
static int32_t spin(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)result;
  if (num_args < 1 || args[0].type_index != kTVMFFIInt) {
    return raise_error("TypeError", "spin takes an int");
  }
  volatile int64_t counter = 0;
  for (int64_t i = 0; i < args[0].v_int64; ++i) {
    counter = counter + 1;
  }
  return 0;
}

/* The regions. */
static int32_t squares[64];
static uint8_t scratch[256] __attribute__((aligned(16)));
static const struct rvtvm_rpc_region regions[] = {
    {squares, sizeof squares, 0},
    {scratch, sizeof scratch, 1},
};

/* squares(): the read-only table as a tensor (static storage, as returned tensors must be).
 * scratch_view(offset): int32 view of scratch[offset:offset + 16] via byte_offset. */
static int64_t squares_shape[2] = {8, 8};
static DLTensor squares_tensor = {squares, {kDLCPU, 0}, 2, {kDLInt, 32, 1}, squares_shape, NULL, 0};
static int64_t scratch_shape[1] = {4};
static DLTensor scratch_tensor = {scratch, {kDLCPU, 0}, 1, {kDLInt, 32, 1}, scratch_shape, NULL, 0};
static int64_t outside_shape[1] = {4};
static int32_t not_in_a_region[4];
static DLTensor outside_tensor = {not_in_a_region, {kDLCPU, 0}, 1, {kDLInt, 32, 1}, outside_shape,
                                  NULL, 0};

static int32_t squares_fn(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  result->type_index = kTVMFFIDLTensorPtr;
  result->v_ptr = &squares_tensor;
  return 0;
}

/* squares_strided(s0, s1): the table with explicit strides (only compact ones can be sent). */
static int64_t squares_strides[2];
static DLTensor squares_strided_tensor = {squares, {kDLCPU, 0}, 2, {kDLInt, 32, 1}, squares_shape,
                                          squares_strides, 0};

static int32_t squares_strided(void* self, const TVMFFIAny* args, int32_t num_args,
                               TVMFFIAny* result) {
  (void)self;
  if (num_args != 2 || args[0].type_index != kTVMFFIInt || args[1].type_index != kTVMFFIInt) {
    return raise_error("TypeError", "squares_strided takes two ints");
  }
  squares_strides[0] = args[0].v_int64;
  squares_strides[1] = args[1].v_int64;
  result->type_index = kTVMFFIDLTensorPtr;
  result->v_ptr = &squares_strided_tensor;
  return 0;
}

static int32_t scratch_view(void* self, const TVMFFIAny* args, int32_t num_args,
                            TVMFFIAny* result) {
  (void)self;
  if (num_args != 1 || args[0].type_index != kTVMFFIInt) {
    return raise_error("TypeError", "scratch_view takes an int");
  }
  scratch_tensor.byte_offset = (uint64_t)args[0].v_int64;
  result->type_index = kTVMFFIDLTensorPtr;
  result->v_ptr = &scratch_tensor;
  return 0;
}

static int32_t outside(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  result->type_index = kTVMFFIDLTensorPtr;
  result->v_ptr = &outside_tensor;
  return 0;
}

/* returns_array(): a type index the server cannot send. */
static int32_t returns_array(void* self, const TVMFFIAny* args, int32_t num_args,
                             TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  result->type_index = kTVMFFIArray;
  return 0;
}

/* ptr_of(tensor): its data pointer, as an opaque pointer. */
static int32_t ptr_of(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  if (num_args != 1 || args[0].type_index != kTVMFFIDLTensorPtr) {
    return raise_error("TypeError", "ptr_of takes a tensor");
  }
  result->type_index = kTVMFFIOpaquePtr;
  result->v_ptr = ((const DLTensor*)args[0].v_ptr)->data;
  return 0;
}

static const struct rvtvm_rpc_function system_lib[] = {
    {"add_one", add_one},
    {"sum_i8", sum_i8},
    {"echo", echo},
    {"bytes_len", bytes_len},
    {"bytes_checksum", bytes_checksum},
    {"fail", fail},
    {"fail_silently", fail_silently},
    {"spin", spin},
    {"squares", squares_fn},
    {"squares_strided", squares_strided},
    {"scratch_view", scratch_view},
    {"outside", outside},
    {"returns_array", returns_array},
    {"ptr_of", ptr_of},
};

/* Globals for the raw-packet tests, which reach functions without a Module. */
static struct rvtvm_rpc_server server;

static int32_t heap_largest_free(void* self, const TVMFFIAny* args, int32_t num_args,
                                 TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  result->type_index = kTVMFFIInt;
  result->v_int64 = rvtvm_rpc_server_heap_largest_free(&server);
  return 0;
}

/* region_base(i): where region i starts. */
static int32_t region_base(void* self, const TVMFFIAny* args, int32_t num_args,
                           TVMFFIAny* result) {
  (void)self;
  if (num_args != 1 || args[0].type_index != kTVMFFIInt || args[0].v_int64 < 0 ||
      args[0].v_int64 >= (int64_t)(sizeof regions / sizeof regions[0])) {
    return raise_error("IndexError", "no such region");
  }
  result->type_index = kTVMFFIOpaquePtr;
  result->v_ptr = regions[args[0].v_int64].base;
  return 0;
}

/* The fake clock: harness.tick(n) advances it by n; harness.ticks() is how many ticks ran. */
static uint64_t fake_clock;
static int64_t tick_calls;

static uint64_t read_fake_clock(void) { return fake_clock; }

static int32_t tick(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)result;
  if (num_args != 1 || args[0].type_index != kTVMFFIInt) {
    return raise_error("TypeError", "tick takes an int");
  }
  fake_clock += (uint64_t)args[0].v_int64;
  ++tick_calls;
  return 0;
}

static int32_t ticks(void* self, const TVMFFIAny* args, int32_t num_args, TVMFFIAny* result) {
  (void)self;
  (void)args;
  (void)num_args;
  result->type_index = kTVMFFIInt;
  result->v_int64 = tick_calls;
  return 0;
}

static const struct rvtvm_rpc_function globals[] = {
    {"harness.tick", tick},
    {"harness.ticks", ticks},
    {"harness.heap_largest_free", heap_largest_free},
    {"harness.region_base", region_base},
    {"harness.echo", echo},
    {"harness.spin", spin},
};

static uint64_t monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* ----- Pipes */

static int read_all(int fd, void* buffer, size_t count) {
  uint8_t* at = buffer;
  while (count > 0) {
    ssize_t got = read(fd, at, count);
    if (got <= 0) {
      return -1;
    }
    at += got;
    count -= (size_t)got;
  }
  return 0;
}

static void write_all(int fd, const void* buffer, size_t count) {
  const uint8_t* at = buffer;
  while (count > 0) {
    ssize_t put = write(fd, at, count);
    if (put <= 0) {
      exit(0); /* the client is gone */
    }
    at += put;
    count -= (size_t)put;
  }
}

struct reply_check {
  int fd;
  uint32_t announced;
  uint32_t written;
  uint8_t length_field[8];
};

static void reply_begin(void* context, uint32_t packet_bytes) {
  struct reply_check* check = context;
  check->announced = packet_bytes;
  check->written = 0;
}

static void reply_put(void* context, const void* bytes, uint32_t count) {
  struct reply_check* check = context;
  for (uint32_t i = 0; i < count && check->written + i < 8; ++i) {
    check->length_field[check->written + i] = ((const uint8_t*)bytes)[i];
  }
  check->written += count;
  if (check->written > check->announced) {
    fprintf(stderr, "harness: reply longer than the %u bytes announced\n", check->announced);
    abort();
  }
  write_all(check->fd, bytes, count);
}

static void reply_end(void* context) {
  struct reply_check* check = context;
  uint64_t length;
  memcpy(&length, check->length_field, 8);
  if (check->written != check->announced || check->written < 12 ||
      length != (uint64_t)check->written - 8) {
    fprintf(stderr, "harness: reply of %u bytes, %u announced, length field %llu\n",
            check->written, check->announced, (unsigned long long)length);
    abort();
  }
}

static int parse_number(const char* text, uint32_t* value) {
  char* end;
  unsigned long long number = strtoull(text, &end, 0);
  if (*text == '\0' || *end != '\0' || number > UINT32_MAX) {
    return -1;
  }
  *value = (uint32_t)number;
  return 0;
}

int main(int argc, char** argv) {
  uint32_t max_packet = 1024;
  uint32_t heap_bytes = 64 * 1024;
  uint32_t heap_offset = 0;
  uint64_t (*read_cycles)(void) = monotonic_ns;
  int i = 1;
  for (; i + 2 < argc; i += 2) {
    if (strcmp(argv[i], "--stderr") == 0) {
      int fd = open(argv[i + 1], O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0 || dup2(fd, 2) < 0) {
        return 2;
      }
      close(fd);
    } else if ((strcmp(argv[i], "--max-packet") == 0 &&
                parse_number(argv[i + 1], &max_packet) == 0) ||
               (strcmp(argv[i], "--heap") == 0 && parse_number(argv[i + 1], &heap_bytes) == 0) ||
               (strcmp(argv[i], "--heap-offset") == 0 &&
                parse_number(argv[i + 1], &heap_offset) == 0 && heap_offset < 64)) {
    } else if (strcmp(argv[i], "--clock") == 0 && strcmp(argv[i + 1], "fake") == 0) {
      read_cycles = read_fake_clock;
    } else if (strcmp(argv[i], "--clock") == 0 && strcmp(argv[i + 1], "host") == 0) {
      read_cycles = monotonic_ns;
    } else {
      break;
    }
  }
  uint32_t read_fd;
  uint32_t write_fd;
  if (argc - i != 2 || parse_number(argv[i], &read_fd) != 0 ||
      parse_number(argv[i + 1], &write_fd) != 0) {
    fprintf(stderr,
            "usage: %s [--max-packet N] [--heap N] [--heap-offset N] [--clock fake|host] "
            "[--stderr PATH] READ_FD WRITE_FD\n",
            argv[0]);
    return 2;
  }
  for (int k = 0; k < 64; ++k) {
    squares[k] = k * k;
  }
  /* Exactly heap_offset + heap_bytes (aligned_alloc wants a multiple of 64; the test heaps
   * are), so ASan guards its end. */
  uint8_t* heap = aligned_alloc(64, ((size_t)heap_offset + heap_bytes + 63) & ~(size_t)63);
  if (heap == NULL) {
    return 2;
  }
  struct rvtvm_rpc_config config = {
      .system_lib = system_lib,
      .system_lib_count = sizeof system_lib / sizeof system_lib[0],
      .globals = globals,
      .globals_count = sizeof globals / sizeof globals[0],
      .regions = regions,
      .region_count = sizeof regions / sizeof regions[0],
      .heap = heap + heap_offset,
      .heap_bytes = heap_bytes,
      .max_packet_bytes = max_packet,
      .read_cycles = read_cycles,
      .cycles_per_second = 1000000000u,
  };
  struct reply_check check = {.fd = (int)write_fd};
  const struct rvtvm_rpc_writer writer = {reply_begin, reply_put, reply_end, &check};
  rvtvm_rpc_server_init(&server, &config);

  for (;;) {
    uint8_t length_field[8];
    uint64_t length;
    if (read_all((int)read_fd, length_field, 8) != 0) {
      break; /* end of input */
    }
    memcpy(&length, length_field, 8);
    if (length > max_packet) {
      uint8_t sink[4096];
      for (uint64_t left = length; left > 0;) {
        size_t chunk = left < sizeof sink ? (size_t)left : sizeof sink;
        if (read_all((int)read_fd, sink, chunk) != 0) {
          free(heap);
          return 0;
        }
        left -= chunk;
      }
      rvtvm_rpc_server_refuse_oversized(&server, length, &writer);
      continue;
    }
    /* The packet sits where the firmware has it, after the 7-byte session header: at an odd
     * address, so UBSan's alignment check catches any field read by a cast instead of
     * memcpy. It ends where the allocation ends, so ASan catches a read past it. */
    uint8_t* block = malloc(RVTVM_SESSION_HEADER_BYTES + 8 + (size_t)length);
    if (block == NULL) {
      return 2;
    }
    uint8_t* packet = block + RVTVM_SESSION_HEADER_BYTES;
    memcpy(packet, length_field, 8);
    if (read_all((int)read_fd, packet + 8, (size_t)length) != 0) {
      free(block);
      break;
    }
    int status = rvtvm_rpc_server_handle(&server, packet, (uint32_t)(8 + length), &writer);
    free(block);
    if (status == RVTVM_RPC_SHUTDOWN) {
      break;
    }
  }
  free(heap);
  return 0;
}
