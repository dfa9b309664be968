/* Reads wire.h frames from an untrusted byte stream. Portable C: no board calls, so the same code
 * runs in the firmware and in the host unit tests.
 *
 * Use: rvtvm_frame_decoder_next() finds the next frame and checks its type and length against the
 * caller's rules before any payload byte is read; then rvtvm_frame_decoder_read_payload() streams
 * the payload into the caller's buffers (scattered over several, in order) and checks the CRC.
 *
 * Recovery, so that no stale byte is ever delivered and no good frame is lost behind a bad one:
 *  - Bytes before MAGIC0 MAGIC1 are skipped.
 *  - A refused header (unknown type, length out of range) is not trusted: its payload is not read
 *    and the stream is rescanned from the byte after its MAGIC1, so a corrupted length can never
 *    make the decoder wait for bytes that will not come.
 *  - After a bad CRC the failed frame's bytes after its MAGIC1 are rescanned, reading its payload
 *    back from the destination buffers. A good frame swallowed by a truncated one comes out
 *    intact. Until the next frame is delivered, leave the failed frame's pieces array and buffers
 *    alone, and give the next frame either the same pieces or buffers that do not overlap them
 *    (with the same pieces, every write lands behind the byte being rescanned).
 */
#ifndef RVTVM_FRAME_DECODER_H_
#define RVTVM_FRAME_DECODER_H_

#include <stdint.h>

#include "rvtvm/wire.h"

/* Returned when the byte source reports the end of its input; never sent on the wire. */
#define RVTVM_FRAME_END_OF_INPUT (-1)

/* Next byte (0..255), or a negative value when no byte will come. */
typedef int (*rvtvm_byte_source)(void* context);

/* Accepted frame type and its inclusive payload length range (min == max for an exact length). */
struct rvtvm_frame_rule {
  uint8_t type;
  uint32_t min_length;
  uint32_t max_length;
};

/* A destination for part of a payload. */
struct rvtvm_span {
  uint8_t* bytes;
  uint32_t count;
};

#define RVTVM_FRAME_TYPE_AND_LENGTH_BYTES 5

struct rvtvm_frame_decoder {
  rvtvm_byte_source read_byte;
  void* source_context;
  const struct rvtvm_frame_rule* rules;
  uint32_t num_rules;

  /* The frame whose header next() returned. */
  uint8_t header[RVTVM_FRAME_TYPE_AND_LENGTH_BYTES];
  uint32_t length;
  uint32_t header_crc;
  uint8_t payload_pending;

  /* A refused header, read again before anything else. */
  uint8_t pushback[RVTVM_FRAME_TYPE_AND_LENGTH_BYTES];
  uint8_t pushback_count;
  uint8_t pushback_next;

  /* A frame that failed its CRC, rescanned from its type byte: header, payload, crc. */
  uint8_t replay_header[RVTVM_FRAME_TYPE_AND_LENGTH_BYTES];
  uint8_t replay_crc[RVTVM_FRAME_TRAILER_BYTES];
  const struct rvtvm_span* replay_pieces;
  uint32_t replay_payload_length;
  uint32_t replay_total;
  uint32_t replay_position;
  uint32_t replay_piece_index;
  uint32_t replay_piece_offset;
};

void rvtvm_frame_decoder_init(struct rvtvm_frame_decoder* decoder, rvtvm_byte_source read_byte,
                              void* source_context, const struct rvtvm_frame_rule* rules,
                              uint32_t num_rules);

/* Finds the next frame start and reads its type and length into *type and *length.
 * Returns RVTVM_OK (now call read_payload), RVTVM_ERR_WIRE_TYPE or RVTVM_ERR_WIRE_LENGTH (header
 * refused, nothing else read), or RVTVM_FRAME_END_OF_INPUT. */
int rvtvm_frame_decoder_next(struct rvtvm_frame_decoder* decoder, uint8_t* type,
                             uint32_t* length);

/* Streams the accepted frame's payload into `pieces` (their counts must add up to its length)
 * and checks the CRC. Returns RVTVM_OK, RVTVM_ERR_WIRE_CRC, RVTVM_ERR_WIRE_LENGTH (pieces do not
 * match the length, or no frame is pending; the header is then rescanned), or
 * RVTVM_FRAME_END_OF_INPUT. */
int rvtvm_frame_decoder_read_payload(struct rvtvm_frame_decoder* decoder,
                                     const struct rvtvm_span* pieces, uint32_t num_pieces);

#endif /* RVTVM_FRAME_DECODER_H_ */
