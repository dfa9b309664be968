/* Frame encoder and decoder: reference vectors, refusal before the payload, resync, recovery of
 * a good frame behind a damaged one, scattered payloads. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rvtvm/frame_decoder.h"
#include "rvtvm/frame_encoder.h"
#include "rvtvm/wire.h"

#define PAYLOAD_BYTES 10u
#define STREAM_CAPACITY 8192u

/* A byte stream the decoder reads, counting how many bytes it took. */
struct stream {
  uint8_t bytes[STREAM_CAPACITY];
  uint32_t length;
  uint32_t position;
};

static int stream_read(void* context) {
  struct stream* stream = context;
  if (stream->position >= stream->length) {
    return -1;
  }
  return stream->bytes[stream->position++];
}

static void stream_append(void* context, const uint8_t* bytes, uint32_t count) {
  struct stream* stream = context;
  for (uint32_t i = 0; i < count && stream->length < STREAM_CAPACITY; ++i) {
    stream->bytes[stream->length++] = bytes[i];
  }
}

static void append_frame(struct stream* stream, uint8_t type, const uint8_t* payload,
                         uint32_t length) {
  struct rvtvm_frame_encoder encoder;
  rvtvm_frame_encoder_init(&encoder, stream_append, stream);
  rvtvm_frame_begin(&encoder, type, length);
  rvtvm_frame_put(&encoder, payload, length);
  CHECK(rvtvm_frame_end(&encoder) == RVTVM_OK);
}

static const struct rvtvm_frame_rule kRules[] = {
    {RVTVM_MSG_RUN, PAYLOAD_BYTES, PAYLOAD_BYTES},
    {RVTVM_MSG_QUIT, 0, 0},
};

/* Decodes every frame in the stream into `delivered` (PAYLOAD_BYTES each, RUN only) and counts
 * the errors reported on the way. Returns the number of RUN payloads delivered. */
struct decode_log {
  uint8_t delivered[32][PAYLOAD_BYTES];
  uint32_t num_delivered;
  uint32_t num_quits;
  uint32_t num_errors;
};

static void decode_all(struct stream* stream, struct decode_log* log) {
  memset(log, 0, sizeof *log);
  uint8_t destination[PAYLOAD_BYTES];
  const struct rvtvm_span pieces[] = {{destination, 4}, {destination + 4, PAYLOAD_BYTES - 4}};
  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, stream, kRules, 2);
  for (int guard = 0; guard < 10000; ++guard) {
    uint8_t type;
    uint32_t length;
    int status = rvtvm_frame_decoder_next(&decoder, &type, &length);
    if (status == RVTVM_FRAME_END_OF_INPUT) {
      return;
    }
    if (status != RVTVM_OK) {
      ++log->num_errors;
      continue;
    }
    if (type == RVTVM_MSG_RUN) {
      status = rvtvm_frame_decoder_read_payload(&decoder, pieces, 2);
    } else {
      status = rvtvm_frame_decoder_read_payload(&decoder, pieces, 0);
    }
    if (status == RVTVM_FRAME_END_OF_INPUT) {
      return;
    }
    if (status != RVTVM_OK) {
      ++log->num_errors;
      continue;
    }
    if (type == RVTVM_MSG_QUIT) {
      ++log->num_quits;
    } else if (log->num_delivered < 32) {
      memcpy(log->delivered[log->num_delivered++], destination, PAYLOAD_BYTES);
    }
  }
  CHECK(!"decoder did not reach the end of the stream");
}

static void fill_payload(uint8_t payload[PAYLOAD_BYTES], uint8_t seed) {
  for (uint32_t i = 0; i < PAYLOAD_BYTES; ++i) {
    payload[i] = (uint8_t)(seed * 31u + i * 7u + 1u);
  }
}

static void test_encoder_matches_reference_vectors(void) {
  /* Built with Python: b"\xa5\x5a" + hdr + struct.pack("<I", zlib.crc32(hdr + payload)). */
  static const uint8_t kQuit[] = {0xa5, 0x5a, 0x51, 0x00, 0x00, 0x00, 0x00, 0x66, 0x11, 0x51, 0xc3};
  static const uint8_t kRunAbc[] = {0xa5, 0x5a, 0x52, 0x03, 0x00, 0x00, 0x00,
                                    0x61, 0x62, 0x63, 0x9f, 0xa9, 0xac, 0x89};
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, RVTVM_MSG_QUIT, 0, 0);
  CHECK(stream.length == sizeof kQuit && memcmp(stream.bytes, kQuit, sizeof kQuit) == 0);

  memset(&stream, 0, sizeof stream);
  struct rvtvm_frame_encoder encoder;
  rvtvm_frame_encoder_init(&encoder, stream_append, &stream);
  rvtvm_frame_begin(&encoder, RVTVM_MSG_RUN, 3);
  rvtvm_frame_put(&encoder, "a", 1);
  rvtvm_frame_put(&encoder, "bc", 2);
  CHECK(rvtvm_frame_end(&encoder) == RVTVM_OK);
  CHECK(stream.length == sizeof kRunAbc && memcmp(stream.bytes, kRunAbc, sizeof kRunAbc) == 0);
}

static void test_encoder_keeps_stream_well_formed_when_miscounted(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  struct rvtvm_frame_encoder encoder;
  rvtvm_frame_encoder_init(&encoder, stream_append, &stream);
  rvtvm_frame_begin(&encoder, RVTVM_MSG_RUN, 4);
  rvtvm_frame_put(&encoder, "abcdef", 6); /* two bytes too many */
  CHECK(rvtvm_frame_end(&encoder) == RVTVM_ERR_WIRE_LENGTH);
  rvtvm_frame_begin(&encoder, RVTVM_MSG_RUN, 4);
  rvtvm_frame_put(&encoder, "ab", 2); /* two bytes short */
  CHECK(rvtvm_frame_end(&encoder) == RVTVM_ERR_WIRE_LENGTH);
  CHECK(stream.length == 2u * (RVTVM_FRAME_HEADER_BYTES + 4u + RVTVM_FRAME_TRAILER_BYTES));

  static const struct rvtvm_frame_rule kFour[] = {{RVTVM_MSG_RUN, 4, 4}};
  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kFour, 1);
  uint8_t payload[4];
  const struct rvtvm_span piece = {payload, 4};
  uint8_t type;
  uint32_t length;
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_OK);
  CHECK(memcmp(payload, "abcd", 4) == 0);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_OK);
  CHECK(memcmp(payload, "ab\0\0", 4) == 0);
}

static void test_good_frame(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint8_t payload[PAYLOAD_BYTES];
  fill_payload(payload, 1);
  append_frame(&stream, RVTVM_MSG_RUN, payload, PAYLOAD_BYTES);
  append_frame(&stream, RVTVM_MSG_QUIT, 0, 0);

  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t type = 0;
  uint32_t length = 0;
  uint8_t destination[PAYLOAD_BYTES];
  const struct rvtvm_span piece = {destination, PAYLOAD_BYTES};
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(type == RVTVM_MSG_RUN && length == PAYLOAD_BYTES);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_OK);
  CHECK(memcmp(destination, payload, PAYLOAD_BYTES) == 0);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(type == RVTVM_MSG_QUIT && length == 0);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, 0, 0) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_FRAME_END_OF_INPUT);
}

static void test_bad_crc_reported_then_next_frame_intact(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint8_t first[PAYLOAD_BYTES];
  uint8_t second[PAYLOAD_BYTES];
  fill_payload(first, 2);
  fill_payload(second, 3);
  append_frame(&stream, RVTVM_MSG_RUN, first, PAYLOAD_BYTES);
  stream.bytes[RVTVM_FRAME_HEADER_BYTES + 3] ^= 0x40u; /* corrupt one payload byte */
  append_frame(&stream, RVTVM_MSG_RUN, second, PAYLOAD_BYTES);

  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t type;
  uint32_t length;
  uint8_t destination[PAYLOAD_BYTES];
  const struct rvtvm_span piece = {destination, PAYLOAD_BYTES};
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_ERR_WIRE_CRC);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_OK);
  CHECK(memcmp(destination, second, PAYLOAD_BYTES) == 0);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_FRAME_END_OF_INPUT);

  /* A damaged CRC field is a bad CRC too. */
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, RVTVM_MSG_QUIT, 0, 0);
  stream.bytes[stream.length - 1] ^= 0x01u;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, 0, 0) == RVTVM_ERR_WIRE_CRC);
}

static void test_wrong_length_refused_before_payload(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint8_t long_payload[PAYLOAD_BYTES + 1];
  memset(long_payload, 0x11, sizeof long_payload);
  append_frame(&stream, RVTVM_MSG_RUN, long_payload, sizeof long_payload);

  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t type;
  uint32_t length;
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_ERR_WIRE_LENGTH);
  CHECK(type == RVTVM_MSG_RUN && length == PAYLOAD_BYTES + 1);
  /* Only the magic, type and length were read. */
  CHECK(stream.position == RVTVM_FRAME_HEADER_BYTES);
  uint8_t destination[PAYLOAD_BYTES] = {0};
  const struct rvtvm_span piece = {destination, PAYLOAD_BYTES};
  /* No payload may be read for a refused frame. */
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_ERR_WIRE_LENGTH);
  CHECK(stream.position == RVTVM_FRAME_HEADER_BYTES);
  for (uint32_t i = 0; i < PAYLOAD_BYTES; ++i) {
    CHECK(destination[i] == 0);
  }
}

static void test_huge_length_does_not_swallow_next_frame(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  /* A header claiming 4 GiB, with no payload behind it, then a good frame. */
  static const uint8_t kHugeHeader[] = {0xa5, 0x5a, RVTVM_MSG_RUN, 0xf0, 0xff, 0xff, 0xff};
  stream_append(&stream, kHugeHeader, sizeof kHugeHeader);
  uint8_t payload[PAYLOAD_BYTES];
  fill_payload(payload, 4);
  append_frame(&stream, RVTVM_MSG_RUN, payload, PAYLOAD_BYTES);

  struct decode_log log;
  decode_all(&stream, &log);
  CHECK(log.num_errors == 1);
  CHECK(log.num_delivered == 1);
  CHECK(memcmp(log.delivered[0], payload, PAYLOAD_BYTES) == 0);
}

static void test_unknown_type_refused(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, RVTVM_MSG_HELLO, (const uint8_t*)"xy", 2);
  append_frame(&stream, RVTVM_MSG_QUIT, 0, 0);
  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t type;
  uint32_t length;
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_ERR_WIRE_TYPE);
  CHECK(type == RVTVM_MSG_HELLO && length == 2);
  CHECK(stream.position == RVTVM_FRAME_HEADER_BYTES);
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(type == RVTVM_MSG_QUIT);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, 0, 0) == RVTVM_OK);
}

static void test_garbage_before_frame_is_skipped(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  /* Log text, lone and doubled magic bytes, a magic followed by something else. */
  static const uint8_t kGarbage[] = {'h', 'i', '\n', 0xa5, 0x00, 0xa5, 0xa5, 0x11,
                                     0x5a, 0x5a, 0xa5, 0x52, 0x0a, 0xa5};
  stream_append(&stream, kGarbage, sizeof kGarbage);
  uint8_t payload[PAYLOAD_BYTES];
  fill_payload(payload, 5);
  append_frame(&stream, RVTVM_MSG_RUN, payload, PAYLOAD_BYTES);

  struct decode_log log;
  decode_all(&stream, &log);
  CHECK(log.num_errors == 0);
  CHECK(log.num_delivered == 1);
  CHECK(memcmp(log.delivered[0], payload, PAYLOAD_BYTES) == 0);
}

/* A frame cut short at every possible point, or missing any one byte, then a good frame: the
 * good frame must come out intact and alone. */
static void test_damaged_frame_then_good_frame(void) {
  uint8_t damaged_payload[PAYLOAD_BYTES];
  uint8_t good_payload[PAYLOAD_BYTES];
  fill_payload(damaged_payload, 6);
  fill_payload(good_payload, 7);
  static struct stream damaged;
  memset(&damaged, 0, sizeof damaged);
  append_frame(&damaged, RVTVM_MSG_RUN, damaged_payload, PAYLOAD_BYTES);

  for (int drop_only_one = 0; drop_only_one <= 1; ++drop_only_one) {
    for (uint32_t cut = 1; cut < damaged.length; ++cut) {
      static struct stream stream;
      memset(&stream, 0, sizeof stream);
      stream_append(&stream, damaged.bytes, cut);
      if (drop_only_one) {
        stream_append(&stream, damaged.bytes + cut + 1, damaged.length - cut - 1);
      }
      append_frame(&stream, RVTVM_MSG_RUN, good_payload, PAYLOAD_BYTES);
      struct decode_log log;
      decode_all(&stream, &log);
      CHECK(log.num_delivered == 1);
      CHECK(memcmp(log.delivered[0], good_payload, PAYLOAD_BYTES) == 0);
      if (log.num_delivered != 1) {
        fprintf(stderr, "  cut at %u (%s)\n", cut, drop_only_one ? "one byte dropped" : "truncated");
      }
    }
  }
}

static void test_scattered_payload(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint8_t payload[PAYLOAD_BYTES];
  fill_payload(payload, 8);
  append_frame(&stream, RVTVM_MSG_RUN, payload, PAYLOAD_BYTES);

  uint8_t first[3];
  uint8_t empty[1] = {0x77};
  uint8_t second[5];
  uint8_t third[2];
  const struct rvtvm_span pieces[] = {{first, 3}, {empty, 0}, {second, 5}, {third, 2}};
  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t type;
  uint32_t length;
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, pieces, 4) == RVTVM_OK);
  CHECK(memcmp(first, payload, 3) == 0);
  CHECK(memcmp(second, payload + 3, 5) == 0);
  CHECK(memcmp(third, payload + 8, 2) == 0);
  CHECK(empty[0] == 0x77);
}

static void test_pieces_must_match_length(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint8_t payload[PAYLOAD_BYTES];
  fill_payload(payload, 9);
  append_frame(&stream, RVTVM_MSG_RUN, payload, PAYLOAD_BYTES);
  uint8_t destination[PAYLOAD_BYTES];
  const struct rvtvm_span too_short = {destination, PAYLOAD_BYTES - 1};
  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t type;
  uint32_t length;
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &too_short, 1) == RVTVM_ERR_WIRE_LENGTH);
  CHECK(stream.position == RVTVM_FRAME_HEADER_BYTES);
}

static void test_end_of_input_inside_frame(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint8_t payload[PAYLOAD_BYTES];
  fill_payload(payload, 10);
  append_frame(&stream, RVTVM_MSG_RUN, payload, PAYLOAD_BYTES);
  stream.length -= 6;
  struct rvtvm_frame_decoder decoder;
  rvtvm_frame_decoder_init(&decoder, stream_read, &stream, kRules, 2);
  uint8_t destination[PAYLOAD_BYTES];
  const struct rvtvm_span piece = {destination, PAYLOAD_BYTES};
  uint8_t type;
  uint32_t length;
  CHECK(rvtvm_frame_decoder_next(&decoder, &type, &length) == RVTVM_OK);
  CHECK(rvtvm_frame_decoder_read_payload(&decoder, &piece, 1) == RVTVM_FRAME_END_OF_INPUT);
}

static uint32_t next_random(uint32_t* state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 24;
}

/* Random noise between good frames: every frame is delivered, in order, and nothing else. */
static void test_noise_between_frames(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  uint32_t state = 12345;
  enum { kFrames = 24 };
  uint8_t payloads[kFrames][PAYLOAD_BYTES];
  for (int f = 0; f < kFrames; ++f) {
    uint32_t noise = next_random(&state) % 40u;
    for (uint32_t i = 0; i < noise; ++i) {
      uint8_t byte = (uint8_t)next_random(&state);
      /* Make frame starts in the noise common: a magic pair or a bare RUN header. */
      if (byte < 16) {
        static const uint8_t kFakeHeader[] = {0xa5, 0x5a, RVTVM_MSG_RUN, PAYLOAD_BYTES, 0, 0, 0};
        stream_append(&stream, kFakeHeader, byte < 8 ? 2u : sizeof kFakeHeader);
      } else {
        stream_append(&stream, &byte, 1);
      }
    }
    for (uint32_t i = 0; i < PAYLOAD_BYTES; ++i) {
      payloads[f][i] = (uint8_t)next_random(&state);
    }
    append_frame(&stream, RVTVM_MSG_RUN, payloads[f], PAYLOAD_BYTES);
  }
  struct decode_log log;
  decode_all(&stream, &log);
  CHECK(log.num_delivered == kFrames);
  for (uint32_t f = 0; f < log.num_delivered && f < kFrames; ++f) {
    CHECK(memcmp(log.delivered[f], payloads[f], PAYLOAD_BYTES) == 0);
  }
}

int main(void) {
  RUN_TEST(test_encoder_matches_reference_vectors);
  RUN_TEST(test_encoder_keeps_stream_well_formed_when_miscounted);
  RUN_TEST(test_good_frame);
  RUN_TEST(test_bad_crc_reported_then_next_frame_intact);
  RUN_TEST(test_wrong_length_refused_before_payload);
  RUN_TEST(test_huge_length_does_not_swallow_next_frame);
  RUN_TEST(test_unknown_type_refused);
  RUN_TEST(test_garbage_before_frame_is_skipped);
  RUN_TEST(test_damaged_frame_then_good_frame);
  RUN_TEST(test_scattered_payload);
  RUN_TEST(test_pieces_must_match_length);
  RUN_TEST(test_end_of_input_inside_frame);
  RUN_TEST(test_noise_between_frames);
  return check_summary();
}
