/* Number formatting and bounded text building (see rvtvm/text.h). */
#include "rvtvm/text.h"

uint32_t rvtvm_format_hex_u32(char out[RVTVM_TEXT_HEX_U32_CHARS], uint32_t value) {
  static const char kDigits[] = "0123456789abcdef";
  out[0] = '0';
  out[1] = 'x';
  for (uint32_t i = 0; i < 8; ++i) {
    out[2 + i] = kDigits[(value >> (28 - 4 * i)) & 0xFu];
  }
  return RVTVM_TEXT_HEX_U32_CHARS;
}

uint32_t rvtvm_format_dec_u32(char out[RVTVM_TEXT_DEC_U32_CHARS], uint32_t value) {
  char reversed[RVTVM_TEXT_DEC_U32_CHARS];
  uint32_t count = 0;
  do {
    reversed[count++] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  for (uint32_t i = 0; i < count; ++i) {
    out[i] = reversed[count - 1 - i];
  }
  return count;
}

uint32_t rvtvm_format_dec_i32(char out[RVTVM_TEXT_DEC_I32_CHARS], int32_t value) {
  if (value >= 0) {
    return rvtvm_format_dec_u32(out, (uint32_t)value);
  }
  out[0] = '-';
  /* Negate in unsigned arithmetic so INT32_MIN does not overflow. */
  return 1 + rvtvm_format_dec_u32(out + 1, 0u - (uint32_t)value);
}

void rvtvm_text_init(struct rvtvm_text* text, char* storage, uint32_t capacity) {
  text->chars = storage;
  text->capacity = capacity;
  text->length = 0;
}

static void append_chars(struct rvtvm_text* text, const char* chars, uint32_t count) {
  for (uint32_t i = 0; i < count && text->length < text->capacity; ++i) {
    text->chars[text->length++] = chars[i];
  }
}

void rvtvm_text_append_str(struct rvtvm_text* text, const char* suffix) {
  while (*suffix != '\0' && text->length < text->capacity) {
    text->chars[text->length++] = *suffix++;
  }
}

void rvtvm_text_append_hex_u32(struct rvtvm_text* text, uint32_t value) {
  char digits[RVTVM_TEXT_HEX_U32_CHARS];
  append_chars(text, digits, rvtvm_format_hex_u32(digits, value));
}

void rvtvm_text_append_dec_u32(struct rvtvm_text* text, uint32_t value) {
  char digits[RVTVM_TEXT_DEC_U32_CHARS];
  append_chars(text, digits, rvtvm_format_dec_u32(digits, value));
}

void rvtvm_text_append_dec_i32(struct rvtvm_text* text, int32_t value) {
  char digits[RVTVM_TEXT_DEC_I32_CHARS];
  append_chars(text, digits, rvtvm_format_dec_i32(digits, value));
}
