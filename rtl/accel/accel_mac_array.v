// ROWS x COLS int8 multiply-accumulate array: column dot products and int32 accumulators.
`default_nettype none

// Two stages. Stage 1 registers, for each output lane j, the column sum
// sum_i (in[i] + IN_OFFSET) * w[i][j]; stage 2 adds it to lane j's accumulator, or restarts the
// accumulator with it on a pixel's first step. o_valid pulses after a pixel's last step, with the
// pixel's sums in o_acc (held until the next step is accumulated) and its tag in o_tag.
//
// in + IN_OFFSET is in -384..382 and |(in + IN_OFFSET) * w| <= 49152, so a column sum needs
// 17 + log2(ROWS) bits; it is worked out modulo 2^32, which is exact (and costs a Verilated
// model one native operation per multiply or add).
module accel_mac_array #(
    parameter integer ROWS  = 8,
    parameter integer COLS  = 8,
    parameter integer TAG_W = 1
) (
    input  wire                     i_clk,
    input  wire                     i_rst,
    // one step: ROWS input bytes and a ROWS x COLS weight word (byte i*COLS + j is w[i][j])
    input  wire                     i_valid,
    input  wire                     i_first,      // the pixel's first step: restart the sums
    input  wire                     i_last,       // the pixel's last step: hand the sums on
    input  wire [TAG_W-1:0]         i_tag,
    input  wire [9:0]               i_in_offset,  // signed, -256..255
    input  wire [8*ROWS-1:0]        i_in,
    input  wire [8*ROWS*COLS-1:0]   i_w,
    // the pixel's sums, int32 wrapping
    output reg                      o_valid,
    output reg  [TAG_W-1:0]         o_tag,
    output reg  [32*COLS-1:0]       o_acc
);
    reg [32*COLS-1:0] col_sum;
    reg               s1_valid, s1_first, s1_last;
    reg [TAG_W-1:0]   s1_tag;

    // Weights are multiplied as offset binary, u = w + 128 (w with its sign bit flipped, 0..255):
    // sum_i x[i] * w[i][j] = sum_i x[i] * u[i][j] - 128 * sum_i x[i], where x[i] = in[i] + offset
    // and the correction is shared by all columns. (Unsigned byte multiplies, and for a Verilated
    // model no sign extension of the 64 weights.)
    function automatic [32*COLS-1:0] column_sums(input [8*ROWS-1:0] ins, input [8*ROWS*COLS-1:0] ws,
                                                 input [9:0] offset);
        integer i, j;
        reg [32*ROWS-1:0]      x;
        reg [8*ROWS*COLS-1:0]  u;
        reg [31:0]             sum, x_total;
        begin
            x_total = 32'd0;
            for (i = 0; i < ROWS; i = i + 1) begin
                x[32*i +: 32] = {{24{ins[8*i+7]}}, ins[8*i +: 8]} + {{22{offset[9]}}, offset};
                x_total = x_total + x[32*i +: 32];
            end
            u = ws ^ {ROWS*COLS{8'h80}};
            for (j = 0; j < COLS; j = j + 1) begin
                sum = 32'd0 - (x_total << 7);
                for (i = 0; i < ROWS; i = i + 1)
                    sum = sum + x[32*i +: 32] * {24'd0, u[8*(i*COLS+j) +: 8]};
                column_sums[32*j +: 32] = sum;
            end
        end
    endfunction

    // every lane's accumulator plus its column sum, or the sum alone
    function automatic [32*COLS-1:0] accumulate(input [32*COLS-1:0] accs, input [32*COLS-1:0] sums,
                                                input restart);
        integer j;
        begin
            for (j = 0; j < COLS; j = j + 1)
                accumulate[32*j +: 32] = (restart ? 32'd0 : accs[32*j +: 32]) + sums[32*j +: 32];
        end
    endfunction

    always @(posedge i_clk) begin
        if (i_valid) begin
            col_sum  <= column_sums(i_in, i_w, i_in_offset);
            s1_first <= i_first;
            s1_last  <= i_last;
            s1_tag   <= i_tag;
        end
    end

    always @(posedge i_clk) begin
        if (s1_valid) begin
            o_acc <= accumulate(o_acc, col_sum, s1_first);
            if (s1_last)
                o_tag <= s1_tag;
        end
    end

    always @(posedge i_clk) begin
        if (i_rst) begin
            s1_valid <= 1'b0;
            o_valid  <= 1'b0;
        end else begin
            s1_valid <= i_valid;
            o_valid  <= s1_valid & s1_last;
        end
    end
endmodule
`default_nettype wire
