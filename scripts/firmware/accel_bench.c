/* Firmware for scripts/benchmark_accel.py: times every shape of accel_bench_shapes.h (written by
 * the script) through the accelerator driver, and a plain int8 dot product on the CPU.
 *
 * Output, one line each:
 *   ARRAY <ROWS*COLS MACs per cycle>
 *   SHAPE <index> <return code> <cycles>      cycles around one driver call, DMA included
 *   DOT <elements> <cycles>                   the CPU-only reference loop
 * Operand values are pseudo-random: timing does not depend on them, and the tests check results.
 */
#include <stdint.h>

#include "accel_bench_shapes.h"
#include "rvtvm/accel.h"
#include "rvtvm/accel_port.h"
#include "rvtvm/accel_regs.h"
#include "rvtvm/board.h"
#include "rvtvm/log.h"

#define DOT_ELEMENTS 4096

int main(void);

static int8_t input[BENCH_MAX_INPUT_BYTES] __attribute__((aligned(16)));
static int8_t weights[BENCH_MAX_WEIGHT_BYTES] __attribute__((aligned(16)));
static int8_t output[BENCH_MAX_OUTPUT_BYTES] __attribute__((aligned(16)));
static int32_t params[4 * BENCH_MAX_CHANNELS];

static uint32_t random_state = 12345u;

static uint32_t next_random(void) {
  random_state = random_state * 1664525u + 1013904223u;
  return random_state >> 8;
}

static void fill(int8_t* bytes, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) bytes[i] = (int8_t)next_random();
}

static int32_t run_shape(const struct bench_shape* s) {
  if (s->kind == BENCH_CONV2D) {
    return rvtvm_accel_conv2d_s8(input, s->in_h, s->in_w, s->in_c, weights, params, output, s->out_h,
                                 s->out_w, s->out_c, s->kernel_h, s->kernel_w, s->stride_h, s->stride_w,
                                 s->pad_top, s->pad_left, 3, -5, -128, 127);
  }
  if (s->kind == BENCH_DEPTHWISE_CONV2D) {
    return rvtvm_accel_depthwise_conv2d_s8(input, s->in_h, s->in_w, s->in_c, weights, params, output,
                                           s->out_h, s->out_w, s->kernel_h, s->kernel_w, s->stride_h,
                                           s->stride_w, s->pad_top, s->pad_left, 3, -5, -128, 127);
  }
  return rvtvm_accel_fully_connected_s8(input, s->in_h, s->in_c, weights, params, output, s->out_c, 3,
                                        -5, -128, 127);
}

/* The loop TFLM's reference kernels run per output: (input + offset) * weight, accumulated. */
__attribute__((noinline)) static int32_t dot_s8(const int8_t* a, const int8_t* b, uint32_t n, int32_t offset) {
  int32_t acc = 0;
  for (uint32_t i = 0; i < n; ++i) acc += ((int32_t)a[i] + offset) * (int32_t)b[i];
  return acc;
}

int main(void) {
  rvtvm_board_init();
  fill(input, sizeof input);
  fill(weights, sizeof weights);
  for (uint32_t c = 0; c < BENCH_MAX_CHANNELS; ++c) {
    params[4 * c] = (int32_t)(next_random() & 0xFFFF) - 0x8000; /* bias */
    params[4 * c + 1] = (int32_t)(0x40000000u | (next_random() & 0x3FFFFFFF)); /* multiplier */
    params[4 * c + 2] = -7; /* shift */
    params[4 * c + 3] = 0;
  }
  uint32_t array = rvtvm_accel_port_read(RVTVM_ACCEL_REG_ARRAY);
  rvtvm_log_str("ARRAY ");
  rvtvm_log_dec_u32((array & 0xFFu) * ((array >> 8) & 0xFFu));
  rvtvm_log_end_line();

  for (uint32_t i = 0; i < BENCH_SHAPE_COUNT; ++i) {
    uint64_t start = rvtvm_board_cycles();
    int32_t rc = run_shape(&bench_shapes[i]);
    uint64_t cycles = rvtvm_board_cycles() - start;
    rvtvm_log_str("SHAPE ");
    rvtvm_log_dec_u32(i);
    rvtvm_log_str(" ");
    rvtvm_log_dec_i32(rc);
    rvtvm_log_str(" ");
    rvtvm_log_dec_u32((uint32_t)cycles);
    rvtvm_log_end_line();
  }

  uint64_t start = rvtvm_board_cycles();
  volatile int32_t sink = dot_s8(input, weights, DOT_ELEMENTS, 7);
  uint64_t cycles = rvtvm_board_cycles() - start;
  (void)sink;
  rvtvm_log_str("DOT ");
  rvtvm_log_dec_u32(DOT_ELEMENTS);
  rvtvm_log_str(" ");
  rvtvm_log_dec_u32((uint32_t)cycles);
  rvtvm_log_end_line();
  return 0;
}
