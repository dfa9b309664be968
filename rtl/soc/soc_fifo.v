// soc_fifo: a synchronous byte FIFO of 2**DEPTH_LOG2 entries, first-word-fall-through.
`default_nettype none

module soc_fifo #(
    parameter integer DEPTH_LOG2 = 4
) (
    input  wire       i_clk,
    input  wire       i_rst,
    input  wire       i_clear,
    // write side: ignored when full
    input  wire       i_push,
    input  wire [7:0] i_data,
    // read side: o_data is the oldest byte while !o_empty
    input  wire       i_pop,
    output wire [7:0] o_data,
    output wire       o_empty,
    output wire       o_full
);
    localparam integer DEPTH = 1 << DEPTH_LOG2;

    reg [7:0] r_bytes [0:DEPTH-1];
    // One extra bit tells full from empty when the indices meet.
    reg [DEPTH_LOG2:0] r_head;
    reg [DEPTH_LOG2:0] r_tail;

    assign o_empty = r_head == r_tail;
    assign o_full = r_head == {~r_tail[DEPTH_LOG2], r_tail[DEPTH_LOG2-1:0]};
    assign o_data = r_bytes[r_tail[DEPTH_LOG2-1:0]];

    always @(posedge i_clk) begin
        if (i_rst || i_clear) begin
            r_head <= 0;
            r_tail <= 0;
        end else begin
            if (i_push && !o_full) begin
                r_bytes[r_head[DEPTH_LOG2-1:0]] <= i_data;
                r_head <= r_head + 1'b1;
            end
            if (i_pop && !o_empty)
                r_tail <= r_tail + 1'b1;
        end
    end
endmodule

`default_nettype wire
