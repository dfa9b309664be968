/* The model as the firmware application sees it, independent of the model's name.
 *
 * The Project API server writes model_glue.c from the Model Library Format's metadata.json at
 * generate_project time. It owns one static buffer per input and output (sized by the
 * TVMGEN_<NAME>_*_SIZE macros) and wraps tvmgen_<name>_run() around them, so main.c stays
 * generic and new inputs never need a rebuild.
 */
#ifndef RVTVM_MODEL_GLUE_H_
#define RVTVM_MODEL_GLUE_H_

#include <stdint.h>

extern const char rvtvm_model_name[];
extern const uint32_t rvtvm_model_num_inputs;
extern const uint32_t rvtvm_model_num_outputs;
extern const uint32_t rvtvm_model_input_bytes[];
extern const uint32_t rvtvm_model_output_bytes[];
extern uint8_t* const rvtvm_model_inputs[];
extern uint8_t* const rvtvm_model_outputs[];

/* Runs the model on the input buffers into the output buffers. Returns tvmgen_<name>_run's
 * result: 0 on success. */
int32_t rvtvm_model_run(void);

#endif /* RVTVM_MODEL_GLUE_H_ */
