/* Board layer for the QEMU `virt` memory map: NS16550A UART at 0x1000_0000 and the SiFive test
 * finisher at 0x0010_0000. The Verilator SoC keeps these addresses (rtl/README.md, memory map). */
#include <stdint.h>

#include "rvtvm/board.h"

#define UART_BASE 0x10000000u
#define UART_RBR_THR 0u /* receive buffer (read) / transmit holding (write) */
#define UART_FCR 2u
#define UART_LSR 5u
#define UART_LSR_DATA_READY 0x01u
#define UART_LSR_THR_EMPTY 0x20u
#define UART_LSR_TRANSMITTER_IDLE 0x40u
/* FIFOs on and cleared, receive trigger level 14: an emulator then hands over a burst from the
 * host 14 bytes at a time instead of one. */
#define UART_FCR_ENABLE_AND_CLEAR_FIFOS 0xC7u
#define UART_FIFO_BYTES 16u

#define FINISHER_ADDRESS 0x00100000u
#define FINISHER_PASS 0x5555u
#define FINISHER_FAIL 0x3333u

static volatile uint8_t* uart_register(uint32_t offset) {
  return (volatile uint8_t*)(uintptr_t)(UART_BASE + offset);
}

void rvtvm_board_init(void) { *uart_register(UART_FCR) = UART_FCR_ENABLE_AND_CLEAR_FIFOS; }

void rvtvm_board_uart_write_byte(uint8_t byte) {
  while ((*uart_register(UART_LSR) & UART_LSR_THR_EMPTY) == 0) {
  }
  *uart_register(UART_RBR_THR) = byte;
}

void rvtvm_board_uart_write(const uint8_t* bytes, uint32_t count) {
  /* THR empty means the whole transmit FIFO is free: fill it without polling per byte (each
   * register access is costly on an emulator). */
  while (count > 0) {
    while ((*uart_register(UART_LSR) & UART_LSR_THR_EMPTY) == 0) {
    }
    uint32_t burst = count < UART_FIFO_BYTES ? count : UART_FIFO_BYTES;
    for (uint32_t i = 0; i < burst; ++i) {
      *uart_register(UART_RBR_THR) = bytes[i];
    }
    bytes += burst;
    count -= burst;
  }
}

uint8_t rvtvm_board_uart_read_byte(void) {
  while ((*uart_register(UART_LSR) & UART_LSR_DATA_READY) == 0) {
  }
  return *uart_register(UART_RBR_THR);
}

_Noreturn void rvtvm_board_exit(uint32_t code) {
  /* Let the last frame (BYE, or a TRAP line) leave the UART before the emulator stops. */
  while ((*uart_register(UART_LSR) & UART_LSR_TRANSMITTER_IDLE) == 0) {
  }
  volatile uint32_t* finisher = (volatile uint32_t*)(uintptr_t)FINISHER_ADDRESS;
  *finisher = code == 0 ? FINISHER_PASS : ((code << 16) | FINISHER_FAIL);
  /* The finisher stops the emulator; on hardware without one, stay here. */
  for (;;) {
  }
}

/* rdcycle/rdinstret give the low words; re-read when the high word changed in between. */
uint64_t rvtvm_board_cycles(void) {
  uint32_t high;
  uint32_t low;
  uint32_t high_again;
  do {
    __asm__ volatile("rdcycleh %0" : "=r"(high));
    __asm__ volatile("rdcycle %0" : "=r"(low));
    __asm__ volatile("rdcycleh %0" : "=r"(high_again));
  } while (high != high_again);
  return ((uint64_t)high << 32) | low;
}

uint64_t rvtvm_board_instret(void) {
  uint32_t high;
  uint32_t low;
  uint32_t high_again;
  do {
    __asm__ volatile("rdinstreth %0" : "=r"(high));
    __asm__ volatile("rdinstret %0" : "=r"(low));
    __asm__ volatile("rdinstreth %0" : "=r"(high_again));
  } while (high != high_again);
  return ((uint64_t)high << 32) | low;
}
