/* The model as host_driven firmware serves it over RPC (main_host_driven.c).
 *
 * The Project API server writes model_rpc.c, for host_driven projects only, from
 * model/metadata.json: the system lib and the memory regions below.
 */
#ifndef RVTVM_MODEL_RPC_H_
#define RVTVM_MODEL_RPC_H_

#include <stdint.h>

#include "rvtvm/rpc_server.h"

/* The system lib: "tvmgen_<name>_run" (rvtvm_model_run_packed) first, then every operator under
 * its TVM name (metadata.json operators). */
extern const struct rvtvm_rpc_function rvtvm_model_functions[];
extern const uint32_t rvtvm_model_num_functions;

/* The memory the host may name in calls, numbered as metadata.json's executor refs: region 0
 * is the arena (writable), region 1 + i is constant i (read-only). Fills a static table. */
const struct rvtvm_rpc_region* rvtvm_model_regions(uint32_t* count);

/* The model as one packed function (main_host_driven.c): its inputs, then its outputs, as
 * tensors of exactly their sizes; copies them in, runs, copies the outputs out. */
int32_t rvtvm_model_run_packed(void* self, const TVMFFIAny* args, int32_t num_args,
                               TVMFFIAny* result);

#endif /* RVTVM_MODEL_RPC_H_ */
