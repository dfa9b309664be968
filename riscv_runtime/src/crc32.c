/* CRC-32/ISO-HDLC (reflected polynomial 0xEDB88320), four bits at a time: a 64-byte table is a
 * good trade between code size and speed on a UART-bound link. */
#include "rvtvm/crc32.h"

static const uint32_t kNibbleTable[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

static uint32_t update_raw(uint32_t raw, uint8_t byte) {
  raw ^= byte;
  raw = (raw >> 4) ^ kNibbleTable[raw & 0xFu];
  raw = (raw >> 4) ^ kNibbleTable[raw & 0xFu];
  return raw;
}

uint32_t rvtvm_crc32_update_byte(uint32_t crc, uint8_t byte) {
  /* zlib's convention: the running value is kept complemented between calls. */
  return ~update_raw(~crc, byte);
}

uint32_t rvtvm_crc32_update(uint32_t crc, const uint8_t* bytes, uint32_t count) {
  uint32_t raw = ~crc;
  for (uint32_t i = 0; i < count; ++i) {
    raw = update_raw(raw, bytes[i]);
  }
  return ~raw;
}
