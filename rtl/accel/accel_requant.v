// One lane of TFLite Micro's per-channel requantization, int32 accumulator to int8, 5 stages.
`default_nettype none

// Bit-exact with rtl/README.md ("What it computes") and rvtvm/accel/reference.py:
//   stages 1-4  z = rescale(acc + bias, mult, shift)   (accel_rescale)
//   stage 5     clamp(z + OUT_OFFSET, ACT_MIN, ACT_MAX)
// Stage k takes its input when i_advance[k-1] is set: the caller sets bit k-1 while stage k-1
// (bit 0: the lane's input) holds a pixel, and carries the valid bits and addresses alongside.
// Stages without a pixel hold still, so the lane only works once per pixel and stage.
// The add unit uses a lane for its last step too, with sa and sb as acc and bias.
module accel_requant (
    input  wire        i_clk,
    input  wire [4:0]  i_advance,
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
    wire [31:0] z;

    accel_rescale rescale (
        .i_clk(i_clk), .i_advance(i_advance[3:0]), .i_a(i_acc), .i_b(i_bias), .i_mult(i_mult),
        .i_shift(i_shift), .o_z(z)
    );

    always @(posedge i_clk) begin
        if (i_advance[4]) begin : stage5
            reg signed [33:0] sum;
            sum = $signed({{2{z[31]}}, z}) + $signed({{26{i_out_offset[7]}}, i_out_offset});
            if (sum < $signed({{26{i_act_min[7]}}, i_act_min}))
                o_out <= i_act_min;
            else if (sum > $signed({{26{i_act_max[7]}}, i_act_max}))
                o_out <= i_act_max;
            else
                o_out <= sum[7:0];
        end
    end
endmodule
`default_nettype wire
