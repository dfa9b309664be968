/* Elementwise int8 ADD with TFLite Micro's arithmetic (reference_integer_ops::Add), for the
 * offload example in offload_add.py: both inputs are rescaled to a common fixed point, summed
 * and rescaled to the output. It runs on the CPU: a new accelerator's driver function would
 * start its unit here instead (rvtvm's own, rvtvm_accel_add_s8, runs the add pass).
 * Returns 0, or RVTVM_ERR_ACCEL_ARGUMENT (0x0501) for a bad size. */
#include <stdint.h>

int32_t example_add_s8(const int8_t* a, const int8_t* b, int8_t* out, int32_t count, int32_t a_offset,
                       int32_t a_multiplier, int32_t a_shift, int32_t b_offset, int32_t b_multiplier,
                       int32_t b_shift, int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
                       int32_t out_offset, int32_t act_min, int32_t act_max);

/* gemmlowp's SaturatingRoundingDoublingHighMul: round(a * b / 2^31), saturating INT32_MIN^2. */
static int32_t doubling_high_mul(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) {
    return INT32_MAX;
  }
  int64_t product = (int64_t)a * (int64_t)b;
  return (int32_t)((product + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounding half away from zero. */
static int32_t divide_by_pot(int32_t x, int32_t exponent) {
  int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
  int32_t remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* MultiplyByQuantizedMultiplierSmallerThanOneExp: shift <= 0. */
static int32_t rescale(int32_t x, int32_t multiplier, int32_t shift) {
  return divide_by_pot(doubling_high_mul(x, multiplier), -shift);
}

int32_t example_add_s8(const int8_t* a, const int8_t* b, int8_t* out, int32_t count, int32_t a_offset,
                       int32_t a_multiplier, int32_t a_shift, int32_t b_offset, int32_t b_multiplier,
                       int32_t b_shift, int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
                       int32_t out_offset, int32_t act_min, int32_t act_max) {
  if (count < 1 || left_shift < 0 || left_shift > 20) {
    return 0x0501;
  }
  for (int32_t i = 0; i < count; ++i) {
    int32_t sa = rescale((int32_t)((uint32_t)(a[i] + a_offset) << left_shift), a_multiplier, a_shift);
    int32_t sb = rescale((int32_t)((uint32_t)(b[i] + b_offset) << left_shift), b_multiplier, b_shift);
    int32_t value = rescale(sa + sb, out_multiplier, out_shift) + out_offset;
    value = value < act_min ? act_min : value;
    value = value > act_max ? act_max : value;
    out[i] = (int8_t)value;
  }
  return 0;
}
