/* The accelerator's C API: what generated code calls (TIR call_extern) for int8 operators:
 * convolution, depthwise convolution, fully connected and elementwise add.
 *
 * Two backends implement this header bit for bit alike: accel_mmio.c drives the hardware
 * (rtl/README.md) through the port in rvtvm/accel_port.h, and accel_sw.c computes the same
 * results on the CPU (QEMU, and the reference the MMIO backend is tested against). A firmware
 * links exactly one of them.
 *
 * Every function returns 0 or an RVTVM_ERR_ACCEL_* code from rvtvm/wire.h:
 *   ARGUMENT   a size, stride or quantization value the accelerator does not take (both
 *              backends check alike, in accel_args.c): a dimension or stride below 1; pad_top or
 *              pad_left outside [0, kernel); an output size whose last window starts outside the
 *              input or needs kernel or more padding after it; padding
 *              while -input_offset is not an int8 (the pad value could not be stored); an operand
 *              of 2 GiB or more; a NULL pointer; an output overlapping the input; depthwise on a
 *              non-square array. A params shift outside [-31, 31] is ARGUMENT from the software
 *              backend only: the MMIO backend leaves per-channel data unchecked (a loop over
 *              every channel per call costs more than small operators) and the hardware uses the
 *              shift's low six bits; rvtvm.accel.layout never packs such a shift. For add: a
 *              count below 1, an offset, left shift or shift out of range, or an output that
 *              overlaps a or b.
 *   TOO_LARGE  one output pixel's window, weights or params do not fit the scratchpads
 *   DEVICE     the hardware refused a command (its STATUS error code is lost; use a debugger)
 *   TIMEOUT    the hardware stayed busy past RVTVM_ACCEL_POLL_LIMIT status reads
 *   MISMATCH   the hardware's ID or array shape is not the one this driver was built for
 * On an error the output is unspecified.
 *
 * Data layouts (rvtvm/accel/layout.py packs them at compile time):
 * - Activations are int8 NHWC without the batch axis ([H][W][C]); fully connected takes [M][K].
 * - Weights are packed for the array: ROWS x COLS words, byte i*COLS + j = w[i][j], groups of
 *   COLS output channels; see rtl/README.md "What it computes". Sizes are given by the
 *   RVTVM_ACCEL_*_WEIGHT_BYTES macros below.
 * - params has 4 int32 per output channel: bias, multiplier, shift, 0. The requantization is
 *   TFLM's MultiplyByQuantizedMultiplier (shift > 0 shifts left), then + output_offset and the
 *   clamp to [act_min, act_max].
 * - input_offset is minus the input zero point (-255..255 accepted), output_offset the output
 *   zero point, act_min <= act_max within int8. Weights are symmetric (zero point 0).
 * - Padding: pad_top/pad_left taps above/left of the input; the bottom and right padding follow
 *   from out_h/out_w. Padded taps contribute nothing, as in TFLM.
 * All pointers must be valid for the whole operand; input and output must not overlap.
 */
#ifndef RVTVM_ACCEL_H_
#define RVTVM_ACCEL_H_

#include <stdint.h>

/* The array shape this driver (and the packed weights) are built for. */
#ifndef RVTVM_ACCEL_ROWS
#define RVTVM_ACCEL_ROWS 8
#endif
#ifndef RVTVM_ACCEL_COLS
#define RVTVM_ACCEL_COLS 8
#endif

#define RVTVM_ACCEL_CEIL_DIV(a, b) (((a) + (b)-1) / (b))

/* Packed weight bytes of each operator. */
#define RVTVM_ACCEL_CONV2D_WEIGHT_BYTES(kernel_h, kernel_w, in_c, out_c)                        \
  (RVTVM_ACCEL_CEIL_DIV(out_c, RVTVM_ACCEL_COLS) * (kernel_h) *                                 \
   RVTVM_ACCEL_CEIL_DIV((kernel_w) * (in_c), RVTVM_ACCEL_ROWS) * RVTVM_ACCEL_ROWS * RVTVM_ACCEL_COLS)
#define RVTVM_ACCEL_DEPTHWISE_CONV2D_WEIGHT_BYTES(kernel_h, kernel_w, channels)                 \
  (RVTVM_ACCEL_CEIL_DIV(channels, RVTVM_ACCEL_COLS) * (kernel_h) * (kernel_w) * RVTVM_ACCEL_ROWS * \
   RVTVM_ACCEL_COLS)
#define RVTVM_ACCEL_FULLY_CONNECTED_WEIGHT_BYTES(in_features, out_features)                    \
  RVTVM_ACCEL_CONV2D_WEIGHT_BYTES(1, 1, in_features, out_features)

/* Convolution, pointwise included: input [in_h][in_w][in_c], weights OHWI packed, output
 * [out_h][out_w][out_c]. */
int32_t rvtvm_accel_conv2d_s8(const int8_t* input, int32_t in_h, int32_t in_w, int32_t in_c,
                              const int8_t* packed_weights, const int32_t* params, int8_t* output,
                              int32_t out_h, int32_t out_w, int32_t out_c, int32_t kernel_h,
                              int32_t kernel_w, int32_t stride_h, int32_t stride_w, int32_t pad_top,
                              int32_t pad_left, int32_t input_offset, int32_t output_offset,
                              int32_t act_min, int32_t act_max);

/* Depthwise convolution with depth multiplier 1: input [in_h][in_w][channels], weights
 * [kernel_h][kernel_w][channels] packed (diagonal words), output [out_h][out_w][channels]. */
int32_t rvtvm_accel_depthwise_conv2d_s8(const int8_t* input, int32_t in_h, int32_t in_w,
                                        int32_t channels, const int8_t* packed_weights,
                                        const int32_t* params, int8_t* output, int32_t out_h,
                                        int32_t out_w, int32_t kernel_h, int32_t kernel_w,
                                        int32_t stride_h, int32_t stride_w, int32_t pad_top,
                                        int32_t pad_left, int32_t input_offset,
                                        int32_t output_offset, int32_t act_min, int32_t act_max);

/* Fully connected / GEMM: input [rows][in_features], weights [out_features][in_features]
 * packed, output [rows][out_features]. */
int32_t rvtvm_accel_fully_connected_s8(const int8_t* input, int32_t rows, int32_t in_features,
                                       const int8_t* packed_weights, const int32_t* params,
                                       int8_t* output, int32_t out_features, int32_t input_offset,
                                       int32_t output_offset, int32_t act_min, int32_t act_max);

/* Elementwise add, TFLM's reference_integer_ops::Add of two same-shape int8 tensors of `count`
 * elements (rtl/README.md, "Elementwise add"):
 *   sa = MultiplyByQuantizedMultiplier((a[i] + a_offset) << left_shift, a_multiplier, a_shift)
 *   sb = the same for b, out[i] = clamp(MBQM(sa + sb, out_multiplier, out_shift) + output_offset)
 * a_offset and b_offset are minus the zero points (-256..255), left_shift 0..20 (TFLM: 20), the
 * shifts -31..31 (TFLM's are <= 0). The output must not overlap a or b. */
int32_t rvtvm_accel_add_s8(const int8_t* a, const int8_t* b, int8_t* output, int32_t count,
                           int32_t a_offset, int32_t a_multiplier, int32_t a_shift,
                           int32_t b_offset, int32_t b_multiplier, int32_t b_shift,
                           int32_t left_shift, int32_t out_multiplier, int32_t out_shift,
                           int32_t output_offset, int32_t act_min, int32_t act_max);

#endif /* RVTVM_ACCEL_H_ */
