/* The API of rvtvm/accel.h: checks every argument the same way for both backends, so the same
 * inputs give the same RVTVM_ERR_ACCEL_ARGUMENT whichever one is linked, then hands the operator
 * to rvtvm_accel_backend_run or rvtvm_accel_backend_add (accel_op.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "accel_op.h"
#include "rvtvm/accel.h"
#include "rvtvm/wire.h"

/* Operand sizes are computed in 32 bits by both backends; anything this large is a bad call. */
#define BYTES_LIMIT 0x7FFFFFFFu

/* a * b, saturated just above BYTES_LIMIT so that a chain of products cannot wrap. */
static uint64_t times(uint64_t a, uint64_t b) {
  const uint64_t cap = (uint64_t)BYTES_LIMIT + 1u;
  a = a < cap ? a : cap;
  b = b < cap ? b : cap;
  return a * b < cap ? a * b : cap; /* both <= 2^31: no wrap */
}

static int fits(uint64_t bytes) { return bytes <= BYTES_LIMIT; }

static int in_range(int32_t value, int32_t low, int32_t high) {
  return value >= low && value <= high;
}

/* One spatial axis: the padding before is less than a kernel, and the last window starts inside
 * the input, which is the padding after (implied by `out`) being less than a kernel too. */
static int axis_ok(int32_t in, int32_t out, int32_t kernel, int32_t stride, int32_t pad) {
  if (in < 1 || out < 1 || kernel < 1 || stride < 1 || pad < 0 || pad >= kernel) {
    return 0;
  }
  return (int64_t)(out - 1) * stride - pad < in;
}

/* Bytes the windows of one axis span, padding included. */
static uint64_t axis_extent(int32_t out, int32_t kernel, int32_t stride) {
  return (uint64_t)(out - 1) * (uint64_t)stride + (uint64_t)kernel;
}

static int axis_padded(int32_t in, int32_t out, int32_t kernel, int32_t stride, int32_t pad) {
  return pad > 0 || axis_extent(out, kernel, stride) > (uint64_t)pad + (uint64_t)in;
}

static int quant_ok(const struct rvtvm_accel_op* op) {
  return in_range(op->input_offset, -255, 255) && in_range(op->output_offset, -128, 127) &&
         in_range(op->act_min, -128, 127) && in_range(op->act_max, op->act_min, 127);
}

static int overlap(const void* a, uint32_t a_bytes, const void* b, uint32_t b_bytes) {
  uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
  return a0 < b0 + b_bytes && b0 < a0 + a_bytes;
}

/* Every operand's bytes, and those of the padded window extent, below 2^31; fills the derived
 * fields. The shape is already checked, so every size is >= 1. */
static int sizes_ok(struct rvtvm_accel_op* op) {
  uint64_t extent_h = axis_extent((int32_t)op->out_h, (int32_t)op->kernel_h, (int32_t)op->stride_h);
  uint64_t extent_w = axis_extent((int32_t)op->out_w, (int32_t)op->kernel_w, (int32_t)op->stride_w);
  uint64_t window_bytes = times(op->kernel_w, op->in_c);
  if (!fits(times(times(extent_h, extent_w), op->in_c)) ||
      !fits(times(times(op->in_h, op->in_w), op->in_c)) ||
      !fits(times(times(op->out_h, op->out_w), op->out_c)) || !fits(times(op->out_c, 16u))) {
    return 0;
  }
  op->groups = (uint32_t)RVTVM_ACCEL_CEIL_DIV(op->out_c, (uint32_t)RVTVM_ACCEL_COLS);
  op->tap_cols = op->kind == RVTVM_ACCEL_KIND_DEPTHWISE
                     ? op->kernel_w
                     : RVTVM_ACCEL_CEIL_DIV((uint32_t)window_bytes, (uint32_t)RVTVM_ACCEL_ROWS);
  uint64_t group_bytes =
      times(times(op->kernel_h, op->tap_cols), (uint64_t)RVTVM_ACCEL_ROWS * RVTVM_ACCEL_COLS);
  if (!fits(times(group_bytes, op->groups))) {
    return 0;
  }
  op->group_weight_bytes = (uint32_t)group_bytes;
  return 1;
}

/* Checks the raw arguments in `raw` (sizes still signed) and fills `op` from them. */
static int32_t check(const int32_t raw[12], struct rvtvm_accel_op* op) {
  enum { IN_H, IN_W, IN_C, OUT_H, OUT_W, OUT_C, KH, KW, SH, SW, PT, PL };
  if (op->input == NULL || op->weights == NULL || op->params == NULL || op->output == NULL ||
      raw[IN_C] < 1 || raw[OUT_C] < 1 || !quant_ok(op) ||
      !axis_ok(raw[IN_H], raw[OUT_H], raw[KH], raw[SH], raw[PT]) ||
      !axis_ok(raw[IN_W], raw[OUT_W], raw[KW], raw[SW], raw[PL])) {
    return RVTVM_ERR_ACCEL_ARGUMENT;
  }
  if (op->kind == RVTVM_ACCEL_KIND_DEPTHWISE && RVTVM_ACCEL_ROWS != RVTVM_ACCEL_COLS) {
    return RVTVM_ERR_ACCEL_ARGUMENT; /* diagonal weight words need a square array */
  }
  uint32_t* fields[12] = {&op->in_h,     &op->in_w,     &op->in_c,     &op->out_h,
                          &op->out_w,    &op->out_c,    &op->kernel_h, &op->kernel_w,
                          &op->stride_h, &op->stride_w, &op->pad_top,  &op->pad_left};
  for (int i = 0; i < 12; ++i) {
    *fields[i] = (uint32_t)raw[i];
  }
  if (!sizes_ok(op) ||
      overlap(op->input, op->in_h * op->in_w * op->in_c, op->output,
              op->out_h * op->out_w * op->out_c)) {
    return RVTVM_ERR_ACCEL_ARGUMENT;
  }
  /* Padding holds -input_offset, so that it adds nothing; it must be an int8 to be stored. */
  int padded = axis_padded(raw[IN_H], raw[OUT_H], raw[KH], raw[SH], raw[PT]) ||
               axis_padded(raw[IN_W], raw[OUT_W], raw[KW], raw[SW], raw[PL]);
  if (padded && !in_range(-op->input_offset, -128, 127)) {
    return RVTVM_ERR_ACCEL_ARGUMENT;
  }
  return 0;
}

/* The operator is filled field by field: an initializer would zero it first, and picolibc's
 * memset goes a byte at a time, which costs PicoRV32 over a thousand cycles per call. check()
 * sets every field not set here. */
static int32_t run(const int32_t raw[12], enum rvtvm_accel_kind kind, const int8_t* input,
                   const int8_t* weights, const int32_t* params, int8_t* output, int32_t input_offset,
                   int32_t output_offset, int32_t act_min, int32_t act_max) {
  struct rvtvm_accel_op op;
  op.kind = kind;
  op.input = input;
  op.weights = weights;
  op.params = params;
  op.output = output;
  op.input_offset = input_offset;
  op.output_offset = output_offset;
  op.act_min = act_min;
  op.act_max = act_max;
  int32_t error = check(raw, &op);
  return error != 0 ? error : rvtvm_accel_backend_run(&op);
}

int32_t rvtvm_accel_conv2d_s8(const int8_t* input, int32_t in_h, int32_t in_w, int32_t in_c,
                              const int8_t* packed_weights, const int32_t* params, int8_t* output,
                              int32_t out_h, int32_t out_w, int32_t out_c, int32_t kernel_h,
                              int32_t kernel_w, int32_t stride_h, int32_t stride_w, int32_t pad_top,
                              int32_t pad_left, int32_t input_offset, int32_t output_offset,
                              int32_t act_min, int32_t act_max) {
  const int32_t raw[12] = {in_h,     in_w,     in_c,     out_h,    out_w,   out_c,
                           kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left};
  return run(raw, RVTVM_ACCEL_KIND_CONV, input, packed_weights, params, output, input_offset, output_offset,
             act_min, act_max);
}

int32_t rvtvm_accel_depthwise_conv2d_s8(const int8_t* input, int32_t in_h, int32_t in_w,
                                        int32_t channels, const int8_t* packed_weights,
                                        const int32_t* params, int8_t* output, int32_t out_h,
                                        int32_t out_w, int32_t kernel_h, int32_t kernel_w,
                                        int32_t stride_h, int32_t stride_w, int32_t pad_top,
                                        int32_t pad_left, int32_t input_offset,
                                        int32_t output_offset, int32_t act_min, int32_t act_max) {
  const int32_t raw[12] = {in_h,     in_w,     channels, out_h,    out_w,   channels,
                           kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left};
  return run(raw, RVTVM_ACCEL_KIND_DEPTHWISE, input, packed_weights, params, output, input_offset, output_offset,
             act_min, act_max);
}

int32_t rvtvm_accel_fully_connected_s8(const int8_t* input, int32_t rows, int32_t in_features,
                                       const int8_t* packed_weights, const int32_t* params,
                                       int8_t* output, int32_t out_features, int32_t input_offset,
                                       int32_t output_offset, int32_t act_min, int32_t act_max) {
  const int32_t raw[12] = {rows, 1, in_features, rows, 1, out_features, 1, 1, 1, 1, 0, 0};
  return run(raw, RVTVM_ACCEL_KIND_CONV, input, packed_weights, params, output, input_offset, output_offset,
             act_min, act_max);
}

int32_t rvtvm_accel_add_s8(const int8_t* a, const int8_t* b, int8_t* output, int32_t count,
                           int32_t a_offset, int32_t a_multiplier, int32_t a_shift,
                           int32_t b_offset, int32_t b_multiplier, int32_t b_shift,
                           int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
                           int32_t output_offset, int32_t act_min, int32_t act_max) {
  if (a == NULL || b == NULL || output == NULL || count < 1 || !in_range(a_offset, -256, 255) ||
      !in_range(b_offset, -256, 255) || !in_range(left_shift, 0, 20) ||
      !in_range(a_shift, -31, 31) || !in_range(b_shift, -31, 31) ||
      !in_range(out_shift, -31, 31) || !in_range(output_offset, -128, 127) ||
      !in_range(act_min, -128, 127) || !in_range(act_max, act_min, 127) ||
      overlap(output, (uint32_t)count, a, (uint32_t)count) ||
      overlap(output, (uint32_t)count, b, (uint32_t)count)) {
    return RVTVM_ERR_ACCEL_ARGUMENT;
  }
  struct rvtvm_accel_add add;
  add.a = a;
  add.b = b;
  add.output = output;
  add.count = (uint32_t)count;
  add.a_offset = a_offset;
  add.a_multiplier = a_multiplier;
  add.a_shift = a_shift;
  add.b_offset = b_offset;
  add.b_multiplier = b_multiplier;
  add.b_shift = b_shift;
  add.left_shift = left_shift;
  add.out_multiplier = out_multiplier;
  add.out_shift = out_shift;
  add.output_offset = output_offset;
  add.act_min = act_min;
  add.act_max = act_max;
  return rvtvm_accel_backend_add(&add);
}
