/* Private to accel_driver/src: the operator description that the API entry points (accel_args.c)
 * hand to the one backend linked in (accel_sw.c or accel_mmio.c), once every argument is checked.
 *
 * All three operators are one convolution in NHWC: fully connected is the 1x1 convolution of an
 * in_h = rows, in_w = 1 image of in_features channels; depthwise has in_c == out_c.
 */
#ifndef RVTVM_ACCEL_OP_H_
#define RVTVM_ACCEL_OP_H_

#include <stdint.h>

#include "rvtvm/accel.h"

enum rvtvm_accel_kind {
  RVTVM_ACCEL_KIND_CONV = 0,
  RVTVM_ACCEL_KIND_DEPTHWISE = 1,
};

/* Checked: every size and stride >= 1, pads in [0, kernel), every window starts inside the
 * input, each operand (and the padded window extent) below 2^31 bytes, quantization in range,
 * and -input_offset fits a byte whenever there is padding to fill. The params' shifts are not
 * (see rvtvm/accel.h). */
struct rvtvm_accel_op {
  enum rvtvm_accel_kind kind;
  const int8_t* input;
  const int8_t* weights; /* packed, rvtvm/accel.h */
  const int32_t* params; /* bias, multiplier, shift, 0 per output channel */
  int8_t* output;
  uint32_t in_h, in_w, in_c;
  uint32_t out_h, out_w, out_c;
  uint32_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
  int32_t input_offset, output_offset, act_min, act_max;
  /* Derived from the above, for both backends. */
  uint32_t groups;             /* ceil(out_c / COLS) */
  uint32_t tap_cols;           /* steps per tap row: ceil(KW*C / ROWS), or KW for depthwise */
  uint32_t group_weight_bytes; /* packed bytes of one group of COLS output channels */
};

/* An elementwise add, checked: count >= 1, offsets, left shift and shifts in range, no overlap
 * between the output and either input. */
struct rvtvm_accel_add {
  const int8_t* a;
  const int8_t* b;
  int8_t* output;
  uint32_t count;
  int32_t a_offset, a_multiplier, a_shift;
  int32_t b_offset, b_multiplier, b_shift;
  int32_t left_shift, out_multiplier, out_shift;
  int32_t output_offset, act_min, act_max;
};

/* Run a checked operator: 0 or an RVTVM_ERR_ACCEL_* code. Each backend defines both. */
int32_t rvtvm_accel_backend_run(const struct rvtvm_accel_op* op);
int32_t rvtvm_accel_backend_add(const struct rvtvm_accel_add* add);

#endif /* RVTVM_ACCEL_OP_H_ */
