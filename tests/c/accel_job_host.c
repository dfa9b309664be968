/* accel_job.h's memory on the host: one malloc per operand, so ASan puts a red zone right after
 * each and catches a backend reading past an operand's end. */
#include <stdint.h>
#include <stdlib.h>

#include "accel_job.h"

/* A job holds four operands. */
#define MAX_LIVE 8u

static void* live[MAX_LIVE];
static uint32_t live_count;

void* accel_job_alloc(uint32_t bytes) {
  if (live_count == MAX_LIVE) {
    return NULL;
  }
  void* data = malloc(bytes != 0 ? bytes : 1u); /* glibc aligns to 16 */
  if (data != NULL) {
    live[live_count++] = data;
  }
  return data;
}

void accel_job_free_all(void) {
  while (live_count > 0) {
    free(live[--live_count]);
  }
}
