/* CRC-32/ISO-HDLC, the CRC of zlib.crc32 and of wire.h frames.
 *
 * Chain calls like zlib: crc = rvtvm_crc32_update(0, a, n); crc = rvtvm_crc32_update(crc, b, m).
 */
#ifndef RVTVM_CRC32_H_
#define RVTVM_CRC32_H_

#include <stdint.h>

uint32_t rvtvm_crc32_update(uint32_t crc, const uint8_t* bytes, uint32_t count);
uint32_t rvtvm_crc32_update_byte(uint32_t crc, uint8_t byte);

#endif /* RVTVM_CRC32_H_ */
