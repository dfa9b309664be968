// soc_uart: the NS16550A register subset rvtvm's firmware uses, with 16-byte FIFOs, over a byte link.
//
// There is no serial line: the far end is the simulation harness, which takes transmitted bytes
// from o_tx_* and offers received ones on i_rx_*. Transmission paces the FIFO at one byte per
// TX_CYCLES_PER_BYTE cycles, so "THR empty" and "transmitter idle" mean what firmware expects.
// o_rx_ready says the receive FIFO has room; a byte offered while it is full is dropped and sets
// the overrun flag (LSR bit 1), as on the real part.
//
// Registers (byte offsets; the bus is 32 bits wide, so each word holds four of them):
//   0 RBR (read, pops) / THR (write, pushes)     DLL when LCR bit 7 (DLAB) is set
//   1 IER (stored, no interrupts are raised)     DLM when DLAB is set
//   2 IIR (read: 0xC1, FIFOs on, nothing pending) / FCR (write: bit 1 clears RX, bit 2 clears TX)
//   3 LCR (stored)    4 MCR (stored)    7 SCR (stored)    6 MSR (reads 0xB0: DCD, DSR, CTS)
//   5 LSR (read-only): bit 0 data ready, 1 overrun (cleared by reading LSR), 5 THR empty
//                      (the TX FIFO is empty), 6 transmitter idle
// PicoRV32 reads whole words, so a read of offsets 0..3 pops RBR and one of 4..7 clears the
// overrun flag, whichever byte the load wanted; the firmware reads only RBR and LSR.
`default_nettype none

module soc_uart #(
    parameter integer TX_CYCLES_PER_BYTE = 8
) (
    input  wire        i_clk,
    input  wire        i_rst,
    // register port (PicoRV32 native bus; address bit 2 selects the word)
    input  wire        i_valid,
    input  wire        i_addr_word,
    input  wire [31:0] i_wdata,
    input  wire [3:0]  i_wstrb,
    output reg         o_ready,
    output reg  [31:0] o_rdata,
    // link to the harness
    output reg         o_tx_valid,
    output reg  [7:0]  o_tx_byte,
    input  wire        i_rx_valid,
    input  wire [7:0]  i_rx_byte,
    output wire        o_rx_ready
);
    localparam [7:0] IIR_FIFOS_NO_INTERRUPT = 8'hC1;
    localparam [7:0] MSR_LINES_UP = 8'hB0;

    reg [7:0] r_ier, r_lcr, r_mcr, r_scr, r_dll, r_dlm;
    reg r_overrun;

    wire dlab = r_lcr[7];
    wire access = i_valid && !o_ready;
    wire is_write = |i_wstrb;

    // Receive FIFO
    wire [7:0] rx_data;
    wire rx_empty, rx_full;
    wire rx_pop = access && !is_write && !i_addr_word && !dlab;
    wire rx_clear = access && !i_addr_word && i_wstrb[2] && i_wdata[17];
    soc_fifo rx_fifo (
        .i_clk(i_clk), .i_rst(i_rst), .i_clear(rx_clear),
        .i_push(i_rx_valid), .i_data(i_rx_byte),
        .i_pop(rx_pop), .o_data(rx_data), .o_empty(rx_empty), .o_full(rx_full)
    );
    assign o_rx_ready = !rx_full;

    // Transmit FIFO and the pacing of the "line"
    wire [7:0] tx_data;
    wire tx_empty, tx_full;
    wire tx_push = access && !i_addr_word && i_wstrb[0] && !dlab;
    wire tx_clear = access && !i_addr_word && i_wstrb[2] && i_wdata[18];
    reg [15:0] r_tx_busy_cycles;
    wire tx_start = !tx_empty && r_tx_busy_cycles == 0;
    soc_fifo tx_fifo (
        .i_clk(i_clk), .i_rst(i_rst), .i_clear(tx_clear),
        .i_push(tx_push), .i_data(i_wdata[7:0]),
        .i_pop(tx_start), .o_data(tx_data), .o_empty(tx_empty), .o_full(tx_full)
    );

    wire [7:0] lsr = {1'b0, tx_empty && r_tx_busy_cycles == 0, tx_empty, 3'b000, r_overrun, !rx_empty};

    always @(posedge i_clk) begin
        o_ready <= access && !i_rst;
        o_tx_valid <= 1'b0;
        if (i_rst) begin
            {r_ier, r_lcr, r_mcr, r_scr, r_dll, r_dlm} <= 0;
            r_overrun <= 1'b0;
            r_tx_busy_cycles <= 0;
        end else begin
            if (tx_start) begin
                o_tx_valid <= 1'b1;
                o_tx_byte <= tx_data;
                r_tx_busy_cycles <= TX_CYCLES_PER_BYTE[15:0] - 1'b1;
            end else if (r_tx_busy_cycles != 0) begin
                r_tx_busy_cycles <= r_tx_busy_cycles - 1'b1;
            end
            if (access && !is_write) begin
                if (!i_addr_word) begin
                    o_rdata <= {r_lcr, IIR_FIFOS_NO_INTERRUPT, dlab ? r_dlm : r_ier, dlab ? r_dll : rx_data};
                end else begin
                    o_rdata <= {r_scr, MSR_LINES_UP, lsr, r_mcr};
                    r_overrun <= 1'b0;
                end
            end
            if (access && is_write) begin
                if (!i_addr_word) begin
                    if (i_wstrb[0] && dlab) r_dll <= i_wdata[7:0];
                    if (i_wstrb[1]) begin
                        if (dlab) r_dlm <= i_wdata[15:8];
                        else r_ier <= i_wdata[15:8];
                    end
                    if (i_wstrb[3]) r_lcr <= i_wdata[31:24];
                end else begin
                    if (i_wstrb[0]) r_mcr <= i_wdata[7:0];
                    if (i_wstrb[3]) r_scr <= i_wdata[31:24];
                end
            end
            // After the LSR read above, so an overrun in the same cycle is not lost.
            if (i_rx_valid && rx_full)
                r_overrun <= 1'b1;
        end
    end

    // tx_full is unused: a write to a full THR is dropped, as on the real part.
endmodule

`default_nettype wire
