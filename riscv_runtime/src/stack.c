/* The firmware's stack, as painted by crt0 (see rvtvm/stack.h). Target-only: the bounds are
 * link.ld symbols. */
#include "rvtvm/stack.h"

#include <stdint.h>

/* Only their addresses mean anything. volatile: the compiler must not assume it knows what the
 * stack holds. */
extern volatile uint32_t __rvtvm_stack_bottom[];
extern volatile uint32_t __rvtvm_stack_top[];

uint32_t rvtvm_stack_reserved_bytes(void) {
  return (uint32_t)((uintptr_t)__rvtvm_stack_top - (uintptr_t)__rvtvm_stack_bottom);
}

uint32_t rvtvm_stack_high_water_bytes(void) {
  return rvtvm_stack_used_bytes(__rvtvm_stack_bottom, __rvtvm_stack_top);
}

int rvtvm_stack_overflowed(void) {
  return __rvtvm_stack_bottom[0] != (uint32_t)RVTVM_STACK_PAINT;
}
