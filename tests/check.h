/*
** check.h -- the CHECK macro of the C tests that report with a message:
** CHECK(cond, fmt, ...) counts the check in ncheck and, when cond is
** false, counts a failure in nfail and prints the place, the message and
** the test's `err` buffer. The including file defines
**   static int nfail, ncheck;  static char err[TSO_ERRMAX];
*/
#ifndef TSO_TESTS_CHECK_H
#define TSO_TESTS_CHECK_H

#include <stdio.h>

#define CHECK(c, ...)                             \
  do {                                            \
    ncheck++;                                     \
    if (!(c)) {                                   \
      nfail++;                                    \
      printf("FAIL %s:%d: ", __FILE__, __LINE__); \
      printf(__VA_ARGS__);                        \
      printf(" [err: %s]\n", err);                \
    }                                             \
  } while (0)

#endif /* TSO_TESTS_CHECK_H */
