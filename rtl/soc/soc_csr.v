// soc_csr: the machine-mode CSRs rvtvm's crt0 touches, for PicoRV32, which has none, as a PCPI unit.
//
// PicoRV32 hands every instruction it does not decode to its co-processor interface (PCPI) and
// traps if nobody answers within 16 cycles. The firmware writes mtvec at boot and reads mcause,
// mepc and mtval only inside its trap handler, which PicoRV32 never enters (it halts on a trap
// instead, and the harness reports it). So: mtvec and mscratch are stored, misa and mhartid are
// constants, mcause/mepc/mtval read 0. Any other CSR is left unanswered, so it traps like an
// illegal instruction. rdcycle[h] and rdinstret[h] never get here: PicoRV32 decodes them itself.
//
//   instruction: csr[31:20] rs1/uimm[19:15] funct3[14:12] rd[11:7] opcode[6:0] = 1110011
//   funct3: 001 csrrw, 010 csrrs, 011 csrrc; 101/110/111 the same with uimm instead of rs1
`default_nettype none

module soc_csr (
    input  wire        i_clk,
    input  wire        i_rst,
    // PCPI
    input  wire        i_pcpi_valid,
    input  wire [31:0] i_pcpi_insn,
    input  wire [31:0] i_pcpi_rs1,
    output reg         o_pcpi_wr,
    output reg  [31:0] o_pcpi_rd,
    output wire        o_pcpi_wait,
    output reg         o_pcpi_ready
);
    localparam [6:0] OPCODE_SYSTEM = 7'b1110011;
    localparam [11:0] CSR_MISA = 12'h301, CSR_MTVEC = 12'h305, CSR_MSCRATCH = 12'h340,
                      CSR_MEPC = 12'h341, CSR_MCAUSE = 12'h342, CSR_MTVAL = 12'h343,
                      CSR_MHARTID = 12'hF14;
    // RV32 (MXL = 1), extensions C, I, M
    localparam [31:0] MISA_RV32IMC = 32'h4000_1104;

    wire [11:0] csr = i_pcpi_insn[31:20];
    wire [2:0] funct3 = i_pcpi_insn[14:12];
    wire [31:0] operand = funct3[2] ? {27'd0, i_pcpi_insn[19:15]} : i_pcpi_rs1;
    // csrrs/csrrc with x0 (or uimm 0) only read
    wire writes = funct3[1:0] == 2'b01 || i_pcpi_insn[19:15] != 5'd0;

    reg [31:0] r_mtvec, r_mscratch;
    reg known;
    reg [31:0] value;
    always @* begin
        known = 1'b1;
        case (csr)
            CSR_MISA: value = MISA_RV32IMC;
            CSR_MTVEC: value = r_mtvec;
            CSR_MSCRATCH: value = r_mscratch;
            CSR_MEPC, CSR_MCAUSE, CSR_MTVAL, CSR_MHARTID: value = 32'd0;
            default: begin
                known = 1'b0;
                value = 32'd0;
            end
        endcase
    end

    reg [31:0] updated;
    always @* begin
        case (funct3[1:0])
            2'b01: updated = operand;
            2'b10: updated = value | operand;
            default: updated = value & ~operand;
        endcase
    end

    wire is_csr_op = i_pcpi_insn[6:0] == OPCODE_SYSTEM && funct3[1:0] != 2'b00;
    wire take = i_pcpi_valid && !o_pcpi_ready && is_csr_op && known;
    assign o_pcpi_wait = 1'b0;

    always @(posedge i_clk) begin
        o_pcpi_ready <= take;
        o_pcpi_wr <= take;
        o_pcpi_rd <= value;
        if (i_rst) begin
            r_mtvec <= 32'd0;
            r_mscratch <= 32'd0;
            o_pcpi_ready <= 1'b0;
            o_pcpi_wr <= 1'b0;
        end else if (take && writes) begin
            if (csr == CSR_MTVEC) r_mtvec <= updated;
            if (csr == CSR_MSCRATCH) r_mscratch <= updated;
        end
    end
endmodule

`default_nettype wire
