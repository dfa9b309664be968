// One lane of TFLite Micro's per-channel requantization, int32 accumulator to int8, 4 stages.
`default_nettype none

// Bit-exact with rtl/README.md ("What it computes") and rvtvm/accel/reference.py:
//   stage 1  x = acc + bias (int32 wrapping), then x << shift if shift > 0 (wrapping)
//   stage 2  p = x * mult (64-bit)
//   stage 3  y = min((p + 2^30) >> 31, INT32_MAX); only x = mult = INT32_MIN reaches 2^31
//   stage 4  z = shift < 0 ? rounding_divide_by_pot(y, -shift) : y; clamp(z + OUT_OFFSET)
// Stage k takes its input when i_advance[k-1] is set: the caller sets bit k-1 while stage k-1
// (bit 0: the lane's input) holds a pixel, and carries the valid bits and addresses alongside.
// Stages without a pixel hold still, so the lane only works once per pixel and stage.
module accel_requant (
    input  wire        i_clk,
    input  wire [3:0]  i_advance,
    // the pixel's accumulator and the channel's parameters
    input  wire [31:0] i_acc,
    input  wire [31:0] i_bias,
    input  wire [31:0] i_mult,
    input  wire [5:0]  i_shift,       // signed, -31..31
    // the pass's output quantization (constant during a pass)
    input  wire [7:0]  i_out_offset,  // signed
    input  wire [7:0]  i_act_min,     // signed
    input  wire [7:0]  i_act_max,     // signed
    output reg  [7:0]  o_out
);
    reg [31:0] s1_x, s1_mult;
    reg [5:0]  s1_shift, s2_shift, s3_shift;
    reg [63:0] s2_prod;
    reg [31:0] s3_y;

    always @(posedge i_clk) begin
        if (i_advance[0]) begin : stage1
            reg [31:0] sum;
            sum = i_acc + i_bias;
            s1_x     <= ($signed(i_shift) > 0) ? sum << i_shift[4:0] : sum;
            s1_mult  <= i_mult;
            s1_shift <= i_shift;
        end
    end

    always @(posedge i_clk) begin
        if (i_advance[1]) begin
            s2_prod  <= $signed({{32{s1_x[31]}}, s1_x}) * $signed({{32{s1_mult[31]}}, s1_mult});
            s2_shift <= s1_shift;
        end
    end

    always @(posedge i_clk) begin
        if (i_advance[2]) begin : stage3
            reg [32:0] rounded;        // (p + 2^30) >> 31
            reg [30:0] fraction_unused;
            {rounded, fraction_unused} = s2_prod + 64'h0000_0000_4000_0000;
            s3_y     <= (!rounded[32] && rounded[31]) ? 32'h7fff_ffff : rounded[31:0];
            s3_shift <= s2_shift;
        end
    end

    // gemmlowp's RoundingDivideByPOT (exponent 0 when shift >= 0), the offset, the clamp
    always @(posedge i_clk) begin
        if (i_advance[3]) begin : stage4
            reg [5:0]         exponent;
            reg [31:0]        mask, remainder, threshold, quotient;
            reg signed [33:0] z;
            exponent  = $signed(s3_shift) < 0 ? -s3_shift : 6'd0;
            mask      = ~(32'hffff_ffff << exponent);
            remainder = s3_y & mask;
            threshold = (mask >> 1) + {31'd0, s3_y[31]};
            quotient  = $signed(s3_y) >>> exponent;
            z = $signed({{2{quotient[31]}}, quotient}) + {33'd0, remainder > threshold}
                + $signed({{26{i_out_offset[7]}}, i_out_offset});
            if (z < $signed({{26{i_act_min[7]}}, i_act_min}))
                o_out <= i_act_min;
            else if (z > $signed({{26{i_act_max[7]}}, i_act_max}))
                o_out <= i_act_max;
            else
                o_out <= z[7:0];
        end
    end
endmodule
`default_nettype wire
