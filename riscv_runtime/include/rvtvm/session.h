/* The host-driven session: RPC packets over session frames (rvtvm/session_frame.h), with a
 * nonce per session and a sequence number per request. Portable C, no board calls: the firmware
 * feeds it UART bytes, the host unit tests feed it buffers.
 *
 * This header is the single source of truth for the format: rvtvm/session.py parses the
 * RVTVM_SESSION_* #defines below, so keep each one a plain `#define NAME <integer>` on one line.
 *
 * Every frame payload is a message:  kind:u8 | nonce:u32le | seq:u16le | body
 *
 *   BOOT    device -> host, unsolicited, once at boot: nonce 0, seq 0, empty body. Seen during a
 *           session, it means the device reset.
 *   OPEN    host -> device: nonce = the host's fresh non-zero session nonce, seq 0, empty body.
 *           The device drops whatever session it had, calls on_open (the RPC server resets) and
 *           answers OPENED. Sent again by the host until an OPENED with its nonce arrives.
 *   OPENED  device -> host: the OPEN's nonce, seq 0, body: boot_nonce:u32le (fixed from the
 *           first OPEN after boot, so a host can tell a rebooted device), max_request:u32le (the
 *           largest request body the device takes: session frame capacity minus this header).
 *   REQUEST host -> device: session nonce, seq (the host's counter), body: one RPC packet,
 *           complete (u64 length, code, body).
 *   REPLY   device -> host: the request's nonce and seq, body: one RPC reply packet, complete.
 *           A request that has no reply (kShutdown) gets none.
 *   ERROR   device -> host: body: reason:u8, then ASCII detail. nonce and seq are the request's
 *           when the reason concerns one (NO_SESSION, MALFORMED, REPLY_TOO_LONG), else the current
 *           session's nonce and seq 0 (FRAME).
 *
 * Why it is safe on a lossy UART:
 *  - A frame that fails its CRC (or is cut short) is never delivered; the device reports ERROR
 *    FRAME, so the host fails the pending call at once instead of waiting for its timeout.
 *  - The host matches a REPLY to its request by nonce and seq, so a late reply to a call that
 *    already failed, or a reply from an earlier session, is dropped instead of being taken for
 *    the answer to the current call.
 *  - A device that reset has no session: it answers every REQUEST with ERROR NO_SESSION, and it
 *    sends BOOT; either tells the host its session is gone.
 *  - Nothing is retransmitted: a call whose request or reply was lost fails with an error and
 *    the session stays usable for the next call (the lost call may or may not have run).
 */
#ifndef RVTVM_SESSION_H_
#define RVTVM_SESSION_H_

#include <stdint.h>

#include "rvtvm/session_frame.h"

#define RVTVM_SESSION_HEADER_BYTES 7
#define RVTVM_SESSION_OPENED_BODY_BYTES 8

#define RVTVM_SESSION_BOOT 0x42
#define RVTVM_SESSION_OPEN 0x4F
#define RVTVM_SESSION_OPENED 0x41
#define RVTVM_SESSION_REQUEST 0x51
#define RVTVM_SESSION_REPLY 0x52
#define RVTVM_SESSION_ERROR 0x45

/* ERROR reasons. */
#define RVTVM_SESSION_ERR_FRAME 1
#define RVTVM_SESSION_ERR_NO_SESSION 2
#define RVTVM_SESSION_ERR_MALFORMED 3
#define RVTVM_SESSION_ERR_REPLY_TOO_LONG 4

struct rvtvm_session;

struct rvtvm_session_handlers {
  /* A new session begins (OPEN): reset whatever the previous one left. */
  void (*on_open)(void* context);
  /* One REQUEST of the open session: `packet` (unaligned, valid only during the call) holds
   * `length` bytes. Reply with rvtvm_session_reply_{begin,put,end}, at most once. */
  void (*on_request)(void* context, struct rvtvm_session* session, const uint8_t* packet,
                     uint32_t length);
  void* context;
};

/* Fields are the session's own. */
struct rvtvm_session {
  struct rvtvm_sframe_decoder decoder;
  struct rvtvm_sframe_encoder encoder;
  struct rvtvm_session_handlers handlers;
  uint32_t nonce; /* 0: no session */
  uint32_t boot_nonce;
  uint32_t (*entropy)(void);
  /* The reply being written. */
  uint32_t reply_nonce;
  uint16_t reply_seq;
  uint8_t reply_state;
};

/* `buffer` of `capacity` bytes holds one incoming message (header and body); requests longer
 * than capacity - RVTVM_SESSION_HEADER_BYTES are refused as frame errors. `entropy` (may be
 * null) seeds boot_nonce at the first OPEN: the board's cycle counter varies with when the host
 * spoke first. */
void rvtvm_session_init(struct rvtvm_session* session, uint8_t* buffer, uint32_t capacity,
                        rvtvm_sframe_sink write, void* sink_context,
                        const struct rvtvm_session_handlers* handlers, uint32_t (*entropy)(void));

/* Sends BOOT. */
void rvtvm_session_announce_boot(struct rvtvm_session* session);

/* Feeds one byte from the host; runs the handlers when it completes a message. */
void rvtvm_session_feed(struct rvtvm_session* session, uint8_t byte);

/* The reply to the request being handled: begin(total packet bytes), put() pieces adding up to
 * that, end(). A reply longer than a frame can carry becomes ERROR REPLY_TOO_LONG (the pieces
 * are dropped). */
void rvtvm_session_reply_begin(struct rvtvm_session* session, uint32_t packet_bytes);
void rvtvm_session_reply_put(struct rvtvm_session* session, const void* bytes, uint32_t count);
void rvtvm_session_reply_end(struct rvtvm_session* session);

#endif /* RVTVM_SESSION_H_ */
