// Core-comparison bench: a pythondata VexRiscv variant (Wishbone buses) on a zero-wait-state dual-port RAM, with marker and finisher ports.
`default_nettype none

/* Memory map (parameters; scripts/compare_cores.py sets them):
 *
 *   RAM_BASE    .. +RAM_BYTES   RAM; iBus and dBus each have a port, and every Wishbone cycle is
 *                               acknowledged in the cycle it starts (ACK = CYC & STB, data combinational)
 *   MARK_ADDR   + 0             region marker: pointer to the region's name opens it, 0 closes it
 *   MARK_ADDR   + 4             checksum of the region just closed
 *   FINISH_ADDR                 finisher: 0x5555 = pass, (code << 16) | 0x3333 = fail
 *
 * The variants' StaticMemoryTranslatorPlugin treats addresses with bit 31 set as I/O (uncached)
 * and all others as cacheable, so RAM must sit below 0x8000_0000 and the devices above it.
 * Device writes are reported on o_dev_*; any other access is reported on o_bad_*. The harness
 * loads the program through bench_ram_write_byte() (DPI-C) while the core is held in reset.
 *
 * o_retire is the writeback stage firing (an instruction retires this cycle), o_retire_pc its PC.
 */
module vexriscv_bench_top #(
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
    output wire        o_trap          // the core took an exception (the bench program never should)
);

    localparam RAM_WORDS = RAM_BYTES / 4;
    localparam AW = $clog2(RAM_WORDS);

    wire        ibus_cyc, ibus_stb;
    wire [29:0] ibus_adr;
    wire [31:0] ibus_dat_miso;
    wire        dbus_cyc, dbus_stb, dbus_we;
    wire [29:0] dbus_adr;
    wire [31:0] dbus_dat_mosi, dbus_dat_miso;
    wire [3:0]  dbus_sel;

    wire        unused_ibus_we;
    wire [31:0] unused_ibus_dat_mosi;
    wire [3:0]  unused_ibus_sel;
    wire [2:0]  unused_ibus_cti, unused_dbus_cti;
    wire [1:0]  unused_ibus_bte, unused_dbus_bte;

    wire ibus_ack = ibus_cyc && ibus_stb;
    wire dbus_ack = dbus_cyc && dbus_stb;

    VexRiscv u_cpu (
        .clk                    (i_clk),
        .reset                  (i_rst),
        .externalResetVector    (RAM_BASE),
        .timerInterrupt         (1'b0),
        .softwareInterrupt      (1'b0),
        .externalInterruptArray (32'd0),
        .iBusWishbone_CYC       (ibus_cyc),
        .iBusWishbone_STB       (ibus_stb),
        .iBusWishbone_ACK       (ibus_ack),
        .iBusWishbone_WE        (unused_ibus_we),
        .iBusWishbone_ADR       (ibus_adr),
        .iBusWishbone_DAT_MISO  (ibus_dat_miso),
        .iBusWishbone_DAT_MOSI  (unused_ibus_dat_mosi),
        .iBusWishbone_SEL       (unused_ibus_sel),
        .iBusWishbone_ERR       (1'b0),
        .iBusWishbone_CTI       (unused_ibus_cti),
        .iBusWishbone_BTE       (unused_ibus_bte),
        .dBusWishbone_CYC       (dbus_cyc),
        .dBusWishbone_STB       (dbus_stb),
        .dBusWishbone_ACK       (dbus_ack),
        .dBusWishbone_WE        (dbus_we),
        .dBusWishbone_ADR       (dbus_adr),
        .dBusWishbone_DAT_MISO  (dbus_dat_miso),
        .dBusWishbone_DAT_MOSI  (dbus_dat_mosi),
        .dBusWishbone_SEL       (dbus_sel),
        .dBusWishbone_ERR       (1'b0),
        .dBusWishbone_CTI       (unused_dbus_cti),
        .dBusWishbone_BTE       (unused_dbus_bte)
    );

    // ---- RAM and address decode
    reg [31:0] ram [0:RAM_WORDS-1];

    wire [31:0]   ibus_addr   = {ibus_adr, 2'b00};
    wire [31:0]   ibus_offset = ibus_addr - RAM_BASE;
    wire          ibus_hit    = ibus_offset < RAM_BYTES;
    wire [AW-1:0] ibus_word   = ibus_offset[AW+1:2];
    assign ibus_dat_miso = ibus_hit ? ram[ibus_word] : 32'd0;

    wire [31:0]   dbus_addr   = {dbus_adr, 2'b00};
    wire [31:0]   dbus_offset = dbus_addr - RAM_BASE;
    wire          dbus_hit    = dbus_offset < RAM_BYTES;
    wire [AW-1:0] dbus_word   = dbus_offset[AW+1:2];
    assign dbus_dat_miso = dbus_hit ? ram[dbus_word] : 32'd0;

    always @(posedge i_clk) begin
        if (dbus_ack && dbus_we && dbus_hit) begin
            if (dbus_sel[0]) ram[dbus_word][7:0]   <= dbus_dat_mosi[7:0];
            if (dbus_sel[1]) ram[dbus_word][15:8]  <= dbus_dat_mosi[15:8];
            if (dbus_sel[2]) ram[dbus_word][23:16] <= dbus_dat_mosi[23:16];
            if (dbus_sel[3]) ram[dbus_word][31:24] <= dbus_dat_mosi[31:24];
        end
    end

    wire dev_hit = dbus_addr == MARK_ADDR || dbus_addr == MARK_ADDR + 32'd4 || dbus_addr == FINISH_ADDR;
    wire dev_ok  = dev_hit && dbus_we && dbus_sel == 4'b1111;

    assign o_dev_write  = dbus_ack && dev_ok;
    assign o_dev_sel    = dbus_addr == MARK_ADDR ? 2'd0 : dbus_addr == FINISH_ADDR ? 2'd2 : 2'd1;
    assign o_dev_wdata  = dbus_dat_mosi;
    assign o_bad_access = (dbus_ack && !dbus_hit && !dev_ok) || (ibus_ack && !ibus_hit);
    assign o_bad_addr   = dbus_ack && !dbus_hit && !dev_ok ? dbus_addr : ibus_addr;

    // ---- Retirement and exceptions, from signals every GenCoreDefault variant has
    assign o_retire    = u_cpu.writeBack_arbitration_isFiring;
    assign o_retire_pc = u_cpu.writeBack_PC;
    assign o_trap      = u_cpu.CsrPlugin_hadException;

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
