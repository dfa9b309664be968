/* CRC-32/ISO-HDLC against published check values and zlib.crc32 results. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rvtvm/crc32.h"

static uint32_t crc_of(const char* text) {
  return rvtvm_crc32_update(0, (const uint8_t*)text, (uint32_t)strlen(text));
}

static void test_check_value(void) {
  /* The catalogued check value of CRC-32/ISO-HDLC. */
  CHECK(crc_of("123456789") == 0xCBF43926u);
}

static void test_known_vectors(void) {
  CHECK(crc_of("") == 0x00000000u);
  CHECK(crc_of("a") == 0xE8B7BE43u);
  CHECK(crc_of("The quick brown fox jumps over the lazy dog") == 0x414FA339u);
  static const uint8_t kZeros[32] = {0};
  CHECK(rvtvm_crc32_update(0, kZeros, sizeof kZeros) == 0x190A55ADu);
}

static void test_chained_equals_whole(void) {
  const char* text = "123456789";
  uint32_t crc = rvtvm_crc32_update(0, (const uint8_t*)text, 4);
  crc = rvtvm_crc32_update(crc, (const uint8_t*)text + 4, 5);
  CHECK(crc == 0xCBF43926u);
  uint32_t bytewise = 0;
  for (const char* p = text; *p != '\0'; ++p) {
    bytewise = rvtvm_crc32_update_byte(bytewise, (uint8_t)*p);
  }
  CHECK(bytewise == 0xCBF43926u);
}

static void test_all_byte_values(void) {
  uint8_t bytes[256];
  for (int i = 0; i < 256; ++i) {
    bytes[i] = (uint8_t)i;
  }
  /* zlib.crc32(bytes(range(256))) */
  CHECK(rvtvm_crc32_update(0, bytes, sizeof bytes) == 0x29058C73u);
}

int main(void) {
  RUN_TEST(test_check_value);
  RUN_TEST(test_known_vectors);
  RUN_TEST(test_chained_equals_whole);
  RUN_TEST(test_all_byte_values);
  return check_summary();
}
