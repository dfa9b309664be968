/* aot_standalone firmware: runs the model on inputs sent by the host over the UART.
 *
 * Protocol (riscv_runtime/include/rvtvm/wire.h): HELLO at boot, then RUN -> RESULT | ERROR and
 * QUIT -> BYE and exit 0. Anything else gets an ERROR and the firmware keeps serving.
 *
 * Test hooks, compiled in only when defined (EXTRA_CFLAGS): RVTVM_TEST_TRAP_ON_RUN executes an
 * illegal instruction when a RUN arrives; RVTVM_TEST_HANG_ON_RUN spins forever instead;
 * RVTVM_TEST_STACK_HOG_ON_RUN=N writes an N-byte local array before each run, to overflow a
 * small stack reservation.
 */
#include <stdint.h>
#include <string.h>

#include "model_glue.h"
#include "rvtvm/board.h"
#include "rvtvm/frame_decoder.h"
#include "rvtvm/frame_encoder.h"
#include "rvtvm/log.h"
#include "rvtvm/stack.h"
#include "rvtvm/text.h"
#include "rvtvm/trap.h"
#include "rvtvm/tvm_backend.h"
#include "rvtvm/wire.h"
#include "rvtvm/workspace.h"

/* The decoder needs one destination span per input; raise with EXTRA_CFLAGS if a model has
 * more inputs. */
#ifndef RVTVM_MAX_MODEL_INPUTS
#define RVTVM_MAX_MODEL_INPUTS 16
#endif

#define ERROR_DETAIL_CHARS 192

struct counters {
  uint64_t cycles;
  uint64_t instret;
};

static struct rvtvm_span input_spans[RVTVM_MAX_MODEL_INPUTS];
static uint32_t run_payload_bytes;
static uint32_t result_output_bytes;
static struct counters counter_read_cost;
static struct rvtvm_frame_decoder decoder;
static struct rvtvm_frame_encoder encoder;
static struct rvtvm_frame_rule frame_rules[2];

static int read_uart_byte(void* context) {
  (void)context;
  return rvtvm_board_uart_read_byte();
}

static void write_uart_bytes(void* context, const uint8_t* bytes, uint32_t count) {
  (void)context;
  rvtvm_board_uart_write(bytes, count);
}

/* Not inlined, so that the calibration at boot costs what the reads around the run cost. */
static __attribute__((noinline)) void read_counters(struct counters* out) {
  out->cycles = rvtvm_board_cycles();
  out->instret = rvtvm_board_instret();
}

static uint32_t sum_or_panic(const uint32_t* values, uint32_t count, const char* what) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i < count; ++i) {
    if (values[i] > UINT32_MAX - sum) {
      rvtvm_panic(what);
    }
    sum += values[i];
  }
  return sum;
}

static void end_frame(void) {
  if (rvtvm_frame_end(&encoder) != RVTVM_OK) {
    rvtvm_panic("frame length miscounted");
  }
}

static void send_error(uint32_t code, const struct rvtvm_text* detail) {
  rvtvm_frame_begin(&encoder, RVTVM_MSG_ERROR, 4u + detail->length);
  rvtvm_frame_put_u32(&encoder, code);
  rvtvm_frame_put(&encoder, detail->chars, detail->length);
  end_frame();
}

static void send_hello(void) {
  uint32_t name_bytes = (uint32_t)strlen(rvtvm_model_name);
  uint32_t length =
      12u + 4u * (rvtvm_model_num_inputs + rvtvm_model_num_outputs) + name_bytes;
  rvtvm_frame_begin(&encoder, RVTVM_MSG_HELLO, length);
  rvtvm_frame_put_u32(&encoder, RVTVM_WIRE_VERSION);
  rvtvm_frame_put_u32(&encoder, rvtvm_model_num_inputs);
  rvtvm_frame_put_u32(&encoder, rvtvm_model_num_outputs);
  for (uint32_t i = 0; i < rvtvm_model_num_inputs; ++i) {
    rvtvm_frame_put_u32(&encoder, rvtvm_model_input_bytes[i]);
  }
  for (uint32_t i = 0; i < rvtvm_model_num_outputs; ++i) {
    rvtvm_frame_put_u32(&encoder, rvtvm_model_output_bytes[i]);
  }
  rvtvm_frame_put(&encoder, rvtvm_model_name, name_bytes);
  end_frame();
}

static void setup(void) {
  if (rvtvm_model_num_inputs > RVTVM_MAX_MODEL_INPUTS) {
    rvtvm_panic("model has more inputs than RVTVM_MAX_MODEL_INPUTS");
  }
  for (uint32_t i = 0; i < rvtvm_model_num_inputs; ++i) {
    input_spans[i].bytes = rvtvm_model_inputs[i];
    input_spans[i].count = rvtvm_model_input_bytes[i];
  }
  run_payload_bytes =
      sum_or_panic(rvtvm_model_input_bytes, rvtvm_model_num_inputs, "inputs exceed 4 GiB");
  uint32_t outputs =
      sum_or_panic(rvtvm_model_output_bytes, rvtvm_model_num_outputs, "outputs exceed 4 GiB");
  if (outputs > UINT32_MAX - RVTVM_RESULT_HEADER_BYTES) {
    rvtvm_panic("outputs exceed 4 GiB");
  }
  result_output_bytes = outputs;

  frame_rules[0] = (struct rvtvm_frame_rule){RVTVM_MSG_RUN, run_payload_bytes, run_payload_bytes};
  frame_rules[1] = (struct rvtvm_frame_rule){RVTVM_MSG_QUIT, 0, 0};
  rvtvm_frame_decoder_init(&decoder, read_uart_byte, 0, frame_rules,
                           sizeof frame_rules / sizeof frame_rules[0]);
  rvtvm_frame_encoder_init(&encoder, write_uart_bytes, 0);

  struct counters first;
  read_counters(&first);
  read_counters(&counter_read_cost);
  counter_read_cost.cycles -= first.cycles;
  counter_read_cost.instret -= first.instret;
}

static uint64_t measured(uint64_t before, uint64_t after, uint64_t read_cost) {
  uint64_t elapsed = after - before;
  return elapsed > read_cost ? elapsed - read_cost : 0;
}

#ifdef RVTVM_TEST_STACK_HOG_ON_RUN
/* Stores to every byte of a local array, the deepest first, so that it reaches the guard. */
static __attribute__((noinline)) uint32_t hog_stack(void) {
  volatile uint8_t hog[RVTVM_TEST_STACK_HOG_ON_RUN];
  uint32_t sum = 0;
  for (uint32_t i = 0; i < sizeof hog; ++i) {
    hog[i] = (uint8_t)i;
  }
  for (uint32_t i = 0; i < sizeof hog; ++i) {
    sum += hog[i];
  }
  return sum;
}
#endif

static void report_stack_overflow(void) {
  char storage[ERROR_DETAIL_CHARS];
  struct rvtvm_text detail;
  rvtvm_text_init(&detail, storage, sizeof storage);
  rvtvm_text_append_str(&detail, "the stack outgrew its ");
  rvtvm_text_append_dec_u32(&detail, rvtvm_stack_reserved_bytes());
  rvtvm_text_append_str(&detail, "-byte reservation; raise stack_size_bytes");
  send_error(RVTVM_ERR_STACK_OVERFLOW, &detail);
}

static void run_model(void) {
#ifdef RVTVM_TEST_TRAP_ON_RUN
  __asm__ volatile("unimp");
#endif
#ifdef RVTVM_TEST_HANG_ON_RUN
  for (;;) {
  }
#endif
#ifdef RVTVM_TEST_STACK_HOG_ON_RUN
  (void)hog_stack();
#endif
  uint32_t tvm_errors_before = rvtvm_tvm_error_count();
  struct counters before;
  struct counters after;
  read_counters(&before);
  int32_t run_status = rvtvm_model_run();
  read_counters(&after);

  /* Checked first: after an overflow, nothing else the run reports can be trusted. */
  if (rvtvm_stack_overflowed()) {
    report_stack_overflow();
    return;
  }
  uint32_t stack_bytes = rvtvm_stack_high_water_bytes();

  if (run_status != 0) {
    char storage[ERROR_DETAIL_CHARS];
    struct rvtvm_text detail;
    rvtvm_text_init(&detail, storage, sizeof storage);
    rvtvm_text_append_str(&detail, "model run returned ");
    rvtvm_text_append_dec_i32(&detail, run_status);
    if (rvtvm_workspace_error() != RVTVM_OK) {
      rvtvm_text_append_str(&detail, "; workspace error ");
      rvtvm_text_append_hex_u32(&detail, rvtvm_workspace_error());
    }
    uint32_t tvm_errors = rvtvm_tvm_error_count() - tvm_errors_before;
    if (tvm_errors != 0) {
      rvtvm_text_append_str(&detail, "; tvm errors logged: ");
      rvtvm_text_append_dec_u32(&detail, tvm_errors);
      rvtvm_text_append_str(&detail, "; last: ");
      rvtvm_text_append_str(&detail, rvtvm_tvm_last_error());
    }
    send_error(RVTVM_ERR_MODEL_RUN, &detail);
    return;
  }

  rvtvm_frame_begin(&encoder, RVTVM_MSG_RESULT,
                    RVTVM_RESULT_HEADER_BYTES + result_output_bytes);
  rvtvm_frame_put_u32(&encoder, RVTVM_OK);
  rvtvm_frame_put_u64(&encoder,
                      measured(before.cycles, after.cycles, counter_read_cost.cycles));
  rvtvm_frame_put_u64(&encoder,
                      measured(before.instret, after.instret, counter_read_cost.instret));
  rvtvm_frame_put_u32(&encoder, stack_bytes);
  for (uint32_t i = 0; i < rvtvm_model_num_outputs; ++i) {
    rvtvm_frame_put(&encoder, rvtvm_model_outputs[i], rvtvm_model_output_bytes[i]);
  }
  end_frame();
}

static void report_refused_header(int status, uint8_t type, uint32_t length) {
  char storage[ERROR_DETAIL_CHARS];
  struct rvtvm_text detail;
  rvtvm_text_init(&detail, storage, sizeof storage);
  rvtvm_text_append_str(&detail, "frame type ");
  rvtvm_text_append_hex_u32(&detail, type);
  if (status == RVTVM_ERR_WIRE_TYPE) {
    rvtvm_text_append_str(&detail, " unknown");
  } else {
    rvtvm_text_append_str(&detail, " length ");
    rvtvm_text_append_dec_u32(&detail, length);
    rvtvm_text_append_str(&detail, ", expected ");
    rvtvm_text_append_dec_u32(&detail, type == RVTVM_MSG_RUN ? run_payload_bytes : 0u);
  }
  send_error((uint32_t)status, &detail);
}

static void report_payload_error(int status) {
  char storage[ERROR_DETAIL_CHARS];
  struct rvtvm_text detail;
  rvtvm_text_init(&detail, storage, sizeof storage);
  rvtvm_text_append_str(&detail, status == RVTVM_ERR_WIRE_CRC ? "bad CRC, frame dropped"
                                                              : "payload not read");
  send_error((uint32_t)status, &detail);
}

int main(void) {
  rvtvm_board_init();
  setup();
  rvtvm_log_str("rvtvm aot_standalone: model ");
  rvtvm_log_str(rvtvm_model_name);
  rvtvm_log_end_line();
  send_hello();

  static const struct rvtvm_span kNoPayload[1] = {{0, 0}};
  for (;;) {
    uint8_t type = 0;
    uint32_t length = 0;
    int status = rvtvm_frame_decoder_next(&decoder, &type, &length);
    if (status == RVTVM_ERR_WIRE_TYPE || status == RVTVM_ERR_WIRE_LENGTH) {
      report_refused_header(status, type, length);
      continue;
    }
    if (status != RVTVM_OK) {
      rvtvm_panic("UART input ended");
    }
    if (type == RVTVM_MSG_RUN) {
      status = rvtvm_frame_decoder_read_payload(&decoder, input_spans, rvtvm_model_num_inputs);
    } else {
      status = rvtvm_frame_decoder_read_payload(&decoder, kNoPayload, 0);
    }
    if (status != RVTVM_OK) {
      report_payload_error(status);
      continue;
    }
    if (type == RVTVM_MSG_RUN) {
      run_model();
    } else {
      rvtvm_frame_begin(&encoder, RVTVM_MSG_BYE, 0);
      end_frame();
      rvtvm_board_exit(RVTVM_EXIT_OK);
    }
  }
}
