// Compute engine: step sequencer, MAC array, parameter loader, requantizers, output writer, add unit.
`default_nettype none

// A pass is either a convolution pass (i_start) or an add pass (i_add_start, accel_add, which
// has its own pipeline); the register file starts one only while the engine is idle, so the two
// never overlap and the engine's scratchpad ports simply go to whichever runs. o_busy covers both.
//
// A convolution pass runs one step per cycle, without bubbles at tap-row, pixel or group
// boundaries (a group's first step only waits while its parameters are still loading). A step
// issued in cycle 0 moves on as
//   cycle 0  the step generator's addresses go to the input and weight scratchpads
//   cycle 1  the scratchpads' data: the array works out the column sums (accel_mac_array)
//   cycle 2  the accumulators take them; for the last step of a group's first pixel, the
//            parameter loader's next set becomes the current one
//   cycle 3  after a pixel's last step: requantization, five stages (accel_requant)
//   cycle 8  the pixel's COLS output bytes are written to the output scratchpad
// The pass ends with the write of its last pixel.
module accel_engine #(
    parameter integer ROWS = 8,
    parameter integer COLS = 8,
    parameter integer IAW  = 16,   // input scratchpad address bits
    parameter integer WAW  = 16,   // weight scratchpad address bits
    parameter integer OAW  = 16,   // output scratchpad address bits
    parameter integer PAW  = 9,    // param scratchpad entry bits
    parameter integer ADD_LANES = 8,   // add pass elements per cycle: <= ROWS and <= COLS
    parameter integer W_ALIGNED = 1    // the weight port reads from multiples of 8 (accel_spad's B_ALIGNED)
) (
    input  wire                     i_clk,
    input  wire                     i_rst,
    // pass start (checked by accel_regs) and its settings, taken in the start cycle
    input  wire                     i_start,
    input  wire [IAW-1:0]           i_in_base,
    input  wire [IAW-1:0]           i_in_row_stride,
    input  wire [IAW-1:0]           i_in_pixel_step,
    input  wire [IAW-1:0]           i_in_row_step,
    input  wire [IAW-1:0]           i_tap_col_step,
    input  wire [IAW-1:0]           i_group_in_step,
    input  wire [31:0]              i_tap_rows,
    input  wire [31:0]              i_tap_cols,
    input  wire [31:0]              i_out_w,
    input  wire [31:0]              i_out_h,
    input  wire [31:0]              i_channels,
    input  wire [WAW-1:0]           i_w_base,       // in bytes: a whole word's for a convolution
    input  wire [PAW-1:0]           i_p_base,
    input  wire [OAW-1:0]           i_out_base,
    input  wire [OAW-1:0]           i_out_pixel_stride,
    input  wire [OAW-1:0]           i_out_row_stride,
    input  wire [9:0]               i_in_offset,
    input  wire [7:0]               i_out_offset,
    input  wire [7:0]               i_act_min,
    input  wire [7:0]               i_act_max,
    // add pass start (checked by accel_regs) and its own settings; it also takes IN_BASE,
    // W_BASE, OUT_BASE, OUT_OFFSET, ACT_MIN and ACT_MAX from above
    input  wire                     i_add_start,
    input  wire [31:0]              i_elt_count,
    input  wire [4:0]               i_add_left_shift,
    input  wire [9:0]               i_add_a_offset,
    input  wire [31:0]              i_add_a_mult,
    input  wire [5:0]               i_add_a_shift,
    input  wire [9:0]               i_add_b_offset,
    input  wire [31:0]              i_add_b_mult,
    input  wire [5:0]               i_add_b_shift,
    input  wire [31:0]              i_add_out_mult,
    input  wire [5:0]               i_add_out_shift,
    output wire                     o_busy,
    // input scratchpad read port
    output wire                     o_in_re,
    output wire [IAW-1:0]           o_in_addr,
    input  wire [8*ROWS-1:0]        i_in_data,
    // weight scratchpad read port (byte address, a multiple of 8 if W_ALIGNED)
    output wire                     o_w_re,
    output wire [WAW-1:0]           o_w_addr,
    input  wire [8*ROWS*COLS-1:0]   i_w_data,
    // param scratchpad read port (entry index)
    output wire                     o_p_re,
    output wire [PAW-1:0]           o_p_entry,
    input  wire [127:0]             i_p_data,
    // output scratchpad write port (has priority over the DMA's)
    output wire                     o_out_we,
    output wire [OAW-1:0]           o_out_addr,
    output wire [COLS-1:0]          o_out_mask,
    output wire [8*COLS-1:0]        o_out_data
);
    localparam integer RQ_STAGES = 5;             // accel_requant's registered stages
    localparam integer TAG_W = 1 + OAW + COLS;     // a pixel's {final, out_addr, mask}
    localparam integer WLB = $clog2(ROWS * COLS);  // a weight word's byte address bits
    localparam integer WWW = WAW - WLB;            // weight word address bits
    localparam integer ADD_B_BYTES = W_ALIGNED != 0 ? (ADD_LANES + 14) / 8 * 8 : ADD_LANES;

    // pass settings
    reg [9:0] in_offset;
    reg [7:0] out_offset, act_min, act_max;

    always @(posedge i_clk) begin
        if (i_start) begin
            in_offset  <= i_in_offset;
            out_offset <= i_out_offset;
            act_min    <= i_act_min;
            act_max    <= i_act_max;
        end
    end

    // ---- steps and the scratchpad reads
    wire                 step_valid, step_first, step_last, step_group_first, step_final;
    wire [OAW-1:0]       step_out_addr;
    wire [COLS-1:0]      step_out_mask;
    wire [31:0]          groups_loaded;
    wire [IAW-1:0]       step_in_addr;
    wire [WWW-1:0]       step_w_addr;

    accel_step_gen #(.COLS(COLS), .IAW(IAW), .WWW(WWW), .OAW(OAW)) steps (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(i_start),
        .i_in_base(i_in_base), .i_in_row_stride(i_in_row_stride), .i_in_pixel_step(i_in_pixel_step),
        .i_in_row_step(i_in_row_step), .i_tap_col_step(i_tap_col_step), .i_group_in_step(i_group_in_step),
        .i_tap_rows(i_tap_rows), .i_tap_cols(i_tap_cols), .i_out_w(i_out_w), .i_out_h(i_out_h),
        .i_channels(i_channels), .i_w_base(i_w_base[WAW-1:WLB]), .i_out_base(i_out_base),
        .i_out_pixel_stride(i_out_pixel_stride), .i_out_row_stride(i_out_row_stride),
        .i_groups_loaded(groups_loaded),
        .o_valid(step_valid), .o_in_addr(step_in_addr), .o_w_addr(step_w_addr), .o_first(step_first),
        .o_last(step_last), .o_group_first(step_group_first), .o_final(step_final),
        .o_out_addr(step_out_addr), .o_out_mask(step_out_mask)
    );

    // the step's flags wait for its scratchpad data
    reg                 rd_valid, rd_first, rd_last, rd_group_first;
    reg [TAG_W-1:0]     rd_tag;
    // the MAC array's stage 1 holds the last step of a group's first pixel: its sums come next
    reg                 swap;

    always @(posedge i_clk) begin
        if (step_valid) begin
            rd_first <= step_first;
            rd_last  <= step_last;
            rd_group_first <= step_group_first;
            rd_tag   <= {step_final, step_out_addr, step_out_mask};
        end
    end

    // ---- multiply-accumulate
    wire                 mac_valid;
    wire [TAG_W-1:0]     mac_tag;
    wire [32*COLS-1:0]   mac_acc;

    accel_mac_array #(.ROWS(ROWS), .COLS(COLS), .TAG_W(TAG_W)) array (
        .i_clk(i_clk), .i_rst(i_rst),
        .i_valid(rd_valid), .i_first(rd_first), .i_last(rd_last), .i_tag(rd_tag),
        .i_in_offset(in_offset), .i_in(i_in_data), .i_w(i_w_data),
        .o_valid(mac_valid), .o_tag(mac_tag), .o_acc(mac_acc)
    );

    // ---- parameters, swapped in with the first pixel of each group
    wire [32*COLS-1:0] bias, mult;
    wire [6*COLS-1:0]  shift;

    accel_params #(.COLS(COLS), .PAW(PAW)) params (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(i_start), .i_p_base(i_p_base), .i_channels(i_channels),
        .i_swap(swap), .o_loaded(groups_loaded),
        .o_re(o_p_re), .o_entry(o_p_entry), .i_entry_data(i_p_data),
        .o_bias(bias), .o_mult(mult), .o_shift(shift)
    );

    // ---- requantization: COLS lanes and, beside them, each stage's valid bit and pixel tag
    wire [8*COLS-1:0]   conv_out_data;
    reg  [RQ_STAGES:1]  rq_valid;
    reg  [TAG_W-1:0]    rq_tag [1:RQ_STAGES];
    wire [RQ_STAGES-1:0] rq_advance = {rq_valid[RQ_STAGES-1:1], mac_valid};

    always @(posedge i_clk) begin : tags
        integer s;
        if (mac_valid)
            rq_tag[1] <= mac_tag;
        for (s = 2; s <= RQ_STAGES; s = s + 1)
            if (rq_valid[s-1])
                rq_tag[s] <= rq_tag[s-1];
    end

    genvar j;
    generate
        for (j = 0; j < COLS; j = j + 1) begin : lanes
            accel_requant requant (
                .i_clk(i_clk), .i_advance(rq_advance),
                .i_acc(mac_acc[32*j +: 32]), .i_bias(bias[32*j +: 32]), .i_mult(mult[32*j +: 32]),
                .i_shift(shift[6*j +: 6]), .i_out_offset(out_offset), .i_act_min(act_min),
                .i_act_max(act_max), .o_out(conv_out_data[8*j +: 8])
            );
        end
    endgenerate

    // ---- output write; the pass ends with its final pixel's
    wire             conv_we, conv_final;
    wire [OAW-1:0]   conv_out_addr;
    wire [COLS-1:0]  conv_out_mask;
    reg              conv_busy;
    assign {conv_final, conv_out_addr, conv_out_mask} = rq_tag[RQ_STAGES];
    assign conv_we = rq_valid[RQ_STAGES];

    always @(posedge i_clk) begin
        if (i_rst) begin
            rd_valid  <= 1'b0;
            swap      <= 1'b0;
            rq_valid  <= {RQ_STAGES{1'b0}};
            conv_busy <= 1'b0;
        end else begin
            rd_valid <= step_valid;
            swap     <= rd_valid && rd_last && rd_group_first;
            rq_valid <= {rq_valid[RQ_STAGES-1:1], mac_valid};
            if (i_start)
                conv_busy <= 1'b1;
            else if (conv_we && conv_final)
                conv_busy <= 1'b0;
        end
    end

    // ---- the add pass
    wire                    add_busy, add_a_re, add_b_re, add_we;
    wire [IAW-1:0]          add_a_addr;
    wire [WAW-1:0]          add_b_addr;
    wire [OAW-1:0]          add_out_addr;
    wire [ADD_LANES-1:0]    add_out_mask;
    wire [8*ADD_LANES-1:0]  add_out_data;

    accel_add #(.LANES(ADD_LANES), .IAW(IAW), .WAW(WAW), .OAW(OAW), .W_ALIGNED(W_ALIGNED),
                .B_BYTES(ADD_B_BYTES)) add (
        .i_clk(i_clk), .i_rst(i_rst), .i_start(i_add_start),
        .i_count(i_elt_count), .i_a_base(i_in_base), .i_b_base(i_w_base), .i_out_base(i_out_base),
        .i_left_shift(i_add_left_shift), .i_a_offset(i_add_a_offset), .i_a_mult(i_add_a_mult),
        .i_a_shift(i_add_a_shift), .i_b_offset(i_add_b_offset), .i_b_mult(i_add_b_mult),
        .i_b_shift(i_add_b_shift), .i_out_mult(i_add_out_mult), .i_out_shift(i_add_out_shift),
        .i_out_offset(i_out_offset), .i_act_min(i_act_min), .i_act_max(i_act_max),
        .o_busy(add_busy),
        .o_a_re(add_a_re), .o_a_addr(add_a_addr), .i_a_data(i_in_data[8*ADD_LANES-1:0]),
        .o_b_re(add_b_re), .o_b_addr(add_b_addr), .i_b_data(i_w_data[8*ADD_B_BYTES-1:0]),
        .o_out_we(add_we), .o_out_addr(add_out_addr), .o_out_mask(add_out_mask),
        .o_out_data(add_out_data)
    );

    // ---- the scratchpad ports go to the pass that runs
    function automatic [COLS-1:0] add_lanes_mask(input [ADD_LANES-1:0] mask);
        begin
            add_lanes_mask = {COLS{1'b0}};
            add_lanes_mask[ADD_LANES-1:0] = mask;
        end
    endfunction

    function automatic [8*COLS-1:0] add_lanes_data(input [8*ADD_LANES-1:0] data);
        begin
            add_lanes_data = {8*COLS{1'b0}};
            add_lanes_data[8*ADD_LANES-1:0] = data;
        end
    endfunction

    assign o_busy     = conv_busy || add_busy;
    assign o_in_re    = step_valid || add_a_re;
    assign o_in_addr  = add_a_re ? add_a_addr : step_in_addr;
    assign o_w_re     = step_valid || add_b_re;
    assign o_w_addr   = add_b_re ? add_b_addr : {step_w_addr, {WLB{1'b0}}};
    assign o_out_we   = conv_we || add_we;
    assign o_out_addr = add_we ? add_out_addr : conv_out_addr;
    assign o_out_mask = add_we ? add_lanes_mask(add_out_mask) : conv_out_mask;
    assign o_out_data = add_we ? add_lanes_data(add_out_data) : conv_out_data;
endmodule
`default_nettype wire
