/* Minimal test harness for the host-side C unit tests.
 *
 * CHECK(condition) records a failure with its line; RUN_TEST(function) runs one test case and
 * counts it as passed when none of its checks failed. check_summary() prints the line that
 * tests/test_runtime_c.py looks for, "N passed, M failed", and returns the exit status.
 */
#ifndef RVTVM_TESTS_CHECK_H_
#define RVTVM_TESTS_CHECK_H_

#include <stdio.h>

static int check_failures_in_test;
static int tests_passed;
static int tests_failed;

#define CHECK(condition)                                                             \
  do {                                                                               \
    if (!(condition)) {                                                              \
      ++check_failures_in_test;                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition); \
    }                                                                                \
  } while (0)

#define RUN_TEST(function)                                \
  do {                                                    \
    check_failures_in_test = 0;                           \
    function();                                           \
    if (check_failures_in_test == 0) {                    \
      ++tests_passed;                                     \
    } else {                                              \
      ++tests_failed;                                     \
      fprintf(stderr, "FAILED: %s\n", #function);         \
    }                                                     \
  } while (0)

static inline int check_summary(void) {
  printf("%d passed, %d failed\n", tests_passed, tests_failed);
  return tests_failed == 0 ? 0 : 1;
}

#endif /* RVTVM_TESTS_CHECK_H_ */
