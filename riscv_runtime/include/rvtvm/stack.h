/* Stack high-water mark and overflow guard, by painting.
 *
 * The stack is the STACK_BYTES (board.mk, project option stack_size_bytes) just below the top of
 * RAM: [__rvtvm_stack_bottom, __rvtvm_stack_top) from link.ld. crt0 fills all of it with
 * RVTVM_STACK_PAINT before anything runs on it. The high-water mark is then the distance from
 * the top to the lowest word that no longer holds the paint, found by scanning up from the
 * bottom; the lowest word of the reservation is the guard: once it is overwritten the stack has
 * reached (or passed) the bottom of its reservation.
 *
 * Limits of the method:
 *  - Resolution is one 32-bit word, and only written words count: a frame that reserves stack
 *    but never stores to its deepest part is not seen, and a store of exactly the paint value is
 *    indistinguishable from no store.
 *  - The guard catches an overflow only if something writes the guard word itself; a large frame
 *    that jumps over it and writes only below the reservation goes unnoticed here.
 *  - An overflow is detected after the fact: whatever lies below the reservation (free RAM on
 *    qemu_riscv32, since the reservation sits at the top of RAM) may already be overwritten.
 *  - The trap handler restarts sp at the top; it never returns, so this does not matter.
 *
 * RVTVM_STACK_PAINT is a plain number so that crt0.S can use it too.
 */
#ifndef RVTVM_STACK_H_
#define RVTVM_STACK_H_

/* Chosen to be unlikely as data: not small, not a float near 1, no 0x00/0xFF bytes. */
#define RVTVM_STACK_PAINT 0x719E3AC5

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Bytes of [bottom, top) in use: from the lowest word that is not RVTVM_STACK_PAINT to top, or
 * 0 if every word still holds the paint. bottom and top are word-aligned, bottom <= top.
 * Inline and free of link-time symbols so that the host tests can check it on an array. */
static inline uint32_t rvtvm_stack_used_bytes(const volatile uint32_t* bottom,
                                              const volatile uint32_t* top) {
  const volatile uint32_t* word = bottom;
  while (word < top && *word == (uint32_t)RVTVM_STACK_PAINT) {
    ++word;
  }
  return (uint32_t)((uintptr_t)top - (uintptr_t)word);
}

/* The firmware's stack reservation in bytes (STACK_BYTES). */
uint32_t rvtvm_stack_reserved_bytes(void);

/* Deepest stack use since boot, in bytes below the top of RAM (see the limits above). Costs one
 * load and compare per unused stack word. */
uint32_t rvtvm_stack_high_water_bytes(void);

/* 1 once the guard word at the bottom of the reservation has been overwritten, else 0. Sticky:
 * nothing repaints the guard. */
int rvtvm_stack_overflowed(void);
#endif /* __ASSEMBLER__ */

#endif /* RVTVM_STACK_H_ */
