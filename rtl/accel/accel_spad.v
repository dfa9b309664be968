// Scratchpad: one masked write port and two read ports, each moving bytes at any byte address.
`default_nettype none

// The memory is 8-byte words. In silicon they would sit in 8-byte-wide SRAM banks interleaved by
// word address (word w in bank w mod banks, with as many banks as the words one access touches,
// rounded up to a power of two), so that an access uses each bank at most once: it covers the
// consecutive words its bytes touch and shifts them into place, a funnel shift per 8-byte group.
// Addresses wrap modulo BYTES. Reads have one cycle of latency; a read of a byte written in the
// same cycle returns the old byte.
//
// The data path is all 64-bit words, so a Verilated model does native-width work per access
// and none at all while a port is idle.
module accel_spad #(
    parameter integer BYTES     = 65536,  // power of two, at least 32
    parameter integer W_LANES   = 16,     // write port width in bytes
    parameter integer A_LANES   = 16,     // read port A width in bytes
    parameter integer B_LANES   = 16,     // read port B width in bytes
    parameter integer B_ALIGNED = 0       // 1: port B addresses are multiples of 8 and B_LANES is too
) (
    input  wire                       i_clk,
    // write: byte k of i_wdata goes to i_waddr + k where i_wmask[k] is set
    input  wire                       i_we,
    input  wire [$clog2(BYTES)-1:0]   i_waddr,
    input  wire [W_LANES-1:0]         i_wmask,
    input  wire [8*W_LANES-1:0]       i_wdata,
    // read port A: byte k of o_a_data is i_a_addr + k, the cycle after i_a_re
    input  wire                       i_a_re,
    input  wire [$clog2(BYTES)-1:0]   i_a_addr,
    output reg  [8*A_LANES-1:0]       o_a_data,
    // read port B: the same
    input  wire                       i_b_re,
    input  wire [$clog2(BYTES)-1:0]   i_b_addr,
    output reg  [8*B_LANES-1:0]       o_b_data
);
    localparam integer AW = $clog2(BYTES);
    localparam integer RW = AW - 3;                  // word address bits
    // words a port touches: an unaligned access of L bytes spans (L + 7) / 8 + 1 of them
    localparam integer W_WORDS = (W_LANES + 7) / 8 + 1;
    localparam integer A_WORDS = (A_LANES + 7) / 8;  // words of read data (one more is read)
    localparam integer B_WORDS = (B_LANES + 7) / 8;

    reg [63:0] mem [0:(1 << RW) - 1];

    // low 64 bits of {hi, lo} >> shift, shift a multiple of 8 below 64
    function automatic [63:0] funnel(input [63:0] hi, input [63:0] lo, input [5:0] shift);
        funnel = shift == 6'd0 ? lo : (lo >> shift) | (hi << (7'd64 - {1'b0, shift}));
    endfunction

    // each mask bit widened to its byte, then zero-extended to whole words
    function automatic [64*W_WORDS-1:0] byte_bits(input [W_LANES-1:0] mask);
        integer k;
        begin
            byte_bits = {64*W_WORDS{1'b0}};
            for (k = 0; k < W_LANES; k = k + 1)
                byte_bits[8*k +: 8] = {8{mask[k]}};
        end
    endfunction

    // Write word i of the access gets chunk i of the data shifted up by the byte offset.
    always @(posedge i_clk) begin
        if (i_we) begin : write
            integer i;
            reg [64*W_WORDS-1:0] data, bits;
            reg [RW-1:0]         word;
            reg [5:0]            shift;
            reg [63:0]           d, m, prev_d, prev_m;
            data   = {{(64*W_WORDS-8*W_LANES){1'b0}}, i_wdata};
            bits   = byte_bits(i_wmask);
            word   = i_waddr[AW-1:3];
            shift  = {i_waddr[2:0], 3'b000};
            prev_d = 64'd0;
            prev_m = 64'd0;
            for (i = 0; i < W_WORDS; i = i + 1) begin
                // {chunk i, chunk i-1} << shift, high half
                d = shift == 6'd0 ? data[64*i +: 64] : funnel(data[64*i +: 64], prev_d, 6'd0 - shift);
                m = shift == 6'd0 ? bits[64*i +: 64] : funnel(bits[64*i +: 64], prev_m, 6'd0 - shift);
                if (m != 64'd0)
                    mem[word] <= (mem[word] & ~m) | (d & m);
                prev_d = data[64*i +: 64];
                prev_m = bits[64*i +: 64];
                word   = word + 1'b1;
            end
        end
    end

    always @(posedge i_clk) begin
        if (i_a_re) begin : read_a
            integer i;
            reg [64*A_WORDS-1:0] data;
            reg [RW-1:0]         word;
            reg [5:0]            shift;
            word  = i_a_addr[AW-1:3];
            shift = {i_a_addr[2:0], 3'b000};
            for (i = 0; i < A_WORDS; i = i + 1) begin
                data[64*i +: 64] = funnel(mem[word + 1'b1], mem[word], shift);
                word = word + 1'b1;
            end
            o_a_data <= data[8*A_LANES-1:0];
        end
    end

    generate
        if (B_ALIGNED != 0) begin : b_aligned
            wire [2:0] b_offset_unused = i_b_addr[2:0];  // zero by contract
            always @(posedge i_clk) begin
                if (i_b_re) begin : read_b
                    integer i;
                    reg [RW-1:0] word;
                    word = i_b_addr[AW-1:3];
                    for (i = 0; i < B_WORDS; i = i + 1) begin
                        o_b_data[64*i +: 64] <= mem[word];
                        word = word + 1'b1;
                    end
                end
            end
        end else begin : b_rotated
            always @(posedge i_clk) begin
                if (i_b_re) begin : read_b
                    integer i;
                    reg [64*B_WORDS-1:0] data;
                    reg [RW-1:0]         word;
                    reg [5:0]            shift;
                    word  = i_b_addr[AW-1:3];
                    shift = {i_b_addr[2:0], 3'b000};
                    for (i = 0; i < B_WORDS; i = i + 1) begin
                        data[64*i +: 64] = funnel(mem[word + 1'b1], mem[word], shift);
                        word = word + 1'b1;
                    end
                    o_b_data <= data[8*B_LANES-1:0];
                end
            end
        end
    endgenerate
endmodule
`default_nettype wire
