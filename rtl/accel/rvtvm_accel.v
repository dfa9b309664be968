// rvtvm's int8 tensor accelerator: registers, DMA, four scratchpads and the compute engine.
`default_nettype none

// The contract (what a pass computes, the DMA, the register map) is rtl/README.md, "Accelerator".
// ROWS, COLS, DMA_BYTES, the scratchpad sizes and PARAM_CHANNELS must be powers of two (the
// tests cover the default parameters).
//
//   accel_regs    register port, settings, start checks, STATUS, busy-cycle counters
//   accel_dma     2-D blocks between RAM and a scratchpad, and fills
//   accel_engine  the pass: step generator, MAC array, parameter loader, requantizers; or an
//                 add pass (accel_add), ADD_LANES = min(ROWS, COLS) elements per cycle
//   accel_spad    x4: input, weight, output and param scratchpads
//
// Scratchpad ports (a scratchpad has one write port and two read ports, A and B):
//   scratchpad  write                       read A   read B
//   input       DMA                         DMA      engine, ROWS bytes at any address
//   weight      DMA                         DMA      engine, ROWS*COLS bytes from a multiple of 8
//                                                    (a weight word, or an add pass's b bytes)
//   output      engine, else DMA (waits)    DMA      unused
//   param       DMA                         DMA      engine, one 16-byte entry
//
// Everything but the registers runs on a gated clock that stops while neither the DMA nor the
// engine is busy: an idle accelerator's logic is not even evaluated by a Verilated model. The
// gate samples its enable on falling edges, so hold i_rst for at least two cycles after power-up.
module rvtvm_accel #(
    parameter integer ROWS = 8, COLS = 8,          // array: ROWS reduction lanes x COLS output lanes
    parameter integer DMA_BYTES = 32,              // DMA / RAM port width in bytes (power of 2)
    parameter integer IN_SPAD_BYTES = 65536, W_SPAD_BYTES = 65536, OUT_SPAD_BYTES = 65536,
    parameter integer PARAM_CHANNELS = 512,        // param scratchpad entries, 16 B each
    parameter [31:0] RAM_BASE = 32'h8000_0000,
    parameter [31:0] RAM_BYTES = 32'h0010_0000
) (
    input  wire i_clk,
    input  wire i_rst,                 // synchronous, active high
    // Register port (PicoRV32 native-bus style). A request holds i_reg_valid (and its address/
    // data) until o_reg_ready; o_reg_ready is a one-cycle pulse, with o_reg_rdata valid in that cycle.
    // i_reg_wstrb == 0 is a read; any nonzero strobe writes the whole word.
    input  wire        i_reg_valid,
    input  wire [11:0] i_reg_addr,     // byte offset, word aligned
    input  wire [31:0] i_reg_wdata,
    input  wire [3:0]  i_reg_wstrb,
    output wire        o_reg_ready,
    output wire [31:0] o_reg_rdata,
    // DMA master to RAM: a request is taken when o_dma_valid && i_dma_ready. o_dma_addr is
    // DMA_BYTES-aligned. A read's data is on i_dma_rdata in the cycle AFTER it was taken; a new
    // request may be issued in that cycle (so reads can stream one word per cycle).
    output wire                   o_dma_valid,
    output wire [31:0]            o_dma_addr,
    output wire                   o_dma_write,
    output wire [DMA_BYTES-1:0]   o_dma_wstrb,
    output wire [8*DMA_BYTES-1:0] o_dma_wdata,
    input  wire                   i_dma_ready,
    input  wire [8*DMA_BYTES-1:0] i_dma_rdata
);
    localparam integer WORD_BYTES = ROWS * COLS;     // a weight word
    localparam integer PARAM_BYTES = 16 * PARAM_CHANNELS;
    localparam integer IAW = $clog2(IN_SPAD_BYTES);
    localparam integer WAW = $clog2(W_SPAD_BYTES);
    localparam integer OAW = $clog2(OUT_SPAD_BYTES);
    localparam integer PBW = $clog2(PARAM_BYTES);    // param scratchpad byte address bits
    localparam integer PAW = $clog2(PARAM_CHANNELS); // param entry bits
    localparam integer SPAD_AW = (IAW > WAW ? IAW : WAW) > (OAW > PBW ? OAW : PBW)
                                 ? (IAW > WAW ? IAW : WAW) : (OAW > PBW ? OAW : PBW);
    localparam integer OUT_LANES = COLS > DMA_BYTES ? COLS : DMA_BYTES;  // the output write port
    localparam integer SPAD_IN = 0, SPAD_W = 1, SPAD_OUT = 2, SPAD_P = 3;  // DMA scratchpad ids
    localparam integer ADD_LANES = ROWS < COLS ? ROWS : COLS;
    // The weight port reads aligned words unless they are not whole 8-byte words, or too few to
    // hold an add beat at any offset in its first 8 bytes (accel_add).
    localparam integer W_ALIGNED = WORD_BYTES % 8 == 0 && WORD_BYTES >= (ADD_LANES + 14) / 8 * 8 ? 1 : 0;

    // ---- registers
    wire                dma_start, dma_busy, eng_start, eng_busy;
    wire [31:0]         dma_ram_addr, dma_row_bytes, dma_rows, dma_ram_stride;
    wire [3:0]          dma_spad_sel_cfg;
    wire                dma_to_ram, dma_fill_mode;
    wire [SPAD_AW-1:0]  dma_spad_off, dma_spad_stride;
    wire [7:0]          dma_fill;
    wire [IAW-1:0]      in_base, in_row_stride, in_pixel_step, in_row_step, tap_col_step, group_in_step;
    wire [31:0]         tap_rows, tap_cols, out_w, out_h, channels;
    wire [WAW-1:0]      w_base;
    wire [PAW-1:0]      p_base;
    wire [OAW-1:0]      out_base, out_pixel_stride, out_row_stride;
    wire [9:0]          in_offset;
    wire [7:0]          out_offset, act_min, act_max;
    wire                add_start;
    wire [31:0]         elt_count, add_a_mult, add_b_mult, add_out_mult;
    wire [4:0]          add_left_shift;
    wire [9:0]          add_a_offset, add_b_offset;
    wire [5:0]          add_a_shift, add_b_shift, add_out_shift;

    accel_regs #(
        .ROWS(ROWS), .COLS(COLS), .DMA_BYTES(DMA_BYTES), .IN_SPAD_BYTES(IN_SPAD_BYTES),
        .W_SPAD_BYTES(W_SPAD_BYTES), .OUT_SPAD_BYTES(OUT_SPAD_BYTES), .PARAM_CHANNELS(PARAM_CHANNELS),
        .RAM_BASE(RAM_BASE), .RAM_BYTES(RAM_BYTES), .SPAD_AW(SPAD_AW)
    ) regs (
        .i_clk(i_clk), .i_rst(i_rst),
        .i_reg_valid(i_reg_valid), .i_reg_addr(i_reg_addr), .i_reg_wdata(i_reg_wdata),
        .i_reg_wstrb(i_reg_wstrb), .o_reg_ready(o_reg_ready), .o_reg_rdata(o_reg_rdata),
        .o_dma_start(dma_start), .o_dma_ram_addr(dma_ram_addr), .o_dma_spad_sel(dma_spad_sel_cfg),
        .o_dma_spad_off(dma_spad_off), .o_dma_row_bytes(dma_row_bytes), .o_dma_rows(dma_rows),
        .o_dma_ram_stride(dma_ram_stride), .o_dma_spad_stride(dma_spad_stride), .o_dma_to_ram(dma_to_ram),
        .o_dma_fill_mode(dma_fill_mode),
        .o_dma_fill(dma_fill), .i_dma_busy(dma_busy),
        .o_eng_start(eng_start), .o_in_base(in_base), .o_in_row_stride(in_row_stride),
        .o_in_pixel_step(in_pixel_step), .o_in_row_step(in_row_step), .o_tap_col_step(tap_col_step),
        .o_group_in_step(group_in_step), .o_tap_rows(tap_rows), .o_tap_cols(tap_cols), .o_out_w(out_w),
        .o_out_h(out_h), .o_channels(channels), .o_w_base(w_base), .o_p_base(p_base),
        .o_out_base(out_base), .o_out_pixel_stride(out_pixel_stride), .o_out_row_stride(out_row_stride),
        .o_in_offset(in_offset), .o_out_offset(out_offset), .o_act_min(act_min), .o_act_max(act_max),
        .o_add_start(add_start), .o_elt_count(elt_count), .o_add_left_shift(add_left_shift),
        .o_add_a_offset(add_a_offset), .o_add_a_mult(add_a_mult), .o_add_a_shift(add_a_shift),
        .o_add_b_offset(add_b_offset), .o_add_b_mult(add_b_mult), .o_add_b_shift(add_b_shift),
        .o_add_out_mult(add_out_mult), .o_add_out_shift(add_out_shift),
        .i_eng_busy(eng_busy)
    );

    // ---- clock: the DMA, the engine and the scratchpads only get edges while a unit works (or
    // starts, or the accelerator is reset); the registers see every edge. One gated clock rather
    // than one per unit: a Verilated model pays per clock for its scheduling.
    wire work_clk;

    accel_clock_gate work_gate (
        .i_clk(i_clk), .i_enable(dma_busy || dma_start || eng_busy || eng_start || add_start || i_rst),
        .o_clk(work_clk)
    );

    // ---- DMA
    wire [3:0]               dma_spad;      // one-hot: input, weight, output, param
    wire                     dma_re, dma_we, dma_wgnt;
    wire [SPAD_AW-1:0]       dma_raddr, dma_waddr;
    wire [DMA_BYTES-1:0]     dma_wmask;
    wire [8*DMA_BYTES-1:0]   dma_wdata;
    reg  [8*DMA_BYTES-1:0]   dma_rdata;

    accel_dma #(.DMA_BYTES(DMA_BYTES), .SPAD_AW(SPAD_AW)) dma (
        .i_clk(work_clk), .i_rst(i_rst),
        .i_start(dma_start), .i_ram_addr(dma_ram_addr), .i_spad_sel(dma_spad_sel_cfg),
        .i_spad_off(dma_spad_off), .i_row_bytes(dma_row_bytes), .i_rows(dma_rows),
        .i_ram_stride(dma_ram_stride), .i_spad_stride(dma_spad_stride), .i_to_ram(dma_to_ram), .i_fill_mode(dma_fill_mode),
        .i_fill(dma_fill), .o_busy(dma_busy),
        .o_valid(o_dma_valid), .o_addr(o_dma_addr), .o_write(o_dma_write), .o_wstrb(o_dma_wstrb),
        .o_wdata(o_dma_wdata), .i_ready(i_dma_ready), .i_rdata(i_dma_rdata),
        .o_spad_sel(dma_spad), .o_spad_re(dma_re), .o_spad_raddr(dma_raddr), .i_spad_rdata(dma_rdata),
        .o_spad_we(dma_we), .o_spad_waddr(dma_waddr), .o_spad_wmask(dma_wmask), .o_spad_wdata(dma_wdata),
        .i_spad_wgnt(dma_wgnt)
    );

    // ---- engine
    wire                     eng_in_re, eng_w_re, eng_p_re, eng_out_we;
    wire [IAW-1:0]           eng_in_addr;
    wire [WAW-1:0]           eng_w_addr;
    wire [PAW-1:0]           eng_p_entry;
    wire [OAW-1:0]           eng_out_addr;
    wire [COLS-1:0]          eng_out_mask;
    wire [8*COLS-1:0]        eng_out_data;
    wire [8*ROWS-1:0]        in_b_data;
    wire [8*WORD_BYTES-1:0]  w_b_data;
    wire [127:0]             p_b_data;

    accel_engine #(.ROWS(ROWS), .COLS(COLS), .IAW(IAW), .WAW(WAW), .OAW(OAW), .PAW(PAW),
                   .ADD_LANES(ADD_LANES), .W_ALIGNED(W_ALIGNED)) engine (
        .i_clk(work_clk), .i_rst(i_rst), .i_start(eng_start),
        .i_in_base(in_base), .i_in_row_stride(in_row_stride), .i_in_pixel_step(in_pixel_step),
        .i_in_row_step(in_row_step), .i_tap_col_step(tap_col_step), .i_group_in_step(group_in_step),
        .i_tap_rows(tap_rows), .i_tap_cols(tap_cols), .i_out_w(out_w), .i_out_h(out_h),
        .i_channels(channels), .i_w_base(w_base), .i_p_base(p_base), .i_out_base(out_base),
        .i_out_pixel_stride(out_pixel_stride), .i_out_row_stride(out_row_stride),
        .i_in_offset(in_offset), .i_out_offset(out_offset), .i_act_min(act_min), .i_act_max(act_max),
        .i_add_start(add_start), .i_elt_count(elt_count), .i_add_left_shift(add_left_shift),
        .i_add_a_offset(add_a_offset), .i_add_a_mult(add_a_mult), .i_add_a_shift(add_a_shift),
        .i_add_b_offset(add_b_offset), .i_add_b_mult(add_b_mult), .i_add_b_shift(add_b_shift),
        .i_add_out_mult(add_out_mult), .i_add_out_shift(add_out_shift),
        .o_busy(eng_busy),
        .o_in_re(eng_in_re), .o_in_addr(eng_in_addr), .i_in_data(in_b_data),
        .o_w_re(eng_w_re), .o_w_addr(eng_w_addr), .i_w_data(w_b_data),
        .o_p_re(eng_p_re), .o_p_entry(eng_p_entry), .i_p_data(p_b_data),
        .o_out_we(eng_out_we), .o_out_addr(eng_out_addr), .o_out_mask(eng_out_mask),
        .o_out_data(eng_out_data)
    );

    // ---- scratchpads
    wire [8*DMA_BYTES-1:0] in_a_data, w_a_data, out_a_data, p_a_data;

    // (the DMA's scratchpad stays the same for a whole block)
    always @* begin
        if (dma_spad[SPAD_IN])
            dma_rdata = in_a_data;
        else if (dma_spad[SPAD_W])
            dma_rdata = w_a_data;
        else if (dma_spad[SPAD_OUT])
            dma_rdata = out_a_data;
        else
            dma_rdata = p_a_data;
    end

    accel_spad #(.BYTES(IN_SPAD_BYTES), .W_LANES(DMA_BYTES), .A_LANES(DMA_BYTES), .B_LANES(ROWS),
                 .B_ALIGNED(0)) in_spad (
        .i_clk(work_clk),
        .i_we(dma_we && dma_spad[SPAD_IN]), .i_waddr(dma_waddr[IAW-1:0]), .i_wmask(dma_wmask),
        .i_wdata(dma_wdata),
        .i_a_re(dma_re && dma_spad[SPAD_IN]), .i_a_addr(dma_raddr[IAW-1:0]), .o_a_data(in_a_data),
        .i_b_re(eng_in_re), .i_b_addr(eng_in_addr), .o_b_data(in_b_data)
    );

    accel_spad #(.BYTES(W_SPAD_BYTES), .W_LANES(DMA_BYTES), .A_LANES(DMA_BYTES), .B_LANES(WORD_BYTES),
                 .B_ALIGNED(W_ALIGNED)) w_spad (
        .i_clk(work_clk),
        .i_we(dma_we && dma_spad[SPAD_W]), .i_waddr(dma_waddr[WAW-1:0]), .i_wmask(dma_wmask),
        .i_wdata(dma_wdata),
        .i_a_re(dma_re && dma_spad[SPAD_W]), .i_a_addr(dma_raddr[WAW-1:0]), .o_a_data(w_a_data),
        .i_b_re(eng_w_re), .i_b_addr(eng_w_addr), .o_b_data(w_b_data)
    );

    // The output scratchpad's write port: the engine's writes go first, the DMA's wait.
    function automatic [OUT_LANES-1:0] out_lanes_mask(input [COLS-1:0] from_eng, input [DMA_BYTES-1:0] from_dma,
                                                      input eng_first);
        begin
            out_lanes_mask = {OUT_LANES{1'b0}};
            if (eng_first)
                out_lanes_mask[COLS-1:0] = from_eng;
            else
                out_lanes_mask[DMA_BYTES-1:0] = from_dma;
        end
    endfunction

    function automatic [8*OUT_LANES-1:0] out_lanes_data(input [8*COLS-1:0] from_eng,
                                                        input [8*DMA_BYTES-1:0] from_dma, input eng_first);
        begin
            out_lanes_data = {8*OUT_LANES{1'b0}};
            if (eng_first)
                out_lanes_data[8*COLS-1:0] = from_eng;
            else
                out_lanes_data[8*DMA_BYTES-1:0] = from_dma;
        end
    endfunction

    wire dma_out_we = dma_we && dma_spad[SPAD_OUT];
    wire [63:0] out_b_unused;
    assign dma_wgnt = !(dma_spad[SPAD_OUT] && eng_out_we);

    accel_spad #(.BYTES(OUT_SPAD_BYTES), .W_LANES(OUT_LANES), .A_LANES(DMA_BYTES), .B_LANES(8),
                 .B_ALIGNED(0)) out_spad (
        .i_clk(work_clk),
        .i_we(eng_out_we || dma_out_we), .i_waddr(eng_out_we ? eng_out_addr : dma_waddr[OAW-1:0]),
        .i_wmask(out_lanes_mask(eng_out_mask, dma_wmask, eng_out_we)),
        .i_wdata(out_lanes_data(eng_out_data, dma_wdata, eng_out_we)),
        .i_a_re(dma_re && dma_spad[SPAD_OUT]), .i_a_addr(dma_raddr[OAW-1:0]), .o_a_data(out_a_data),
        .i_b_re(1'b0), .i_b_addr({OAW{1'b0}}), .o_b_data(out_b_unused)
    );

    accel_spad #(.BYTES(PARAM_BYTES), .W_LANES(DMA_BYTES), .A_LANES(DMA_BYTES), .B_LANES(16),
                 .B_ALIGNED(1)) p_spad (
        .i_clk(work_clk),
        .i_we(dma_we && dma_spad[SPAD_P]), .i_waddr(dma_waddr[PBW-1:0]), .i_wmask(dma_wmask),
        .i_wdata(dma_wdata),
        .i_a_re(dma_re && dma_spad[SPAD_P]), .i_a_addr(dma_raddr[PBW-1:0]), .o_a_data(p_a_data),
        .i_b_re(eng_p_re), .i_b_addr({eng_p_entry, 4'b0000}), .o_b_data(p_b_data)
    );
endmodule
`default_nettype wire
