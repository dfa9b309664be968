/* The MMIO backend of rvtvm/accel.h: runs each operator on the accelerator of rtl/README.md,
 * through the port of rvtvm/accel_port.h (registers and DMA bus addresses) only.
 *
 * Tiling. An operator is cut into passes that fit the scratchpads. Output channels go in chunks
 * of whole groups (COLS channels) whose packed weights (contiguous in RAM) and params fit the
 * weight and param scratchpads. The output is cut into tiles: bands of R output rows, and if
 * one full-width row does not fit, strips of columns. A tile's input is its padded window region
 * (TH x TW pixels, all C channels), filled with the byte -input_offset where it leaves the input,
 * so that padded taps add nothing; R and the strip width are as large as the input and output
 * scratchpads allow. The passes run chunk by tile, in whichever nesting moves fewer bytes, and
 * in a serpentine order so that what the last pass left resident is not loaded again.
 *
 * An elementwise add goes in chunks that fit the input, weight and output scratchpads (a, b,
 * the result), one add pass each.
 *
 * Each pass is sequential: DMA in, engine, DMA out, waiting for each. Every command is followed
 * by a bounded STATUS poll and an error check; an error is cleared and returned as DEVICE.
 */
#include <stdint.h>

#include "accel_op.h"
#include "rvtvm/accel.h"
#include "rvtvm/accel_port.h"
#include "rvtvm/accel_regs.h"
#include "rvtvm/wire.h"

/* STATUS reads before a command counts as hung. The longest pass the default scratchpads allow
 * is a few million engine cycles, and each read takes several bus cycles. */
#ifndef RVTVM_ACCEL_POLL_LIMIT
#define RVTVM_ACCEL_POLL_LIMIT 50000000u
#endif

#define ROWS RVTVM_ACCEL_ROWS
#define COLS RVTVM_ACCEL_COLS
#define WORD_BYTES (ROWS * COLS)
#define BUSY (RVTVM_ACCEL_STATUS_DMA_BUSY | RVTVM_ACCEL_STATUS_ENGINE_BUSY)
#define NOTHING 0xFFFFFFFFu /* no tile or chunk resident */

/* The settings registers, DMA_RAM_ADDR .. ADD_OUT_SHIFT (the read-only cycle counters among
 * them are never written): the hardware keeps them between commands,
 * so the driver remembers what it wrote and skips writing the same value again (most of a
 * pass's settings repeat from the last one, and each write costs the CPU a bus access). */
#define SETTINGS_FIRST RVTVM_ACCEL_REG_DMA_RAM_ADDR
#define SETTINGS_COUNT ((RVTVM_ACCEL_REG_ADD_OUT_SHIFT - SETTINGS_FIRST) / 4u + 1u)

/* What the hardware reported at the first call, and what the driver last wrote to it. */
struct device {
  uint32_t ready;
  uint32_t in_bytes, weight_bytes, out_bytes, param_channels;
  uint32_t dma_bytes; /* RAM word of the DMA port: its cost model */
  uint32_t written[SETTINGS_COUNT];
  uint32_t known[SETTINGS_COUNT]; /* written[i] is what the register holds */
};

static struct device device;

static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }

static uint32_t ceil_div(uint32_t a, uint32_t b) { return a / b + (a % b != 0 ? 1u : 0u); }

static void reg_write(uint32_t offset, uint32_t value) {
  uint32_t i = (offset - SETTINGS_FIRST) / 4u;
  if (offset >= SETTINGS_FIRST && i < SETTINGS_COUNT) {
    if (device.known[i] && device.written[i] == value) {
      return;
    }
    device.written[i] = value;
    device.known[i] = 1;
  }
  rvtvm_accel_port_write(offset, value);
}

/* --- commands ------------------------------------------------------------------------------- */

/* Polls until none of `units` (STATUS busy bits) is busy, then checks the sticky error code:
 * a refused start leaves the unit idle with the code set, and the code refuses every later
 * start until cleared. */
static int32_t wait_idle(uint32_t units) {
  for (uint32_t polls = 0; polls < RVTVM_ACCEL_POLL_LIMIT; ++polls) {
    uint32_t status = rvtvm_accel_port_read(RVTVM_ACCEL_REG_STATUS);
    if ((status & units) == 0) {
      if (((status >> RVTVM_ACCEL_STATUS_ERROR_SHIFT) & 0xFFu) != 0) {
        reg_write(RVTVM_ACCEL_REG_COMMAND, RVTVM_ACCEL_CMD_CLEAR);
        return RVTVM_ERR_ACCEL_DEVICE;
      }
      return 0;
    }
  }
  return RVTVM_ERR_ACCEL_TIMEOUT;
}

static int32_t start(uint32_t command, uint32_t unit) {
  reg_write(RVTVM_ACCEL_REG_COMMAND, command);
  return wait_idle(unit);
}

/* Checks the hardware once: the ID, and an array of the shape the weights were packed for. */
static int32_t device_open(void) {
  if (device.ready) {
    return 0;
  }
  if (rvtvm_accel_port_read(RVTVM_ACCEL_REG_ID) != RVTVM_ACCEL_ID_VALUE) {
    return RVTVM_ERR_ACCEL_MISMATCH;
  }
  uint32_t array = rvtvm_accel_port_read(RVTVM_ACCEL_REG_ARRAY);
  if ((array & 0xFFu) != ROWS || ((array >> 8) & 0xFFu) != COLS) {
    return RVTVM_ERR_ACCEL_MISMATCH;
  }
  device.dma_bytes = (array >> 16) & 0xFFu;
  device.dma_bytes = device.dma_bytes != 0 ? device.dma_bytes : 1u;
  device.in_bytes = rvtvm_accel_port_read(RVTVM_ACCEL_REG_IN_SPAD_BYTES);
  device.weight_bytes = rvtvm_accel_port_read(RVTVM_ACCEL_REG_W_SPAD_BYTES);
  device.out_bytes = rvtvm_accel_port_read(RVTVM_ACCEL_REG_OUT_SPAD_BYTES);
  device.param_channels = rvtvm_accel_port_read(RVTVM_ACCEL_REG_PARAM_CHANNELS);
  for (uint32_t i = 0; i < SETTINGS_COUNT; ++i) {
    device.known[i] = 0; /* whatever is there, the driver did not write it this time */
  }
  /* Whatever an earlier, failed call left running or flagged is finished and cleared first. */
  int32_t error = wait_idle(BUSY);
  if (error == RVTVM_ERR_ACCEL_TIMEOUT) {
    return error;
  }
  device.ready = 1;
  return 0;
}

/* One 2-D DMA block (rtl/README.md, "Scratchpads and DMA"). */
struct dma {
  uint32_t ram;  /* bus address of the first RAM byte */
  uint32_t spad; /* scratchpad id << SPAD_ID_SHIFT | first byte */
  uint32_t row_bytes, rows, ram_stride, spad_stride;
};

static uint32_t spad_address(uint32_t id, uint32_t offset) {
  return id << RVTVM_ACCEL_SPAD_ID_SHIFT | offset;
}

static int32_t dma_run(uint32_t mode, struct dma block, uint32_t fill) {
  if (block.rows == 0 || block.row_bytes == 0) {
    return 0;
  }
  if (block.row_bytes == block.ram_stride && block.row_bytes == block.spad_stride) {
    block.row_bytes *= block.rows; /* contiguous on both sides: one row */
    block.rows = 1;
  }
  reg_write(RVTVM_ACCEL_REG_DMA_RAM_ADDR, block.ram);
  reg_write(RVTVM_ACCEL_REG_DMA_SPAD_ADDR, block.spad);
  reg_write(RVTVM_ACCEL_REG_DMA_ROW_BYTES, block.row_bytes);
  reg_write(RVTVM_ACCEL_REG_DMA_ROWS, block.rows);
  reg_write(RVTVM_ACCEL_REG_DMA_RAM_STRIDE, block.ram_stride);
  reg_write(RVTVM_ACCEL_REG_DMA_SPAD_STRIDE, block.spad_stride);
  reg_write(RVTVM_ACCEL_REG_DMA_MODE, mode);
  reg_write(RVTVM_ACCEL_REG_DMA_FILL, fill & 0xFFu);
  return start(RVTVM_ACCEL_CMD_DMA, RVTVM_ACCEL_STATUS_DMA_BUSY);
}

/* A RAM operand to or from a scratchpad: `rows` rows of `row_bytes`, strides on each side. */
static int32_t dma_copy(uint32_t mode, const void* ram, uint32_t spad, uint32_t row_bytes,
                        uint32_t rows, uint32_t ram_stride, uint32_t spad_stride) {
  struct dma block = {rvtvm_accel_port_bus_address(ram), spad, row_bytes, rows, ram_stride,
                      spad_stride};
  return dma_run(mode, block, 0);
}

/* --- the plan ------------------------------------------------------------------------------- */

struct plan {
  uint32_t chunk_groups, chunks; /* output groups per weight chunk; chunks */
  uint32_t band_rows, bands;     /* output rows per band; bands */
  uint32_t strip_cols, strips;   /* output columns per strip; strips */
  uint32_t chunks_inner;         /* loop nesting: 1 tiles outside, chunks inside */
};

/* The input region a tile of output rows [oy0, +rows) x columns [ox0, +cols) reads: rows
 * [iy0, +th) x columns [ix0, +tw), padding included. iy0 + th and ix0 + tw stay below the
 * padded extent, which accel_args.c keeps below 2^31. */
struct tile {
  int32_t iy0, ix0;
  uint32_t th, tw;
};

static struct tile input_tile(const struct rvtvm_accel_op* op, uint32_t oy0, uint32_t rows,
                              uint32_t ox0, uint32_t cols) {
  struct tile t;
  t.iy0 = (int32_t)(oy0 * op->stride_h) - (int32_t)op->pad_top;
  t.ix0 = (int32_t)(ox0 * op->stride_w) - (int32_t)op->pad_left;
  t.th = (rows - 1u) * op->stride_h + op->kernel_h;
  t.tw = (cols - 1u) * op->stride_w + op->kernel_w;
  return t;
}

/* Output rows of a band `cols` wide whose input tile fits the input scratchpad. */
static uint32_t band_rows_in_fit(const struct rvtvm_accel_op* op, uint32_t cols) {
  uint32_t row_bytes = ((cols - 1u) * op->stride_w + op->kernel_w) * op->in_c;
  uint32_t tile_rows = device.in_bytes / row_bytes;
  return tile_rows < op->kernel_h ? 0u : (tile_rows - op->kernel_h) / op->stride_h + 1u;
}

/* Output columns of a one-row tile whose input fits the input scratchpad. */
static uint32_t strip_cols_in_fit(const struct rvtvm_accel_op* op) {
  uint32_t tile_cols = device.in_bytes / (op->kernel_h * op->in_c);
  return tile_cols < op->kernel_w ? 0u : (tile_cols - op->kernel_w) / op->stride_w + 1u;
}

/* Output pixels of a chunk that fit the output scratchpad: (pixels - 1) * channels bytes and the
 * last pixel's whole groups, whether the engine checks CHANNELS or whole groups against it. */
static uint32_t pixels_out_fit(uint32_t channels, uint32_t groups) {
  uint32_t last = groups * COLS;
  return last > device.out_bytes ? 0u : (device.out_bytes - last) / channels + 1u;
}

/* DMA beats to move `rows` rows of `row_bytes` from RAM: a row touches at most one more RAM
 * word than its length in words. */
static uint64_t dma_beats(uint32_t rows, uint32_t row_bytes) {
  return (uint64_t)rows * (row_bytes / device.dma_bytes + 1u);
}

/* Chunks inside tiles reloads the weights for every tile, tiles inside chunks reloads the input
 * for every chunk; when there is only one of either, nothing is reloaded either way. */
static uint32_t choose_nesting(const struct rvtvm_accel_op* op, const struct plan* plan) {
  uint32_t tiles = plan->bands * plan->strips;
  struct tile t = input_tile(op, 0, plan->band_rows, 0, plan->strip_cols);
  uint64_t input_once = (uint64_t)tiles * dma_beats(t.th, t.tw * op->in_c);
  uint64_t weights_once = dma_beats(plan->chunks, plan->chunk_groups * op->group_weight_bytes);
  uint64_t chunks_inner = input_once + (plan->chunks > 1 ? tiles : 1u) * weights_once;
  uint64_t tiles_inner = weights_once + (tiles > 1 ? plan->chunks : 1u) * input_once;
  return chunks_inner <= tiles_inner;
}

static int32_t plan_op(const struct rvtvm_accel_op* op, struct plan* plan) {
  uint32_t fit = device.weight_bytes / op->group_weight_bytes;
  fit = min_u32(fit, device.param_channels / COLS);
  fit = min_u32(fit, device.out_bytes / COLS);
  if (fit == 0) {
    return RVTVM_ERR_ACCEL_TOO_LARGE; /* one group's weights, params or output pixel */
  }
  plan->chunk_groups = min_u32(fit, op->groups);
  plan->chunks = ceil_div(op->groups, plan->chunk_groups);
  uint32_t pixels = pixels_out_fit(min_u32(plan->chunk_groups * COLS, op->out_c),
                                   plan->chunk_groups);
  uint32_t cols = op->out_w;
  if (band_rows_in_fit(op, cols) == 0 || pixels < cols) {
    cols = min_u32(min_u32(strip_cols_in_fit(op), pixels), op->out_w);
    if (cols == 0) {
      return RVTVM_ERR_ACCEL_TOO_LARGE; /* one output pixel's window */
    }
    /* Strips of even width: narrower than the most that fits, so the bands may be taller. */
    cols = ceil_div(op->out_w, ceil_div(op->out_w, cols));
  }
  plan->strip_cols = cols;
  plan->strips = ceil_div(op->out_w, cols);
  plan->band_rows = min_u32(min_u32(band_rows_in_fit(op, cols), pixels / cols), op->out_h);
  plan->bands = ceil_div(op->out_h, plan->band_rows);
  plan->chunks_inner = choose_nesting(op, plan);
  return 0;
}

/* --- passes --------------------------------------------------------------------------------- */

/* One engine run: output rows [oy0, +rows) x columns [ox0, +cols) x groups [g0, +groups), which
 * are channels [c0, +channels). */
struct pass {
  uint32_t oy0, rows, ox0, cols;
  uint32_t g0, groups, c0, channels;
};

static struct pass make_pass(const struct rvtvm_accel_op* op, const struct plan* plan,
                             uint32_t tile, uint32_t chunk) {
  struct pass p;
  p.oy0 = tile / plan->strips * plan->band_rows;
  p.rows = min_u32(plan->band_rows, op->out_h - p.oy0);
  p.ox0 = tile % plan->strips * plan->strip_cols;
  p.cols = min_u32(plan->strip_cols, op->out_w - p.ox0);
  p.g0 = chunk * plan->chunk_groups;
  p.groups = min_u32(plan->chunk_groups, op->groups - p.g0);
  p.c0 = p.g0 * COLS;
  p.channels = min_u32(p.groups * COLS, op->out_c - p.c0);
  return p;
}

/* The tile's padded input into the input scratchpad: first the fill where it leaves the input,
 * then the rows and columns inside it. */
static int32_t load_input(const struct rvtvm_accel_op* op, const struct pass* p) {
  struct tile t = input_tile(op, p->oy0, p->rows, p->ox0, p->cols);
  uint32_t c = op->in_c, row_bytes = t.tw * c;
  int32_t y_end = t.iy0 + (int32_t)t.th, x_end = t.ix0 + (int32_t)t.tw;
  uint32_t y0 = t.iy0 < 0 ? 0u : (uint32_t)t.iy0;
  uint32_t x0 = t.ix0 < 0 ? 0u : (uint32_t)t.ix0;
  uint32_t y1 = y_end > (int32_t)op->in_h ? op->in_h : (uint32_t)y_end;
  uint32_t x1 = x_end > (int32_t)op->in_w ? op->in_w : (uint32_t)x_end;
  if (t.iy0 < 0 || t.ix0 < 0 || y_end > (int32_t)op->in_h || x_end > (int32_t)op->in_w) {
    /* Fill mode reads no RAM; the input's address keeps DMA_RAM_ADDR valid all the same. */
    uint32_t tile_bytes = t.th * row_bytes;
    struct dma fill = {rvtvm_accel_port_bus_address(op->input),
                       spad_address(RVTVM_ACCEL_SPAD_INPUT, 0), tile_bytes, 1, tile_bytes,
                       tile_bytes};
    int32_t error = dma_run(RVTVM_ACCEL_DMA_FILL_SPAD, fill, (uint32_t)-op->input_offset);
    if (error != 0) {
      return error;
    }
  }
  uint32_t spad = ((y0 - (uint32_t)t.iy0) * t.tw + (x0 - (uint32_t)t.ix0)) * c;
  return dma_copy(RVTVM_ACCEL_DMA_TO_SPAD, op->input + (y0 * op->in_w + x0) * c,
                  spad_address(RVTVM_ACCEL_SPAD_INPUT, spad), (x1 - x0) * c, y1 - y0,
                  op->in_w * c, row_bytes);
}

/* The chunk's packed weights (whole groups are contiguous) and its channels' params. */
static int32_t load_weights(const struct rvtvm_accel_op* op, const struct pass* p) {
  uint32_t weight_bytes = p->groups * op->group_weight_bytes;
  int32_t error = dma_copy(RVTVM_ACCEL_DMA_TO_SPAD, op->weights + p->g0 * op->group_weight_bytes,
                           spad_address(RVTVM_ACCEL_SPAD_WEIGHT, 0), weight_bytes, 1,
                           weight_bytes, weight_bytes);
  if (error != 0) {
    return error;
  }
  uint32_t param_bytes = p->channels * RVTVM_ACCEL_PARAM_ENTRY_BYTES;
  return dma_copy(RVTVM_ACCEL_DMA_TO_SPAD, op->params + 4u * p->c0,
                  spad_address(RVTVM_ACCEL_SPAD_PARAM, 0), param_bytes, 1, param_bytes,
                  param_bytes);
}

/* Programs every pass register (rtl/README.md maps the operators onto them) and runs the
 * engine: weights, params, input and output all start at byte 0 of their scratchpads. */
static int32_t compute(const struct rvtvm_accel_op* op, const struct pass* p) {
  int conv = op->kind == RVTVM_ACCEL_KIND_CONV;
  struct tile t = input_tile(op, p->oy0, p->rows, p->ox0, p->cols);
  uint32_t row_bytes = t.tw * op->in_c;
  /* Depthwise lane i reads channel g*COLS + i of the pixel: GROUP_IN_STEP walks the groups. */
  reg_write(RVTVM_ACCEL_REG_IN_BASE, conv ? 0u : p->g0 * COLS);
  reg_write(RVTVM_ACCEL_REG_IN_ROW_STRIDE, row_bytes);
  reg_write(RVTVM_ACCEL_REG_IN_PIXEL_STEP, op->stride_w * op->in_c);
  reg_write(RVTVM_ACCEL_REG_IN_ROW_STEP, op->stride_h * row_bytes);
  reg_write(RVTVM_ACCEL_REG_TAP_ROWS, op->kernel_h);
  reg_write(RVTVM_ACCEL_REG_TAP_COLS, op->tap_cols);
  reg_write(RVTVM_ACCEL_REG_TAP_COL_STEP, conv ? (uint32_t)ROWS : op->in_c);
  reg_write(RVTVM_ACCEL_REG_GROUP_IN_STEP, conv ? 0u : (uint32_t)COLS);
  reg_write(RVTVM_ACCEL_REG_OUT_W, p->cols);
  reg_write(RVTVM_ACCEL_REG_OUT_H, p->rows);
  reg_write(RVTVM_ACCEL_REG_CHANNELS, p->channels);
  reg_write(RVTVM_ACCEL_REG_W_BASE, 0);
  reg_write(RVTVM_ACCEL_REG_P_BASE, 0);
  reg_write(RVTVM_ACCEL_REG_OUT_BASE, 0);
  reg_write(RVTVM_ACCEL_REG_OUT_PIXEL_STRIDE, p->channels);
  reg_write(RVTVM_ACCEL_REG_OUT_ROW_STRIDE, p->cols * p->channels);
  reg_write(RVTVM_ACCEL_REG_IN_OFFSET, (uint32_t)op->input_offset);
  reg_write(RVTVM_ACCEL_REG_OUT_OFFSET, (uint32_t)op->output_offset);
  reg_write(RVTVM_ACCEL_REG_ACT_MIN, (uint32_t)op->act_min);
  reg_write(RVTVM_ACCEL_REG_ACT_MAX, (uint32_t)op->act_max);
  return start(RVTVM_ACCEL_CMD_ENGINE, RVTVM_ACCEL_STATUS_ENGINE_BUSY);
}

/* The output tile ([rows][cols][channels] in the scratchpad) to its place in [H][W][out_c]. */
static int32_t store_output(const struct rvtvm_accel_op* op, const struct pass* p) {
  uint32_t ram_row = op->out_w * op->out_c, spad_row = p->cols * p->channels;
  int8_t* first = op->output + (p->oy0 * op->out_w + p->ox0) * op->out_c + p->c0;
  uint32_t spad = spad_address(RVTVM_ACCEL_SPAD_OUTPUT, 0);
  if (p->channels == op->out_c) { /* each output row's part is contiguous */
    return dma_copy(RVTVM_ACCEL_DMA_TO_RAM, first, spad, spad_row, p->rows, ram_row, spad_row);
  }
  if (p->cols == op->out_w) { /* the pixels are evenly spaced across rows */
    return dma_copy(RVTVM_ACCEL_DMA_TO_RAM, first, spad, p->channels, p->rows * p->cols,
                    op->out_c, p->channels);
  }
  for (uint32_t r = 0; r < p->rows; ++r) {
    int32_t error = dma_copy(RVTVM_ACCEL_DMA_TO_RAM, first + r * ram_row, spad + r * spad_row,
                             p->channels, p->cols, op->out_c, p->channels);
    if (error != 0) {
      return error;
    }
  }
  return 0;
}

/* What the scratchpads hold: the tile whose input, and the chunk whose weights. */
struct resident {
  uint32_t tile, chunk;
};

/* Double-buffering would go here: with the input and output scratchpads split in halves, the
 * DMA of the next pass's input (and the store of the previous pass's output) would start before
 * waiting for this pass's engine, which is why wait_idle takes the units to wait for. */
static int32_t run_pass(const struct rvtvm_accel_op* op, const struct plan* plan,
                        struct resident* resident, uint32_t tile, uint32_t chunk) {
  struct pass p = make_pass(op, plan, tile, chunk);
  int32_t error = 0;
  if (resident->tile != tile) {
    resident->tile = NOTHING;
    error = load_input(op, &p);
    resident->tile = error == 0 ? tile : NOTHING;
  }
  if (error == 0 && resident->chunk != chunk) {
    error = load_weights(op, &p);
    resident->chunk = error == 0 ? chunk : NOTHING;
  }
  if (error == 0) {
    error = compute(op, &p);
  }
  return error != 0 ? error : store_output(op, &p);
}

static int32_t run_passes(const struct rvtvm_accel_op* op, const struct plan* plan) {
  uint32_t tiles = plan->bands * plan->strips;
  uint32_t outer = plan->chunks_inner ? tiles : plan->chunks;
  uint32_t inner = plan->chunks_inner ? plan->chunks : tiles;
  struct resident resident = {NOTHING, NOTHING};
  for (uint32_t o = 0; o < outer; ++o) {
    for (uint32_t i = 0; i < inner; ++i) {
      uint32_t in = (o & 1u) ? inner - 1u - i : i; /* serpentine: reuse the last one loaded */
      uint32_t tile = plan->chunks_inner ? o : in;
      uint32_t chunk = plan->chunks_inner ? in : o;
      int32_t error = run_pass(op, plan, &resident, tile, chunk);
      if (error != 0) {
        return error;
      }
    }
  }
  return 0;
}

/* Elementwise add: chunks of as many elements as the input (a), weight (b) and output
 * scratchpads hold, each one pass at byte 0 of all three. */
static int32_t add_chunks(const struct rvtvm_accel_add* add) {
  uint32_t chunk = min_u32(min_u32(device.in_bytes, device.weight_bytes), device.out_bytes);
  reg_write(RVTVM_ACCEL_REG_IN_BASE, 0);
  reg_write(RVTVM_ACCEL_REG_W_BASE, 0);
  reg_write(RVTVM_ACCEL_REG_OUT_BASE, 0);
  reg_write(RVTVM_ACCEL_REG_ADD_LEFT_SHIFT, (uint32_t)add->left_shift);
  reg_write(RVTVM_ACCEL_REG_ADD_A_OFFSET, (uint32_t)add->a_offset);
  reg_write(RVTVM_ACCEL_REG_ADD_A_MULT, (uint32_t)add->a_multiplier);
  reg_write(RVTVM_ACCEL_REG_ADD_A_SHIFT, (uint32_t)add->a_shift);
  reg_write(RVTVM_ACCEL_REG_ADD_B_OFFSET, (uint32_t)add->b_offset);
  reg_write(RVTVM_ACCEL_REG_ADD_B_MULT, (uint32_t)add->b_multiplier);
  reg_write(RVTVM_ACCEL_REG_ADD_B_SHIFT, (uint32_t)add->b_shift);
  reg_write(RVTVM_ACCEL_REG_ADD_OUT_MULT, (uint32_t)add->out_multiplier);
  reg_write(RVTVM_ACCEL_REG_ADD_OUT_SHIFT, (uint32_t)add->out_shift);
  reg_write(RVTVM_ACCEL_REG_OUT_OFFSET, (uint32_t)add->output_offset);
  reg_write(RVTVM_ACCEL_REG_ACT_MIN, (uint32_t)add->act_min);
  reg_write(RVTVM_ACCEL_REG_ACT_MAX, (uint32_t)add->act_max);
  for (uint32_t first = 0; first < add->count; first += chunk) {
    uint32_t n = min_u32(chunk, add->count - first);
    int32_t error = dma_copy(RVTVM_ACCEL_DMA_TO_SPAD, add->a + first,
                             spad_address(RVTVM_ACCEL_SPAD_INPUT, 0), n, 1, n, n);
    if (error == 0) {
      error = dma_copy(RVTVM_ACCEL_DMA_TO_SPAD, add->b + first,
                       spad_address(RVTVM_ACCEL_SPAD_WEIGHT, 0), n, 1, n, n);
    }
    if (error == 0) {
      reg_write(RVTVM_ACCEL_REG_ELT_COUNT, n);
      error = start(RVTVM_ACCEL_CMD_ADD, RVTVM_ACCEL_STATUS_ENGINE_BUSY);
    }
    if (error == 0) {
      error = dma_copy(RVTVM_ACCEL_DMA_TO_RAM, add->output + first,
                       spad_address(RVTVM_ACCEL_SPAD_OUTPUT, 0), n, 1, n, n);
    }
    if (error != 0) {
      return error;
    }
  }
  return 0;
}

/* An error that may leave the hardware busy or flagged makes the next call start over. */
static int32_t settle(int32_t error) {
  if (error == RVTVM_ERR_ACCEL_DEVICE || error == RVTVM_ERR_ACCEL_TIMEOUT) {
    device.ready = 0; /* the next call waits for the hardware and clears it again */
  }
  return error;
}

int32_t rvtvm_accel_backend_add(const struct rvtvm_accel_add* add) {
  int32_t error = device_open();
  return settle(error != 0 ? error : add_chunks(add));
}

int32_t rvtvm_accel_backend_run(const struct rvtvm_accel_op* op) {
  int32_t error = device_open();
  struct plan plan;
  if (error == 0) {
    error = plan_op(op, &plan);
  }
  if (error == 0) {
    error = run_passes(op, &plan);
  }
  return settle(error);
}
