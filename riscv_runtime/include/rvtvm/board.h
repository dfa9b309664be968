/* The port: everything the runtime needs from a board, and nothing more.
 *
 * A new board implements these functions in runtime/src/board_<name>.c. Everything else in the
 * runtime and the application is portable C on top of them.
 */
#ifndef RVTVM_BOARD_H_
#define RVTVM_BOARD_H_

#include <stdint.h>

/* Prepares the UART; called once by main before any output. */
void rvtvm_board_init(void);

/* Blocks until the UART can take the byte. */
void rvtvm_board_uart_write_byte(uint8_t byte);
void rvtvm_board_uart_write(const uint8_t* bytes, uint32_t count);
/* Blocks until a byte arrives. */
uint8_t rvtvm_board_uart_read_byte(void);

/* Ends the simulation with `code` as the emulator's exit status (0 = success). */
_Noreturn void rvtvm_board_exit(uint32_t code);

/* 64-bit counters read consistently on rv32. On QEMU with -icount shift=0 both count
 * instructions; on an RTL simulation cycles are clock cycles. */
uint64_t rvtvm_board_cycles(void);
uint64_t rvtvm_board_instret(void);

#endif /* RVTVM_BOARD_H_ */
