/* A program's own io_uring (its completion waits through liburing, which
 * would otherwise block the worker in io_uring_enter): the task parks on
 * the ring's fd, which epoll reports readable when completions are there,
 * until ready(arg) says there are enough. 0, -ETIME at the deadline,
 * -EINTR after a signal's handler ran, or EVS_USE_REAL when the ring's fd
 * cannot be waited on (the caller makes the real call). */
#ifndef EVS_RINGWAIT_H
#define EVS_RINGWAIT_H
#include <stdbool.h>
#include <stdint.h>

long evs_ring_wait(int ring_fd, bool (*ready)(void *), void *arg, int64_t deadline);
#endif
