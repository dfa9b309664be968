/* Writes wire.h frames to a byte sink, streaming: header, payload in pieces, CRC. Portable C.
 *
 * rvtvm_frame_begin(type, length); any number of rvtvm_frame_put*(); rvtvm_frame_end().
 * The encoder keeps the stream well formed even if the caller miscounts: bytes beyond `length`
 * are dropped, missing ones are sent as zeros, and rvtvm_frame_end reports the mismatch.
 */
#ifndef RVTVM_FRAME_ENCODER_H_
#define RVTVM_FRAME_ENCODER_H_

#include <stdint.h>

#include "rvtvm/wire.h"

typedef void (*rvtvm_byte_sink)(void* context, const uint8_t* bytes, uint32_t count);

struct rvtvm_frame_encoder {
  rvtvm_byte_sink write;
  void* sink_context;
  uint32_t crc;
  uint32_t remaining;
  uint8_t miscounted;
};

void rvtvm_frame_encoder_init(struct rvtvm_frame_encoder* encoder, rvtvm_byte_sink write,
                              void* sink_context);
void rvtvm_frame_begin(struct rvtvm_frame_encoder* encoder, uint8_t type, uint32_t length);
void rvtvm_frame_put(struct rvtvm_frame_encoder* encoder, const void* bytes, uint32_t count);
/* Little-endian, as every integer on the wire. */
void rvtvm_frame_put_u32(struct rvtvm_frame_encoder* encoder, uint32_t value);
void rvtvm_frame_put_u64(struct rvtvm_frame_encoder* encoder, uint64_t value);
/* Sends the CRC. Returns RVTVM_OK, or RVTVM_ERR_WIRE_LENGTH if the pieces did not add up to the
 * length given to rvtvm_frame_begin. */
int rvtvm_frame_end(struct rvtvm_frame_encoder* encoder);

#endif /* RVTVM_FRAME_ENCODER_H_ */
