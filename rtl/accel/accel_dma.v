// DMA: moves a 2-D block between RAM and a scratchpad, or fills a scratchpad block, one RAM word per cycle.
`default_nettype none

// The block is cut into beats, one per DMA_BYTES-aligned RAM word a row touches (in fill mode,
// one per aligned scratchpad word). Lane k of a beat is RAM byte `word + k` and scratchpad byte
// `sa + k`, where sa = the row's scratchpad start - the row's offset in its first RAM word; the
// scratchpad ports take any byte address and place the bytes, so the DMA never shifts data. A
// beat's mask keeps the lanes inside the row.
//
//   beat generator -> RAM read (mode 0) / scratchpad read (mode 1) / fill byte (mode 2)
//                  -> one cycle later, the data goes into a FIFO_DEPTH-entry FIFO
//                  -> scratchpad write (modes 0, 2) / RAM write (mode 1)
// A beat is issued only while fewer than FIFO_DEPTH beats are in flight, so the FIFO never
// overflows and a stalled sink (i_ready low, or the engine writing the output scratchpad) just
// holds the generator. Rows follow each other without a gap.
module accel_dma #(
    parameter integer DMA_BYTES  = 16,  // power of two
    parameter integer SPAD_AW    = 16,  // address bits of the largest scratchpad
    parameter integer FIFO_DEPTH = 4    // covers the 3 cycles from issue to retire
) (
    input  wire                   i_clk,
    input  wire                   i_rst,
    // start (checked by accel_regs) and the block, taken in the start cycle
    input  wire                   i_start,
    input  wire [31:0]            i_ram_addr,
    input  wire [3:0]             i_spad_sel,    // bit k: scratchpad id k
    input  wire [SPAD_AW-1:0]     i_spad_off,
    input  wire [31:0]            i_row_bytes,
    input  wire [31:0]            i_rows,
    input  wire [31:0]            i_ram_stride,
    input  wire [SPAD_AW-1:0]     i_spad_stride,
    input  wire                   i_to_ram,      // scratchpad to RAM
    input  wire                   i_fill_mode,   // fill the scratchpad (neither: RAM to scratchpad)
    input  wire [7:0]             i_fill,
    output reg                    o_busy,
    // RAM port (see rvtvm_accel)
    output wire                   o_valid,
    output wire [31:0]            o_addr,
    output wire                   o_write,
    output wire [DMA_BYTES-1:0]   o_wstrb,
    output wire [8*DMA_BYTES-1:0] o_wdata,
    input  wire                   i_ready,
    input  wire [8*DMA_BYTES-1:0] i_rdata,
    // scratchpad ports, all to the scratchpad o_spad_sel selects
    output wire [3:0]             o_spad_sel,
    output wire                   o_spad_re,
    output wire [SPAD_AW-1:0]     o_spad_raddr,
    input  wire [8*DMA_BYTES-1:0] i_spad_rdata,   // the cycle after o_spad_re
    output wire                   o_spad_we,
    output wire [SPAD_AW-1:0]     o_spad_waddr,
    output wire [DMA_BYTES-1:0]   o_spad_wmask,
    output wire [8*DMA_BYTES-1:0] o_spad_wdata,
    input  wire                   i_spad_wgnt     // the write is taken this cycle
);
    localparam integer LB = $clog2(DMA_BYTES);
    localparam integer FW = $clog2(FIFO_DEPTH);
    localparam [31:0] WORD = DMA_BYTES;
    localparam integer LAST_LANE_I = DMA_BYTES - 1;
    localparam [LB-1:0] LAST_LANE = LAST_LANE_I[LB-1:0];
    localparam [FW:0] DEPTH = FIFO_DEPTH[FW:0];

    // the block
    reg        to_ram, fill_mode;
    reg [3:0]  spad_sel;
    reg [7:0]  fill;
    reg [31:0] row_bytes, rows_left, ram_stride;
    reg [SPAD_AW-1:0] spad_stride;
    // the beat generator: current row, and the next beat in it
    reg        gen_active, first;
    reg [31:0] row, word, last_word;    // RAM addresses (scratchpad offsets in fill mode)
    reg [SPAD_AW-1:0] spad_row, sa;
    reg [LB-1:0] lo, hi;                // first and last lane of the row in its first / last word
    // in flight: the issued beat one cycle on, and the FIFO (address: RAM word in mode 1,
    // scratchpad address otherwise)
    reg                 pend_valid;
    reg [31:0]          pend_addr;
    reg [DMA_BYTES-1:0] pend_mask;
    reg [31:0]          fifo_addr [0:FIFO_DEPTH-1];
    reg [DMA_BYTES-1:0] fifo_mask [0:FIFO_DEPTH-1];
    reg [8*DMA_BYTES-1:0] fifo_data [0:FIFO_DEPTH-1];
    reg [FW-1:0]        head, tail;
    reg [FW:0]          count, in_flight;

    // Everything combinational here depends on this unit's registers only; what the sinks'
    // ready signals decide is worked out inside the clocked block.
    wire [DMA_BYTES-1:0] ones = {DMA_BYTES{1'b1}};
    wire [DMA_BYTES-1:0] mask = (first ? ones << lo : ones) & (word == last_word ? ones >> (LAST_LANE - hi) : ones);
    wire room = in_flight != DEPTH;
    wire head_valid = count != {(FW+1){1'b0}};

    assign o_valid      = to_ram ? head_valid : (!fill_mode && gen_active && room);
    assign o_addr       = to_ram ? fifo_addr[head] : word;
    assign o_write      = to_ram;
    assign o_wstrb      = fifo_mask[head];
    assign o_wdata      = fifo_data[head];
    assign o_spad_sel   = spad_sel;
    assign o_spad_re    = to_ram && gen_active && room;
    assign o_spad_raddr = sa;
    assign o_spad_we    = head_valid && !to_ram;
    assign o_spad_waddr = fifo_addr[head][SPAD_AW-1:0];
    assign o_spad_wmask = fifo_mask[head];
    assign o_spad_wdata = fifo_data[head];

    // A row's beats: the RAM words from its first byte's to its last byte's.
    task automatic start_row(input [31:0] first_byte, input [SPAD_AW-1:0] spad_first, input [31:0] bytes);
        reg [31:0] last_byte;
        begin
            last_byte = first_byte + bytes - 32'd1;
            row       <= first_byte;
            word      <= {first_byte[31:LB], {LB{1'b0}}};
            last_word <= {last_byte[31:LB], {LB{1'b0}}};
            lo        <= first_byte[LB-1:0];
            hi        <= last_byte[LB-1:0];
            spad_row  <= spad_first;
            sa        <= spad_first - {{(SPAD_AW-LB){1'b0}}, first_byte[LB-1:0]};
            first     <= 1'b1;
        end
    endtask

    always @(posedge i_clk) begin
        if (i_rst) begin
            gen_active <= 1'b0;
            pend_valid <= 1'b0;
            head       <= {FW{1'b0}};
            tail       <= {FW{1'b0}};
            count      <= {(FW+1){1'b0}};
            in_flight  <= {(FW+1){1'b0}};
            o_busy     <= 1'b0;
        end else if (i_start) begin
            to_ram      <= i_to_ram;
            fill_mode   <= i_fill_mode;
            spad_sel    <= i_spad_sel;
            fill        <= i_fill;
            row_bytes   <= i_row_bytes;
            rows_left   <= i_rows;
            // fill mode has no RAM side: its beats follow the scratchpad's word alignment
            ram_stride  <= i_fill_mode ? {{(32-SPAD_AW){1'b0}}, i_spad_stride} : i_ram_stride;
            spad_stride <= i_spad_stride;
            gen_active  <= 1'b1;
            o_busy      <= 1'b1;
            start_row(i_fill_mode ? {{(32-SPAD_AW){1'b0}}, i_spad_off} : i_ram_addr, i_spad_off, i_row_bytes);
        end else begin : run
            reg issue, retire;
            // a beat goes out (a RAM read is taken, a scratchpad read or a fill is made), and the
            // FIFO's head is taken by its sink
            issue  = gen_active && room && (to_ram || fill_mode || i_ready);
            retire = head_valid && (to_ram ? i_ready : i_spad_wgnt);

            if (issue) begin
                if (word != last_word) begin
                    word  <= word + WORD;
                    sa    <= sa + WORD[SPAD_AW-1:0];
                    first <= 1'b0;
                end else if (rows_left != 32'd1) begin
                    rows_left <= rows_left - 32'd1;
                    start_row(row + ram_stride, spad_row + spad_stride, row_bytes);
                end else begin
                    gen_active <= 1'b0;
                end
                pend_addr <= to_ram ? word : {{(32-SPAD_AW){1'b0}}, sa};
                pend_mask <= mask;
            end
            pend_valid <= issue;

            // the issued beat's data, a cycle on, joins the FIFO
            if (pend_valid) begin
                fifo_addr[tail] <= pend_addr;
                fifo_mask[tail] <= pend_mask;
                fifo_data[tail] <= to_ram ? i_spad_rdata : fill_mode ? {DMA_BYTES{fill}} : i_rdata;
                tail <= tail + 1'b1;
            end
            if (retire)
                head <= head + 1'b1;
            count     <= count + {{FW{1'b0}}, pend_valid} - {{FW{1'b0}}, retire};
            in_flight <= in_flight + {{FW{1'b0}}, issue} - {{FW{1'b0}}, retire};
            // done when the last beat is retired
            if (retire && !gen_active && in_flight == {{FW{1'b0}}, 1'b1})
                o_busy <= 1'b0;
        end
    end
endmodule
`default_nettype wire
