// rvtvm_soc: PicoRV32, RAM, UART, finisher and the int8 accelerator, at QEMU virt's addresses.
//
// Memory map (rtl/README.md): finisher 0x0010_0000, UART 0x1000_0000, accelerator registers
// 0x1100_0000 (4 KiB), RAM 0x8000_0000 (RAM_BYTES). The CPU boots at the start of RAM, where the
// harness has loaded the firmware. An access anywhere else is a firmware bug that QEMU would
// trap on; PicoRV32 cannot take a bus fault, so the SoC reports it on o_fault and the harness
// stops the simulation.
`default_nettype none

module rvtvm_soc #(
    parameter integer RAM_BYTES = 1 << 20,
    parameter integer DMA_BYTES = 32,
    parameter integer ACCEL_ROWS = 8,
    parameter integer ACCEL_COLS = 8,
    parameter integer UART_TX_CYCLES_PER_BYTE = 8
) (
    input  wire        i_clk,
    input  wire        i_rst,
    // UART link to the harness (soc_uart.v)
    output wire        o_uart_tx_valid,
    output wire [7:0]  o_uart_tx_byte,
    input  wire        i_uart_rx_valid,
    input  wire [7:0]  i_uart_rx_byte,
    output wire        o_uart_rx_ready,
    // the end of the run
    output reg         o_finish,        // the finisher was written; o_finish_value holds what
    output reg  [31:0] o_finish_value,
    output wire        o_trap,          // PicoRV32 halted: illegal instruction, ebreak/ecall or misalignment
    output reg         o_fault,         // an access outside the memory map, at o_fault_addr
    output reg  [31:0] o_fault_addr
);
    localparam [31:0] RAM_BASE = 32'h8000_0000;
    localparam [31:0] UART_BASE = 32'h1000_0000;
    localparam [31:0] FINISHER_ADDR = 32'h0010_0000;
    localparam [31:0] ACCEL_BASE = 32'h1100_0000;

    // ---- CPU ----
    wire        mem_valid, mem_instr, mem_la_read;
    wire        mem_ready;
    wire [31:0] mem_addr, mem_wdata, mem_rdata, mem_la_addr;
    wire [3:0]  mem_wstrb;
    wire        pcpi_valid, pcpi_wr, pcpi_wait, pcpi_ready;
    wire [31:0] pcpi_insn, pcpi_rs1, pcpi_rs2, pcpi_rd;

    picorv32 #(
        .COMPRESSED_ISA(1),
        .ENABLE_FAST_MUL(1),
        .ENABLE_DIV(1),
        .ENABLE_PCPI(1),          // soc_csr answers the CSR instructions PicoRV32 lacks
        .BARREL_SHIFTER(1),
        .ENABLE_COUNTERS(1),
        .ENABLE_COUNTERS64(1),    // rdcycle[h]/rdinstret[h]: the firmware's cycle counter
        .CATCH_MISALIGN(1),
        .CATCH_ILLINSN(1),
        .ENABLE_REGS_DUALPORT(1),
        .PROGADDR_RESET(RAM_BASE)
    ) cpu (
        .clk(i_clk), .resetn(!i_rst), .trap(o_trap),
        .mem_valid(mem_valid), .mem_instr(mem_instr), .mem_ready(mem_ready),
        .mem_addr(mem_addr), .mem_wdata(mem_wdata), .mem_wstrb(mem_wstrb), .mem_rdata(mem_rdata),
        .mem_la_read(mem_la_read), .mem_la_write(), .mem_la_addr(mem_la_addr), .mem_la_wdata(),
        .mem_la_wstrb(),
        .pcpi_valid(pcpi_valid), .pcpi_insn(pcpi_insn), .pcpi_rs1(pcpi_rs1), .pcpi_rs2(pcpi_rs2),
        .pcpi_wr(pcpi_wr), .pcpi_rd(pcpi_rd), .pcpi_wait(pcpi_wait), .pcpi_ready(pcpi_ready),
        .irq(32'd0), .eoi(),
        .trace_valid(), .trace_data()
    );

    soc_csr machine_csrs (
        .i_clk(i_clk), .i_rst(i_rst),
        .i_pcpi_valid(pcpi_valid), .i_pcpi_insn(pcpi_insn), .i_pcpi_rs1(pcpi_rs1),
        .o_pcpi_wr(pcpi_wr), .o_pcpi_rd(pcpi_rd), .o_pcpi_wait(pcpi_wait), .o_pcpi_ready(pcpi_ready)
    );

    // ---- address decode ----
    wire [31:0] ram_offset = mem_addr - RAM_BASE;
    wire sel_ram = mem_addr >= RAM_BASE && ram_offset < RAM_BYTES;
    wire sel_uart = mem_addr[31:3] == UART_BASE[31:3];
    wire sel_finisher = mem_addr[31:2] == FINISHER_ADDR[31:2];
    wire sel_accel = mem_addr[31:12] == ACCEL_BASE[31:12];
    wire sel_none = !(sel_ram || sel_uart || sel_finisher || sel_accel);

    wire        ram_ready, uart_ready, accel_ready;
    wire [31:0] ram_rdata, uart_rdata, accel_rdata;
    reg         r_other_ready;

    assign mem_ready = ram_ready || uart_ready || accel_ready || r_other_ready;
    assign mem_rdata = sel_ram ? ram_rdata : sel_uart ? uart_rdata : sel_accel ? accel_rdata : 32'd0;

    // The finisher and unmapped addresses answer in one cycle, like RAM.
    always @(posedge i_clk) begin
        r_other_ready <= mem_valid && !r_other_ready && (sel_finisher || sel_none) && !i_rst;
        o_finish <= mem_valid && !r_other_ready && sel_finisher && |mem_wstrb && !i_rst;
        o_finish_value <= mem_wdata;
        o_fault <= mem_valid && !r_other_ready && sel_none && !i_rst;
        o_fault_addr <= mem_addr;
    end

    // ---- RAM, shared with the accelerator's DMA ----
    wire                   dma_valid, dma_write;
    wire [31:0]            dma_addr;
    wire [DMA_BYTES-1:0]   dma_wstrb;
    wire [8*DMA_BYTES-1:0] dma_wdata, dma_rdata;
    wire [31:0]            dma_offset = dma_addr - RAM_BASE;

    soc_ram #(.RAM_BYTES(RAM_BYTES), .DMA_BYTES(DMA_BYTES)) ram (
        .i_clk(i_clk),
        .i_cpu_la_read(mem_la_read), .i_cpu_la_addr(mem_la_addr - RAM_BASE),
        .i_cpu_valid(mem_valid && sel_ram), .i_cpu_addr(ram_offset), .i_cpu_wdata(mem_wdata),
        .i_cpu_wstrb(mem_wstrb), .o_cpu_ready(ram_ready), .o_cpu_rdata(ram_rdata),
        .i_dma_valid(dma_valid), .i_dma_addr(dma_offset), .i_dma_write(dma_write),
        .i_dma_wstrb(dma_wstrb), .i_dma_wdata(dma_wdata), .o_dma_rdata(dma_rdata)
    );

    // ---- UART ----
    soc_uart #(.TX_CYCLES_PER_BYTE(UART_TX_CYCLES_PER_BYTE)) uart (
        .i_clk(i_clk), .i_rst(i_rst),
        .i_valid(mem_valid && sel_uart), .i_addr_word(mem_addr[2]), .i_wdata(mem_wdata),
        .i_wstrb(mem_wstrb), .o_ready(uart_ready), .o_rdata(uart_rdata),
        .o_tx_valid(o_uart_tx_valid), .o_tx_byte(o_uart_tx_byte),
        .i_rx_valid(i_uart_rx_valid), .i_rx_byte(i_uart_rx_byte), .o_rx_ready(o_uart_rx_ready)
    );

    // ---- accelerator ----
    rvtvm_accel #(
        .ROWS(ACCEL_ROWS), .COLS(ACCEL_COLS), .DMA_BYTES(DMA_BYTES),
        .RAM_BASE(RAM_BASE), .RAM_BYTES(RAM_BYTES)
    ) accel (
        .i_clk(i_clk), .i_rst(i_rst),
        .i_reg_valid(mem_valid && sel_accel), .i_reg_addr(mem_addr[11:0]), .i_reg_wdata(mem_wdata),
        .i_reg_wstrb(mem_wstrb), .o_reg_ready(accel_ready), .o_reg_rdata(accel_rdata),
        .o_dma_valid(dma_valid), .o_dma_addr(dma_addr), .o_dma_write(dma_write),
        .o_dma_wstrb(dma_wstrb), .o_dma_wdata(dma_wdata),
        .i_dma_ready(1'b1), .i_dma_rdata(dma_rdata)
    );

endmodule

`default_nettype wire
