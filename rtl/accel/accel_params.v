// Per-channel parameter loader: fetches the next output group's COLS param entries ahead of use.
`default_nettype none

// Two register sets. `next` is filled from the param scratchpad (one 16-byte entry per cycle)
// while the array still works on the current group. i_swap comes the cycle before the first pixel
// of a group reaches the requantizers: `next` becomes `current` (what the requantizers read),
// and loading the following group starts. o_loaded counts the groups fetched so far: the step
// generator starts group g only once o_loaded > g, so a group's parameters are always in one of
// the two sets when it needs them.
module accel_params #(
    parameter integer COLS = 8,
    parameter integer PAW  = 9     // log2(param entries)
) (
    input  wire               i_clk,
    input  wire               i_rst,
    // pass start: the first group's entry and the number of channels
    input  wire               i_start,
    input  wire [PAW-1:0]     i_p_base,
    input  wire [31:0]        i_channels,
    // the first pixel of a group enters the requantizers next cycle
    input  wire               i_swap,
    output wire [31:0]        o_loaded,
    // param scratchpad read port (entry index; data the cycle after)
    output wire               o_re,
    output wire [PAW-1:0]     o_entry,
    input  wire [127:0]       i_entry_data,
    // the current group's parameters, lane j at [32*j] / [6*j]
    output reg  [32*COLS-1:0] o_bias,
    output reg  [32*COLS-1:0] o_mult,
    output reg  [6*COLS-1:0]  o_shift
);
    localparam integer CW = $clog2(COLS);
    localparam integer JW = (COLS > 1) ? CW : 1;
    localparam integer LAST_J_I = COLS - 1;
    localparam [JW-1:0] LAST_J = LAST_J_I[JW-1:0];

    reg [31:0]        groups, loaded, swapped;
    reg               loading, rx_valid;
    reg [JW-1:0]      issue_j, rx_j;
    reg [PAW-1:0]     entry;        // entry of lane issue_j of the group being loaded
    reg [32*COLS-1:0] next_bias, next_mult;
    reg [6*COLS-1:0]  next_shift;

    // Word 3 of an entry is reserved (0), and a shift in -31..31 fits word 2's low 6 bits.
    wire [57:0] entry_bits_unused = i_entry_data[127:70];

    // `next` consumed (no fetch in flight) and groups left to load
    wire free = !loading && !rx_valid && loaded == swapped && loaded != groups;
    assign o_re     = loading;
    assign o_entry  = entry;
    assign o_loaded = loaded;

    always @(posedge i_clk) begin
        if (i_rst) begin
            loading  <= 1'b0;
            rx_valid <= 1'b0;
            groups   <= 32'd0;
            loaded   <= 32'd0;
            swapped  <= 32'd0;
        end else if (i_start) begin
            loading  <= 1'b0;
            rx_valid <= 1'b0;
            // ceil(channels / COLS); channels >= 1 is checked before a start
            groups   <= ((i_channels - 32'd1) >> CW) + 32'd1;
            loaded   <= 32'd0;
            swapped  <= 32'd0;
            entry    <= i_p_base;
        end else begin
            rx_valid <= loading;
            rx_j     <= issue_j;
            if (free) begin
                loading <= 1'b1;
                issue_j <= {JW{1'b0}};
            end else if (loading) begin
                entry   <= entry + 1'b1;
                issue_j <= issue_j + 1'b1;
                if (issue_j == LAST_J)
                    loading <= 1'b0;
            end
            if (rx_valid && rx_j == LAST_J)
                loaded <= loaded + 32'd1;
            if (i_swap)
                swapped <= swapped + 32'd1;
        end
    end

    always @(posedge i_clk) begin
        if (rx_valid) begin
            next_bias[32*rx_j +: 32] <= i_entry_data[31:0];
            next_mult[32*rx_j +: 32] <= i_entry_data[63:32];
            next_shift[6*rx_j +: 6]  <= i_entry_data[69:64];
        end
        if (i_swap) begin
            o_bias  <= next_bias;
            o_mult  <= next_mult;
            o_shift <= next_shift;
        end
    end
endmodule
`default_nettype wire
