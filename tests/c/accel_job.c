/* The accelerator job runner: the stream format is in accel_job.h. Nothing here knows which
 * backend or platform it is linked with; memory comes from accel_job_alloc. */
#include "accel_job.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rvtvm/accel.h"

/* Sanity limit on one operand, so a corrupt length is an error rather than a huge allocation. */
#define MAX_OPERAND_BYTES (64u << 20)
/* Bytes around the output that the call must leave alone (the DMA is not under ASan). */
#define GUARD_BYTES 16u
#define GUARD_FILL 0xA5u
/* What the output holds before the call, so an output byte never written shows up. */
#define OUTPUT_FILL 0x5Au

struct job {
  uint32_t op;
  uint32_t flags;
  int32_t args[ACCEL_JOB_ARGS];
  int8_t* input;
  int8_t* weights;
  int32_t* params;
  uint8_t* output_block; /* guard, output, guard */
  uint32_t output_bytes;
};

static int fail(const char* message) {
  fprintf(stderr, "accel_job: %s\n", message);
  return 2;
}

static uint32_t decode_u32(const uint8_t bytes[4]) {
  return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
         (uint32_t)bytes[3] << 24;
}

static void write_u32(FILE* out, uint32_t value) {
  uint8_t bytes[4] = {(uint8_t)value, (uint8_t)(value >> 8), (uint8_t)(value >> 16),
                      (uint8_t)(value >> 24)};
  fwrite(bytes, 1, sizeof bytes, out);
}

/* 1 on success, 0 at end of input or on a short read. */
static int read_u32(FILE* in, uint32_t* value) {
  uint8_t bytes[4];
  if (fread(bytes, 1, sizeof bytes, in) != sizeof bytes) {
    return 0;
  }
  *value = decode_u32(bytes);
  return 1;
}

static int32_t as_int32(uint32_t value) {
  return value <= INT32_MAX ? (int32_t)value : -(int32_t)(~value) - 1;
}

/* A length-prefixed operand into fresh platform memory; NULL on error. */
static void* read_operand(FILE* in) {
  uint32_t bytes;
  if (!read_u32(in, &bytes) || bytes > MAX_OPERAND_BYTES) {
    return NULL;
  }
  void* data = accel_job_alloc(bytes);
  if (data == NULL || fread(data, 1, bytes, in) != bytes) {
    return NULL;
  }
  return data;
}

/* The rest of a request after its magic. */
static int read_job(FILE* in, struct job* job) {
  uint32_t value;
  if (!read_u32(in, &job->op) || !read_u32(in, &job->flags)) {
    return fail("truncated request header");
  }
  for (uint32_t i = 0; i < ACCEL_JOB_ARGS; ++i) {
    if (!read_u32(in, &value)) {
      return fail("truncated arguments");
    }
    job->args[i] = as_int32(value);
  }
  job->input = read_operand(in);
  job->weights = read_operand(in);
  job->params = read_operand(in);
  if (job->input == NULL || job->weights == NULL || job->params == NULL) {
    return fail("bad operand (truncated, too large, or out of memory)");
  }
  if (!read_u32(in, &job->output_bytes) || job->output_bytes > MAX_OPERAND_BYTES) {
    return fail("bad output size");
  }
  job->output_block = accel_job_alloc(job->output_bytes + 2u * GUARD_BYTES);
  if (job->output_block == NULL) {
    return fail("out of memory for the output");
  }
  memset(job->output_block, GUARD_FILL, GUARD_BYTES);
  memset(job->output_block + GUARD_BYTES, OUTPUT_FILL, job->output_bytes);
  memset(job->output_block + GUARD_BYTES + job->output_bytes, GUARD_FILL, GUARD_BYTES);
  return 0;
}

static int guards_intact(const struct job* job) {
  const uint8_t* after = job->output_block + GUARD_BYTES + job->output_bytes;
  for (uint32_t i = 0; i < GUARD_BYTES; ++i) {
    if (job->output_block[i] != GUARD_FILL || after[i] != GUARD_FILL) {
      return 0;
    }
  }
  return 1;
}

/* Calls the API with the job's operands, or NULL / aliased pointers where its flags say. */
static int32_t call(const struct job* job) {
  uint32_t f = job->flags;
  const int8_t* in = (f & ACCEL_JOB_NULL_INPUT) ? NULL : job->input;
  const int8_t* w = (f & ACCEL_JOB_NULL_WEIGHTS) ? NULL : job->weights;
  const int32_t* p = (f & ACCEL_JOB_NULL_PARAMS) ? NULL : job->params;
  int8_t* out = (int8_t*)(job->output_block + GUARD_BYTES);
  if (f & ACCEL_JOB_OUTPUT_IS_INPUT) {
    out = job->input;
  }
  if (f & ACCEL_JOB_NULL_OUTPUT) {
    out = NULL;
  }
  const int32_t* a = job->args;
  switch (job->op) {
    case ACCEL_JOB_CONV2D:
      return rvtvm_accel_conv2d_s8(in, a[0], a[1], a[2], w, p, out, a[3], a[4], a[5], a[6], a[7],
                                   a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]);
    case ACCEL_JOB_DEPTHWISE:
      return rvtvm_accel_depthwise_conv2d_s8(in, a[0], a[1], a[2], w, p, out, a[3], a[4], a[5],
                                             a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13],
                                             a[14]);
    case ACCEL_JOB_ADD:
      return rvtvm_accel_add_s8(in, w, out, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                                a[9], a[10], a[11], a[12]);
    default: /* ACCEL_JOB_FULLY_CONNECTED, checked by the caller */
      return rvtvm_accel_fully_connected_s8(in, a[0], a[1], w, p, out, a[2], a[3], a[4], a[5],
                                            a[6]);
  }
}

static void write_reply(FILE* out, const struct job* job, int32_t rc) {
  write_u32(out, ACCEL_JOB_REPLY_MAGIC);
  write_u32(out, (uint32_t)rc);
  write_u32(out, (uint32_t)guards_intact(job));
  write_u32(out, job->output_bytes);
  fwrite(job->output_block + GUARD_BYTES, 1, job->output_bytes, out);
  fflush(out);
}

int accel_job_serve(FILE* in, FILE* out) {
  uint32_t magic;
  while (read_u32(in, &magic)) {
    struct job job;
    memset(&job, 0, sizeof job);
    if (magic != ACCEL_JOB_MAGIC) {
      return fail("bad request magic");
    }
    int status = read_job(in, &job);
    if (status == 0 && (job.op < ACCEL_JOB_CONV2D || job.op > ACCEL_JOB_ADD)) {
      status = fail("unknown op");
    }
    if (status != 0) {
      accel_job_free_all();
      return status;
    }
    write_reply(out, &job, call(&job));
    accel_job_free_all();
  }
  return ferror(in) ? fail("read error") : 0;
}

#ifndef ACCEL_JOB_NO_MAIN
int main(void) { return accel_job_serve(stdin, stdout); }
#endif
