/* Framing for the host-driven session: opaque payloads over a lossy UART. Portable C, no board
 * calls, so the same code runs in the firmware and in the host unit tests.
 *
 * This header is the single source of truth for the format: rvtvm/session_frame.py parses the
 * RVTVM_SFRAME_* #defines below, so keep each one a plain `#define NAME <integer>` on one line.
 *
 * Frame:  START | escaped( length:u16le | payload[length] | crc:u16le )
 *  - START (0x7E) begins every frame. Inside a frame a byte equal to START or ESCAPE (0x7D) is
 *    sent as ESCAPE, byte ^ ESCAPE_XOR (0x20); so START never appears inside a frame.
 *  - crc is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, no final xor; "123456789"
 *    gives 0x29B1) over the unescaped length bytes and payload.
 *  - Nothing ends a frame but its length: there is no closing START, and bytes between frames are
 *    skipped.
 *
 * Decoder rules (one byte at a time, no allocation, payload buffer of the caller's capacity):
 *  - Bytes outside a frame are skipped and counted in garbage_bytes; they are not error events.
 *  - A START anywhere abandons the frame in progress (ERR_TRUNCATED if it had received any byte
 *    after its START) and begins a new one: the decoder resynchronises on every START.
 *  - A length above the capacity is ERR_LENGTH as soon as its second byte arrives; ESCAPE followed
 *    by anything but START^0x20 or ESCAPE^0x20 is ERR_ESCAPE; a CRC mismatch is ERR_CRC. After
 *    each, bytes are skipped until the next START.
 *  - EVENT_FRAME is reported only after the CRC matched. The buffer is scratch at all other times:
 *    bytes of a frame still arriving (or rejected) land there, and the next START overwrites it,
 *    so consume the payload before feeding the next byte.
 */
#ifndef RVTVM_SESSION_FRAME_H_
#define RVTVM_SESSION_FRAME_H_

#include <stdint.h>

#define RVTVM_SFRAME_START 0x7E
#define RVTVM_SFRAME_ESCAPE 0x7D
#define RVTVM_SFRAME_ESCAPE_XOR 0x20
#define RVTVM_SFRAME_LENGTH_BYTES 2
#define RVTVM_SFRAME_CRC_BYTES 2
#define RVTVM_SFRAME_MAX_PAYLOAD 65535
#define RVTVM_SFRAME_CRC_POLY 0x1021
#define RVTVM_SFRAME_CRC_INIT 0xFFFF
#define RVTVM_SFRAME_CRC_CHECK 0x29B1

/* What rvtvm_sframe_decoder_feed reports for one byte. */
#define RVTVM_SFRAME_EVENT_NONE 0
#define RVTVM_SFRAME_EVENT_FRAME 1
#define RVTVM_SFRAME_ERR_CRC 2
#define RVTVM_SFRAME_ERR_ESCAPE 3
#define RVTVM_SFRAME_ERR_LENGTH 4
#define RVTVM_SFRAME_ERR_TRUNCATED 5

/* CRC-16/CCITT-FALSE of `count` bytes, continuing from `crc` (start from RVTVM_SFRAME_CRC_INIT). */
uint16_t rvtvm_sframe_crc16(uint16_t crc, const uint8_t* bytes, uint32_t count);

/* ----- Decoder */

struct rvtvm_sframe_decoder {
  uint8_t* buffer;
  uint16_t capacity;
  uint8_t state;
  uint8_t escape_pending;
  uint16_t length;
  uint16_t received;
  uint16_t crc;
  uint16_t received_crc;
  /* Bytes skipped outside frames since init; wraps around. */
  uint32_t garbage_bytes;
};

/* `capacity` above RVTVM_SFRAME_MAX_PAYLOAD is treated as RVTVM_SFRAME_MAX_PAYLOAD. */
void rvtvm_sframe_decoder_init(struct rvtvm_sframe_decoder* decoder, uint8_t* buffer,
                               uint32_t capacity);

/* Feeds one byte from the wire. Returns an RVTVM_SFRAME_EVENT_* or RVTVM_SFRAME_ERR_* code; on
 * RVTVM_SFRAME_EVENT_FRAME the payload is buffer[0 .. *frame_length) (*frame_length is written
 * only then). */
int rvtvm_sframe_decoder_feed(struct rvtvm_sframe_decoder* decoder, uint8_t byte,
                              uint32_t* frame_length);

/* ----- Encoder: rvtvm_sframe_begin(length); any number of rvtvm_sframe_put(); rvtvm_sframe_end().
 * Streams START and the escaped body to the sink; no frame buffer. The stream stays well formed
 * if the caller miscounts: bytes beyond `length` are dropped, missing ones are sent as zeros, the
 * CRC is sent inverted so that every receiver rejects the frame (ERR_CRC), and rvtvm_sframe_end
 * reports the mismatch. */

typedef void (*rvtvm_sframe_sink)(void* context, const uint8_t* bytes, uint32_t count);

struct rvtvm_sframe_encoder {
  rvtvm_sframe_sink write;
  void* sink_context;
  uint16_t crc;
  uint16_t remaining;
  uint8_t miscounted;
};

void rvtvm_sframe_encoder_init(struct rvtvm_sframe_encoder* encoder, rvtvm_sframe_sink write,
                               void* sink_context);
void rvtvm_sframe_begin(struct rvtvm_sframe_encoder* encoder, uint16_t length);
void rvtvm_sframe_put(struct rvtvm_sframe_encoder* encoder, const void* bytes, uint32_t count);
/* Sends the CRC. Returns 0, or -1 if the pieces did not add up to the length given to begin. */
int rvtvm_sframe_end(struct rvtvm_sframe_encoder* encoder);

#endif /* RVTVM_SESSION_FRAME_H_ */
