/* Firmware for tests/test_accel_soc.py: runs every case of accel_cases.h (written by the test:
 * operands, packed weights, params and numpy's expected output) through whichever accelerator
 * driver backend it was linked with, and prints one line per case:
 *   CASE <index> <return code> <first mismatching byte, or -1> <bytes clobbered around the output>
 *        <FNV-1a of the output>
 * then DONE. Outputs land in one buffer that starts filled with a canary, so a short write shows.
 */
#include <stdint.h>

#include "accel_cases.h"
#include "rvtvm/accel.h"
#include "rvtvm/board.h"
#include "rvtvm/log.h"

#define CANARY 0x5Au

int main(void);

static int8_t output[ACCEL_CASES_MAX_OUTPUT + 32] __attribute__((aligned(16)));

static int32_t run_case(const struct accel_case* c, int8_t* out) {
  switch (c->kind) {
    case ACCEL_CASE_CONV2D:
      return rvtvm_accel_conv2d_s8(c->input, c->in_h, c->in_w, c->in_c, c->weights, c->params, out,
                                   c->out_h, c->out_w, c->out_c, c->kernel_h, c->kernel_w, c->stride_h,
                                   c->stride_w, c->pad_top, c->pad_left, c->input_offset,
                                   c->output_offset, c->act_min, c->act_max);
    case ACCEL_CASE_DEPTHWISE_CONV2D:
      return rvtvm_accel_depthwise_conv2d_s8(c->input, c->in_h, c->in_w, c->in_c, c->weights, c->params,
                                             out, c->out_h, c->out_w, c->kernel_h, c->kernel_w,
                                             c->stride_h, c->stride_w, c->pad_top, c->pad_left,
                                             c->input_offset, c->output_offset, c->act_min, c->act_max);
    default:
      return rvtvm_accel_fully_connected_s8(c->input, c->in_h, c->in_c, c->weights, c->params, out,
                                            c->out_c, c->input_offset, c->output_offset, c->act_min,
                                            c->act_max);
  }
}

int main(void) {
  rvtvm_board_init();
  for (uint32_t i = 0; i < ACCEL_CASE_COUNT; ++i) {
    const struct accel_case* c = &accel_cases[i];
    /* An odd output address, when the case asks for one, exercises unaligned DMA writes. */
    int8_t* out = output + c->output_misalign;
    uint32_t span = c->output_misalign + c->output_bytes + 16u; /* the output and canaries around it */
    for (uint32_t k = 0; k < span; ++k) output[k] = (int8_t)CANARY;
    int32_t rc = run_case(c, out);
    int32_t mismatch = -1;
    uint32_t hash = 2166136261u;
    for (uint32_t k = 0; k < c->output_bytes; ++k) {
      if (mismatch < 0 && out[k] != c->expected[k]) mismatch = (int32_t)k;
      hash = (hash ^ (uint8_t)out[k]) * 16777619u;
    }
    /* Nothing written around the output. */
    uint32_t clobbered = 0;
    for (uint32_t k = 0; k < span; ++k) {
      uint32_t inside = k >= c->output_misalign && k < c->output_misalign + c->output_bytes;
      if (!inside && (uint8_t)output[k] != CANARY) ++clobbered;
    }
    rvtvm_log_str("CASE ");
    rvtvm_log_dec_u32(i);
    rvtvm_log_str(" ");
    rvtvm_log_dec_i32(rc);
    rvtvm_log_str(" ");
    rvtvm_log_dec_i32(mismatch);
    rvtvm_log_str(" ");
    rvtvm_log_dec_u32(clobbered);
    rvtvm_log_str(" ");
    rvtvm_log_hex_u32(hash);
    rvtvm_log_end_line();
  }
  rvtvm_log_str("DONE");
  rvtvm_log_end_line();
  return 0;
}
