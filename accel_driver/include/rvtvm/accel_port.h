/* The MMIO backend's whole port: register access and the address the accelerator's DMA sees.
 *
 * accel_port_mmio.c implements it for the SoC (registers at RVTVM_ACCEL_BASE, DMA addresses are
 * CPU addresses). A host testbench implements it on a simulated accelerator instead, which is
 * how the same driver code is tested against the RTL without a CPU.
 */
#ifndef RVTVM_ACCEL_PORT_H_
#define RVTVM_ACCEL_PORT_H_

#include <stdint.h>

/* Where the SoC maps the registers (rtl/README.md, memory map). */
#define RVTVM_ACCEL_BASE 0x11000000u

/* Reads or writes the 32-bit register at byte offset `offset` (RVTVM_ACCEL_REG_*). */
uint32_t rvtvm_accel_port_read(uint32_t offset);
void rvtvm_accel_port_write(uint32_t offset, uint32_t value);

/* The bus address the DMA must use for the byte at `pointer`. */
uint32_t rvtvm_accel_port_bus_address(const void* pointer);

#endif /* RVTVM_ACCEL_PORT_H_ */
