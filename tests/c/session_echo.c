/* A host stand-in for host-driven firmware: the device session (rvtvm/session.h) on stdin and
 * stdout, serving requests by echoing them reversed. tests/test_session.py drives it with
 * rvtvm.session.BoardSession, through a link that damages bytes.
 *
 * Requests with special meaning: "RESET" restarts the session as a reboot would (state lost,
 * BOOT sent, no reply); "SILENT" gets no reply; "QUIT" exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rvtvm/session.h"

#define CAPACITY (RVTVM_SESSION_HEADER_BYTES + 1024u)

static uint8_t buffer[CAPACITY];
static struct rvtvm_session session;
static int reset_requested;
static int quit_requested;

static void write_stdout(void* context, const uint8_t* bytes, uint32_t count) {
  (void)context;
  fwrite(bytes, 1, count, stdout);
}

static void on_request(void* context, struct rvtvm_session* current, const uint8_t* packet,
                       uint32_t length) {
  (void)context;
  if (length == 5 && memcmp(packet, "RESET", 5) == 0) {
    reset_requested = 1;
    return;
  }
  if (length == 6 && memcmp(packet, "SILENT", 6) == 0) {
    return;
  }
  if (length == 4 && memcmp(packet, "QUIT", 4) == 0) {
    quit_requested = 1;
    return;
  }
  rvtvm_session_reply_begin(current, length);
  for (uint32_t i = length; i > 0; --i) {
    rvtvm_session_reply_put(current, &packet[i - 1], 1);
  }
  rvtvm_session_reply_end(current);
}

static uint32_t counter_entropy(void) {
  static uint32_t boots;
  return ++boots;
}

static void boot(void) {
  static const struct rvtvm_session_handlers handlers = {0, on_request, 0};
  rvtvm_session_init(&session, buffer, sizeof buffer, write_stdout, 0, &handlers,
                     counter_entropy);
  rvtvm_session_announce_boot(&session);
  fflush(stdout);
}

int main(void) {
  boot();
  for (int c = getchar(); c != EOF && !quit_requested; c = getchar()) {
    rvtvm_session_feed(&session, (uint8_t)c);
    if (reset_requested) {
      reset_requested = 0;
      boot();
    }
    fflush(stdout);
  }
  return 0;
}
