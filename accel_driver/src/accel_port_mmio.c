/* rvtvm/accel_port.h on the SoC: the registers are memory mapped at RVTVM_ACCEL_BASE and the
 * DMA sees the CPU's addresses. */
#include <stdint.h>

#include "rvtvm/accel_port.h"

static volatile uint32_t* reg(uint32_t offset) {
  return (volatile uint32_t*)(uintptr_t)(RVTVM_ACCEL_BASE + offset);
}

uint32_t rvtvm_accel_port_read(uint32_t offset) { return *reg(offset); }

void rvtvm_accel_port_write(uint32_t offset, uint32_t value) { *reg(offset) = value; }

uint32_t rvtvm_accel_port_bus_address(const void* pointer) { return (uint32_t)(uintptr_t)pointer; }
