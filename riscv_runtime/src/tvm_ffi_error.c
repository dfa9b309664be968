/* TVMFFIErrorSetRaisedFromCStrParts: how generated code reports a failed check (argument type,
 * shape, a failed allocation) before it returns -1. There is no error object on a bare-metal
 * target, so the message goes to the UART log and the error is counted. */
#include <stdint.h>

#include "rvtvm/log.h"
#include "rvtvm/tvm_backend.h"

#if defined(__has_include)
#if __has_include(<tvm/ffi/c_api.h>)
/* Makes the compiler check our definition against TVM's own declaration. */
#include <tvm/ffi/c_api.h>
#endif
#endif

static uint32_t raised_count;

/* TVM messages may span lines; the host reads one log line per error. */
static void log_on_one_line(const char* text) {
  char chunk[33];
  uint32_t count = 0;
  for (; *text != '\0'; ++text) {
    chunk[count++] = (*text == '\n' || *text == '\r') ? ' ' : *text;
    if (count == sizeof chunk - 1) {
      chunk[count] = '\0';
      rvtvm_log_str(chunk);
      count = 0;
    }
  }
  chunk[count] = '\0';
  rvtvm_log_str(chunk);
}

void TVMFFIErrorSetRaisedFromCStrParts(const char* kind, const char** message_parts,
                                       int32_t num_parts) {
  ++raised_count;
  rvtvm_log_str("tvm error: ");
  log_on_one_line(kind != 0 ? kind : "Error");
  rvtvm_log_str(": ");
  for (int32_t i = 0; i < num_parts; ++i) {
    if (message_parts[i] != 0) {
      log_on_one_line(message_parts[i]);
    }
  }
  rvtvm_log_end_line();
}

uint32_t rvtvm_tvm_error_count(void) { return raised_count; }
