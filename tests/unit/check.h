/* CHECK(cond, fmt, ...) for the unit tests: a failed check prints
 * "FAILED (line N): <message>" and counts in `failures`; the test goes on,
 * and its summary line and exit status say how many failed. The line is
 * flushed at once: a test that then hangs and is killed by its timeout
 * still shows what failed (stdout is a pipe there, fully buffered). */
#ifndef EVS_UNIT_CHECK_H
#define EVS_UNIT_CHECK_H
#include <stdio.h>

static int failures, checked;

#define CHECK(cond, ...)                                       \
	do {                                                   \
		checked++;                                     \
		if (!(cond)) {                                 \
			failures++;                            \
			printf("FAILED (line %d): ", __LINE__); \
			printf(__VA_ARGS__);                   \
			printf("\n");                          \
			fflush(stdout);                        \
		}                                              \
	} while (0)
#endif
