/* Wire protocol between the host (rvtvm/wire.py) and aot_standalone firmware over the UART.
 *
 * This header is the single source of truth: rvtvm/wire.py parses the RVTVM_* #defines below,
 * so keep each one a plain `#define NAME <integer>` on one line.
 *
 * Frame:  MAGIC0 MAGIC1 | type:u8 | length:u32le | payload[length] | crc32:u32le
 * The CRC is CRC-32/ISO-HDLC (zlib.crc32) over type, length and payload. Bytes outside a frame
 * are device log text (7-bit ASCII, never contains MAGIC0), shown by the host on request.
 *
 * Device -> host
 *   HELLO   sent once at boot: u32 wire_version, u32 n_inputs, u32 n_outputs,
 *           u32 input_bytes[n_inputs], u32 output_bytes[n_outputs], model name (no NUL)
 *   RESULT  reply to RUN: u32 status (0), u64 cycles, u64 instret, u32 stack_bytes, outputs
 *           concatenated (RVTVM_RESULT_HEADER_BYTES before the outputs). stack_bytes is the
 *           stack's high-water mark since boot, taken right after this run (rvtvm/stack.h).
 *   ERROR   reply to a bad frame or a failed run: u32 error code, ASCII detail. A run that
 *           overflowed the stack reservation gets RVTVM_ERR_STACK_OVERFLOW, and so does every
 *           run after it: memory below the stack may be corrupt.
 *   BYE     reply to QUIT, sent just before the firmware exits through the finisher
 * Host -> device
 *   RUN     all inputs concatenated in declaration order; length must equal their sum
 *   QUIT    empty payload
 */
#ifndef RVTVM_WIRE_H_
#define RVTVM_WIRE_H_

#define RVTVM_WIRE_VERSION 2
#define RVTVM_FRAME_MAGIC0 0xA5
#define RVTVM_FRAME_MAGIC1 0x5A
#define RVTVM_FRAME_HEADER_BYTES 7
#define RVTVM_FRAME_TRAILER_BYTES 4
#define RVTVM_RESULT_HEADER_BYTES 24

#define RVTVM_MSG_HELLO 0x48
#define RVTVM_MSG_RUN 0x52
#define RVTVM_MSG_RESULT 0x4F
#define RVTVM_MSG_ERROR 0x45
#define RVTVM_MSG_QUIT 0x51
#define RVTVM_MSG_BYE 0x42

/* Error codes: (category << 8) | code, so a failure is one number on the wire and a name on
 * the host. 0 means success. */
#define RVTVM_OK 0
#define RVTVM_ERR_WIRE_CRC 0x0101
#define RVTVM_ERR_WIRE_LENGTH 0x0102
#define RVTVM_ERR_WIRE_TYPE 0x0103
#define RVTVM_ERR_MODEL_RUN 0x0201
#define RVTVM_ERR_WORKSPACE_EXHAUSTED 0x0301
#define RVTVM_ERR_WORKSPACE_ORDER 0x0302
#define RVTVM_ERR_STACK_OVERFLOW 0x0401
/* accel_driver (rvtvm/accel.h) */
#define RVTVM_ERR_ACCEL_ARGUMENT 0x0501
#define RVTVM_ERR_ACCEL_TOO_LARGE 0x0502
#define RVTVM_ERR_ACCEL_DEVICE 0x0503
#define RVTVM_ERR_ACCEL_TIMEOUT 0x0504
#define RVTVM_ERR_ACCEL_MISMATCH 0x0505

/* Finisher exit codes the firmware uses (QEMU's exit status). */
#define RVTVM_EXIT_OK 0
#define RVTVM_EXIT_TRAP 3
#define RVTVM_EXIT_PANIC 4

#endif /* RVTVM_WIRE_H_ */
