/* TVMFFIErrorSetRaisedFromCStrParts: one log line, 7-bit text, errors counted. The board's UART
 * is replaced by a buffer. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rvtvm/board.h"
#include "rvtvm/tvm_backend.h"

static char uart_output[512];
static uint32_t uart_length;

void rvtvm_board_uart_write_byte(uint8_t byte) {
  if (uart_length < sizeof uart_output - 1) {
    uart_output[uart_length++] = (char)byte;
    uart_output[uart_length] = '\0';
  }
}

static void clear_uart(void) {
  uart_length = 0;
  uart_output[0] = '\0';
}

static void test_error_is_one_line_and_counted(void) {
  clear_uart();
  uint32_t before = rvtvm_tvm_error_count();
  const char* parts[] = {"Argument ", "x", " has wrong shape\nexpected (1, 4)"};
  TVMFFIErrorSetRaisedFromCStrParts("ValueError", parts, 3);
  CHECK(strcmp(uart_output,
               "tvm error: ValueError: Argument x has wrong shape expected (1, 4)\n") == 0);
  CHECK(rvtvm_tvm_error_count() == before + 1);
}

static void test_long_and_non_ascii_messages(void) {
  clear_uart();
  char long_part[100];
  memset(long_part, 'z', sizeof long_part - 1);
  long_part[sizeof long_part - 1] = '\0';
  const char* parts[] = {long_part, "\xa5\x5a-end", NULL};
  TVMFFIErrorSetRaisedFromCStrParts(NULL, parts, 3);
  CHECK(strncmp(uart_output, "tvm error: Error: zzz", 21) == 0);
  CHECK(uart_length == strlen("tvm error: Error: ") + 99 + strlen("?Z-end") + 1);
  CHECK(strstr(uart_output, "?Z-end\n") != NULL);
  for (uint32_t i = 0; i < uart_length; ++i) {
    CHECK((uint8_t)uart_output[i] < 0x80u);
  }
}

static void test_last_error_keeps_the_latest_message_on_one_line(void) {
  rvtvm_tvm_clear_last_error();
  CHECK(strcmp(rvtvm_tvm_last_error(), "") == 0);
  const char* first[] = {"first"};
  TVMFFIErrorSetRaisedFromCStrParts("TypeError", first, 1);
  const char* second[] = {"Argument ", NULL, "x\r\nbad"};
  TVMFFIErrorSetRaisedFromCStrParts("ValueError", second, 3);
  CHECK(strcmp(rvtvm_tvm_last_error(), "ValueError: Argument x  bad") == 0);
  TVMFFIErrorSetRaisedFromCStrParts(NULL, second, 0);
  CHECK(strcmp(rvtvm_tvm_last_error(), "Error: ") == 0);
  rvtvm_tvm_clear_last_error();
  CHECK(strcmp(rvtvm_tvm_last_error(), "") == 0);
}

static void test_last_error_is_cut_to_its_buffer(void) {
  char long_part[400];
  memset(long_part, 'q', sizeof long_part - 1);
  long_part[sizeof long_part - 1] = '\0';
  const char* parts[] = {long_part, "tail"};
  clear_uart();
  TVMFFIErrorSetRaisedFromCStrParts("RuntimeError", parts, 2);
  const char* kept = rvtvm_tvm_last_error();
  CHECK(strlen(kept) == RVTVM_TVM_LAST_ERROR_BYTES - 1);
  CHECK(strncmp(kept, "RuntimeError: qqq", 17) == 0);
  CHECK(kept[RVTVM_TVM_LAST_ERROR_BYTES - 2] == 'q');
  /* The log line is not cut. */
  CHECK(uart_length == strlen("tvm error: RuntimeError: ") + 399 + strlen("tail\n"));
}

int main(void) {
  RUN_TEST(test_error_is_one_line_and_counted);
  RUN_TEST(test_long_and_non_ascii_messages);
  RUN_TEST(test_last_error_keeps_the_latest_message_on_one_line);
  RUN_TEST(test_last_error_is_cut_to_its_buffer);
  return check_summary();
}
