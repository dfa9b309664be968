/* Session framing: CRC-16, streaming decoder and encoder (rules in rvtvm/session_frame.h). */
#include "rvtvm/session_frame.h"

/* CRC-16/CCITT-FALSE one nibble at a time: entry i is the CRC register after shifting the
 * nibble i (in the top four bits) through the polynomial 0x1021. 32 bytes of table. */
static const uint16_t kCrcNibble[16] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50A5, 0x60C6, 0x70E7,
    0x8108, 0x9129, 0xA14A, 0xB16B, 0xC18C, 0xD1AD, 0xE1CE, 0xF1EF,
};

static uint16_t crc16_byte(uint16_t crc, uint8_t byte) {
  crc = (uint16_t)((uint16_t)(crc << 4) ^ kCrcNibble[(crc >> 12) ^ (byte >> 4)]);
  crc = (uint16_t)((uint16_t)(crc << 4) ^ kCrcNibble[(crc >> 12) ^ (byte & 0x0Fu)]);
  return crc;
}

uint16_t rvtvm_sframe_crc16(uint16_t crc, const uint8_t* bytes, uint32_t count) {
  for (uint32_t i = 0; i < count; ++i) {
    crc = crc16_byte(crc, bytes[i]);
  }
  return crc;
}

/* ----- Decoder */

enum {
  STATE_HUNT, /* outside a frame: waiting for START */
  STATE_LENGTH_LOW,
  STATE_LENGTH_HIGH,
  STATE_PAYLOAD,
  STATE_CRC_LOW,
  STATE_CRC_HIGH,
};

void rvtvm_sframe_decoder_init(struct rvtvm_sframe_decoder* decoder, uint8_t* buffer,
                               uint32_t capacity) {
  *decoder = (struct rvtvm_sframe_decoder){0};
  decoder->buffer = buffer;
  decoder->capacity =
      (uint16_t)(capacity > RVTVM_SFRAME_MAX_PAYLOAD ? RVTVM_SFRAME_MAX_PAYLOAD : capacity);
  decoder->state = STATE_HUNT;
}

static void begin_frame(struct rvtvm_sframe_decoder* decoder) {
  decoder->state = STATE_LENGTH_LOW;
  decoder->escape_pending = 0;
  decoder->length = 0;
  decoder->received = 0;
  decoder->crc = RVTVM_SFRAME_CRC_INIT;
  decoder->received_crc = 0;
}

static int reject(struct rvtvm_sframe_decoder* decoder, int error) {
  decoder->state = STATE_HUNT;
  decoder->escape_pending = 0;
  return error;
}

/* One unescaped body byte. */
static int take_body_byte(struct rvtvm_sframe_decoder* decoder, uint8_t value,
                          uint32_t* frame_length) {
  switch (decoder->state) {
    case STATE_LENGTH_LOW:
      decoder->length = value;
      decoder->crc = crc16_byte(decoder->crc, value);
      decoder->state = STATE_LENGTH_HIGH;
      return RVTVM_SFRAME_EVENT_NONE;
    case STATE_LENGTH_HIGH:
      decoder->length = (uint16_t)(decoder->length | ((uint16_t)value << 8));
      decoder->crc = crc16_byte(decoder->crc, value);
      if (decoder->length > decoder->capacity) {
        return reject(decoder, RVTVM_SFRAME_ERR_LENGTH);
      }
      decoder->state = decoder->length == 0 ? STATE_CRC_LOW : STATE_PAYLOAD;
      return RVTVM_SFRAME_EVENT_NONE;
    case STATE_PAYLOAD:
      /* received < length <= capacity: the state only stays PAYLOAD while bytes are missing. */
      decoder->buffer[decoder->received++] = value;
      decoder->crc = crc16_byte(decoder->crc, value);
      if (decoder->received == decoder->length) {
        decoder->state = STATE_CRC_LOW;
      }
      return RVTVM_SFRAME_EVENT_NONE;
    case STATE_CRC_LOW:
      decoder->received_crc = value;
      decoder->state = STATE_CRC_HIGH;
      return RVTVM_SFRAME_EVENT_NONE;
    case STATE_CRC_HIGH:
      decoder->received_crc = (uint16_t)(decoder->received_crc | ((uint16_t)value << 8));
      decoder->state = STATE_HUNT;
      if (decoder->received_crc != decoder->crc) {
        return RVTVM_SFRAME_ERR_CRC;
      }
      *frame_length = decoder->length;
      return RVTVM_SFRAME_EVENT_FRAME;
    default:
      return reject(decoder, RVTVM_SFRAME_EVENT_NONE);
  }
}

int rvtvm_sframe_decoder_feed(struct rvtvm_sframe_decoder* decoder, uint8_t byte,
                              uint32_t* frame_length) {
  if (byte == RVTVM_SFRAME_START) {
    int truncated = decoder->state != STATE_HUNT &&
                    (decoder->state != STATE_LENGTH_LOW || decoder->escape_pending);
    begin_frame(decoder);
    return truncated ? RVTVM_SFRAME_ERR_TRUNCATED : RVTVM_SFRAME_EVENT_NONE;
  }
  if (decoder->state == STATE_HUNT) {
    ++decoder->garbage_bytes;
    return RVTVM_SFRAME_EVENT_NONE;
  }
  if (decoder->escape_pending) {
    decoder->escape_pending = 0;
    if (byte != (RVTVM_SFRAME_START ^ RVTVM_SFRAME_ESCAPE_XOR) &&
        byte != (RVTVM_SFRAME_ESCAPE ^ RVTVM_SFRAME_ESCAPE_XOR)) {
      return reject(decoder, RVTVM_SFRAME_ERR_ESCAPE);
    }
    return take_body_byte(decoder, (uint8_t)(byte ^ RVTVM_SFRAME_ESCAPE_XOR), frame_length);
  }
  if (byte == RVTVM_SFRAME_ESCAPE) {
    decoder->escape_pending = 1;
    return RVTVM_SFRAME_EVENT_NONE;
  }
  return take_body_byte(decoder, byte, frame_length);
}

/* ----- Encoder */

void rvtvm_sframe_encoder_init(struct rvtvm_sframe_encoder* encoder, rvtvm_sframe_sink write,
                               void* sink_context) {
  *encoder = (struct rvtvm_sframe_encoder){0};
  encoder->write = write;
  encoder->sink_context = sink_context;
}

static void send_escaped(struct rvtvm_sframe_encoder* encoder, uint8_t value) {
  uint8_t out[2];
  uint32_t count = 0;
  if (value == RVTVM_SFRAME_START || value == RVTVM_SFRAME_ESCAPE) {
    out[count++] = RVTVM_SFRAME_ESCAPE;
    out[count++] = (uint8_t)(value ^ RVTVM_SFRAME_ESCAPE_XOR);
  } else {
    out[count++] = value;
  }
  encoder->write(encoder->sink_context, out, count);
}

static void send_body_byte(struct rvtvm_sframe_encoder* encoder, uint8_t value) {
  encoder->crc = crc16_byte(encoder->crc, value);
  send_escaped(encoder, value);
}

void rvtvm_sframe_begin(struct rvtvm_sframe_encoder* encoder, uint16_t length) {
  const uint8_t start = RVTVM_SFRAME_START;
  encoder->write(encoder->sink_context, &start, 1);
  encoder->crc = RVTVM_SFRAME_CRC_INIT;
  encoder->remaining = length;
  encoder->miscounted = 0;
  send_body_byte(encoder, (uint8_t)(length & 0xFFu));
  send_body_byte(encoder, (uint8_t)(length >> 8));
}

void rvtvm_sframe_put(struct rvtvm_sframe_encoder* encoder, const void* bytes, uint32_t count) {
  /* Escaped bytes go to the sink in batches: one call (and one wait for the UART) per batch
   * rather than per byte. */
  uint8_t batch[32];
  uint32_t batched = 0;
  const uint8_t* source = bytes;
  for (uint32_t i = 0; i < count; ++i) {
    if (encoder->remaining == 0) {
      encoder->miscounted = 1;
      break;
    }
    --encoder->remaining;
    uint8_t value = source[i];
    encoder->crc = crc16_byte(encoder->crc, value);
    if (value == RVTVM_SFRAME_START || value == RVTVM_SFRAME_ESCAPE) {
      batch[batched++] = RVTVM_SFRAME_ESCAPE;
      value ^= RVTVM_SFRAME_ESCAPE_XOR;
    }
    batch[batched++] = value;
    if (batched >= sizeof batch - 1) {
      encoder->write(encoder->sink_context, batch, batched);
      batched = 0;
    }
  }
  if (batched > 0) {
    encoder->write(encoder->sink_context, batch, batched);
  }
}

int rvtvm_sframe_end(struct rvtvm_sframe_encoder* encoder) {
  while (encoder->remaining > 0) {
    encoder->miscounted = 1;
    --encoder->remaining;
    send_body_byte(encoder, 0);
  }
  /* A frame whose pieces did not add up carries wrong bytes: break its CRC so that no receiver
   * takes it for data. */
  uint16_t crc = encoder->miscounted ? (uint16_t)~encoder->crc : encoder->crc;
  send_escaped(encoder, (uint8_t)(crc & 0xFFu));
  send_escaped(encoder, (uint8_t)(crc >> 8));
  return encoder->miscounted ? -1 : 0;
}
