/* The device side of the host-driven session (rvtvm/session.h): OPEN/OPENED, requests routed by
 * nonce, replies tagged with the request's nonce and seq, NO_SESSION before OPEN and after a
 * reset, FRAME errors for damaged frames followed by normal service, MALFORMED messages, replies
 * too long for a frame, and a miscounted reply that no receiver accepts. Built with ASan/UBSan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "byte_stream.h"
#include "rvtvm/session.h"

#define CAPACITY 64u /* the device's message buffer: header + 57 bytes of request */
#define MAX_MESSAGES 8u

/* The device under test, with handlers that record what they saw and reply as told. */
static struct stream to_host;
static struct rvtvm_session session;
static uint8_t* device_buffer;
static uint32_t opens;
static uint32_t requests;
static uint8_t last_request[CAPACITY];
static uint32_t last_request_length;
enum { REPLY_ECHO, REPLY_NONE, REPLY_TWICE, REPLY_HUGE, REPLY_SHORT };
static int reply_mode;

static void on_open(void* context) {
  CHECK(context == &opens);
  ++opens;
}

static void on_request(void* context, struct rvtvm_session* current, const uint8_t* packet,
                       uint32_t length) {
  CHECK(context == &opens && current == &session);
  ++requests;
  CHECK(length <= CAPACITY);
  memcpy(last_request, packet, length);
  last_request_length = length;
  switch (reply_mode) {
    case REPLY_ECHO:
    case REPLY_TWICE:
      for (int i = 0; i < (reply_mode == REPLY_TWICE ? 2 : 1); ++i) {
        rvtvm_session_reply_begin(current, length);
        rvtvm_session_reply_put(current, packet, length);
        rvtvm_session_reply_end(current);
      }
      break;
    case REPLY_HUGE:
      rvtvm_session_reply_begin(current, 70000u);
      rvtvm_session_reply_put(current, packet, length);
      rvtvm_session_reply_end(current);
      break;
    case REPLY_SHORT: /* says 10 bytes, sends 3 */
      rvtvm_session_reply_begin(current, 10u);
      rvtvm_session_reply_put(current, "abc", 3);
      rvtvm_session_reply_end(current);
      break;
    default:
      break;
  }
}

static uint32_t fixed_entropy(void) { return 42u; }

static void device_start(void) {
  memset(&to_host, 0, sizeof to_host);
  free(device_buffer);
  device_buffer = malloc(CAPACITY); /* exactly CAPACITY on the heap, so ASan sees overruns */
  opens = requests = 0;
  reply_mode = REPLY_ECHO;
  const struct rvtvm_session_handlers handlers = {on_open, on_request, &opens};
  rvtvm_session_init(&session, device_buffer, CAPACITY, stream_append, &to_host, &handlers,
                     fixed_entropy);
}

static void feed(const struct stream* bytes) {
  for (uint32_t i = 0; i < bytes->length; ++i) {
    rvtvm_session_feed(&session, bytes->bytes[i]);
  }
}

static void message(struct stream* out, uint8_t kind, uint32_t nonce, uint16_t seq,
                    const void* body, uint32_t body_bytes) {
  uint8_t header[RVTVM_SESSION_HEADER_BYTES] = {kind,
                                                (uint8_t)nonce,
                                                (uint8_t)(nonce >> 8),
                                                (uint8_t)(nonce >> 16),
                                                (uint8_t)(nonce >> 24),
                                                (uint8_t)seq,
                                                (uint8_t)(seq >> 8)};
  struct rvtvm_sframe_encoder encoder;
  rvtvm_sframe_encoder_init(&encoder, stream_append, out);
  rvtvm_sframe_begin(&encoder, (uint16_t)(sizeof header + body_bytes));
  rvtvm_sframe_put(&encoder, header, sizeof header);
  rvtvm_sframe_put(&encoder, body, body_bytes);
  CHECK(rvtvm_sframe_end(&encoder) == 0);
}

static void send(uint8_t kind, uint32_t nonce, uint16_t seq, const void* body,
                 uint32_t body_bytes) {
  static struct stream in;
  memset(&in, 0, sizeof in);
  message(&in, kind, nonce, seq, body, body_bytes);
  feed(&in);
}

/* What the device sent, decoded. */
struct reply {
  uint8_t kind;
  uint32_t nonce;
  uint16_t seq;
  uint8_t body[512];
  uint32_t body_bytes;
};
static struct reply replies[MAX_MESSAGES];
static uint32_t num_replies;
static uint32_t host_errors;

static void decode_device_output(void) {
  static uint8_t buffer[RVTVM_SFRAME_MAX_PAYLOAD];
  struct rvtvm_sframe_decoder decoder;
  rvtvm_sframe_decoder_init(&decoder, buffer, sizeof buffer);
  num_replies = host_errors = 0;
  for (uint32_t i = 0; i < to_host.length; ++i) {
    uint32_t length = 0;
    int event = rvtvm_sframe_decoder_feed(&decoder, to_host.bytes[i], &length);
    if (event == RVTVM_SFRAME_EVENT_FRAME) {
      CHECK(length >= RVTVM_SESSION_HEADER_BYTES && num_replies < MAX_MESSAGES);
      if (length < RVTVM_SESSION_HEADER_BYTES || num_replies >= MAX_MESSAGES ||
          length - RVTVM_SESSION_HEADER_BYTES > sizeof replies[0].body) {
        continue;
      }
      struct reply* r = &replies[num_replies++];
      r->kind = buffer[0];
      r->nonce = (uint32_t)buffer[1] | (uint32_t)buffer[2] << 8 | (uint32_t)buffer[3] << 16 |
                 (uint32_t)buffer[4] << 24;
      r->seq = (uint16_t)(buffer[5] | buffer[6] << 8);
      r->body_bytes = length - RVTVM_SESSION_HEADER_BYTES;
      memcpy(r->body, buffer + RVTVM_SESSION_HEADER_BYTES, r->body_bytes);
    } else if (event != RVTVM_SFRAME_EVENT_NONE) {
      ++host_errors;
    }
  }
  to_host.length = 0;
}

static uint32_t le32(const uint8_t* p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void open_session(uint32_t nonce) {
  send(RVTVM_SESSION_OPEN, nonce, 0, NULL, 0);
  decode_device_output();
  CHECK(num_replies == 1 && replies[0].kind == RVTVM_SESSION_OPENED);
  CHECK(replies[0].nonce == nonce && replies[0].body_bytes == RVTVM_SESSION_OPENED_BODY_BYTES);
  CHECK(le32(replies[0].body + 4) == CAPACITY - RVTVM_SESSION_HEADER_BYTES);
}

static void test_boot_then_open(void) {
  device_start();
  rvtvm_session_announce_boot(&session);
  decode_device_output();
  CHECK(num_replies == 1 && replies[0].kind == RVTVM_SESSION_BOOT && replies[0].nonce == 0);
  open_session(0x11223344u);
  CHECK(opens == 1);
  uint32_t boot_nonce = le32(replies[0].body);
  CHECK(boot_nonce != 0);
  open_session(0x55667788u); /* a second OPEN: a new session, same boot nonce */
  CHECK(opens == 2 && le32(replies[0].body) == boot_nonce);
}

static void test_request_reply_carries_nonce_and_seq(void) {
  device_start();
  open_session(7u);
  send(RVTVM_SESSION_REQUEST, 7u, 0xBEEFu, "packet", 6);
  decode_device_output();
  CHECK(requests == 1 && last_request_length == 6 && memcmp(last_request, "packet", 6) == 0);
  CHECK(num_replies == 1 && replies[0].kind == RVTVM_SESSION_REPLY);
  CHECK(replies[0].nonce == 7u && replies[0].seq == 0xBEEFu);
  CHECK(replies[0].body_bytes == 6 && memcmp(replies[0].body, "packet", 6) == 0);
}

static void test_no_session_before_open_and_for_other_nonce(void) {
  device_start();
  send(RVTVM_SESSION_REQUEST, 9u, 3u, "x", 1);
  decode_device_output();
  CHECK(requests == 0 && num_replies == 1 && replies[0].kind == RVTVM_SESSION_ERROR);
  CHECK(replies[0].nonce == 9u && replies[0].seq == 3u);
  CHECK(replies[0].body[0] == RVTVM_SESSION_ERR_NO_SESSION);
  open_session(10u);
  send(RVTVM_SESSION_REQUEST, 9u, 4u, "x", 1); /* a stale session's request */
  decode_device_output();
  CHECK(requests == 0 && num_replies == 1 && replies[0].body[0] == RVTVM_SESSION_ERR_NO_SESSION);
  send(RVTVM_SESSION_REQUEST, 0u, 5u, "x", 1);
  decode_device_output();
  CHECK(requests == 0 && num_replies == 1 && replies[0].body[0] == RVTVM_SESSION_ERR_NO_SESSION);
}

static void test_damaged_frames_reported_then_service_resumes(void) {
  device_start();
  open_session(21u);
  static struct stream good;
  memset(&good, 0, sizeof good);
  message(&good, RVTVM_SESSION_REQUEST, 21u, 1u, "hello", 5);
  /* Every single bit flip of a request: never served wrong, reported, and the next one works. */
  for (uint32_t bit = 8; bit < good.length * 8u; ++bit) {
    static struct stream bad;
    bad = good;
    bad.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    uint32_t served_before = requests;
    feed(&bad);
    CHECK(requests == served_before); /* the damaged copy is never served */
    feed(&good);
    decode_device_output();
    CHECK(requests == served_before + 1);
    CHECK(last_request_length == 5 && memcmp(last_request, "hello", 5) == 0);
    CHECK(host_errors == 0);
    /* The last message is the good request's reply. */
    CHECK(num_replies >= 1 && replies[num_replies - 1].kind == RVTVM_SESSION_REPLY &&
          replies[num_replies - 1].seq == 1u);
  }
  /* A damaged frame that never completes is reported when the next START arrives. */
  static struct stream cut;
  cut = good;
  cut.length -= 3;
  feed(&cut);
  feed(&good);
  decode_device_output();
  CHECK(num_replies == 2 && replies[0].kind == RVTVM_SESSION_ERROR &&
        replies[0].body[0] == RVTVM_SESSION_ERR_FRAME && replies[0].nonce == 21u);
  CHECK(replies[1].kind == RVTVM_SESSION_REPLY);
}

static void test_oversized_request_is_a_frame_error(void) {
  device_start();
  open_session(5u);
  static uint8_t big[CAPACITY];
  memset(big, 0x5A, sizeof big);
  send(RVTVM_SESSION_REQUEST, 5u, 1u, big, CAPACITY - RVTVM_SESSION_HEADER_BYTES + 1);
  decode_device_output();
  CHECK(requests == 0 && num_replies == 1 && replies[0].kind == RVTVM_SESSION_ERROR);
  CHECK(replies[0].body[0] == RVTVM_SESSION_ERR_FRAME);
  send(RVTVM_SESSION_REQUEST, 5u, 2u, big, CAPACITY - RVTVM_SESSION_HEADER_BYTES);
  decode_device_output();
  CHECK(requests == 1 && num_replies == 1 && replies[0].kind == RVTVM_SESSION_REPLY);
}

static void test_malformed_messages(void) {
  device_start();
  open_session(5u);
  static struct stream in;
  memset(&in, 0, sizeof in);
  struct rvtvm_sframe_encoder encoder;
  rvtvm_sframe_encoder_init(&encoder, stream_append, &in);
  rvtvm_sframe_begin(&encoder, 3);
  rvtvm_sframe_put(&encoder, "QAB", 3); /* shorter than a header */
  CHECK(rvtvm_sframe_end(&encoder) == 0);
  feed(&in);
  send(0x99, 5u, 1u, NULL, 0);                    /* unknown kind */
  send(RVTVM_SESSION_OPEN, 0u, 0u, NULL, 0);      /* OPEN without a nonce */
  send(RVTVM_SESSION_OPEN, 6u, 0u, "extra", 5);   /* OPEN with a body */
  decode_device_output();
  CHECK(num_replies == 4 && opens == 1 && requests == 0);
  for (uint32_t i = 0; i < num_replies; ++i) {
    CHECK(replies[i].kind == RVTVM_SESSION_ERROR && replies[i].body[0] == RVTVM_SESSION_ERR_MALFORMED);
  }
  send(RVTVM_SESSION_REQUEST, 5u, 2u, "ok", 2); /* the session survived */
  decode_device_output();
  CHECK(num_replies == 1 && replies[0].kind == RVTVM_SESSION_REPLY);
}

static void test_reply_rules(void) {
  device_start();
  open_session(5u);
  reply_mode = REPLY_TWICE; /* only the first reply goes out */
  send(RVTVM_SESSION_REQUEST, 5u, 1u, "ab", 2);
  decode_device_output();
  CHECK(num_replies == 1 && replies[0].kind == RVTVM_SESSION_REPLY);
  reply_mode = REPLY_HUGE;
  send(RVTVM_SESSION_REQUEST, 5u, 2u, "ab", 2);
  decode_device_output();
  CHECK(num_replies == 1 && replies[0].kind == RVTVM_SESSION_ERROR && replies[0].seq == 2u &&
        replies[0].body[0] == RVTVM_SESSION_ERR_REPLY_TOO_LONG);
  reply_mode = REPLY_SHORT; /* a miscounted reply reaches the host as a bad frame, not data */
  send(RVTVM_SESSION_REQUEST, 5u, 3u, "ab", 2);
  decode_device_output();
  CHECK(num_replies == 0 && host_errors == 1);
  reply_mode = REPLY_NONE; /* a request may have no reply (kShutdown) */
  send(RVTVM_SESSION_REQUEST, 5u, 4u, "ab", 2);
  decode_device_output();
  CHECK(num_replies == 0 && host_errors == 0 && requests == 4);
  rvtvm_session_reply_begin(&session, 2); /* outside a request: dropped */
  rvtvm_session_reply_put(&session, "zz", 2);
  rvtvm_session_reply_end(&session);
  decode_device_output();
  CHECK(num_replies == 0 && host_errors == 0);
}

int main(void) {
  RUN_TEST(test_boot_then_open);
  RUN_TEST(test_request_reply_carries_nonce_and_seq);
  RUN_TEST(test_no_session_before_open_and_for_other_nonce);
  RUN_TEST(test_damaged_frames_reported_then_service_resumes);
  RUN_TEST(test_oversized_request_is_a_frame_error);
  RUN_TEST(test_malformed_messages);
  RUN_TEST(test_reply_rules);
  free(device_buffer);
  return check_summary();
}
