/* wire.h frame decoder with resync and recovery (see rvtvm/frame_decoder.h for the rules). */
#include "rvtvm/frame_decoder.h"

#include "rvtvm/crc32.h"

void rvtvm_frame_decoder_init(struct rvtvm_frame_decoder* decoder, rvtvm_byte_source read_byte,
                              void* source_context, const struct rvtvm_frame_rule* rules,
                              uint32_t num_rules) {
  *decoder = (struct rvtvm_frame_decoder){0};
  decoder->read_byte = read_byte;
  decoder->source_context = source_context;
  decoder->rules = rules;
  decoder->num_rules = num_rules;
}

static int replay_next_byte(struct rvtvm_frame_decoder* decoder) {
  uint32_t position = decoder->replay_position++;
  if (position < RVTVM_FRAME_TYPE_AND_LENGTH_BYTES) {
    return decoder->replay_header[position];
  }
  uint32_t crc_start = RVTVM_FRAME_TYPE_AND_LENGTH_BYTES + decoder->replay_payload_length;
  if (position >= crc_start) {
    return decoder->replay_crc[position - crc_start];
  }
  /* Payload bytes are read back in order, so a cursor avoids walking the pieces each time. */
  while (decoder->replay_piece_offset >=
         decoder->replay_pieces[decoder->replay_piece_index].count) {
    ++decoder->replay_piece_index;
    decoder->replay_piece_offset = 0;
  }
  const struct rvtvm_span* piece = &decoder->replay_pieces[decoder->replay_piece_index];
  return piece->bytes[decoder->replay_piece_offset++];
}

/* Stream order: a refused header, then a failed frame being rescanned, then the live source. */
static int next_byte(struct rvtvm_frame_decoder* decoder) {
  if (decoder->pushback_next < decoder->pushback_count) {
    return decoder->pushback[decoder->pushback_next++];
  }
  if (decoder->replay_position < decoder->replay_total) {
    return replay_next_byte(decoder);
  }
  int byte = decoder->read_byte(decoder->source_context);
  return byte < 0 ? RVTVM_FRAME_END_OF_INPUT : (byte & 0xFF);
}

static void push_back_header(struct rvtvm_frame_decoder* decoder) {
  /* The header was read from the front of the stream (pushback is empty once a header is read),
   * so putting it back in front keeps the stream order. */
  for (uint32_t i = 0; i < RVTVM_FRAME_TYPE_AND_LENGTH_BYTES; ++i) {
    decoder->pushback[i] = decoder->header[i];
  }
  decoder->pushback_count = RVTVM_FRAME_TYPE_AND_LENGTH_BYTES;
  decoder->pushback_next = 0;
  decoder->payload_pending = 0;
}

static int scan_to_frame_start(struct rvtvm_frame_decoder* decoder) {
  int byte = next_byte(decoder);
  for (;;) {
    if (byte < 0) {
      return RVTVM_FRAME_END_OF_INPUT;
    }
    if (byte != RVTVM_FRAME_MAGIC0) {
      byte = next_byte(decoder);
      continue;
    }
    byte = next_byte(decoder);
    if (byte == RVTVM_FRAME_MAGIC1) {
      return RVTVM_OK;
    }
    /* Not a start; but `byte` may itself be MAGIC0, so examine it again. */
  }
}

static const struct rvtvm_frame_rule* find_rule(const struct rvtvm_frame_decoder* decoder,
                                                uint8_t type) {
  for (uint32_t i = 0; i < decoder->num_rules; ++i) {
    if (decoder->rules[i].type == type) {
      return &decoder->rules[i];
    }
  }
  return 0;
}

int rvtvm_frame_decoder_next(struct rvtvm_frame_decoder* decoder, uint8_t* type,
                             uint32_t* length) {
  decoder->payload_pending = 0;
  int status = scan_to_frame_start(decoder);
  if (status != RVTVM_OK) {
    return status;
  }
  for (uint32_t i = 0; i < RVTVM_FRAME_TYPE_AND_LENGTH_BYTES; ++i) {
    int byte = next_byte(decoder);
    if (byte < 0) {
      return RVTVM_FRAME_END_OF_INPUT;
    }
    decoder->header[i] = (uint8_t)byte;
  }
  decoder->length = (uint32_t)decoder->header[1] | ((uint32_t)decoder->header[2] << 8) |
                    ((uint32_t)decoder->header[3] << 16) | ((uint32_t)decoder->header[4] << 24);
  *type = decoder->header[0];
  *length = decoder->length;

  const struct rvtvm_frame_rule* rule = find_rule(decoder, decoder->header[0]);
  if (rule == 0) {
    push_back_header(decoder);
    return RVTVM_ERR_WIRE_TYPE;
  }
  if (decoder->length < rule->min_length || decoder->length > rule->max_length) {
    push_back_header(decoder);
    return RVTVM_ERR_WIRE_LENGTH;
  }
  decoder->header_crc =
      rvtvm_crc32_update(0, decoder->header, RVTVM_FRAME_TYPE_AND_LENGTH_BYTES);
  decoder->payload_pending = 1;
  return RVTVM_OK;
}

static uint32_t total_count(const struct rvtvm_span* pieces, uint32_t num_pieces,
                            uint32_t limit) {
  uint32_t total = 0;
  for (uint32_t i = 0; i < num_pieces; ++i) {
    if (pieces[i].count > limit - total) {
      return limit + 1u; /* more than the frame holds; also avoids wrapping around */
    }
    total += pieces[i].count;
  }
  return total;
}

static void start_replay(struct rvtvm_frame_decoder* decoder, const struct rvtvm_span* pieces,
                         const uint8_t received_crc[RVTVM_FRAME_TRAILER_BYTES]) {
  for (uint32_t i = 0; i < RVTVM_FRAME_TYPE_AND_LENGTH_BYTES; ++i) {
    decoder->replay_header[i] = decoder->header[i];
  }
  for (uint32_t i = 0; i < RVTVM_FRAME_TRAILER_BYTES; ++i) {
    decoder->replay_crc[i] = received_crc[i];
  }
  decoder->replay_pieces = pieces;
  decoder->replay_payload_length = decoder->length;
  decoder->replay_total =
      RVTVM_FRAME_TYPE_AND_LENGTH_BYTES + decoder->length + RVTVM_FRAME_TRAILER_BYTES;
  decoder->replay_position = 0;
  decoder->replay_piece_index = 0;
  decoder->replay_piece_offset = 0;
}

int rvtvm_frame_decoder_read_payload(struct rvtvm_frame_decoder* decoder,
                                     const struct rvtvm_span* pieces, uint32_t num_pieces) {
  if (!decoder->payload_pending) {
    return RVTVM_ERR_WIRE_LENGTH;
  }
  if (total_count(pieces, num_pieces, decoder->length) != decoder->length) {
    push_back_header(decoder);
    return RVTVM_ERR_WIRE_LENGTH;
  }
  decoder->payload_pending = 0;

  uint32_t crc = decoder->header_crc;
  for (uint32_t p = 0; p < num_pieces; ++p) {
    for (uint32_t i = 0; i < pieces[p].count; ++i) {
      int byte = next_byte(decoder);
      if (byte < 0) {
        return RVTVM_FRAME_END_OF_INPUT;
      }
      pieces[p].bytes[i] = (uint8_t)byte;
      crc = rvtvm_crc32_update_byte(crc, (uint8_t)byte);
    }
  }
  uint8_t received_crc[RVTVM_FRAME_TRAILER_BYTES];
  for (uint32_t i = 0; i < RVTVM_FRAME_TRAILER_BYTES; ++i) {
    int byte = next_byte(decoder);
    if (byte < 0) {
      return RVTVM_FRAME_END_OF_INPUT;
    }
    received_crc[i] = (uint8_t)byte;
  }
  uint32_t expected = (uint32_t)received_crc[0] | ((uint32_t)received_crc[1] << 8) |
                      ((uint32_t)received_crc[2] << 16) | ((uint32_t)received_crc[3] << 24);
  if (crc == expected) {
    return RVTVM_OK;
  }
  /* Rescan the failed frame unless an earlier rescan still has bytes waiting behind it: nesting
   * would need a queue, and losing a frame there needs two faults in a row. */
  if (decoder->replay_position >= decoder->replay_total) {
    start_replay(decoder, pieces, received_crc);
  }
  return RVTVM_ERR_WIRE_CRC;
}
