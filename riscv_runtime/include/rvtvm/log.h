/* Log text on the UART without printf.
 *
 * Log text travels between frames on the same UART, so it must never look like one: it stays
 * 7-bit ASCII (wire.h) without the session frame's START '~' and ESCAPE '}' (session_frame.h);
 * other bytes are sent as '?'. Lines end with "\n".
 */
#ifndef RVTVM_LOG_H_
#define RVTVM_LOG_H_

#include <stdint.h>

void rvtvm_log_str(const char* text);
/* "0x" followed by 8 lower-case hex digits. */
void rvtvm_log_hex_u32(uint32_t value);
void rvtvm_log_dec_u32(uint32_t value);
void rvtvm_log_dec_i32(int32_t value);
void rvtvm_log_end_line(void);

#endif /* RVTVM_LOG_H_ */
