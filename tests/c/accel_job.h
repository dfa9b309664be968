/* The accelerator job runner (accel_job.c): reads jobs from a stream, calls the rvtvm/accel.h
 * API on them and writes each result, so one Python test drives every backend alike.
 *
 * Stream format, every integer 32-bit little endian; a request, repeated until end of input:
 *   u32 magic       ACCEL_JOB_MAGIC ("AJOB")
 *   u32 op          ACCEL_JOB_CONV2D, ACCEL_JOB_DEPTHWISE, ACCEL_JOB_FULLY_CONNECTED or
 *                   ACCEL_JOB_ADD (a is the input operand, b the weights operand, no params)
 *   u32 flags       ACCEL_JOB_NULL_* / ACCEL_JOB_OUTPUT_IS_INPUT: bad pointers, for error tests
 *   i32 args[16]    the op's scalar arguments in the API's order, pointers left out, then zeros
 *   u32 n, n bytes  input
 *   u32 n, n bytes  packed weights
 *   u32 n, n bytes  params (4 int32 per channel, little endian)
 *   u32 n           output bytes
 * and its reply:
 *   u32 magic       ACCEL_JOB_REPLY_MAGIC ("ARES")
 *   i32 rc          what the API returned
 *   u32 guards_ok   1 if the bytes just before and after the output are untouched
 *   u32 n, n bytes  the output
 * A malformed request ends the run with a message on stderr and exit status 2.
 *
 * The platform provides the operands' memory (where the accelerator's DMA can reach it).
 */
#ifndef RVTVM_TESTS_ACCEL_JOB_H_
#define RVTVM_TESTS_ACCEL_JOB_H_

#include <stdint.h>
#include <stdio.h>

#define ACCEL_JOB_MAGIC 0x424F4A41u       /* "AJOB" */
#define ACCEL_JOB_REPLY_MAGIC 0x53455241u /* "ARES" */
#define ACCEL_JOB_ARGS 16u

#define ACCEL_JOB_CONV2D 1u
#define ACCEL_JOB_DEPTHWISE 2u
#define ACCEL_JOB_FULLY_CONNECTED 3u
#define ACCEL_JOB_ADD 4u

#define ACCEL_JOB_NULL_INPUT 0x1u
#define ACCEL_JOB_NULL_WEIGHTS 0x2u
#define ACCEL_JOB_NULL_PARAMS 0x4u
#define ACCEL_JOB_NULL_OUTPUT 0x8u
#define ACCEL_JOB_OUTPUT_IS_INPUT 0x10u

/* Platform: `bytes` of memory aligned to 16, or NULL when it does not fit. Valid until
 * accel_job_free_all, which the runner calls after each job. */
void* accel_job_alloc(uint32_t bytes);
void accel_job_free_all(void);

/* Serves jobs from `in` to `out` until end of input: 0, or 2 on a malformed request.
 * accel_job.c also defines main() on stdin/stdout unless built with -DACCEL_JOB_NO_MAIN. */
int accel_job_serve(FILE* in, FILE* out);

#endif /* RVTVM_TESTS_ACCEL_JOB_H_ */
