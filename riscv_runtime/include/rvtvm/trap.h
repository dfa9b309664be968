/* The two abnormal ends of a firmware run: a CPU trap and a runtime panic.
 *
 * Both print one line on the UART and exit through the board with a code from wire.h, so the host
 * sees a reason and a distinct exit status instead of a hang.
 */
#ifndef RVTVM_TRAP_H_
#define RVTVM_TRAP_H_

#include <stdint.h>

/* Called by crt0's trap vector on a fresh stack. Prints
 * "TRAP mcause=0x... mepc=0x... mtval=0x..." and exits with RVTVM_EXIT_TRAP. */
_Noreturn void rvtvm_trap_report(uint32_t mcause, uint32_t mepc, uint32_t mtval);

/* Prints "PANIC <reason>" and exits with RVTVM_EXIT_PANIC. */
_Noreturn void rvtvm_panic(const char* reason);

#endif /* RVTVM_TRAP_H_ */
