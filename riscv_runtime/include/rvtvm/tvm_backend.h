/* The symbols that TVM-generated C expects from a runtime, as rvtvm implements them.
 *
 * The prototypes match tvm/runtime/c_backend_api.h and tvm/ffi/c_api.h (TVM 0.27). The sources
 * that define them also include those headers when they are on the include path (as in a
 * generated project), so a signature change in TVM is a compile error, not a silent ABI bug.
 */
#ifndef RVTVM_TVM_BACKEND_H_
#define RVTVM_TVM_BACKEND_H_

#include <stdint.h>

/* Scratch for one operator, served from the window of workspace.h. */
void* TVMBackendAllocWorkspace(int device_type, int device_id, uint64_t nbytes,
                               int dtype_code_hint, int dtype_bits_hint);
/* 0 on success; nonzero (and RVTVM_ERR_WORKSPACE_ORDER recorded) if ptr is not the most recent
 * live allocation. */
int TVMBackendFreeWorkspace(int device_type, int device_id, void* ptr);

/* Logs "tvm error: <kind>: <parts...>" as one line and counts the error. */
void TVMFFIErrorSetRaisedFromCStrParts(const char* kind, const char** message_parts,
                                       int32_t num_parts);

/* Errors raised through TVMFFIErrorSetRaisedFromCStrParts since boot. */
uint32_t rvtvm_tvm_error_count(void);

/* Capacity of the last-error text, its NUL included; longer messages are cut. */
#define RVTVM_TVM_LAST_ERROR_BYTES 160

/* The last error raised through TVMFFIErrorSetRaisedFromCStrParts, as one NUL-terminated line
 * "<kind>: <message>" (line breaks become spaces). "" if none since boot or since
 * rvtvm_tvm_clear_last_error(). The RPC server clears it before each call it makes, so a
 * failing callee's status is never explained by a stale message. */
const char* rvtvm_tvm_last_error(void);
void rvtvm_tvm_clear_last_error(void);

#endif /* RVTVM_TVM_BACKEND_H_ */
