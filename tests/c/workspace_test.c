/* Workspace window behind TVMBackendAllocWorkspace/FreeWorkspace (rvtvm/workspace.h). */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rvtvm/tvm_backend.h"
#include "rvtvm/wire.h"
#include "rvtvm/workspace.h"

static _Alignas(16) uint8_t arena[512];

static void* alloc(uint64_t nbytes) { return TVMBackendAllocWorkspace(1, 0, nbytes, 1, 8); }

static int release(void* ptr) { return TVMBackendFreeWorkspace(1, 0, ptr); }

static int is_aligned(const void* ptr) { return ((uintptr_t)ptr % RVTVM_WORKSPACE_ALIGN) == 0; }

/* Must run first: before any rvtvm_workspace_set the window is the general pool, which is
 * empty unless the build gives it RVTVM_WORKSPACE_POOL_BYTES. */
static void test_boot_window_is_empty(void) {
#if defined(RVTVM_WORKSPACE_POOL_BYTES) && RVTVM_WORKSPACE_POOL_BYTES > 0
  void* p = alloc(RVTVM_WORKSPACE_POOL_BYTES);
  CHECK(p != NULL && is_aligned(p));
  CHECK(alloc(1) == NULL);
  CHECK(release(p) == 0);
  rvtvm_workspace_set(arena, 16);
  CHECK(alloc(32) == NULL);
  rvtvm_workspace_set(NULL, 0); /* back to the pool, all of it free again */
  CHECK(alloc(RVTVM_WORKSPACE_POOL_BYTES) == p);
  CHECK(alloc(1) == NULL);
#else
  CHECK(alloc(1) == NULL);
  CHECK(rvtvm_workspace_error() == RVTVM_ERR_WORKSPACE_EXHAUSTED);
#endif
}

static void test_allocations_are_aligned_and_disjoint(void) {
  /* An unaligned base: the first allocation still starts on a 16-byte boundary. */
  rvtvm_workspace_set(arena + 3, 200);
  uint8_t* first = alloc(1);
  uint8_t* second = alloc(17);
  uint8_t* third = alloc(16);
  CHECK(first != NULL && second != NULL && third != NULL);
  CHECK(is_aligned(first) && is_aligned(second) && is_aligned(third));
  CHECK(first >= arena + 3);
  CHECK(second >= first + 1 && third >= second + 17);
  CHECK(third + 16 <= arena + 3 + 200);
  CHECK(first == arena + 16);
  CHECK(rvtvm_workspace_high_water() == (uint32_t)(third + 16 - (arena + 3)));
  CHECK(rvtvm_workspace_error() == RVTVM_OK);
  CHECK(release(third) == 0 && release(second) == 0 && release(first) == 0);
  CHECK(rvtvm_workspace_error() == RVTVM_OK);
}

static void test_exhaustion_returns_null_and_records_error(void) {
  rvtvm_workspace_set(arena, 64);
  uint8_t* first = alloc(48);
  CHECK(first == arena);
  CHECK(alloc(17) == NULL); /* 17 rounds up to 32: only 16 bytes are left */
  CHECK(rvtvm_workspace_error() == RVTVM_ERR_WORKSPACE_EXHAUSTED);
  uint8_t* last = alloc(16); /* exactly what is left still fits */
  CHECK(last == arena + 48);
  CHECK(alloc(UINT64_MAX) == NULL); /* must not wrap around */
  CHECK(alloc((uint64_t)UINT32_MAX + 1u) == NULL);
  CHECK(release(last) == 0 && release(first) == 0);
}

static void test_free_out_of_order_is_refused(void) {
  rvtvm_workspace_set(arena, sizeof arena);
  uint8_t* first = alloc(32);
  uint8_t* second = alloc(32);
  CHECK(release(first) != 0);
  CHECK(rvtvm_workspace_error() == RVTVM_ERR_WORKSPACE_ORDER);
  /* The refused free changed nothing: LIFO frees still work and memory is reused. */
  CHECK(release(second) == 0);
  CHECK(release(first) == 0);
  CHECK(release(first) != 0); /* nothing left to free */
  CHECK(release(NULL) != 0);
  CHECK(alloc(32) == arena);
}

static void test_free_then_alloc_reuses_space(void) {
  rvtvm_workspace_set(arena, 96);
  uint8_t* keep = alloc(20);
  uint8_t* scratch = alloc(40);
  CHECK(release(scratch) == 0);
  uint8_t* again = alloc(64);
  CHECK(again == scratch);
  CHECK(again >= keep + 20);
  CHECK(rvtvm_workspace_high_water() == 96);
}

static void test_set_resets_window(void) {
  rvtvm_workspace_set(arena, 32);
  CHECK(alloc(64) == NULL);
  CHECK(rvtvm_workspace_error() != RVTVM_OK);
  rvtvm_workspace_set(arena + 64, 128);
  CHECK(rvtvm_workspace_error() == RVTVM_OK);
  CHECK(rvtvm_workspace_high_water() == 0);
  CHECK(alloc(128) == arena + 64);
  rvtvm_workspace_set(arena, 0);
  CHECK(alloc(1) == NULL);
}

static void test_too_many_live_allocations(void) {
  rvtvm_workspace_set(arena, sizeof arena);
  int live = 0;
  while (alloc(1) != NULL && live < 64) {
    ++live;
  }
  /* The window holds 32 allocations of 16 bytes; the live-allocation stack also holds 32. */
  CHECK(live == 32);
  CHECK(rvtvm_workspace_error() == RVTVM_ERR_WORKSPACE_EXHAUSTED);
}

int main(void) {
  memset(arena, 0, sizeof arena);
  RUN_TEST(test_boot_window_is_empty);
  RUN_TEST(test_allocations_are_aligned_and_disjoint);
  RUN_TEST(test_exhaustion_returns_null_and_records_error);
  RUN_TEST(test_free_out_of_order_is_refused);
  RUN_TEST(test_free_then_alloc_reuses_space);
  RUN_TEST(test_set_resets_window);
  RUN_TEST(test_too_many_live_allocations);
  return check_summary();
}
