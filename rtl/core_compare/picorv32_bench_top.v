// Core-comparison bench: PicoRV32 in its SoC configuration on a zero-wait-state RAM, with marker and finisher ports.
`default_nettype none

/* Memory map (parameters; scripts/compare_cores.py sets them):
 *
 *   RAM_BASE    .. +RAM_BYTES   RAM, read and written in the cycle of the request (mem_ready = mem_valid)
 *   MARK_ADDR   + 0             region marker: pointer to the region's name opens it, 0 closes it
 *   MARK_ADDR   + 4             checksum of the region just closed
 *   FINISH_ADDR                 finisher: 0x5555 = pass, (code << 16) | 0x3333 = fail
 *
 * Device writes are reported on o_dev_*; any other access is reported on o_bad_*. The harness
 * loads the program through bench_ram_write_byte() (DPI-C) while the core is held in reset.
 *
 * o_retire pulses once for each instruction, in the cycle after PicoRV32 counts it in its
 * instret counter (it counts at decode; the core executes one instruction at a time), with
 * o_retire_pc the instruction's address.
 */
module picorv32_bench_top #(
    parameter [31:0] RAM_BASE    = 32'h4000_0000,
    parameter [31:0] RAM_BYTES   = 32'h0004_0000,
    parameter [31:0] MARK_ADDR   = 32'hF020_0000,
    parameter [31:0] FINISH_ADDR = 32'hF010_0000
) (
    input  wire        i_clk,
    input  wire        i_rst,

    output wire        o_retire,
    output wire [31:0] o_retire_pc,

    output wire        o_dev_write,    // a write to the marker or finisher this cycle
    output wire [1:0]  o_dev_sel,      // 0 marker, 1 checksum, 2 finisher
    output wire [31:0] o_dev_wdata,

    output wire        o_bad_access,   // an access to no device and outside RAM this cycle
    output wire [31:0] o_bad_addr,
    output wire        o_trap          // PicoRV32 stopped (illegal instruction, misaligned access)
);

    localparam RAM_WORDS = RAM_BYTES / 4;
    localparam AW = $clog2(RAM_WORDS);

    wire        mem_valid;
    wire [31:0] mem_addr;
    wire [31:0] mem_wdata;
    wire [3:0]  mem_wstrb;
    wire [31:0] mem_rdata;

    wire        unused_la_read, unused_la_write, unused_mem_instr;
    wire [31:0] unused_la_addr, unused_la_wdata;
    wire [3:0]  unused_la_wstrb;
    wire        unused_pcpi_valid;
    wire [31:0] unused_pcpi_insn, unused_pcpi_rs1, unused_pcpi_rs2, unused_eoi;
    wire        unused_trace_valid;
    wire [35:0] unused_trace_data;

    picorv32 #(
        .ENABLE_COUNTERS   (1),
        .ENABLE_COUNTERS64 (1),
        .ENABLE_FAST_MUL   (1),
        .ENABLE_DIV        (1),
        .BARREL_SHIFTER    (1),
        .COMPRESSED_ISA    (1),
        .PROGADDR_RESET    (RAM_BASE)
    ) u_cpu (
        .clk          (i_clk),
        .resetn       (!i_rst),
        .trap         (o_trap),
        .mem_valid    (mem_valid),
        .mem_instr    (unused_mem_instr),
        .mem_ready    (mem_valid),
        .mem_addr     (mem_addr),
        .mem_wdata    (mem_wdata),
        .mem_wstrb    (mem_wstrb),
        .mem_rdata    (mem_rdata),
        .mem_la_read  (unused_la_read),
        .mem_la_write (unused_la_write),
        .mem_la_addr  (unused_la_addr),
        .mem_la_wdata (unused_la_wdata),
        .mem_la_wstrb (unused_la_wstrb),
        .pcpi_valid   (unused_pcpi_valid),
        .pcpi_insn    (unused_pcpi_insn),
        .pcpi_rs1     (unused_pcpi_rs1),
        .pcpi_rs2     (unused_pcpi_rs2),
        .pcpi_wr      (1'b0),
        .pcpi_rd      (32'd0),
        .pcpi_wait    (1'b0),
        .pcpi_ready   (1'b0),
        .irq          (32'd0),
        .eoi          (unused_eoi),
        .trace_valid  (unused_trace_valid),
        .trace_data   (unused_trace_data)
    );

    // ---- RAM and address decode
    reg [31:0] ram [0:RAM_WORDS-1];

    wire [31:0] ram_offset = mem_addr - RAM_BASE;
    wire        ram_hit    = ram_offset < RAM_BYTES;
    wire [AW-1:0] ram_word = ram_offset[AW+1:2];
    wire        dev_hit    = mem_addr == MARK_ADDR || mem_addr == MARK_ADDR + 32'd4 || mem_addr == FINISH_ADDR;

    assign mem_rdata = ram_hit ? ram[ram_word] : 32'd0;

    always @(posedge i_clk) begin
        if (mem_valid && ram_hit) begin
            if (mem_wstrb[0]) ram[ram_word][7:0]   <= mem_wdata[7:0];
            if (mem_wstrb[1]) ram[ram_word][15:8]  <= mem_wdata[15:8];
            if (mem_wstrb[2]) ram[ram_word][23:16] <= mem_wdata[23:16];
            if (mem_wstrb[3]) ram[ram_word][31:24] <= mem_wdata[31:24];
        end
    end

    assign o_dev_write  = mem_valid && dev_hit && mem_wstrb == 4'b1111;
    assign o_dev_sel    = mem_addr == MARK_ADDR ? 2'd0 : mem_addr == FINISH_ADDR ? 2'd2 : 2'd1;
    assign o_dev_wdata  = mem_wdata;
    assign o_bad_access = mem_valid && !ram_hit && !(dev_hit && mem_wstrb == 4'b1111);
    assign o_bad_addr   = mem_addr;

    // ---- Retirement, from the core's own instruction counter
    reg [31:0] instret_q;
    always @(posedge i_clk) instret_q <= u_cpu.count_instr[31:0];
    assign o_retire    = u_cpu.count_instr[31:0] != instret_q;
    assign o_retire_pc = u_cpu.reg_pc;

    // ---- Program loading (DPI-C); returns 0 if addr is outside RAM
    export "DPI-C" function bench_ram_write_byte;
    function automatic bit bench_ram_write_byte(input int unsigned addr, input byte unsigned value);
        reg [31:0] offset;
        offset = addr - RAM_BASE;
        if (offset >= RAM_BYTES) return 1'b0;
        ram[offset[AW+1:2]][offset[1:0]*8 +: 8] = value;
        return 1'b1;
    endfunction

    export "DPI-C" function bench_ram_read_byte;
    function automatic byte unsigned bench_ram_read_byte(input int unsigned addr);
        reg [31:0] offset;
        offset = addr - RAM_BASE;
        if (offset >= RAM_BYTES) return 8'd0;
        return ram[offset[AW+1:2]][offset[1:0]*8 +: 8];
    endfunction

endmodule

`default_nettype wire
