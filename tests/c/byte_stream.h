/* A bounded byte buffer that frame encoders write into (an rvtvm_sframe_sink), for host tests.
 * Include after check.h: overflowing it is a failed CHECK, never a write past its end. */
#ifndef RVTVM_TESTS_BYTE_STREAM_H_
#define RVTVM_TESTS_BYTE_STREAM_H_

#include <stdint.h>

#define STREAM_CAPACITY 8192u

struct stream {
  uint8_t bytes[STREAM_CAPACITY];
  uint32_t length;
};

static void stream_append(void* context, const uint8_t* bytes, uint32_t count) {
  struct stream* stream = context;
  for (uint32_t i = 0; i < count; ++i) {
    CHECK(stream->length < STREAM_CAPACITY);
    if (stream->length < STREAM_CAPACITY) {
      stream->bytes[stream->length++] = bytes[i];
    }
  }
}

#endif /* RVTVM_TESTS_BYTE_STREAM_H_ */
