// soc_ram: the SoC's on-chip RAM, with a 32-bit CPU port and a DMA_BYTES-wide accelerator port.
//
// The CPU port follows PicoRV32's native bus with its look-ahead signals: a read's address comes
// with i_cpu_la_read one cycle before i_cpu_valid, so the word is already read when the request
// arrives and o_cpu_ready answers it in the same cycle (a write is taken at once too). That saves
// a cycle on every fetch, load and store. The DMA port is always ready, takes a request every
// cycle and returns read data in the next one. Addresses are offsets into the RAM; the decoder only sends ones
// below RAM_BYTES. Writes from both ports to the same word in the same cycle are the
// software's bug: the DMA's wins.
`default_nettype none

module soc_ram #(
    parameter integer RAM_BYTES = 1 << 20,
    parameter integer DMA_BYTES = 16
) (
    input  wire                   i_clk,
    // CPU port
    input  wire                   i_cpu_la_read,
    input  wire [31:0]            i_cpu_la_addr,
    input  wire                   i_cpu_valid,
    input  wire [31:0]            i_cpu_addr,
    input  wire [31:0]            i_cpu_wdata,
    input  wire [3:0]             i_cpu_wstrb,
    output wire                   o_cpu_ready,
    output reg  [31:0]            o_cpu_rdata,
    // accelerator DMA port
    input  wire                   i_dma_valid,
    input  wire [31:0]            i_dma_addr,
    input  wire                   i_dma_write,
    input  wire [DMA_BYTES-1:0]   i_dma_wstrb,
    input  wire [8*DMA_BYTES-1:0] i_dma_wdata,
    output reg  [8*DMA_BYTES-1:0] o_dma_rdata
);
    localparam integer WORDS = RAM_BYTES / DMA_BYTES;
    localparam integer WORD_BITS = $clog2(WORDS);
    localparam integer BYTE_BITS = $clog2(DMA_BYTES);
    localparam integer LANES = DMA_BYTES / 4;

    // The harness loads the firmware ELF straight into this array.
    reg [8*DMA_BYTES-1:0] mem [0:WORDS-1] /* verilator public_flat_rw */;

    wire [WORD_BITS-1:0] cpu_word = i_cpu_addr[BYTE_BITS +: WORD_BITS];
    wire [BYTE_BITS-3:0] cpu_lane = i_cpu_addr[BYTE_BITS-1:2];
    wire [WORD_BITS-1:0] la_word = i_cpu_la_addr[BYTE_BITS +: WORD_BITS];
    wire [BYTE_BITS-3:0] la_lane = i_cpu_la_addr[BYTE_BITS-1:2];

    assign o_cpu_ready = i_cpu_valid;
    wire [WORD_BITS-1:0] dma_word = i_dma_addr[BYTE_BITS +: WORD_BITS];

    integer b;
    always @(posedge i_clk) begin
        if (i_cpu_la_read)
            o_cpu_rdata <= mem[la_word][32*la_lane +: 32];
        if (i_cpu_valid)
            for (b = 0; b < 4; b = b + 1)
                if (i_cpu_wstrb[b])
                    mem[cpu_word][32*cpu_lane + 8*b +: 8] <= i_cpu_wdata[8*b +: 8];
        if (i_dma_valid) begin
            o_dma_rdata <= mem[dma_word];
            if (i_dma_write)
                for (b = 0; b < DMA_BYTES; b = b + 1)
                    if (i_dma_wstrb[b])
                        mem[dma_word][8*b +: 8] <= i_dma_wdata[8*b +: 8];
        end
    end

    // LANES is only used to document the CPU lane select's width.
    initial if (LANES * 4 != DMA_BYTES || DMA_BYTES < 4) $fatal(1, "DMA_BYTES must be a multiple of 4");
endmodule

`default_nettype wire
