/* futex() for tasks (sync/futex.c): >= 0 or -errno as the system call
 * returns it, or EVS_USE_REAL for operations that are the kernel's. */
#ifndef EVS_FUTEX_H
#define EVS_FUTEX_H
#include <stdint.h>
#include <time.h>

long evs_futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3);
#endif
