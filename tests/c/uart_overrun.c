/* Firmware for the SoC UART test (tests/test_verilator_soc.py): lets the receive FIFO fill while
 * not reading, then reports LSR twice (the overrun flag, then its clearing by that read) and
 * echoes every byte still queued, so the host can see exactly which bytes survived. */
#include <stdint.h>

#include "rvtvm/board.h"
#include "rvtvm/log.h"

#define UART_RBR 0x10000000u
#define UART_LSR 0x10000005u
#define LSR_DATA_READY 0x01u
#define WAIT_CYCLES 20000u

int main(void);

static uint8_t read_register(uint32_t address) { return *(volatile uint8_t*)(uintptr_t)address; }

int main(void) {
  /* No rvtvm_board_init(): its FIFO reset would drop what arrived during boot. */
  uint64_t start = rvtvm_board_cycles();
  while (rvtvm_board_cycles() - start < WAIT_CYCLES) {
  }
  uint8_t first = read_register(UART_LSR);
  uint8_t second = read_register(UART_LSR);
  uint8_t queued[64];
  uint32_t count = 0;
  while ((read_register(UART_LSR) & LSR_DATA_READY) != 0 && count < sizeof queued) {
    queued[count++] = read_register(UART_RBR);
  }
  rvtvm_log_str("lsr=");
  rvtvm_log_hex_u32(first);
  rvtvm_log_str(" lsr_again=");
  rvtvm_log_hex_u32(second);
  rvtvm_log_str(" count=");
  rvtvm_log_dec_u32(count);
  rvtvm_log_str(" bytes=");
  for (uint32_t i = 0; i < count; ++i) rvtvm_log_hex_u32(queued[i]);
  rvtvm_log_end_line();
  return 0;
}
