/* UART log text on top of the board layer (see rvtvm/log.h). */
#include "rvtvm/log.h"

#include "rvtvm/board.h"
#include "rvtvm/session_frame.h"
#include "rvtvm/text.h"

static void write_chars(const char* chars, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    uint8_t byte = (uint8_t)chars[i];
    /* The host must never take log text for a frame: bytes >= 0x80 could be a wire.h frame
     * start (MAGIC0 is 0xA5), '~' and '}' are a session frame's START and ESCAPE. */
    int framing = byte >= 0x80u || byte == RVTVM_SFRAME_START || byte == RVTVM_SFRAME_ESCAPE;
    rvtvm_board_uart_write_byte(framing ? (uint8_t)'?' : byte);
  }
}

void rvtvm_log_str(const char* text) {
  while (*text != '\0') {
    write_chars(text, 1);
    ++text;
  }
}

void rvtvm_log_hex_u32(uint32_t value) {
  char digits[RVTVM_TEXT_HEX_U32_CHARS];
  write_chars(digits, rvtvm_format_hex_u32(digits, value));
}

void rvtvm_log_dec_u32(uint32_t value) {
  char digits[RVTVM_TEXT_DEC_U32_CHARS];
  write_chars(digits, rvtvm_format_dec_u32(digits, value));
}

void rvtvm_log_dec_i32(int32_t value) {
  char digits[RVTVM_TEXT_DEC_I32_CHARS];
  write_chars(digits, rvtvm_format_dec_i32(digits, value));
}

void rvtvm_log_end_line(void) { rvtvm_board_uart_write_byte((uint8_t)'\n'); }
