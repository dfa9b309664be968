/* The software backend of rvtvm/accel.h: computes each operator on the CPU, bit for bit what
 * the accelerator computes (rtl/README.md, "What it computes"), for QEMU and as the reference
 * the MMIO backend is tested against.
 *
 * It reads the packed weights and params the way the array does, so a wrong packing fails here
 * too. Where the hardware multiplies padding (or bytes past a window) by a zero weight, this
 * code skips the taps instead: it must not read outside the caller's input.
 *
 * Arithmetic is int32 and wraps like the hardware's: accumulators are uint32_t (a C int32
 * overflow is undefined), and only the requantization uses 64 bits, once per output.
 * Right shifts of negative values are arithmetic, as GCC and Clang define them.
 */
#include <stdint.h>

#include "accel_op.h"
#include "rvtvm/accel.h"
#include "rvtvm/wire.h"

#define ROWS RVTVM_ACCEL_ROWS
#define COLS RVTVM_ACCEL_COLS
#define WORD_BYTES (ROWS * COLS)

/* One output channel's requantization, hoisted out of the pixel loops. */
struct channel {
  uint32_t bias;
  int32_t multiplier;
  uint32_t left_shift;  /* shift > 0 */
  uint32_t right_shift; /* -shift when shift < 0 */
};

/* The COLS output channels of one group: their params and packed weights. */
struct group {
  struct channel channel[COLS];
  uint32_t first_channel;
  uint32_t lanes; /* channels of the group that exist: COLS, or fewer in the last group */
  const int8_t* weights;
};

/* Two's complement reinterpretation without implementation-defined conversion. */
static int32_t as_int32(uint32_t value) {
  return value <= INT32_MAX ? (int32_t)value : -(int32_t)(~value) - 1;
}

static int32_t rounding_divide_by_pot(int32_t y, uint32_t exponent) {
  if (exponent == 0) {
    return y;
  }
  uint32_t mask = (1u << exponent) - 1u;
  uint32_t threshold = (mask >> 1) + (y < 0 ? 1u : 0u);
  return (y >> exponent) + (((uint32_t)y & mask) > threshold ? 1 : 0);
}

/* rtl/README.md's rescale (MultiplyByQuantizedMultiplier) with the shift split in two. */
static int32_t rescale(int32_t x, int32_t multiplier, uint32_t left_shift, uint32_t right_shift) {
  x = as_int32((uint32_t)x << left_shift);
  int64_t high = ((int64_t)x * multiplier + ((int64_t)1 << 30)) >> 31;
  int32_t y = high > INT32_MAX ? INT32_MAX : (int32_t)high;
  return rounding_divide_by_pot(y, right_shift);
}

/* + output_offset and the clamp, to int8. */
static int8_t saturate(int32_t y, int32_t output_offset, int32_t act_min, int32_t act_max) {
  /* Beyond +-512 every output offset and clamp give the same int8; this avoids an overflow. */
  y = y < -512 ? -512 : (y > 512 ? 512 : y);
  int32_t out = y + output_offset;
  out = out < act_min ? act_min : out;
  return (int8_t)(out > act_max ? act_max : out);
}

/* rtl/README.md's requantization of one accumulator. */
static int8_t requantize(uint32_t acc, const struct channel* ch, const struct rvtvm_accel_op* op) {
  int32_t y = rescale(as_int32(acc + ch->bias), ch->multiplier, ch->left_shift, ch->right_shift);
  return saturate(y, op->output_offset, op->act_min, op->act_max);
}

static void load_group(const struct rvtvm_accel_op* op, uint32_t g, struct group* group) {
  group->first_channel = g * COLS;
  group->lanes = op->out_c - group->first_channel < COLS ? op->out_c - group->first_channel : COLS;
  group->weights = op->weights + g * op->group_weight_bytes;
  for (uint32_t j = 0; j < group->lanes; ++j) {
    const int32_t* entry = op->params + 4u * (group->first_channel + j);
    int32_t shift = entry[2];
    group->channel[j].bias = (uint32_t)entry[0];
    group->channel[j].multiplier = entry[1];
    group->channel[j].left_shift = shift > 0 ? (uint32_t)shift : 0u;
    group->channel[j].right_shift = shift < 0 ? (uint32_t)-shift : 0u;
  }
}

static void store_pixel(const struct rvtvm_accel_op* op, const struct group* group,
                        const uint32_t acc[COLS], uint32_t oy, uint32_t ox) {
  int8_t* out = op->output + (oy * op->out_w + ox) * op->out_c + group->first_channel;
  for (uint32_t j = 0; j < group->lanes; ++j) {
    out[j] = requantize(acc[j], &group->channel[j], op);
  }
}

/* Input rows or columns [first, end) of a window starting at `start` (may be negative), clipped
 * to the input: the taps that are not padding. */
struct span {
  int32_t start;
  uint32_t first, end;
};

static struct span window_span(uint32_t o, uint32_t stride, uint32_t pad, uint32_t kernel,
                               uint32_t in) {
  struct span s;
  s.start = (int32_t)(o * stride) - (int32_t)pad;
  int32_t end = s.start + (int32_t)kernel;
  s.first = s.start < 0 ? 0u : (uint32_t)s.start;
  s.end = end > (int32_t)in ? in : (uint32_t)end;
  return s;
}

/* One tap row of a convolution window: its KW*C bytes are consecutive in NHWC and so are their
 * weights (lane k of the row is lane k % ROWS of step k / ROWS: byte k * COLS of the row's
 * words). `in` points at lane k_first; lanes [k_first, k_end) are inside the input. */
static void conv_tap_row(const int8_t* in, const int8_t* words, uint32_t k_first, uint32_t k_end,
                         int32_t input_offset, uint32_t acc[COLS]) {
  /* Local sums: int8_t pointers may alias acc[], which would keep it in memory. */
  uint32_t sum[COLS];
  for (uint32_t j = 0; j < COLS; ++j) {
    sum[j] = acc[j];
  }
  const int8_t* w = words + k_first * COLS;
  for (uint32_t k = k_first; k < k_end; ++k, ++in, w += COLS) {
    int32_t value = *in + input_offset;
#pragma GCC unroll 16
    for (uint32_t j = 0; j < COLS; ++j) {
      sum[j] += (uint32_t)(value * w[j]);
    }
  }
  for (uint32_t j = 0; j < COLS; ++j) {
    acc[j] = sum[j];
  }
}

static void conv_pixel(const struct rvtvm_accel_op* op, const struct group* group, uint32_t oy,
                       uint32_t ox, uint32_t acc[COLS]) {
  uint32_t c = op->in_c;
  struct span rows = window_span(oy, op->stride_h, op->pad_top, op->kernel_h, op->in_h);
  struct span cols = window_span(ox, op->stride_w, op->pad_left, op->kernel_w, op->in_w);
  uint32_t k_first = (cols.first - (uint32_t)cols.start) * c; /* past the left padding */
  uint32_t k_end = (cols.end - (uint32_t)cols.start) * c;
  uint32_t tap_row_bytes = op->tap_cols * WORD_BYTES;
  for (uint32_t iy = rows.first; iy < rows.end; ++iy) {
    const int8_t* in = op->input + (iy * op->in_w + cols.first) * c;
    const int8_t* words = group->weights + (iy - (uint32_t)rows.start) * tap_row_bytes;
    conv_tap_row(in, words, k_first, k_end, op->input_offset, acc);
  }
}

/* Depthwise: lane j is channel first_channel + j, and word (ty, tx) is diagonal, so only its
 * bytes j*COLS + j can be nonzero. */
static void depthwise_pixel(const struct rvtvm_accel_op* op, const struct group* group,
                            uint32_t oy, uint32_t ox, uint32_t acc[COLS]) {
  uint32_t c = op->in_c;
  struct span rows = window_span(oy, op->stride_h, op->pad_top, op->kernel_h, op->in_h);
  struct span cols = window_span(ox, op->stride_w, op->pad_left, op->kernel_w, op->in_w);
  for (uint32_t iy = rows.first; iy < rows.end; ++iy) {
    for (uint32_t ix = cols.first; ix < cols.end; ++ix) {
      uint32_t tap = (iy - (uint32_t)rows.start) * op->kernel_w + (ix - (uint32_t)cols.start);
      const int8_t* word = group->weights + tap * WORD_BYTES;
      const int8_t* in = op->input + (iy * op->in_w + ix) * c + group->first_channel;
      for (uint32_t j = 0; j < group->lanes; ++j) {
        acc[j] += (uint32_t)((in[j] + op->input_offset) * word[j * COLS + j]);
      }
    }
  }
}

/* A shift outside [-31, 31] would be an undefined C shift here. The hardware defines one (it
 * uses the low six bits), and checking every channel on every call costs the MMIO backend more
 * than some operators do, so only this backend checks; the compiler never packs such a shift
 * (rvtvm.accel.layout.channel_params refuses it). */
static int shifts_ok(const struct rvtvm_accel_op* op) {
  for (uint32_t c = 0; c < op->out_c; ++c) {
    int32_t shift = op->params[4u * c + 2u];
    if (shift < -31 || shift > 31) {
      return 0;
    }
  }
  return 1;
}

int32_t rvtvm_accel_backend_run(const struct rvtvm_accel_op* op) {
  if (!shifts_ok(op)) {
    return RVTVM_ERR_ACCEL_ARGUMENT;
  }
  int depthwise = op->kind == RVTVM_ACCEL_KIND_DEPTHWISE;
  struct group group;
  for (uint32_t g = 0; g < op->groups; ++g) {
    load_group(op, g, &group);
    for (uint32_t oy = 0; oy < op->out_h; ++oy) {
      for (uint32_t ox = 0; ox < op->out_w; ++ox) {
        uint32_t acc[COLS] = {0};
        if (depthwise) {
          depthwise_pixel(op, &group, oy, ox, acc);
        } else {
          conv_pixel(op, &group, oy, ox, acc);
        }
        store_pixel(op, &group, acc, oy, ox);
      }
    }
  }
  return 0;
}

/* A signed shift as rescale's left and right parts. */
static int32_t rescale_by(int32_t x, int32_t multiplier, int32_t shift) {
  return rescale(x, multiplier, shift > 0 ? (uint32_t)shift : 0u, shift < 0 ? (uint32_t)-shift : 0u);
}

int32_t rvtvm_accel_backend_add(const struct rvtvm_accel_add* add) {
  for (uint32_t i = 0; i < add->count; ++i) {
    int32_t sa = rescale_by((add->a[i] + add->a_offset) * (1 << add->left_shift),
                            add->a_multiplier, add->a_shift);
    int32_t sb = rescale_by((add->b[i] + add->b_offset) * (1 << add->left_shift),
                            add->b_multiplier, add->b_shift);
    int32_t y = rescale_by(as_int32((uint32_t)sa + (uint32_t)sb), add->out_multiplier,
                           add->out_shift);
    add->output[i] = saturate(y, add->output_offset, add->act_min, add->act_max);
  }
  return 0;
}
