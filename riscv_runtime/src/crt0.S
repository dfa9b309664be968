/* Reset and trap entry for a bare-metal rv32 hart in machine mode.
 *
 * _start is linked first at the start of RAM (link.ld), where QEMU's -kernel jumps. It sets gp,
 * sp and the trap vector, paints the stack reservation for rvtvm/stack.h, copies .data/.tdata
 * from their load address when that differs (ROM boots), zeroes .tbss/.bss, points tp at the TLS
 * block (picolibc keeps errno thread-local), runs main and hands main's return value to the
 * board's exit.
 */
#include "rvtvm/stack.h"
#include "rvtvm/wire.h"

    /* The build uses -march=rv32imc (picolibc's multilib choice); binutils 2.40 wants Zicsr
     * named for csrr/csrw, so enable it here only. */
    .option arch, +zicsr

    .section .text.start, "ax", @progbits
    .globl _start
    .type _start, @function
_start:
    /* gp must be set without relaxation, or the assembler would use gp to set gp. */
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __rvtvm_stack_top
    la t0, rvtvm_trap_entry
    csrw mtvec, t0

    /* Nothing is on the stack yet, so all of [bottom, sp) gets the paint. */
    la a0, __rvtvm_stack_bottom
    li t0, RVTVM_STACK_PAINT
.Lpaint_stack:
    bgeu a0, sp, .Lstack_painted
    sw t0, 0(a0)
    addi a0, a0, 4
    j .Lpaint_stack
.Lstack_painted:

    la a0, __rvtvm_data_start
    la a1, __rvtvm_data_load_start
    la a2, __rvtvm_data_end
    beq a0, a1, .Ldata_in_place
.Lcopy_data:
    bgeu a0, a2, .Ldata_in_place
    lw t0, 0(a1)
    sw t0, 0(a0)
    addi a0, a0, 4
    addi a1, a1, 4
    j .Lcopy_data
.Ldata_in_place:

    la a0, __rvtvm_bss_start
    la a1, __rvtvm_bss_end
.Lzero_bss:
    bgeu a0, a1, .Lbss_zeroed
    sw zero, 0(a0)
    addi a0, a0, 4
    j .Lzero_bss
.Lbss_zeroed:

    la tp, __rvtvm_tls_base
    call main
    call rvtvm_board_exit
    .size _start, . - _start

/* Every trap is fatal: there are no interrupts, and an exception means a bug. */
    .section .text.trap, "ax", @progbits
    .balign 4
    .globl rvtvm_trap_entry
    .type rvtvm_trap_entry, @function
rvtvm_trap_entry:
    /* If reporting traps in turn, fall back to a bare exit. */
    la t0, rvtvm_double_trap
    csrw mtvec, t0
    /* A fresh stack: the old sp may be the reason for the trap, and we never return. */
    la sp, __rvtvm_stack_top
    csrr a0, mcause
    csrr a1, mepc
    csrr a2, mtval
    call rvtvm_trap_report
    .size rvtvm_trap_entry, . - rvtvm_trap_entry

    .balign 4
    .type rvtvm_double_trap, @function
rvtvm_double_trap:
    la t0, rvtvm_hang
    csrw mtvec, t0
    la sp, __rvtvm_stack_top
    li a0, RVTVM_EXIT_TRAP
    call rvtvm_board_exit
    .size rvtvm_double_trap, . - rvtvm_double_trap

    /* Last resort: the host's timeout ends the run. */
    .balign 4
    .type rvtvm_hang, @function
rvtvm_hang:
    j rvtvm_hang
    .size rvtvm_hang, . - rvtvm_hang
