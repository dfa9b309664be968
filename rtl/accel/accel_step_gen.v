// Engine pass sequencer: runs the g, oy, ox, ty, tx loops and produces one step's addresses per cycle.
`default_nettype none

// Every address is kept as a running sum per loop level (no multipliers), wrapping modulo its
// scratchpad: for step (g, oy, ox, ty, tx) of rtl/README.md
//   in   = IN_BASE + g*GROUP_IN_STEP + oy*IN_ROW_STEP + ox*IN_PIXEL_STEP + ty*IN_ROW_STRIDE + tx*TAP_COL_STEP
//   w    = W_BASE/(ROWS*COLS) + (g*TAP_ROWS + ty)*TAP_COLS + tx           (in words)
//   out  = OUT_BASE + oy*OUT_ROW_STRIDE + ox*OUT_PIXEL_STRIDE + g*COLS
// o_valid is the step of this cycle; the loops advance with it. A group's first step waits until
// its parameters are loaded (i_groups_loaded > g).
module accel_step_gen #(
    parameter integer COLS = 8,
    parameter integer IAW  = 16,   // input scratchpad address bits
    parameter integer WWW  = 10,   // weight scratchpad word address bits
    parameter integer OAW  = 16    // output scratchpad address bits
) (
    input  wire             i_clk,
    input  wire             i_rst,
    // pass start: the settings are taken in this cycle
    input  wire             i_start,
    input  wire [IAW-1:0]   i_in_base,
    input  wire [IAW-1:0]   i_in_row_stride,
    input  wire [IAW-1:0]   i_in_pixel_step,
    input  wire [IAW-1:0]   i_in_row_step,
    input  wire [IAW-1:0]   i_tap_col_step,
    input  wire [IAW-1:0]   i_group_in_step,
    input  wire [31:0]      i_tap_rows,
    input  wire [31:0]      i_tap_cols,
    input  wire [31:0]      i_out_w,
    input  wire [31:0]      i_out_h,
    input  wire [31:0]      i_channels,
    input  wire [WWW-1:0]   i_w_base,
    input  wire [OAW-1:0]   i_out_base,
    input  wire [OAW-1:0]   i_out_pixel_stride,
    input  wire [OAW-1:0]   i_out_row_stride,
    // groups whose parameters are loaded
    input  wire [31:0]      i_groups_loaded,
    // the step of this cycle
    output wire             o_valid,
    output wire [IAW-1:0]   o_in_addr,
    output wire [WWW-1:0]   o_w_addr,
    output wire             o_first,        // a pixel's first step
    output wire             o_last,         // a pixel's last step
    output wire             o_group_first,  // a step of a group's first pixel
    output wire             o_final,        // the pass's last step
    output wire [OAW-1:0]   o_out_addr,     // the pixel's output byte of lane 0
    output wire [COLS-1:0]  o_out_mask      // lanes whose channel exists
);
    reg             active;
    // loop indices and their last values
    reg [31:0]      tx, ty, ox, oy, group, tx_end, ty_end, ox_end, oy_end;
    reg [31:0]      ch_left;   // CHANNELS - group*COLS
    // settings
    reg [IAW-1:0]   in_row_stride, in_pixel_step, in_row_step, tap_col_step, group_in_step;
    reg [WWW-1:0]   w_per_group;
    reg [OAW-1:0]   out_pixel_stride, out_row_stride;
    // running addresses: the start of the current group, output row, pixel, tap row, step
    reg [IAW-1:0]   in_g, in_oy, in_ox, in_ty, in_tx;
    reg [WWW-1:0]   w_g, w_step;
    reg [OAW-1:0]   out_g, out_oy, out_ox;
    reg [COLS-1:0]  mask;

    localparam [OAW-1:0] GROUP_OUT_STEP = COLS[OAW-1:0];

    function automatic [COLS-1:0] lane_mask(input [31:0] channels_left);
        lane_mask = (channels_left >= COLS) ? {COLS{1'b1}}
                                            : ~({COLS{1'b1}} << channels_left[$clog2(COLS):0]);
    endfunction

    // TAP_ROWS * TAP_COLS modulo the weight scratchpad's words
    function automatic [WWW-1:0] w_words(input [31:0] rows, input [31:0] cols);
        reg [63-WWW:0] high_unused;
        begin
            {high_unused, w_words} = {32'd0, rows} * {32'd0, cols};
        end
    endfunction

    wire tx_last = tx == tx_end;
    wire pixel_last = tx_last && ty == ty_end;
    wire ox_last = ox == ox_end;
    wire oy_last = oy == oy_end;
    wire group_last = ch_left <= COLS;
    wire pixel_first = tx == 32'd0 && ty == 32'd0;
    wire group_first_pixel = ox == 32'd0 && oy == 32'd0;

    assign o_valid       = active && (!(pixel_first && group_first_pixel) || i_groups_loaded > group);
    assign o_in_addr     = in_tx;
    assign o_w_addr      = w_step;
    assign o_first       = pixel_first;
    assign o_last        = pixel_last;
    assign o_group_first = group_first_pixel;
    assign o_final       = pixel_last && ox_last && oy_last && group_last;
    assign o_out_addr    = out_ox;
    assign o_out_mask    = mask;

    always @(posedge i_clk) begin
        if (i_rst) begin
            active <= 1'b0;
        end else if (i_start) begin
            active           <= 1'b1;
            {tx, ty, ox, oy, group} <= 160'd0;
            tx_end           <= i_tap_cols - 32'd1;
            ty_end           <= i_tap_rows - 32'd1;
            ox_end           <= i_out_w - 32'd1;
            oy_end           <= i_out_h - 32'd1;
            ch_left          <= i_channels;
            mask             <= lane_mask(i_channels);
            in_row_stride    <= i_in_row_stride;
            in_pixel_step    <= i_in_pixel_step;
            in_row_step      <= i_in_row_step;
            tap_col_step     <= i_tap_col_step;
            group_in_step    <= i_group_in_step;
            w_per_group      <= w_words(i_tap_rows, i_tap_cols);
            out_pixel_stride <= i_out_pixel_stride;
            out_row_stride   <= i_out_row_stride;
            {in_g, in_oy, in_ox, in_ty, in_tx} <= {5{i_in_base}};
            {w_g, w_step}    <= {2{i_w_base}};
            {out_g, out_oy, out_ox} <= {3{i_out_base}};
        end else if (o_valid) begin
            if (!tx_last) begin
                tx     <= tx + 32'd1;
                in_tx  <= in_tx + tap_col_step;
                w_step <= w_step + 1'b1;
            end else if (!pixel_last) begin : next_tap_row
                reg [IAW-1:0] row;
                row = in_ty + in_row_stride;
                tx     <= 32'd0;
                ty     <= ty + 32'd1;
                in_ty  <= row;
                in_tx  <= row;
                w_step <= w_step + 1'b1;
            end else if (!ox_last) begin : next_pixel
                reg [IAW-1:0] pixel;
                pixel = in_ox + in_pixel_step;
                {tx, ty} <= 64'd0;
                ox     <= ox + 32'd1;
                {in_ox, in_ty, in_tx} <= {3{pixel}};
                w_step <= w_g;
                out_ox <= out_ox + out_pixel_stride;
            end else if (!oy_last) begin : next_row
                reg [IAW-1:0] row;
                reg [OAW-1:0] out_row;
                row     = in_oy + in_row_step;
                out_row = out_oy + out_row_stride;
                {tx, ty, ox} <= 96'd0;
                oy     <= oy + 32'd1;
                {in_oy, in_ox, in_ty, in_tx} <= {4{row}};
                w_step <= w_g;
                {out_oy, out_ox} <= {2{out_row}};
            end else begin : next_group
                reg [IAW-1:0] in_next;
                reg [WWW-1:0] w_next;
                reg [OAW-1:0] out_next;
                in_next  = in_g + group_in_step;
                w_next   = w_g + w_per_group;
                out_next = out_g + GROUP_OUT_STEP;
                {tx, ty, ox, oy} <= 128'd0;
                group   <= group + 32'd1;
                ch_left <= ch_left - COLS;
                mask    <= lane_mask(ch_left - COLS);
                {in_g, in_oy, in_ox, in_ty, in_tx} <= {5{in_next}};
                {w_g, w_step} <= {2{w_next}};
                {out_g, out_oy, out_ox} <= {3{out_next}};
                if (group_last)
                    active <= 1'b0;
            end
        end
    end
endmodule
`default_nettype wire
