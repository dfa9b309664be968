/* Bounded text building without printf, for log lines and ERROR frame details.
 *
 * Appending never writes past the capacity: text that does not fit is dropped. The result is not
 * NUL-terminated; use `length`.
 */
#ifndef RVTVM_TEXT_H_
#define RVTVM_TEXT_H_

#include <stdint.h>

/* Longest results of the number formatters ("0x" + 8 digits, "-2147483648"). */
#define RVTVM_TEXT_HEX_U32_CHARS 10
#define RVTVM_TEXT_DEC_U32_CHARS 10
#define RVTVM_TEXT_DEC_I32_CHARS 11

/* Write the number's digits into `out` and return how many chars were written (no NUL). */
uint32_t rvtvm_format_hex_u32(char out[RVTVM_TEXT_HEX_U32_CHARS], uint32_t value);
uint32_t rvtvm_format_dec_u32(char out[RVTVM_TEXT_DEC_U32_CHARS], uint32_t value);
uint32_t rvtvm_format_dec_i32(char out[RVTVM_TEXT_DEC_I32_CHARS], int32_t value);

struct rvtvm_text {
  char* chars;
  uint32_t capacity;
  uint32_t length;
};

void rvtvm_text_init(struct rvtvm_text* text, char* storage, uint32_t capacity);
void rvtvm_text_append_str(struct rvtvm_text* text, const char* suffix);
void rvtvm_text_append_hex_u32(struct rvtvm_text* text, uint32_t value);
void rvtvm_text_append_dec_u32(struct rvtvm_text* text, uint32_t value);
void rvtvm_text_append_dec_i32(struct rvtvm_text* text, int32_t value);

#endif /* RVTVM_TEXT_H_ */
