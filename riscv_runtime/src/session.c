/* The host-driven session (rules and format in rvtvm/session.h). */
#include "rvtvm/session.h"

#include <string.h>

enum { REPLY_NONE, REPLY_READY, REPLY_WRITING, REPLY_DROPPED };

static void put_u16(uint8_t* out, uint16_t value) {
  out[0] = (uint8_t)value;
  out[1] = (uint8_t)(value >> 8);
}

static void put_u32(uint8_t* out, uint32_t value) {
  put_u16(out, (uint16_t)value);
  put_u16(out + 2, (uint16_t)(value >> 16));
}

static uint32_t get_u32(const uint8_t* in) {
  return (uint32_t)in[0] | (uint32_t)in[1] << 8 | (uint32_t)in[2] << 16 | (uint32_t)in[3] << 24;
}

static void begin_message(struct rvtvm_session* session, uint8_t kind, uint32_t nonce,
                          uint16_t seq, uint32_t body_bytes) {
  uint8_t header[RVTVM_SESSION_HEADER_BYTES];
  header[0] = kind;
  put_u32(header + 1, nonce);
  put_u16(header + 5, seq);
  rvtvm_sframe_begin(&session->encoder, (uint16_t)(RVTVM_SESSION_HEADER_BYTES + body_bytes));
  rvtvm_sframe_put(&session->encoder, header, sizeof header);
}

static void send_error(struct rvtvm_session* session, uint32_t nonce, uint16_t seq,
                       uint8_t reason, const char* detail) {
  uint32_t detail_bytes = (uint32_t)strlen(detail);
  begin_message(session, RVTVM_SESSION_ERROR, nonce, seq, 1u + detail_bytes);
  rvtvm_sframe_put(&session->encoder, &reason, 1);
  rvtvm_sframe_put(&session->encoder, detail, detail_bytes);
  (void)rvtvm_sframe_end(&session->encoder);
}

void rvtvm_session_init(struct rvtvm_session* session, uint8_t* buffer, uint32_t capacity,
                        rvtvm_sframe_sink write, void* sink_context,
                        const struct rvtvm_session_handlers* handlers, uint32_t (*entropy)(void)) {
  memset(session, 0, sizeof *session);
  rvtvm_sframe_decoder_init(&session->decoder, buffer, capacity);
  rvtvm_sframe_encoder_init(&session->encoder, write, sink_context);
  session->handlers = *handlers;
  session->entropy = entropy;
}

void rvtvm_session_announce_boot(struct rvtvm_session* session) {
  begin_message(session, RVTVM_SESSION_BOOT, 0, 0, 0);
  (void)rvtvm_sframe_end(&session->encoder);
}

static const char* frame_error_text(int event) {
  switch (event) {
    case RVTVM_SFRAME_ERR_CRC:
      return "frame dropped: bad CRC";
    case RVTVM_SFRAME_ERR_ESCAPE:
      return "frame dropped: bad escape";
    case RVTVM_SFRAME_ERR_LENGTH:
      return "frame dropped: longer than the device's buffer";
    default:
      return "frame dropped: cut short by a new frame";
  }
}

static void open_session(struct rvtvm_session* session, uint32_t nonce) {
  if (session->boot_nonce == 0) {
    /* Knuth's multiplicative hash spreads a few varying low bits over the word. */
    uint32_t seed = session->entropy != 0 ? session->entropy() : 0u;
    session->boot_nonce = (seed * 2654435761u) | 1u;
  }
  session->nonce = nonce;
  if (session->handlers.on_open != 0) {
    session->handlers.on_open(session->handlers.context);
  }
  uint8_t body[RVTVM_SESSION_OPENED_BODY_BYTES];
  put_u32(body, session->boot_nonce);
  put_u32(body + 4, (uint32_t)session->decoder.capacity - RVTVM_SESSION_HEADER_BYTES);
  begin_message(session, RVTVM_SESSION_OPENED, nonce, 0, sizeof body);
  rvtvm_sframe_put(&session->encoder, body, sizeof body);
  (void)rvtvm_sframe_end(&session->encoder);
}

static void serve_request(struct rvtvm_session* session, uint32_t nonce, uint16_t seq,
                          const uint8_t* body, uint32_t body_bytes) {
  if (nonce == 0 || nonce != session->nonce) {
    send_error(session, nonce, seq, RVTVM_SESSION_ERR_NO_SESSION,
               session->nonce == 0 ? "no session is open (the device reset?)"
                                   : "request for another session");
    return;
  }
  session->reply_nonce = nonce;
  session->reply_seq = seq;
  session->reply_state = REPLY_READY;
  if (session->handlers.on_request != 0) {
    session->handlers.on_request(session->handlers.context, session, body, body_bytes);
  }
  session->reply_state = REPLY_NONE;
}

void rvtvm_session_feed(struct rvtvm_session* session, uint8_t byte) {
  uint32_t length = 0;
  int event = rvtvm_sframe_decoder_feed(&session->decoder, byte, &length);
  if (event == RVTVM_SFRAME_EVENT_NONE) {
    return;
  }
  if (event != RVTVM_SFRAME_EVENT_FRAME) {
    send_error(session, session->nonce, 0, RVTVM_SESSION_ERR_FRAME, frame_error_text(event));
    return;
  }
  const uint8_t* message = session->decoder.buffer;
  if (length < RVTVM_SESSION_HEADER_BYTES) {
    send_error(session, session->nonce, 0, RVTVM_SESSION_ERR_MALFORMED,
               "message shorter than its header");
    return;
  }
  uint32_t nonce = get_u32(message + 1);
  uint16_t seq = (uint16_t)(message[5] | message[6] << 8);
  const uint8_t* body = message + RVTVM_SESSION_HEADER_BYTES;
  uint32_t body_bytes = length - RVTVM_SESSION_HEADER_BYTES;
  switch (message[0]) {
    case RVTVM_SESSION_OPEN:
      if (nonce == 0 || body_bytes != 0) {
        send_error(session, nonce, seq, RVTVM_SESSION_ERR_MALFORMED,
                   "OPEN needs a non-zero nonce and no body");
      } else {
        open_session(session, nonce);
      }
      return;
    case RVTVM_SESSION_REQUEST:
      serve_request(session, nonce, seq, body, body_bytes);
      return;
    default:
      send_error(session, nonce, seq, RVTVM_SESSION_ERR_MALFORMED, "unknown message kind");
      return;
  }
}

void rvtvm_session_reply_begin(struct rvtvm_session* session, uint32_t packet_bytes) {
  if (session->reply_state != REPLY_READY) {
    session->reply_state = REPLY_DROPPED; /* not serving a request, or a second reply */
    return;
  }
  if (packet_bytes > RVTVM_SFRAME_MAX_PAYLOAD - RVTVM_SESSION_HEADER_BYTES) {
    session->reply_state = REPLY_DROPPED;
    send_error(session, session->reply_nonce, session->reply_seq,
               RVTVM_SESSION_ERR_REPLY_TOO_LONG, "reply longer than a session frame");
    return;
  }
  session->reply_state = REPLY_WRITING;
  begin_message(session, RVTVM_SESSION_REPLY, session->reply_nonce, session->reply_seq,
                packet_bytes);
}

void rvtvm_session_reply_put(struct rvtvm_session* session, const void* bytes, uint32_t count) {
  if (session->reply_state == REPLY_WRITING) {
    rvtvm_sframe_put(&session->encoder, bytes, count);
  }
}

void rvtvm_session_reply_end(struct rvtvm_session* session) {
  if (session->reply_state == REPLY_WRITING) {
    (void)rvtvm_sframe_end(&session->encoder);
    session->reply_state = REPLY_DROPPED; /* one reply per request */
  }
}
