/* The MMIO backend's whole port: register access and the address the accelerator's DMA sees.
 *
 * A firmware for the SoC defines RVTVM_ACCEL_PORT_MMIO and gets the port below, inline, so that a
 * register access is one load or store (a call per access tripled the driver's cost per
 * operator on PicoRV32). Without it these are plain functions that something else provides: a
 * host testbench implements them on a simulated accelerator, which is how the same driver code
 * can be tested against the RTL without a CPU.
 */
#ifndef RVTVM_ACCEL_PORT_H_
#define RVTVM_ACCEL_PORT_H_

#include <stdint.h>

/* Where the SoC maps the registers (rtl/README.md, memory map). */
#define RVTVM_ACCEL_BASE 0x11000000u

#ifdef RVTVM_ACCEL_PORT_MMIO

/* The SoC: registers memory mapped at RVTVM_ACCEL_BASE, and the DMA sees the CPU's addresses. */
static inline uint32_t rvtvm_accel_port_read(uint32_t offset) {
  return *(volatile uint32_t*)(uintptr_t)(RVTVM_ACCEL_BASE + offset);
}

static inline void rvtvm_accel_port_write(uint32_t offset, uint32_t value) {
  *(volatile uint32_t*)(uintptr_t)(RVTVM_ACCEL_BASE + offset) = value;
}

static inline uint32_t rvtvm_accel_port_bus_address(const void* pointer) {
  return (uint32_t)(uintptr_t)pointer;
}

#else

/* Reads or writes the 32-bit register at byte offset `offset` (RVTVM_ACCEL_REG_*). */
uint32_t rvtvm_accel_port_read(uint32_t offset);
void rvtvm_accel_port_write(uint32_t offset, uint32_t value);

/* The bus address the DMA must use for the byte at `pointer`. */
uint32_t rvtvm_accel_port_bus_address(const void* pointer);

#endif

#endif /* RVTVM_ACCEL_PORT_H_ */
