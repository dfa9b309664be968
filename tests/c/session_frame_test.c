/* Session framing: CRC check value, reference vectors, round trips (escapes, empty, scattered),
 * resync after garbage, and every single corruption of a frame (bit flip, dropped, duplicated or
 * inserted byte, truncation, oversized length) followed by a good frame: the damaged frame is
 * rejected or lost, never delivered wrong, and the good frame comes out intact. Built with
 * ASan/UBSan, so a write past the payload buffer fails the run.
 *
 * With arguments it is the C side of the C<->Python cross test (tests/test_session_frame.py):
 *   --encode          stdin: one hex payload per line; stdout: one hex encoded frame per line
 *   --decode CAPACITY stdin: raw bytes; stdout: "frame <hex>" / "error <code>" per event, then
 *                     "garbage <count>"
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "byte_stream.h"
#include "rvtvm/session_frame.h"

#define MAX_TEST_PAYLOAD 320u
#define MAX_DELIVERED 8u

static void append_frame(struct stream* stream, const uint8_t* payload, uint16_t length) {
  struct rvtvm_sframe_encoder encoder;
  rvtvm_sframe_encoder_init(&encoder, stream_append, stream);
  rvtvm_sframe_begin(&encoder, length);
  rvtvm_sframe_put(&encoder, payload, length);
  CHECK(rvtvm_sframe_end(&encoder) == 0);
}

static void append_bytes(struct stream* stream, const uint8_t* bytes, uint32_t count) {
  stream_append(stream, bytes, count);
}

/* What the decoder reported over a whole stream. */
struct decode_log {
  uint8_t delivered[MAX_DELIVERED][MAX_TEST_PAYLOAD];
  uint32_t delivered_length[MAX_DELIVERED];
  uint32_t num_delivered;
  uint32_t errors[6]; /* indexed by RVTVM_SFRAME_ERR_* */
  uint32_t num_errors;
  uint32_t garbage_bytes;
};

/* Feeds the stream byte by byte into a decoder whose buffer is exactly `capacity` bytes on the
 * heap, so ASan catches a write past it. */
static void decode_all(const struct stream* stream, uint32_t capacity, struct decode_log* log) {
  memset(log, 0, sizeof *log);
  uint8_t* buffer = malloc(capacity == 0 ? 1 : capacity);
  CHECK(buffer != NULL);
  if (buffer == NULL) {
    return;
  }
  struct rvtvm_sframe_decoder decoder;
  rvtvm_sframe_decoder_init(&decoder, buffer, capacity);
  for (uint32_t i = 0; i < stream->length; ++i) {
    uint32_t length = 0xDEADBEEFu;
    int event = rvtvm_sframe_decoder_feed(&decoder, stream->bytes[i], &length);
    if (event == RVTVM_SFRAME_EVENT_FRAME) {
      CHECK(length <= capacity && length <= MAX_TEST_PAYLOAD);
      CHECK(log->num_delivered < MAX_DELIVERED);
      if (log->num_delivered < MAX_DELIVERED && length <= MAX_TEST_PAYLOAD) {
        memcpy(log->delivered[log->num_delivered], buffer, length);
        log->delivered_length[log->num_delivered++] = length;
      }
    } else if (event != RVTVM_SFRAME_EVENT_NONE) {
      CHECK(event >= RVTVM_SFRAME_ERR_CRC && event <= RVTVM_SFRAME_ERR_TRUNCATED);
      if (event >= RVTVM_SFRAME_ERR_CRC && event <= RVTVM_SFRAME_ERR_TRUNCATED) {
        ++log->errors[event];
      }
      ++log->num_errors;
    } else {
      CHECK(length == 0xDEADBEEFu); /* written only with a frame */
    }
  }
  log->garbage_bytes = decoder.garbage_bytes;
  free(buffer);
}

static int delivered_equals(const struct decode_log* log, uint32_t index, const uint8_t* payload,
                            uint32_t length) {
  return index < log->num_delivered && log->delivered_length[index] == length &&
         memcmp(log->delivered[index], payload, length) == 0;
}

static uint32_t lcg_state = 12345u;

static uint8_t next_random(void) {
  lcg_state = lcg_state * 1103515245u + 12345u;
  return (uint8_t)(lcg_state >> 16);
}

static void test_crc_check_value(void) {
  const uint8_t* digits = (const uint8_t*)"123456789";
  CHECK(rvtvm_sframe_crc16(RVTVM_SFRAME_CRC_INIT, digits, 9) == RVTVM_SFRAME_CRC_CHECK);
  CHECK(RVTVM_SFRAME_CRC_CHECK == 0x29B1);
  uint16_t crc = rvtvm_sframe_crc16(RVTVM_SFRAME_CRC_INIT, digits, 4);
  CHECK(rvtvm_sframe_crc16(crc, digits + 4, 5) == 0x29B1);
  CHECK(rvtvm_sframe_crc16(RVTVM_SFRAME_CRC_INIT, digits, 0) == 0xFFFF);
}

static void test_encoder_matches_reference_vectors(void) {
  /* Empty: START, length 00 00, CRC-16/CCITT-FALSE(00 00) = 0x1D0F little-endian. */
  static const uint8_t kEmpty[] = {0x7E, 0x00, 0x00, 0x0F, 0x1D};
  /* Payload 7E 7D 20 68 69: both markers escaped in the payload, and the CRC (0xD87E) too. */
  static const uint8_t kPayload[] = {0x7E, 0x7D, 0x20, 0x68, 0x69};
  static const uint8_t kEscaped[] = {0x7E, 0x05, 0x00, 0x7D, 0x5E, 0x7D, 0x5D,
                                     0x20, 0x68, 0x69, 0x7D, 0x5E, 0xD8};
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, NULL, 0);
  CHECK(stream.length == sizeof kEmpty && memcmp(stream.bytes, kEmpty, sizeof kEmpty) == 0);
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, kPayload, sizeof kPayload);
  CHECK(stream.length == sizeof kEscaped && memcmp(stream.bytes, kEscaped, sizeof kEscaped) == 0);
}

/* One frame, decoded: exactly one event (the frame, on the last byte), START only at byte 0. */
static void check_round_trip(const uint8_t* payload, uint16_t length) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, payload, length);
  CHECK(stream.bytes[0] == RVTVM_SFRAME_START);
  for (uint32_t i = 1; i < stream.length; ++i) {
    CHECK(stream.bytes[i] != RVTVM_SFRAME_START);
  }
  CHECK(stream.length >= 5u + length && stream.length <= 1u + 2u * (4u + length));
  static struct decode_log log;
  decode_all(&stream, length, &log); /* capacity exactly the length */
  CHECK(log.num_delivered == 1 && log.num_errors == 0 && log.garbage_bytes == 0);
  CHECK(delivered_equals(&log, 0, payload, length));
}

static void test_round_trips(void) {
  static uint8_t payload[MAX_TEST_PAYLOAD];
  check_round_trip(payload, 0);
  for (uint32_t value = 0; value < 256; ++value) {
    payload[0] = (uint8_t)value;
    check_round_trip(payload, 1);
  }
  memset(payload, RVTVM_SFRAME_START, sizeof payload);
  check_round_trip(payload, MAX_TEST_PAYLOAD);
  memset(payload, RVTVM_SFRAME_ESCAPE, sizeof payload);
  check_round_trip(payload, MAX_TEST_PAYLOAD);
  for (uint32_t i = 0; i < MAX_TEST_PAYLOAD; ++i) {
    payload[i] = (uint8_t)(i % 2 ? RVTVM_SFRAME_START : RVTVM_SFRAME_ESCAPE);
  }
  check_round_trip(payload, MAX_TEST_PAYLOAD);
  for (uint32_t round = 0; round < 200; ++round) {
    uint16_t length = (uint16_t)((next_random() | (next_random() << 8)) % (MAX_TEST_PAYLOAD + 1));
    for (uint32_t i = 0; i < length; ++i) {
      payload[i] = next_random();
    }
    check_round_trip(payload, length);
  }
}

static void test_length_is_little_endian_and_capacity_inclusive(void) {
  static uint8_t payload[300];
  for (uint32_t i = 0; i < sizeof payload; ++i) {
    payload[i] = (uint8_t)i;
  }
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  append_frame(&stream, payload, 300);
  CHECK(stream.bytes[1] == (300 & 0xFF) && stream.bytes[2] == (300 >> 8));
  static struct decode_log log;
  decode_all(&stream, 300, &log);
  CHECK(log.num_delivered == 1 && delivered_equals(&log, 0, payload, 300));
  decode_all(&stream, 299, &log);
  CHECK(log.num_delivered == 0 && log.errors[RVTVM_SFRAME_ERR_LENGTH] == 1 && log.num_errors == 1);
}

/* Payload scattered over two puts at every split point: the same bytes as one put. */
static void test_scattered_payload_at_every_split_point(void) {
  static uint8_t payload[64];
  for (uint32_t i = 0; i < sizeof payload; ++i) {
    payload[i] = (uint8_t)(i % 3 == 0 ? RVTVM_SFRAME_START : i % 3 == 1 ? RVTVM_SFRAME_ESCAPE : i);
  }
  static struct stream whole;
  static struct stream split;
  memset(&whole, 0, sizeof whole);
  append_frame(&whole, payload, sizeof payload);
  for (uint32_t k = 0; k <= sizeof payload; ++k) {
    memset(&split, 0, sizeof split);
    struct rvtvm_sframe_encoder encoder;
    rvtvm_sframe_encoder_init(&encoder, stream_append, &split);
    rvtvm_sframe_begin(&encoder, sizeof payload);
    rvtvm_sframe_put(&encoder, payload, k);
    rvtvm_sframe_put(&encoder, payload + k, sizeof payload - k);
    CHECK(rvtvm_sframe_end(&encoder) == 0);
    CHECK(split.length == whole.length && memcmp(split.bytes, whole.bytes, whole.length) == 0);
  }
}

/* A miscounted frame must not be delivered (its bytes are wrong), and must not disturb the frames
 * around it. */
static void test_encoder_keeps_stream_well_formed_when_miscounted(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  struct rvtvm_sframe_encoder encoder;
  rvtvm_sframe_encoder_init(&encoder, stream_append, &stream);
  rvtvm_sframe_begin(&encoder, 4);
  rvtvm_sframe_put(&encoder, "abcdef", 6); /* two bytes too many: dropped */
  CHECK(rvtvm_sframe_end(&encoder) == -1);
  rvtvm_sframe_begin(&encoder, 4);
  rvtvm_sframe_put(&encoder, "ab", 2); /* two bytes short: zeros */
  CHECK(rvtvm_sframe_end(&encoder) == -1);
  rvtvm_sframe_begin(&encoder, 4);
  rvtvm_sframe_put(&encoder, "wxyz", 4);
  CHECK(rvtvm_sframe_end(&encoder) == 0);
  static struct decode_log log;
  decode_all(&stream, 4, &log);
  CHECK(log.num_delivered == 1 && log.num_errors == 2);
  CHECK(delivered_equals(&log, 0, (const uint8_t*)"wxyz", 4));
}

static void test_garbage_then_frame(void) {
  static const uint8_t kPayload[] = {1, 2, RVTVM_SFRAME_ESCAPE, 3};
  static struct stream stream;
  for (uint32_t count = 0; count < 600; count += 37) {
    memset(&stream, 0, sizeof stream);
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t byte = (uint8_t)(i * 7u);
      stream.bytes[stream.length++] = byte == RVTVM_SFRAME_START ? RVTVM_SFRAME_ESCAPE : byte;
    }
    append_frame(&stream, kPayload, sizeof kPayload);
    static struct decode_log log;
    decode_all(&stream, 16, &log);
    CHECK(log.num_delivered == 1 && delivered_equals(&log, 0, kPayload, sizeof kPayload));
    CHECK(log.num_errors == 0 && log.garbage_bytes == count);
  }
}

static void test_start_mid_frame_abandons_it(void) {
  static const uint8_t kPayload[] = {9, 8, 7};
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  static const uint8_t kPartial[] = {RVTVM_SFRAME_START, 0x03, 0x00, 0x55};
  append_bytes(&stream, kPartial, sizeof kPartial);
  append_frame(&stream, kPayload, sizeof kPayload);
  static const uint8_t kStarts[] = {RVTVM_SFRAME_START, RVTVM_SFRAME_START};
  append_bytes(&stream, kStarts, sizeof kStarts); /* a START right after a START: no error */
  append_frame(&stream, kPayload, sizeof kPayload);
  static struct decode_log log;
  decode_all(&stream, 16, &log);
  CHECK(log.num_delivered == 2 && log.errors[RVTVM_SFRAME_ERR_TRUNCATED] == 1);
  CHECK(log.num_errors == 1);
  CHECK(delivered_equals(&log, 0, kPayload, 3) && delivered_equals(&log, 1, kPayload, 3));
}

static void test_bad_escape_rejected(void) {
  static const uint8_t kPayload[] = {4, 5};
  static struct stream stream;
  for (uint32_t follower = 0; follower < 256; ++follower) {
    if (follower == RVTVM_SFRAME_START) {
      continue;
    }
    memset(&stream, 0, sizeof stream);
    const uint8_t bad[] = {RVTVM_SFRAME_START, 0x02, RVTVM_SFRAME_ESCAPE, (uint8_t)follower};
    append_bytes(&stream, bad, sizeof bad);
    append_frame(&stream, kPayload, sizeof kPayload);
    static struct decode_log log;
    decode_all(&stream, 0x8000, &log); /* room for the lengths 0x7D02 and 0x7E02 */
    int valid = follower == 0x5E || follower == 0x5D;
    CHECK(log.errors[RVTVM_SFRAME_ERR_ESCAPE] == (valid ? 0u : 1u));
    CHECK(log.num_delivered == 1 && delivered_equals(&log, 0, kPayload, 2));
  }
}

static void test_oversized_length_rejected_when_complete(void) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  /* Length 0xFFFF, then the payload that would overflow an 8-byte buffer. */
  static const uint8_t kHuge[] = {RVTVM_SFRAME_START, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  static uint8_t buffer[8];
  struct rvtvm_sframe_decoder decoder;
  rvtvm_sframe_decoder_init(&decoder, buffer, sizeof buffer);
  uint32_t length = 0;
  CHECK(rvtvm_sframe_decoder_feed(&decoder, kHuge[0], &length) == RVTVM_SFRAME_EVENT_NONE);
  CHECK(rvtvm_sframe_decoder_feed(&decoder, kHuge[1], &length) == RVTVM_SFRAME_EVENT_NONE);
  CHECK(rvtvm_sframe_decoder_feed(&decoder, kHuge[2], &length) == RVTVM_SFRAME_ERR_LENGTH);
  for (uint32_t i = 3; i < sizeof kHuge; ++i) {
    CHECK(rvtvm_sframe_decoder_feed(&decoder, kHuge[i], &length) == RVTVM_SFRAME_EVENT_NONE);
  }
  CHECK(decoder.garbage_bytes == sizeof kHuge - 3);

  static const uint8_t kPayload[] = {1, 2, 3};
  append_bytes(&stream, kHuge, sizeof kHuge);
  append_frame(&stream, kPayload, sizeof kPayload);
  static struct decode_log log;
  decode_all(&stream, 8, &log);
  CHECK(log.num_delivered == 1 && delivered_equals(&log, 0, kPayload, 3));
  CHECK(log.num_errors == 1 && log.errors[RVTVM_SFRAME_ERR_LENGTH] == 1);
}

/* The damaged frame's stream, then a good frame: the good frame is the last one delivered,
 * exactly once, and the damaged one is either lost or delivered intact. */
static const uint8_t* damaged_payload;
static uint32_t damaged_length;
static const uint8_t kGood[] = {0x47, 0x4F, 0x4F, 0x44, RVTVM_SFRAME_START, 0x21};

static void check_damaged_then_good(const uint8_t* bytes, uint32_t count) {
  static struct stream stream;
  memset(&stream, 0, sizeof stream);
  append_bytes(&stream, bytes, count);
  append_frame(&stream, kGood, sizeof kGood);
  static struct decode_log log;
  decode_all(&stream, 64, &log);
  uint32_t n = log.num_delivered;
  CHECK(n == 1 || n == 2);
  CHECK(delivered_equals(&log, n - 1, kGood, sizeof kGood));
  if (n == 2) {
    CHECK(delivered_equals(&log, 0, damaged_payload, damaged_length));
  }
}

static void test_every_single_corruption_then_good_frame(void) {
  static uint8_t payload[40];
  for (uint32_t i = 0; i < sizeof payload; ++i) {
    payload[i] = (uint8_t)(i % 5 == 0 ? RVTVM_SFRAME_ESCAPE : i % 7 == 0 ? RVTVM_SFRAME_START
                                                                           : i * 13u);
  }
  damaged_payload = payload;
  damaged_length = sizeof payload;
  static struct stream frame;
  memset(&frame, 0, sizeof frame);
  append_frame(&frame, payload, sizeof payload);
  static uint8_t bytes[STREAM_CAPACITY];
  const uint32_t n = frame.length;
  static const uint8_t kInserted[] = {0x00, 0xFF, RVTVM_SFRAME_START, RVTVM_SFRAME_ESCAPE,
                                      0x5E, 0x5D, 0x28, 0xA5};
  for (uint32_t position = 0; position < n; ++position) {
    for (uint32_t bit = 0; bit < 8; ++bit) { /* flipped bit */
      memcpy(bytes, frame.bytes, n);
      bytes[position] ^= (uint8_t)(1u << bit);
      check_damaged_then_good(bytes, n);
    }
    /* dropped byte */
    memcpy(bytes, frame.bytes, position);
    memcpy(bytes + position, frame.bytes + position + 1, n - position - 1);
    check_damaged_then_good(bytes, n - 1);
    /* duplicated byte */
    memcpy(bytes, frame.bytes, position + 1);
    memcpy(bytes + position + 1, frame.bytes + position, n - position);
    check_damaged_then_good(bytes, n + 1);
    /* inserted byte */
    for (uint32_t v = 0; v < sizeof kInserted; ++v) {
      memcpy(bytes, frame.bytes, position);
      bytes[position] = kInserted[v];
      memcpy(bytes + position + 1, frame.bytes + position, n - position);
      check_damaged_then_good(bytes, n + 1);
    }
    /* truncated: the frame cut short after `position` bytes (so a cut inside the length too) */
    check_damaged_then_good(frame.bytes, position);
  }
}

static void test_flipped_bit_is_never_delivered(void) {
  /* CRC-16 catches every single-bit error in the body; escapes must not defeat it. */
  static const uint8_t kPayload[] = {RVTVM_SFRAME_START, 0x10, RVTVM_SFRAME_ESCAPE, 0x5E, 0x5D};
  static struct stream frame;
  memset(&frame, 0, sizeof frame);
  append_frame(&frame, kPayload, sizeof kPayload);
  static struct stream stream;
  for (uint32_t position = 0; position < frame.length; ++position) {
    for (uint32_t bit = 0; bit < 8; ++bit) {
      stream = frame;
      stream.bytes[position] ^= (uint8_t)(1u << bit);
      static struct decode_log log;
      decode_all(&stream, 64, &log);
      CHECK(log.num_delivered == 0);
    }
  }
}

/* ----- Cross-test modes */

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void stdout_hex(void* context, const uint8_t* bytes, uint32_t count) {
  (void)context;
  for (uint32_t i = 0; i < count; ++i) {
    printf("%02x", bytes[i]);
  }
}

static int encode_lines(void) {
  static uint8_t payload[RVTVM_SFRAME_MAX_PAYLOAD];
  uint32_t length = 0;
  int high = -1;
  for (int c = getchar();; c = getchar()) {
    if (c == EOF || c == '\n') {
      if (c == EOF && length == 0 && high < 0) {
        return 0;
      }
      if (high >= 0) {
        return 1; /* odd number of hex digits */
      }
      struct rvtvm_sframe_encoder encoder;
      rvtvm_sframe_encoder_init(&encoder, stdout_hex, NULL);
      rvtvm_sframe_begin(&encoder, (uint16_t)length);
      rvtvm_sframe_put(&encoder, payload, length);
      if (rvtvm_sframe_end(&encoder) != 0) {
        return 1;
      }
      printf("\n");
      length = 0;
      if (c == EOF) {
        return 0;
      }
      continue;
    }
    int digit = hex_value(c);
    if (digit < 0 || (high < 0 && length >= sizeof payload)) {
      return 1;
    }
    if (high < 0) {
      high = digit;
    } else {
      payload[length++] = (uint8_t)(high << 4 | digit);
      high = -1;
    }
  }
}

static int decode_stdin(uint32_t capacity) {
  static uint8_t buffer[RVTVM_SFRAME_MAX_PAYLOAD];
  struct rvtvm_sframe_decoder decoder;
  rvtvm_sframe_decoder_init(&decoder, buffer, capacity);
  for (int c = getchar(); c != EOF; c = getchar()) {
    uint32_t length = 0;
    int event = rvtvm_sframe_decoder_feed(&decoder, (uint8_t)c, &length);
    if (event == RVTVM_SFRAME_EVENT_FRAME) {
      printf("frame ");
      stdout_hex(NULL, buffer, length);
      printf("\n");
    } else if (event != RVTVM_SFRAME_EVENT_NONE) {
      printf("error %d\n", event);
    }
  }
  printf("garbage %u\n", (unsigned)decoder.garbage_bytes);
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "--encode") == 0) {
    return encode_lines();
  }
  if (argc == 3 && strcmp(argv[1], "--decode") == 0) {
    return decode_stdin((uint32_t)strtoul(argv[2], NULL, 10));
  }
  RUN_TEST(test_crc_check_value);
  RUN_TEST(test_encoder_matches_reference_vectors);
  RUN_TEST(test_round_trips);
  RUN_TEST(test_length_is_little_endian_and_capacity_inclusive);
  RUN_TEST(test_scattered_payload_at_every_split_point);
  RUN_TEST(test_encoder_keeps_stream_well_formed_when_miscounted);
  RUN_TEST(test_garbage_then_frame);
  RUN_TEST(test_start_mid_frame_abandons_it);
  RUN_TEST(test_bad_escape_rejected);
  RUN_TEST(test_oversized_length_rejected_when_complete);
  RUN_TEST(test_every_single_corruption_then_good_frame);
  RUN_TEST(test_flipped_bit_is_never_delivered);
  return check_summary();
}
