// Clock gate: passes the clock through while its enable is set, as a standard ICG cell does.
`default_nettype none

// The enable is sampled on the falling edge, so it is steady while the clock is high and the
// gated clock has no glitches; a unit enabled in one cycle gets the rising edge that ends it.
// Gating idle units also lets a Verilated model skip their logic entirely.
module accel_clock_gate (
    input  wire i_clk,
    input  wire i_enable,
    output wire o_clk
);
    reg enabled;

    always @(negedge i_clk)
        enabled <= i_enable;

    assign o_clk = i_clk & enabled;
endmodule
`default_nettype wire
