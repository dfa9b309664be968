/* The workspace window of rvtvm/workspace.h and the TVMBackend*Workspace calls it serves.
 *
 * A bump allocator: each allocation starts at the next 16-byte boundary of the window and
 * takes its size rounded up to 16 bytes, so a compiler plans a window as
 * (15 if the base is unaligned) + sum(round_up(nbytes, 16)). Freeing pops the most recent
 * allocation; starts of live allocations are kept on a small stack to check that order.
 */
#include "rvtvm/workspace.h"

#include <stddef.h>

#include "rvtvm/tvm_backend.h"
#include "rvtvm/wire.h"

#if defined(__has_include)
#if __has_include(<tvm/runtime/c_backend_api.h>)
/* Makes the compiler check our definitions against TVM's own declarations. */
#include <tvm/runtime/c_backend_api.h>
#endif
#endif

/* Generated operators hold a handful of scratch buffers at once; deeper nesting is refused
 * like an allocation that does not fit. */
#define MAX_LIVE_ALLOCATIONS 32u

#ifndef RVTVM_WORKSPACE_POOL_BYTES
#define RVTVM_WORKSPACE_POOL_BYTES 0
#endif

#if RVTVM_WORKSPACE_POOL_BYTES > 0
static uint8_t general_pool[RVTVM_WORKSPACE_POOL_BYTES] __attribute__((aligned(RVTVM_WORKSPACE_ALIGN)));
#define GENERAL_POOL_BASE ((uintptr_t)general_pool)
#else
#define GENERAL_POOL_BASE ((uintptr_t)0)
#endif

/* Zero-initialized state is the general pool with nothing allocated: base 0 stands for it. */
static uintptr_t window_base;
static uint32_t window_size = RVTVM_WORKSPACE_POOL_BYTES;
static uint32_t bytes_in_use;
static uint32_t high_water;
static uint32_t last_error;
static uint32_t live_count;
static uint32_t live_start_offsets[MAX_LIVE_ALLOCATIONS];

void rvtvm_workspace_set(void* base, uint32_t size) {
  window_base = (uintptr_t)base;
  window_size = base == NULL ? RVTVM_WORKSPACE_POOL_BYTES : size;
  bytes_in_use = 0;
  high_water = 0;
  last_error = RVTVM_OK;
  live_count = 0;
}

uint32_t rvtvm_workspace_error(void) { return last_error; }

uint32_t rvtvm_workspace_high_water(void) { return high_water; }

static uintptr_t current_base(void) {
  return window_base != 0 ? window_base : GENERAL_POOL_BASE;
}

static uint64_t round_up(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1u) / multiple * multiple;
}

void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint) {
  (void)device_type;
  (void)device_id;
  (void)dtype_code_hint;
  (void)dtype_bits_hint;
  /* Refuse sizes beyond the window first, so the rounding below cannot wrap around. */
  uintptr_t base = current_base();
  uint64_t start = round_up((uint64_t)base + bytes_in_use, RVTVM_WORKSPACE_ALIGN) - (uint64_t)base;
  if (nbytes > window_size || live_count == MAX_LIVE_ALLOCATIONS ||
      start + round_up(nbytes, RVTVM_WORKSPACE_ALIGN) > window_size) {
    last_error = RVTVM_ERR_WORKSPACE_EXHAUSTED;
    return NULL;
  }
  live_start_offsets[live_count++] = (uint32_t)start;
  bytes_in_use = (uint32_t)(start + round_up(nbytes, RVTVM_WORKSPACE_ALIGN));
  if (bytes_in_use > high_water) {
    high_water = bytes_in_use;
  }
  return (void*)(base + (uintptr_t)start);
}

int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr) {
  (void)device_type;
  (void)device_id;
  if (live_count == 0 ||
      (uintptr_t)ptr != current_base() + live_start_offsets[live_count - 1]) {
    last_error = RVTVM_ERR_WORKSPACE_ORDER;
    return -1;
  }
  --live_count;
  /* Everything after the freed block's start was allocated later, so it is free too. */
  bytes_in_use = live_start_offsets[live_count];
  return 0;
}
