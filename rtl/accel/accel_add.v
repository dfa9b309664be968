// Elementwise add unit: TFLite Micro's int8 ADD of two scratchpad streams, LANES elements per cycle.
`default_nettype none

// An add pass (rtl/README.md, "Elementwise add") reads a[i] from the input scratchpad and b[i]
// from the weight scratchpad and writes out[i] to the output scratchpad, each at consecutive
// bytes from its base. A beat is LANES consecutive elements, one beat per cycle, and a beat
// issued in cycle 0 moves on as
//   cycle 0   its addresses go to the input and weight scratchpads
//   cycle 1   their data: xa = (a + ADD_A_OFFSET) << ADD_LEFT_SHIFT and xb likewise, per lane
//   cycle 2   sa = rescale(xa), sb = rescale(xb), four stages (accel_rescale, two per lane)
//   cycle 6   clamp(rescale(sa + sb) + OUT_OFFSET), five stages (accel_requant)
//   cycle 11  its bytes are written to the output scratchpad
// The last beat also reads the bytes past its last element (wrapping around the scratchpads;
// reads have no effect) but writes only ELT_COUNT's. The pass ends with the last beat's write.
//
// (a + offset) takes 10 bits and the left shift is at most 20 (checked before a start), so xa
// and xb are exact in int32. The weight scratchpad's read port is built for aligned weight words
// and reads from multiples of 8 (W_ALIGNED): b's beat is fetched with the word holding its
// first byte and shifted down, so B_BYTES covers LANES bytes at any offset in that word.
module accel_add #(
    parameter integer LANES     = 8,   // elements per beat, a power of two
    parameter integer IAW       = 16,  // input scratchpad address bits
    parameter integer WAW       = 16,  // weight scratchpad address bits
    parameter integer OAW       = 16,  // output scratchpad address bits
    parameter integer W_ALIGNED = 1,   // 1: the weight port's addresses must be multiples of 8
    parameter integer B_BYTES   = W_ALIGNED != 0 ? (LANES + 14) / 8 * 8 : LANES  // weight bytes read
) (
    input  wire                 i_clk,
    input  wire                 i_rst,
    // pass start (checked by accel_regs) and its settings, taken in the start cycle
    input  wire                 i_start,
    input  wire [31:0]          i_count,        // ELT_COUNT, 1 or more
    input  wire [IAW-1:0]       i_a_base,       // IN_BASE
    input  wire [WAW-1:0]       i_b_base,       // W_BASE
    input  wire [OAW-1:0]       i_out_base,     // OUT_BASE
    input  wire [4:0]           i_left_shift,   // 0..20
    input  wire [9:0]           i_a_offset,     // signed, -256..255
    input  wire [31:0]          i_a_mult,
    input  wire [5:0]           i_a_shift,      // signed, -31..31
    input  wire [9:0]           i_b_offset,
    input  wire [31:0]          i_b_mult,
    input  wire [5:0]           i_b_shift,
    input  wire [31:0]          i_out_mult,
    input  wire [5:0]           i_out_shift,
    input  wire [7:0]           i_out_offset,   // signed
    input  wire [7:0]           i_act_min,      // signed
    input  wire [7:0]           i_act_max,      // signed
    output reg                  o_busy,
    // input scratchpad read: byte k of i_a_data is o_a_addr + k, the cycle after o_a_re
    output wire                 o_a_re,
    output wire [IAW-1:0]       o_a_addr,
    input  wire [8*LANES-1:0]   i_a_data,
    // weight scratchpad read: the same, B_BYTES bytes
    output wire                 o_b_re,
    output wire [WAW-1:0]       o_b_addr,
    input  wire [8*B_BYTES-1:0] i_b_data,
    // output scratchpad write: byte k to o_out_addr + k where o_out_mask[k] is set
    output wire                 o_out_we,
    output reg  [OAW-1:0]       o_out_addr,
    output wire [LANES-1:0]     o_out_mask,
    output wire [8*LANES-1:0]   o_out_data
);
    localparam integer STAGES = 10;             // after the read: widen 1, rescale 4, requant 5
    localparam integer LW = $clog2(LANES);
    localparam [31:0] STEP = LANES;

    // pass settings
    reg [4:0]  left_shift;
    reg [9:0]  a_offset, b_offset;
    reg [31:0] a_mult, b_mult, out_mult;
    reg [5:0]  a_shift, b_shift, out_shift;
    reg [7:0]  out_offset, act_min, act_max;

    always @(posedge i_clk) begin
        if (i_start) begin
            left_shift <= i_left_shift;
            a_offset   <= i_a_offset;
            a_mult     <= i_a_mult;
            a_shift    <= i_a_shift;
            b_offset   <= i_b_offset;
            b_mult     <= i_b_mult;
            b_shift    <= i_b_shift;
            out_mult   <= i_out_mult;
            out_shift  <= i_out_shift;
            out_offset <= i_out_offset;
            act_min    <= i_act_min;
            act_max    <= i_act_max;
        end
    end

    // ---- beats: the read side issues them, the write side counts them back in
    reg               issuing;
    reg [31:0]        issue_left, out_left;   // elements not yet issued / written
    reg [IAW-1:0]     a_addr;
    reg [WAW-1:0]     b_addr;
    reg [2:0]         rd_b_byte;              // the read beat's first b byte in its word
    // valid[0]: the scratchpads' data of a beat are here; valid[k]: stage k holds a beat
    reg [STAGES:0]    valid;

    assign o_a_re     = issuing;
    assign o_a_addr   = a_addr;
    assign o_b_re     = issuing;
    assign o_b_addr   = W_ALIGNED != 0 ? {b_addr[WAW-1:3], 3'b000} : b_addr;
    assign o_out_we   = valid[STAGES];
    assign o_out_mask = out_left >= STEP ? {LANES{1'b1}} : ~({LANES{1'b1}} << out_left[LW:0]);

    always @(posedge i_clk) begin
        if (i_rst) begin
            issuing <= 1'b0;
            valid   <= {(STAGES+1){1'b0}};
            o_busy  <= 1'b0;
        end else begin
            valid <= {valid[STAGES-1:0], issuing};
            if (i_start) begin
                issuing <= 1'b1;
                o_busy  <= 1'b1;
            end else begin
                if (issuing && issue_left <= STEP)
                    issuing <= 1'b0;
                if (o_out_we && out_left <= STEP)
                    o_busy <= 1'b0;
            end
        end
    end

    always @(posedge i_clk) begin
        if (i_start) begin
            issue_left <= i_count;
            out_left   <= i_count;
            a_addr     <= i_a_base;
            b_addr     <= i_b_base;
            o_out_addr <= i_out_base;
        end else begin
            if (issuing) begin
                issue_left <= issue_left - STEP;
                a_addr     <= a_addr + STEP[IAW-1:0];
                b_addr     <= b_addr + STEP[WAW-1:0];
            end
            if (o_out_we) begin
                out_left   <= out_left - STEP;
                o_out_addr <= o_out_addr + STEP[OAW-1:0];
            end
        end
        if (issuing)
            rd_b_byte <= W_ALIGNED != 0 ? b_addr[2:0] : 3'd0;
    end

    // ---- stage 1: every lane's operands, sign-extended, offset and shifted
    function automatic [31:0] widen(input [7:0] value, input [9:0] offset, input [4:0] shift);
        widen = ({{24{value[7]}}, value} + {{22{offset[9]}}, offset}) << shift;
    endfunction

    reg [32*LANES-1:0] xa, xb;

    always @(posedge i_clk) begin
        if (valid[0]) begin : widen_lanes
            integer l;
            reg [31:0] b_bit;   // the beat's first b bit in i_b_data
            b_bit = {26'd0, rd_b_byte, 3'b000};
            for (l = 0; l < LANES; l = l + 1) begin
                xa[32*l +: 32] <= widen(i_a_data[8*l +: 8], a_offset, left_shift);
                xb[32*l +: 32] <= widen(i_b_data[b_bit + 8*l +: 8], b_offset, left_shift);
            end
        end
    end

    // ---- stages 2-10: sa and sb, then their sum requantized, per lane
    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : lanes
            wire [31:0] sa, sb;

            accel_rescale rescale_a (
                .i_clk(i_clk), .i_advance(valid[4:1]), .i_a(xa[32*l +: 32]), .i_b(32'd0),
                .i_mult(a_mult), .i_shift(a_shift), .o_z(sa)
            );

            accel_rescale rescale_b (
                .i_clk(i_clk), .i_advance(valid[4:1]), .i_a(xb[32*l +: 32]), .i_b(32'd0),
                .i_mult(b_mult), .i_shift(b_shift), .o_z(sb)
            );

            // sa + sb wraps as int32, as the requantizer's acc + bias does
            accel_requant requant (
                .i_clk(i_clk), .i_advance(valid[9:5]), .i_acc(sa), .i_bias(sb), .i_mult(out_mult),
                .i_shift(out_shift), .i_out_offset(out_offset), .i_act_min(act_min),
                .i_act_max(act_max), .o_out(o_out_data[8*l +: 8])
            );
        end
    endgenerate
endmodule
`default_nettype wire
