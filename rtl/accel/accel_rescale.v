// TFLite Micro's MultiplyByQuantizedMultiplier of an int32 sum, int32 result, 4 stages.
`default_nettype none

// The arithmetic the requantizers (accel_requant) and the add unit (accel_add) share, bit-exact
// with rtl/README.md ("What it computes", up to z) and rvtvm/accel/reference.py's rescale:
//   stage 1  x = i_a + i_b (int32 wrapping), then x << shift if shift > 0 (wrapping)
//   stage 2  p = x * mult (64-bit)
//   stage 3  y = min((p + 2^30) >> 31, INT32_MAX); only x = mult = INT32_MIN reaches 2^31
//   stage 4  z = shift < 0 ? rounding_divide_by_pot(y, -shift) : y, which always fits int32
// Stage k takes its input when i_advance[k-1] is set: the caller sets bit k-1 while stage k-1
// (bit 0: the inputs) holds an operand, and carries the valid bits alongside. Stages without an
// operand hold still, so the core only works once per operand and stage.
module accel_rescale (
    input  wire        i_clk,
    input  wire [3:0]  i_advance,
    input  wire [31:0] i_a,
    input  wire [31:0] i_b,
    input  wire [31:0] i_mult,
    input  wire [5:0]  i_shift,       // signed, -31..31
    output reg  [31:0] o_z
);
    reg [31:0] s1_x, s1_mult;
    reg [5:0]  s1_shift, s2_shift, s3_shift;
    reg [63:0] s2_prod;
    reg [31:0] s3_y;

    always @(posedge i_clk) begin
        if (i_advance[0]) begin : stage1
            reg [31:0] sum;
            sum = i_a + i_b;
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

    // gemmlowp's RoundingDivideByPOT (exponent 0 when shift >= 0): the quotient is at most
    // 2^30 - 1 when it rounds up, so the sum cannot wrap
    always @(posedge i_clk) begin
        if (i_advance[3]) begin : stage4
            reg [5:0]  exponent;
            reg [31:0] mask, remainder, threshold, quotient;
            exponent  = $signed(s3_shift) < 0 ? -s3_shift : 6'd0;
            mask      = ~(32'hffff_ffff << exponent);
            remainder = s3_y & mask;
            threshold = (mask >> 1) + {31'd0, s3_y[31]};
            quotient  = $signed(s3_y) >>> exponent;   // alone: an unsigned operand would make it >>
            o_z <= quotient + {31'd0, remainder > threshold};
        end
    end
endmodule
`default_nettype wire
