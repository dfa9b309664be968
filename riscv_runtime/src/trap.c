/* Trap report and panic (see rvtvm/trap.h). */
#include "rvtvm/trap.h"

#include "rvtvm/board.h"
#include "rvtvm/log.h"
#include "rvtvm/wire.h"

_Noreturn void rvtvm_trap_report(uint32_t mcause, uint32_t mepc, uint32_t mtval) {
  rvtvm_log_str("TRAP mcause=");
  rvtvm_log_hex_u32(mcause);
  rvtvm_log_str(" mepc=");
  rvtvm_log_hex_u32(mepc);
  rvtvm_log_str(" mtval=");
  rvtvm_log_hex_u32(mtval);
  rvtvm_log_end_line();
  rvtvm_board_exit(RVTVM_EXIT_TRAP);
}

_Noreturn void rvtvm_panic(const char* reason) {
  rvtvm_log_str("PANIC ");
  rvtvm_log_str(reason);
  rvtvm_log_end_line();
  rvtvm_board_exit(RVTVM_EXIT_PANIC);
}
