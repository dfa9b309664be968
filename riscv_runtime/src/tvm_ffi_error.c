/* TVMFFIErrorSetRaisedFromCStrParts: how generated code reports a failed check (argument type,
 * shape, a failed allocation) before it returns -1. There is no error object on a bare-metal
 * target, so the message goes to the UART log, the error is counted, and the start of the last
 * one is kept for whoever reports the failed call (the RPC server sends it to the client). */
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
static char last_error[RVTVM_TVM_LAST_ERROR_BYTES];
static uint32_t last_error_length;

/* Appends to last_error, one line like the log, cut at the buffer's end (NUL kept). */
static void keep_on_one_line(const char* text) {
  for (; *text != '\0' && last_error_length < sizeof last_error - 1; ++text) {
    last_error[last_error_length++] = (*text == '\n' || *text == '\r') ? ' ' : *text;
  }
  last_error[last_error_length] = '\0';
}

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
  const char* shown_kind = kind != 0 ? kind : "Error";
  ++raised_count;
  rvtvm_log_str("tvm error: ");
  log_on_one_line(shown_kind);
  rvtvm_log_str(": ");
  rvtvm_tvm_clear_last_error();
  keep_on_one_line(shown_kind);
  keep_on_one_line(": ");
  for (int32_t i = 0; i < num_parts; ++i) {
    if (message_parts[i] != 0) {
      log_on_one_line(message_parts[i]);
      keep_on_one_line(message_parts[i]);
    }
  }
  rvtvm_log_end_line();
}

uint32_t rvtvm_tvm_error_count(void) { return raised_count; }

const char* rvtvm_tvm_last_error(void) { return last_error; }

void rvtvm_tvm_clear_last_error(void) {
  last_error_length = 0;
  last_error[0] = '\0';
}
