/* Number formatting and bounded text (rvtvm/text.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "rvtvm/text.h"

static int text_is(const struct rvtvm_text* text, const char* expected) {
  return text->length == strlen(expected) && memcmp(text->chars, expected, text->length) == 0;
}

static void test_numbers_match_printf(void) {
  static const uint32_t kValues[] = {0u, 1u, 9u, 10u, 255u, 4096u, 123456789u, 0x80000000u,
                                     UINT32_MAX};
  for (size_t i = 0; i < sizeof kValues / sizeof kValues[0]; ++i) {
    char expected[32];
    char storage[32];
    struct rvtvm_text text;
    rvtvm_text_init(&text, storage, sizeof storage);
    rvtvm_text_append_dec_u32(&text, kValues[i]);
    snprintf(expected, sizeof expected, "%u", (unsigned)kValues[i]);
    CHECK(text_is(&text, expected));
    rvtvm_text_init(&text, storage, sizeof storage);
    rvtvm_text_append_hex_u32(&text, kValues[i]);
    snprintf(expected, sizeof expected, "0x%08x", (unsigned)kValues[i]);
    CHECK(text_is(&text, expected));
  }
  static const int32_t kSigned[] = {0, -1, 42, -42, INT32_MAX, INT32_MIN};
  for (size_t i = 0; i < sizeof kSigned / sizeof kSigned[0]; ++i) {
    char expected[32];
    char storage[32];
    struct rvtvm_text text;
    rvtvm_text_init(&text, storage, sizeof storage);
    rvtvm_text_append_dec_i32(&text, kSigned[i]);
    snprintf(expected, sizeof expected, "%d", (int)kSigned[i]);
    CHECK(text_is(&text, expected));
  }
}

static void test_appending_stops_at_capacity(void) {
  char storage[8];
  memset(storage, '#', sizeof storage);
  struct rvtvm_text text;
  rvtvm_text_init(&text, storage, 6);
  rvtvm_text_append_str(&text, "code ");
  rvtvm_text_append_hex_u32(&text, 0x1234u);
  CHECK(text_is(&text, "code 0"));
  rvtvm_text_append_dec_u32(&text, 7);
  CHECK(text.length == 6);
  CHECK(storage[6] == '#' && storage[7] == '#');
}

int main(void) {
  RUN_TEST(test_numbers_match_printf);
  RUN_TEST(test_appending_stops_at_capacity);
  return check_summary();
}
