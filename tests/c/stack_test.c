/* The stack scan of rvtvm/stack.h on a painted array (the firmware's bounds come from link.ld;
 * that part runs on QEMU). */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "rvtvm/stack.h"

#define WORDS 64

static uint32_t region[WORDS];

static void paint(void) {
  for (int i = 0; i < WORDS; ++i) {
    region[i] = (uint32_t)RVTVM_STACK_PAINT;
  }
}

static void test_untouched_stack_uses_nothing(void) {
  paint();
  CHECK(rvtvm_stack_used_bytes(region, region + WORDS) == 0);
  CHECK(rvtvm_stack_used_bytes(region, region) == 0);
}

static void test_deepest_written_word_counts(void) {
  paint();
  region[WORDS - 1] = 0;  /* the top word */
  CHECK(rvtvm_stack_used_bytes(region, region + WORDS) == 4);
  region[40] = 1;  /* an unwritten gap above it does not matter */
  CHECK(rvtvm_stack_used_bytes(region, region + WORDS) == 4 * (WORDS - 40));
  region[0] = 0;  /* the guard word: everything is in use */
  CHECK(rvtvm_stack_used_bytes(region, region + WORDS) == 4 * WORDS);
}

static void test_one_changed_byte_counts_its_word(void) {
  paint();
  ((uint8_t*)&region[10])[3] ^= 0x01u;
  CHECK(rvtvm_stack_used_bytes(region, region + WORDS) == 4 * (WORDS - 10));
}

int main(void) {
  RUN_TEST(test_untouched_stack_uses_nothing);
  RUN_TEST(test_deepest_written_word_counts);
  RUN_TEST(test_one_changed_byte_counts_its_word);
  return check_summary();
}
