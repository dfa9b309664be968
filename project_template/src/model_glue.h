/* The model as the firmware application sees it, independent of the model's name.
 *
 * The Project API server writes model_glue.c from the Model Library Format's metadata.json at
 * generate_project time. Its input and output buffers are the executor's arena slots
 * (TVMGEN_<NAME>_{INPUT,OUTPUT}_<C>_OFFSET), so inputs are received and outputs sent in place,
 * with no copies and no RAM of their own. It wraps tvmgen_<name>_run() around them, so main.c
 * stays generic. A run overwrites the input buffers: the host sends inputs with every RUN.
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
