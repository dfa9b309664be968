/* Scratch memory for TVM-generated operators, without malloc.
 *
 * TVM's C code asks for per-operator scratch through TVMBackendAllocWorkspace and gives it back
 * with TVMBackendFreeWorkspace, strictly last-in first-out. The runtime serves those calls from a
 * window of memory chosen by the caller: the AOT executor points the window at the slice of its
 * statically planned arena that the compiler reserved for the next operator, so scratch shares
 * the arena with tensors that are dead at that point.
 *
 * rvtvm_workspace_set(base, size) makes [base, base + size) the current window and forgets any
 * earlier allocations. rvtvm_workspace_set(NULL, 0) selects the general pool instead: a static
 * buffer of RVTVM_WORKSPACE_POOL_BYTES (a build define, from the workspace_size_bytes project
 * option; 0 when not given) for operators called outside the executor, e.g. host-driven calls.
 * The general pool is also the window at boot. Allocations are 16-byte aligned. An allocation that does not fit returns
 * NULL (the generated code then fails with -1) and records RVTVM_ERR_WORKSPACE_EXHAUSTED; a free
 * that is not the most recent allocation records RVTVM_ERR_WORKSPACE_ORDER.
 */
#ifndef RVTVM_WORKSPACE_H_
#define RVTVM_WORKSPACE_H_

#include <stdint.h>

#define RVTVM_WORKSPACE_ALIGN 16

void rvtvm_workspace_set(void* base, uint32_t size);
/* Last workspace error (an RVTVM_ERR_* code from wire.h) since the window was set, or 0. */
uint32_t rvtvm_workspace_error(void);
/* Most bytes in use at once since the window was set (for sizing reports). */
uint32_t rvtvm_workspace_high_water(void);

#endif /* RVTVM_WORKSPACE_H_ */
