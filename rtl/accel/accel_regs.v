// Accelerator register file: MMIO port, DMA and pass settings, start checks, status and counters.
`default_nettype none

// The register map, error codes and constants are rtl/README.md's tables (accel_regs.vh is
// generated from them). A start command is checked here, in the cycle it is written; a refused
// start sets the error code and starts nothing. Checks run in this order:
//   DMA:    error already set (kept), BUSY, DMA_MODE, DMA_RAM (not in fill mode), DMA_SPAD
//   engine: error already set (kept), BUSY, ENGINE_SHAPE, ENGINE_RANGE, ENGINE_QUANT
//   add:    the engine's, with the add pass's own conditions for SHAPE, RANGE and QUANT
// A DMA block with no bytes (DMA_ROWS or DMA_ROW_BYTES 0) passes the range checks and moves nothing.
module accel_regs #(
    parameter integer ROWS = 8,
    parameter integer COLS = 8,
    parameter integer DMA_BYTES = 16,
    parameter integer IN_SPAD_BYTES = 65536,
    parameter integer W_SPAD_BYTES = 65536,
    parameter integer OUT_SPAD_BYTES = 65536,
    parameter integer PARAM_CHANNELS = 512,
    parameter [31:0]  RAM_BASE = 32'h8000_0000,
    parameter [31:0]  RAM_BYTES = 32'h0010_0000,
    parameter integer SPAD_AW = 16   // address bits of the largest scratchpad
) (
    input  wire                                   i_clk,
    input  wire                                   i_rst,
    // register port (see rvtvm_accel)
    input  wire                                   i_reg_valid,
    input  wire [11:0]                            i_reg_addr,
    input  wire [31:0]                            i_reg_wdata,
    input  wire [3:0]                             i_reg_wstrb,
    output reg                                    o_reg_ready,
    output reg  [31:0]                            o_reg_rdata,
    // DMA: start pulse and settings
    output reg                                    o_dma_start,
    output wire [31:0]                            o_dma_ram_addr,
    output wire [3:0]                             o_dma_spad_sel,  // bit k: scratchpad id k
    output wire [SPAD_AW-1:0]                     o_dma_spad_off,
    output wire [31:0]                            o_dma_row_bytes,
    output wire [31:0]                            o_dma_rows,
    output wire [31:0]                            o_dma_ram_stride,
    output wire [SPAD_AW-1:0]                     o_dma_spad_stride,
    output wire                                   o_dma_to_ram,    // DMA_MODE: else to the scratchpad
    output wire                                   o_dma_fill_mode, //           or fill it
    output wire [7:0]                             o_dma_fill,
    input  wire                                   i_dma_busy,
    // engine: start pulse and pass settings, addresses cut to their scratchpad's width
    output reg                                    o_eng_start,
    output wire [$clog2(IN_SPAD_BYTES)-1:0]       o_in_base,
    output wire [$clog2(IN_SPAD_BYTES)-1:0]       o_in_row_stride,
    output wire [$clog2(IN_SPAD_BYTES)-1:0]       o_in_pixel_step,
    output wire [$clog2(IN_SPAD_BYTES)-1:0]       o_in_row_step,
    output wire [$clog2(IN_SPAD_BYTES)-1:0]       o_tap_col_step,
    output wire [$clog2(IN_SPAD_BYTES)-1:0]       o_group_in_step,
    output wire [31:0]                            o_tap_rows,
    output wire [31:0]                            o_tap_cols,
    output wire [31:0]                            o_out_w,
    output wire [31:0]                            o_out_h,
    output wire [31:0]                            o_channels,
    output wire [$clog2(W_SPAD_BYTES)-1:0]        o_w_base,
    output wire [$clog2(PARAM_CHANNELS)-1:0]      o_p_base,
    output wire [$clog2(OUT_SPAD_BYTES)-1:0]      o_out_base,
    output wire [$clog2(OUT_SPAD_BYTES)-1:0]      o_out_pixel_stride,
    output wire [$clog2(OUT_SPAD_BYTES)-1:0]      o_out_row_stride,
    output wire [9:0]                             o_in_offset,
    output wire [7:0]                             o_out_offset,
    output wire [7:0]                             o_act_min,
    output wire [7:0]                             o_act_max,
    // add pass: start pulse and its own settings (it also takes IN_BASE, W_BASE, OUT_BASE,
    // OUT_OFFSET, ACT_MIN and ACT_MAX above)
    output reg                                    o_add_start,
    output wire [31:0]                            o_elt_count,
    output wire [4:0]                             o_add_left_shift,
    output wire [9:0]                             o_add_a_offset,
    output wire [31:0]                            o_add_a_mult,
    output wire [5:0]                             o_add_a_shift,
    output wire [9:0]                             o_add_b_offset,
    output wire [31:0]                            o_add_b_mult,
    output wire [5:0]                             o_add_b_shift,
    output wire [31:0]                            o_add_out_mult,
    output wire [5:0]                             o_add_out_shift,
    input  wire                                   i_eng_busy   // a pass of either kind
);
    `include "accel_regs.vh"

    localparam integer IAW = $clog2(IN_SPAD_BYTES);
    localparam integer WAW = $clog2(W_SPAD_BYTES);
    localparam integer OAW = $clog2(OUT_SPAD_BYTES);
    localparam integer PAW = $clog2(PARAM_CHANNELS);
    localparam integer WORD_BYTES = ROWS * COLS;            // a weight word
    localparam integer WLB = $clog2(WORD_BYTES);
    localparam [31:0] W_WORDS = W_SPAD_BYTES / WORD_BYTES;
    localparam [31:0] ARRAY_VALUE = {8'd0, DMA_BYTES[7:0], COLS[7:0], ROWS[7:0]};
    localparam [33:0] RAM_END = {2'b00, RAM_BASE} + {2'b00, RAM_BYTES};
    localparam [31:0] PARAM_SPAD_BYTES = PARAM_CHANNELS * PARAM_ENTRY_BYTES;
    localparam [31:0] PARAM_ENTRIES = PARAM_CHANNELS;
    localparam [31:0] OUT_BYTES = OUT_SPAD_BYTES;
    localparam [31:0] IN_BYTES = IN_SPAD_BYTES;
    localparam [31:0] W_BYTES = W_SPAD_BYTES;

    reg [31:0] dma_ram_addr, dma_spad_addr, dma_row_bytes, dma_rows, dma_ram_stride, dma_spad_stride;
    reg [31:0] dma_mode, dma_fill;
    reg [31:0] in_base, in_row_stride, in_pixel_step, in_row_step, tap_rows, tap_cols, tap_col_step;
    reg [31:0] group_in_step, out_w, out_h, channels, w_base, p_base, out_base, out_pixel_stride;
    reg [31:0] out_row_stride, in_offset, out_offset, act_min, act_max;
    reg [31:0] elt_count, add_left_shift, add_a_offset, add_a_mult, add_a_shift, add_b_offset, add_b_mult;
    reg [31:0] add_b_shift, add_out_mult, add_out_shift;
    reg [31:0] dma_cycles, eng_cycles;
    reg [7:0]  error;

    // A unit counts as busy from the accepted start on.
    wire dma_busy = i_dma_busy || o_dma_start;
    wire eng_busy = i_eng_busy || o_eng_start || o_add_start;
    wire access = i_reg_valid && !o_reg_ready;
    wire write = access && i_reg_wstrb != 4'd0;
    wire [3:0] dma_spad_id = dma_spad_addr[SPAD_ID_SHIFT +: 4];
    wire [27:0] dma_spad_off = dma_spad_addr[SPAD_ID_SHIFT-1:0];

    assign o_dma_ram_addr     = dma_ram_addr;
    assign o_dma_spad_sel     = {dma_spad_id == SPAD_PARAM[3:0], dma_spad_id == SPAD_OUTPUT[3:0],
                                 dma_spad_id == SPAD_WEIGHT[3:0], dma_spad_id == SPAD_INPUT[3:0]};
    assign o_dma_spad_off     = dma_spad_off[SPAD_AW-1:0];
    assign o_dma_row_bytes    = dma_row_bytes;
    assign o_dma_rows         = dma_rows;
    assign o_dma_ram_stride   = dma_ram_stride;
    assign o_dma_spad_stride  = dma_spad_stride[SPAD_AW-1:0];
    assign o_dma_to_ram       = dma_mode == DMA_TO_RAM;
    assign o_dma_fill_mode    = dma_mode == DMA_FILL_SPAD;
    assign o_dma_fill         = dma_fill[7:0];
    assign o_in_base          = in_base[IAW-1:0];
    assign o_in_row_stride    = in_row_stride[IAW-1:0];
    assign o_in_pixel_step    = in_pixel_step[IAW-1:0];
    assign o_in_row_step      = in_row_step[IAW-1:0];
    assign o_tap_col_step     = tap_col_step[IAW-1:0];
    assign o_group_in_step    = group_in_step[IAW-1:0];
    assign o_tap_rows         = tap_rows;
    assign o_tap_cols         = tap_cols;
    assign o_out_w            = out_w;
    assign o_out_h            = out_h;
    assign o_channels         = channels;
    assign o_w_base           = w_base[WAW-1:0];
    assign o_p_base           = p_base[PAW-1:0];
    assign o_out_base         = out_base[OAW-1:0];
    assign o_out_pixel_stride = out_pixel_stride[OAW-1:0];
    assign o_out_row_stride   = out_row_stride[OAW-1:0];
    assign o_in_offset        = in_offset[9:0];
    assign o_out_offset       = out_offset[7:0];
    assign o_act_min          = act_min[7:0];
    assign o_act_max          = act_max[7:0];
    assign o_elt_count        = elt_count;
    assign o_add_left_shift   = add_left_shift[4:0];
    assign o_add_a_offset     = add_a_offset[9:0];
    assign o_add_a_mult       = add_a_mult;
    assign o_add_a_shift      = add_a_shift[5:0];
    assign o_add_b_offset     = add_b_offset[9:0];
    assign o_add_b_mult       = add_b_mult;
    assign o_add_b_shift      = add_b_shift[5:0];
    assign o_add_out_mult     = add_out_mult;
    assign o_add_out_shift    = add_out_shift[5:0];

    // a register the engine takes as a signed field, outside the field's range
    function automatic out_of(input [31:0] value, input integer low, input integer high);
        out_of = $signed(value) < low || $signed(value) > high;
    endfunction

    // first + (rows - 1) * stride + row_bytes: one past a block's last byte
    function automatic [65:0] block_end(input [31:0] first, input [31:0] rows, input [31:0] stride,
                                        input [31:0] row_bytes);
        block_end = {34'd0, first} + {2'b00, {32'd0, rows - 32'd1} * {32'd0, stride}} + {34'd0, row_bytes};
    endfunction

    // Start commands: checked in the cycle they are written.
    always @(posedge i_clk) begin
        if (i_rst) begin
            o_dma_start <= 1'b0;
            o_eng_start <= 1'b0;
            o_add_start <= 1'b0;
            error       <= 8'd0;
        end else begin
            o_dma_start <= 1'b0;
            o_eng_start <= 1'b0;
            o_add_start <= 1'b0;
            if (write && i_reg_addr == REG_COMMAND) begin : command
                reg        dma_moves, out_quant_bad;
                reg [31:0] spad_bytes, groups;
                reg [65:0] ram_end, spad_end, out_end;
                reg [97:0] w_end;
                reg [7:0]  dma_refusal, eng_refusal, add_refusal;

                // DMA
                dma_moves = dma_rows != 32'd0 && dma_row_bytes != 32'd0;
                ram_end   = block_end(dma_ram_addr, dma_rows, dma_ram_stride, dma_row_bytes);
                spad_end  = block_end({4'd0, dma_spad_off}, dma_rows, dma_spad_stride, dma_row_bytes);
                case (dma_spad_id)
                    SPAD_INPUT[3:0]:  spad_bytes = IN_SPAD_BYTES;
                    SPAD_WEIGHT[3:0]: spad_bytes = W_SPAD_BYTES;
                    SPAD_OUTPUT[3:0]: spad_bytes = OUT_SPAD_BYTES;
                    SPAD_PARAM[3:0]:  spad_bytes = PARAM_SPAD_BYTES;
                    default:          spad_bytes = 32'd0;
                endcase
                if (dma_busy)
                    dma_refusal = ERR_BUSY;
                else if (dma_mode > DMA_FILL_SPAD)
                    dma_refusal = ERR_DMA_MODE;
                else if (dma_moves && (dma_mode == DMA_TO_SPAD || dma_mode == DMA_TO_RAM)
                         && (dma_ram_addr < RAM_BASE || ram_end > {32'd0, RAM_END}))
                    dma_refusal = ERR_DMA_RAM;
                else if (dma_spad_id > SPAD_PARAM[3:0] || (dma_moves && spad_end > {34'd0, spad_bytes}))
                    dma_refusal = ERR_DMA_SPAD;
                else
                    dma_refusal = 8'd0;

                // engine (OUT_OFFSET, ACT_MIN and ACT_MAX count for both kinds of pass)
                out_quant_bad = out_of(out_offset, -128, 127) || out_of(act_min, -128, 127)
                                || $signed(act_max) < $signed(act_min) || $signed(act_max) > 127;
                groups  = ((channels - 32'd1) >> $clog2(COLS)) + 32'd1;
                w_end   = {66'd0, w_base >> WLB} + {2'd0, {64'd0, groups} * {64'd0, tap_rows} * {64'd0, tap_cols}};
                out_end = {34'd0, out_base} + {2'b00, {32'd0, out_h - 32'd1} * {32'd0, out_row_stride}}
                          + {2'b00, {32'd0, out_w - 32'd1} * {32'd0, out_pixel_stride}} + {34'd0, channels};
                if (eng_busy)
                    eng_refusal = ERR_BUSY;
                else if (tap_rows == 32'd0 || tap_cols == 32'd0 || out_w == 32'd0 || out_h == 32'd0
                         || channels == 32'd0)
                    eng_refusal = ERR_ENGINE_SHAPE;
                // each factor of the weight count is checked alone first, so the product can't wrap
                else if (w_base[WLB-1:0] != {WLB{1'b0}} || groups > W_WORDS || tap_rows > W_WORDS
                         || tap_cols > W_WORDS || w_end > {66'd0, W_WORDS}
                         || {1'b0, p_base} + {1'b0, channels} > {1'b0, PARAM_ENTRIES}
                         || out_end > {34'd0, OUT_BYTES})
                    eng_refusal = ERR_ENGINE_RANGE;
                else if (out_of(in_offset, -256, 255) || out_quant_bad)
                    eng_refusal = ERR_ENGINE_QUANT;
                else
                    eng_refusal = 8'd0;

                // add pass: a, b and the outputs are ELT_COUNT bytes each from their bases
                if (eng_busy)
                    add_refusal = ERR_BUSY;
                else if (elt_count == 32'd0)
                    add_refusal = ERR_ENGINE_SHAPE;
                else if ({1'b0, in_base} + {1'b0, elt_count} > {1'b0, IN_BYTES}
                         || {1'b0, w_base} + {1'b0, elt_count} > {1'b0, W_BYTES}
                         || {1'b0, out_base} + {1'b0, elt_count} > {1'b0, OUT_BYTES})
                    add_refusal = ERR_ENGINE_RANGE;
                else if (out_of(add_a_offset, -256, 255) || out_of(add_b_offset, -256, 255)
                         || add_left_shift > 32'd20 || out_of(add_a_shift, -31, 31)
                         || out_of(add_b_shift, -31, 31) || out_of(add_out_shift, -31, 31) || out_quant_bad)
                    add_refusal = ERR_ENGINE_QUANT;
                else
                    add_refusal = 8'd0;

                // a start while an error is set is refused and keeps the error
                if (i_reg_wdata == CMD_CLEAR)
                    error <= 8'd0;
                else if (i_reg_wdata == CMD_DMA && error == 8'd0) begin
                    error       <= dma_refusal;
                    o_dma_start <= dma_refusal == 8'd0 && dma_moves;
                end else if (i_reg_wdata == CMD_ENGINE && error == 8'd0) begin
                    error       <= eng_refusal;
                    o_eng_start <= eng_refusal == 8'd0;
                end else if (i_reg_wdata == CMD_ADD && error == 8'd0) begin
                    error       <= add_refusal;
                    o_add_start <= add_refusal == 8'd0;
                end
            end
        end
    end

    // register writes and read data
    always @(posedge i_clk) begin
        if (i_rst) begin
            o_reg_ready <= 1'b0;
            {dma_ram_addr, dma_spad_addr, dma_row_bytes, dma_rows, dma_ram_stride, dma_spad_stride} <= 192'd0;
            {dma_mode, dma_fill} <= 64'd0;
            {in_base, in_row_stride, in_pixel_step, in_row_step, tap_rows, tap_cols, tap_col_step} <= 224'd0;
            {group_in_step, out_w, out_h, channels, w_base, p_base, out_base, out_pixel_stride} <= 256'd0;
            {out_row_stride, in_offset, out_offset, act_min, act_max} <= 160'd0;
            {elt_count, add_left_shift, add_a_offset, add_a_mult, add_a_shift} <= 160'd0;
            {add_b_offset, add_b_mult, add_b_shift, add_out_mult, add_out_shift} <= 160'd0;
        end else begin
            o_reg_ready <= access;
            if (write) begin
                case (i_reg_addr)
                    REG_DMA_RAM_ADDR:     dma_ram_addr     <= i_reg_wdata;
                    REG_DMA_SPAD_ADDR:    dma_spad_addr    <= i_reg_wdata;
                    REG_DMA_ROW_BYTES:    dma_row_bytes    <= i_reg_wdata;
                    REG_DMA_ROWS:         dma_rows         <= i_reg_wdata;
                    REG_DMA_RAM_STRIDE:   dma_ram_stride   <= i_reg_wdata;
                    REG_DMA_SPAD_STRIDE:  dma_spad_stride  <= i_reg_wdata;
                    REG_DMA_MODE:         dma_mode         <= i_reg_wdata;
                    REG_DMA_FILL:         dma_fill         <= i_reg_wdata;
                    REG_IN_BASE:          in_base          <= i_reg_wdata;
                    REG_IN_ROW_STRIDE:    in_row_stride    <= i_reg_wdata;
                    REG_IN_PIXEL_STEP:    in_pixel_step    <= i_reg_wdata;
                    REG_IN_ROW_STEP:      in_row_step      <= i_reg_wdata;
                    REG_TAP_ROWS:         tap_rows         <= i_reg_wdata;
                    REG_TAP_COLS:         tap_cols         <= i_reg_wdata;
                    REG_TAP_COL_STEP:     tap_col_step     <= i_reg_wdata;
                    REG_GROUP_IN_STEP:    group_in_step    <= i_reg_wdata;
                    REG_OUT_W:            out_w            <= i_reg_wdata;
                    REG_OUT_H:            out_h            <= i_reg_wdata;
                    REG_CHANNELS:         channels         <= i_reg_wdata;
                    REG_W_BASE:           w_base           <= i_reg_wdata;
                    REG_P_BASE:           p_base           <= i_reg_wdata;
                    REG_OUT_BASE:         out_base         <= i_reg_wdata;
                    REG_OUT_PIXEL_STRIDE: out_pixel_stride <= i_reg_wdata;
                    REG_OUT_ROW_STRIDE:   out_row_stride   <= i_reg_wdata;
                    REG_IN_OFFSET:        in_offset        <= i_reg_wdata;
                    REG_OUT_OFFSET:       out_offset       <= i_reg_wdata;
                    REG_ACT_MIN:          act_min          <= i_reg_wdata;
                    REG_ACT_MAX:          act_max          <= i_reg_wdata;
                    REG_ELT_COUNT:        elt_count        <= i_reg_wdata;
                    REG_ADD_LEFT_SHIFT:   add_left_shift   <= i_reg_wdata;
                    REG_ADD_A_OFFSET:     add_a_offset     <= i_reg_wdata;
                    REG_ADD_A_MULT:       add_a_mult       <= i_reg_wdata;
                    REG_ADD_A_SHIFT:      add_a_shift      <= i_reg_wdata;
                    REG_ADD_B_OFFSET:     add_b_offset     <= i_reg_wdata;
                    REG_ADD_B_MULT:       add_b_mult       <= i_reg_wdata;
                    REG_ADD_B_SHIFT:      add_b_shift      <= i_reg_wdata;
                    REG_ADD_OUT_MULT:     add_out_mult     <= i_reg_wdata;
                    REG_ADD_OUT_SHIFT:    add_out_shift    <= i_reg_wdata;
                    default: ;
                endcase
            end
        end
    end

    always @(posedge i_clk) begin
        if (access && !write) begin
            case (i_reg_addr)
                REG_ID:               o_reg_rdata <= ID_VALUE;
                REG_ARRAY:            o_reg_rdata <= ARRAY_VALUE;
                REG_IN_SPAD_BYTES:    o_reg_rdata <= IN_SPAD_BYTES;
                REG_W_SPAD_BYTES:     o_reg_rdata <= W_SPAD_BYTES;
                REG_OUT_SPAD_BYTES:   o_reg_rdata <= OUT_SPAD_BYTES;
                REG_PARAM_CHANNELS:   o_reg_rdata <= PARAM_CHANNELS;
                REG_STATUS:           o_reg_rdata <= ({24'd0, error} << STATUS_ERROR_SHIFT)
                                                   | (eng_busy ? STATUS_ENGINE_BUSY : 32'd0)
                                                   | (dma_busy ? STATUS_DMA_BUSY : 32'd0);
                REG_DMA_RAM_ADDR:     o_reg_rdata <= dma_ram_addr;
                REG_DMA_SPAD_ADDR:    o_reg_rdata <= dma_spad_addr;
                REG_DMA_ROW_BYTES:    o_reg_rdata <= dma_row_bytes;
                REG_DMA_ROWS:         o_reg_rdata <= dma_rows;
                REG_DMA_RAM_STRIDE:   o_reg_rdata <= dma_ram_stride;
                REG_DMA_SPAD_STRIDE:  o_reg_rdata <= dma_spad_stride;
                REG_DMA_MODE:         o_reg_rdata <= dma_mode;
                REG_DMA_FILL:         o_reg_rdata <= dma_fill;
                REG_IN_BASE:          o_reg_rdata <= in_base;
                REG_IN_ROW_STRIDE:    o_reg_rdata <= in_row_stride;
                REG_IN_PIXEL_STEP:    o_reg_rdata <= in_pixel_step;
                REG_IN_ROW_STEP:      o_reg_rdata <= in_row_step;
                REG_TAP_ROWS:         o_reg_rdata <= tap_rows;
                REG_TAP_COLS:         o_reg_rdata <= tap_cols;
                REG_TAP_COL_STEP:     o_reg_rdata <= tap_col_step;
                REG_GROUP_IN_STEP:    o_reg_rdata <= group_in_step;
                REG_OUT_W:            o_reg_rdata <= out_w;
                REG_OUT_H:            o_reg_rdata <= out_h;
                REG_CHANNELS:         o_reg_rdata <= channels;
                REG_W_BASE:           o_reg_rdata <= w_base;
                REG_P_BASE:           o_reg_rdata <= p_base;
                REG_OUT_BASE:         o_reg_rdata <= out_base;
                REG_OUT_PIXEL_STRIDE: o_reg_rdata <= out_pixel_stride;
                REG_OUT_ROW_STRIDE:   o_reg_rdata <= out_row_stride;
                REG_IN_OFFSET:        o_reg_rdata <= in_offset;
                REG_OUT_OFFSET:       o_reg_rdata <= out_offset;
                REG_ACT_MIN:          o_reg_rdata <= act_min;
                REG_ACT_MAX:          o_reg_rdata <= act_max;
                REG_DMA_CYCLES:       o_reg_rdata <= dma_cycles;
                REG_ENGINE_CYCLES:    o_reg_rdata <= eng_cycles;
                REG_ELT_COUNT:        o_reg_rdata <= elt_count;
                REG_ADD_LEFT_SHIFT:   o_reg_rdata <= add_left_shift;
                REG_ADD_A_OFFSET:     o_reg_rdata <= add_a_offset;
                REG_ADD_A_MULT:       o_reg_rdata <= add_a_mult;
                REG_ADD_A_SHIFT:      o_reg_rdata <= add_a_shift;
                REG_ADD_B_OFFSET:     o_reg_rdata <= add_b_offset;
                REG_ADD_B_MULT:       o_reg_rdata <= add_b_mult;
                REG_ADD_B_SHIFT:      o_reg_rdata <= add_b_shift;
                REG_ADD_OUT_MULT:     o_reg_rdata <= add_out_mult;
                REG_ADD_OUT_SHIFT:    o_reg_rdata <= add_out_shift;
                default:              o_reg_rdata <= 32'd0;
            endcase
        end
    end

    // busy-cycle counters (wrapping)
    always @(posedge i_clk) begin
        if (i_rst) begin
            dma_cycles <= 32'd0;
            eng_cycles <= 32'd0;
        end else begin
            if (i_dma_busy)
                dma_cycles <= dma_cycles + 32'd1;
            if (i_eng_busy)
                eng_cycles <= eng_cycles + 32'd1;
        end
    end
endmodule
`default_nettype wire
