/* Streaming wire.h frame encoder (see rvtvm/frame_encoder.h). */
#include "rvtvm/frame_encoder.h"

#include "rvtvm/crc32.h"

static void put_le32(uint8_t out[4], uint32_t value) {
  out[0] = (uint8_t)value;
  out[1] = (uint8_t)(value >> 8);
  out[2] = (uint8_t)(value >> 16);
  out[3] = (uint8_t)(value >> 24);
}

void rvtvm_frame_encoder_init(struct rvtvm_frame_encoder* encoder, rvtvm_byte_sink write,
                              void* sink_context) {
  *encoder = (struct rvtvm_frame_encoder){0};
  encoder->write = write;
  encoder->sink_context = sink_context;
}

void rvtvm_frame_begin(struct rvtvm_frame_encoder* encoder, uint8_t type, uint32_t length) {
  uint8_t header[RVTVM_FRAME_HEADER_BYTES];
  header[0] = RVTVM_FRAME_MAGIC0;
  header[1] = RVTVM_FRAME_MAGIC1;
  header[2] = type;
  put_le32(&header[3], length);
  encoder->write(encoder->sink_context, header, RVTVM_FRAME_HEADER_BYTES);
  /* The CRC covers type, length and payload, not the magic. */
  encoder->crc = rvtvm_crc32_update(0, &header[2], RVTVM_FRAME_HEADER_BYTES - 2);
  encoder->remaining = length;
  encoder->miscounted = 0;
}

void rvtvm_frame_put(struct rvtvm_frame_encoder* encoder, const void* bytes, uint32_t count) {
  if (count > encoder->remaining) {
    encoder->miscounted = 1;
    count = encoder->remaining;
  }
  encoder->crc = rvtvm_crc32_update(encoder->crc, (const uint8_t*)bytes, count);
  encoder->write(encoder->sink_context, (const uint8_t*)bytes, count);
  encoder->remaining -= count;
}

void rvtvm_frame_put_u32(struct rvtvm_frame_encoder* encoder, uint32_t value) {
  uint8_t bytes[4];
  put_le32(bytes, value);
  rvtvm_frame_put(encoder, bytes, sizeof bytes);
}

void rvtvm_frame_put_u64(struct rvtvm_frame_encoder* encoder, uint64_t value) {
  rvtvm_frame_put_u32(encoder, (uint32_t)value);
  rvtvm_frame_put_u32(encoder, (uint32_t)(value >> 32));
}

int rvtvm_frame_end(struct rvtvm_frame_encoder* encoder) {
  static const uint8_t kZero = 0;
  if (encoder->remaining != 0) {
    encoder->miscounted = 1;
    while (encoder->remaining != 0) {
      rvtvm_frame_put(encoder, &kZero, 1);
    }
  }
  uint8_t trailer[RVTVM_FRAME_TRAILER_BYTES];
  put_le32(trailer, encoder->crc);
  encoder->write(encoder->sink_context, trailer, RVTVM_FRAME_TRAILER_BYTES);
  return encoder->miscounted ? RVTVM_ERR_WIRE_LENGTH : RVTVM_OK;
}
